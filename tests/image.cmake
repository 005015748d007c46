# Images: the tar reader (common/tar.c), zero-unpack's safe extraction, the import operation.
zero_unit_test(test_tar SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_tar.c LIBS zerocommon)
zero_unit_test(test_extract SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_extract.c ${CMAKE_SOURCE_DIR}/agent/extract.c
               LIBS zerocommon)

# Host paths below import_dirs only, uploads, the extraction rules end to end, setuid, limits,
# nodev (the real zerod, zero-unpack and crun).
zero_integration_test(it_image_import ${CMAKE_CURRENT_SOURCE_DIR}/integration/image_import.sh TIMEOUT 300)
