# io/qmp.c: against a fake QMP server in the test process, and against a real
# qemu-storage-daemon (skipped when /usr/bin/qemu-storage-daemon is missing; $ZERO_QSD overrides).
zero_unit_test(test_qmp SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_qmp.c LIBS zeroqmp zerocommon)
zero_unit_test(test_qmp_qsd SKIPS SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_qmp_qsd.c LIBS zeroqmp zerocommon)
# It runs a real daemon (and FUSE mounts): an integration test, though written with cmocka.
set_tests_properties(test_qmp_qsd PROPERTIES LABELS integration)
