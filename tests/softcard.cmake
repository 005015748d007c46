# io/softcard (storage half, driver struct): against a real qemu-storage-daemon under a real
# zero-shim, with loop devices and FUSE mounts. Needs root, qemu-storage-daemon, qemu-img and
# mkfs.ext4 (skipped when the daemon or zero-shim is missing).
# The guard keeps the build working while io/softcard/softcard.c does not exist.
if(TARGET zerosoftcard)
  zero_unit_test(test_softcard SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_softcard.c
                 LIBS zerosoftcard zerocommon)
  # It runs a real daemon, FUSE mounts and loop devices: an integration test, written with cmocka.
  set_tests_properties(test_softcard PROPERTIES LABELS integration TIMEOUT 300)
  if(TARGET zero-shim)
    add_dependencies(test_softcard zero-shim)
  endif()
endif()
