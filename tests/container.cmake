# Tests of plugins/container.
zero_unit_test(test_oci SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_oci.c
               LIBS zerooci zerocommon PkgConfig::JANSSON)
