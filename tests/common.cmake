# common/: helpers every binary shares.
zero_unit_test(test_text SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_text.c LIBS zerocommon)
zero_unit_test(test_run_wait SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_run_wait.c LIBS zerocommon)
# The string-keyed hash map (live instances by id, the store's statements, the API's cache).
zero_unit_test(test_hashmap SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_hashmap.c LIBS zerocommon)
# The Prometheus text format of GET /metrics (common/prom.h): escapes, histograms, values.
zero_unit_test(test_prom SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_prom.c LIBS zerocommon)
# The framed stream of exec's upgraded connection (common/frame.h): both ways, cut anywhere, broken.
zero_unit_test(test_frame SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_frame.c LIBS zerocommon)
