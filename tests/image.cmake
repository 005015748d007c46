# Images: the tar reader (common/tar.c), zero-unpack's safe extraction, the import operation.
zero_unit_test(test_tar SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_tar.c LIBS zerocommon)
zero_unit_test(test_extract SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_extract.c ${CMAKE_SOURCE_DIR}/agent/extract.c
               LIBS zerocommon)
