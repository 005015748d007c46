# io/softcard (storage half, driver struct): against a real qemu-storage-daemon under a real
# zero-shim, with loop devices and FUSE mounts, and the card's XFS pool. Needs root,
# qemu-storage-daemon, qemu-img, mkfs.ext4 and mkfs.xfs (skipped when one is missing).
# The guard keeps the build working while io/softcard/softcard.c does not exist.
if(TARGET zerosoftcard)
  zero_unit_test(test_softcard SKIPS SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_softcard.c
                 LIBS zerosoftcard zerocommon)
  # It runs a real daemon, FUSE mounts and loop devices: an integration test, written with cmocka.
  set_tests_properties(test_softcard PROPERTIES LABELS integration TIMEOUT 300)
  if(TARGET zero-shim)
    add_dependencies(test_softcard zero-shim)
  endif()
endif()

# The card driver as zerod loads it (io/card_loader.c): softcard.so from the plugin directory,
# and a test-only driver built for a card ABI version no zerod speaks, refused by the loader
# (test_card_loader) and by zerod, which then does not start (it_card_driver).
# abi3_card is one built for card ABI 3 (synchronous ops): refused since ABI 4 (asynchronous ops).
foreach(card bad_abi_card abi3_card)
  add_library(${card} MODULE ${CMAKE_CURRENT_SOURCE_DIR}/plugins/${card}.c)
  set_target_properties(${card} PROPERTIES PREFIX "" LIBRARY_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/tests/plugins
                        C_VISIBILITY_PRESET hidden)
endforeach()
zero_unit_test(test_card_loader SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_card_loader.c LIBS zeroagent)
add_dependencies(test_card_loader bad_abi_card abi3_card zero-card-softcard test_plugin)
if(TARGET zero-card-lab)
  add_dependencies(test_card_loader zero-card-lab)
endif()
zero_integration_test(it_card_driver ${CMAKE_CURRENT_SOURCE_DIR}/integration/card_driver.sh TIMEOUT 180)

# The asynchronous volume ops on a loop the test runs (storage.h's *_async), the same real daemon:
# end to end, cancelled, and with the daemon stopped (the loop is never held). Exits 77 (skipped)
# without root, zero-shim, qemu-storage-daemon, qemu-img, mkfs.ext4 or loop devices.
if(TARGET zerosoftcard)
  zero_unit_test(test_softcard_async SKIPS SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_softcard_async.c
                 LIBS zerosoftcard zerocommon)
  set_tests_properties(test_softcard_async PROPERTIES LABELS integration TIMEOUT 300)
  if(TARGET zero-shim)
    add_dependencies(test_softcard_async zero-shim)
  endif()
endif()

# The card's view of the daemon (view.c) and its loop index (loop_index.c) as its commands and
# work change them: no daemon, no device.
if(TARGET zerosoftcard)
  zero_unit_test(test_softcard_view SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_softcard_view.c
                 LIBS zerosoftcard zerocommon)
endif()
