# Images: the tar reader (common/tar.c), zero-unpack's safe extraction, the import operation.
zero_unit_test(test_tar SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_tar.c LIBS zerocommon)
