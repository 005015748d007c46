# shim/: the shim runs as a real process; the test finds it through $ZERO_SHIM.
zero_unit_test(test_shim SOURCES unit/test_shim.c LIBS zeroshimclient zerocommon)
add_dependencies(test_shim zero-shim)
