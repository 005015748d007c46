# zeroctl (cli/): its pure parts in-process, and the built binary end to end against a fake zerod
# that the test serves itself on loopback TCP and a unix socket ($ZEROCTL names the binary).
zero_unit_test(test_zeroctl SKIPS SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_zeroctl.c LIBS zeroctlcore)
add_dependencies(test_zeroctl zeroctl)
# zeroctl's tar stream of a directory (image import uploads it), read back by common/tar.c and GNU tar.
zero_unit_test(test_tar_write SKIPS SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_tar_write.c LIBS zeroctlcore)
# zeroctl's aids against a real zerod: create --help's modes, the bash completion sourced into bash
# (names from zerod), the man pages made from the help (man -l, no warnings, every option named).
zero_integration_test(it_zeroctl_aids ${CMAKE_CURRENT_SOURCE_DIR}/integration/zeroctl_aids.sh TIMEOUT 180)
# The node's attestation key and zeroctl attest's check (issue 17 item 3): sign, verify, a tampered
# payload, another key and a replayed nonce refused.
zero_unit_test(test_attest SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_attest.c LIBS zeroctlcore zeroattest)
