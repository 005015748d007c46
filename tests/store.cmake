# Unit tests of the SQLite store (store/).
zero_unit_test(test_store SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_store.c LIBS zerostore zerocommon)
zero_unit_test(test_store_card SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_store_card.c LIBS zerostore zerocommon
               PkgConfig::SQLITE)
# The API's joined reads (store/listing.c), the watcher of what instances show, the statement cache.
zero_unit_test(test_store_listing SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_store_listing.c LIBS zerostore zerocommon)
