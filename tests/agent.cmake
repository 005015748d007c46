# Test-only plugins: one well-formed, one built for a future ABI.
foreach(p test_plugin bad_abi_plugin)
  add_library(${p} MODULE ${CMAKE_CURRENT_SOURCE_DIR}/plugins/${p}.c)
  set_target_properties(${p} PROPERTIES PREFIX "" LIBRARY_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/tests/plugins
                        C_VISIBILITY_PRESET hidden)
endforeach()

zero_unit_test(test_plugin_loader SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_plugin_loader.c LIBS zeroagent)
add_dependencies(test_plugin_loader test_plugin bad_abi_plugin)

# The API's validation tables against the seeded node that the fuzz targets use (tests/fuzz/fuzz.c).
zero_unit_test(test_spec_tables SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_spec_tables.c
               ${CMAKE_CURRENT_SOURCE_DIR}/fuzz/fuzz.c LIBS zeroagent)
