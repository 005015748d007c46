# Benchmarks (tests/bench/): built with everything else so that they never rot, but run by hand
# (docs/benchmarks.md), never by ctest: their figures depend on the machine, a test's must not.
# The harness (tests/bench/harness.h): a zerod of the benchmark's own, its API, figures, cleanup.
add_library(zerobench STATIC ${CMAKE_CURRENT_SOURCE_DIR}/bench/harness.c)
target_link_libraries(zerobench PUBLIC zerocommon PkgConfig::CURL PkgConfig::JANSSON)

add_executable(bench_container_start ${CMAKE_CURRENT_SOURCE_DIR}/bench/container_start.c)
target_link_libraries(bench_container_start PRIVATE zerobench)
# Defaults for the binaries under test; each one can be overridden on the command line.
target_compile_definitions(bench_container_start PRIVATE
  ZERO_SOURCE_DIR="${CMAKE_SOURCE_DIR}"
  ZERO_ZEROD="$<TARGET_FILE:zerod>"
  ZERO_SHIM="$<TARGET_FILE:zero-shim>"
  ZERO_PLUGIN_DIR="${CMAKE_BINARY_DIR}/plugins")
add_dependencies(bench_container_start zerod zero-shim zero-plugin-container)
set_target_properties(bench_container_start PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/tests)

# The card's host block device against the raw file under it, and clone time (docs/benchmarks.md).
if(TARGET zerosoftcard)
  add_executable(bench_card_io ${CMAKE_CURRENT_SOURCE_DIR}/bench/card_io.c)
  target_link_libraries(bench_card_io PRIVATE zerosoftcard zerocommon PkgConfig::JANSSON PkgConfig::SYSTEMD)
  target_compile_definitions(bench_card_io PRIVATE ZERO_SHIM="$<TARGET_FILE:zero-shim>")
  add_dependencies(bench_card_io zero-shim)
  set_target_properties(bench_card_io PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/tests)
endif()

# A VM's start through the API against plain QEMU (docs/benchmarks.md).
add_executable(bench_vm_start ${CMAKE_CURRENT_SOURCE_DIR}/bench/vm_start.c)
target_link_libraries(bench_vm_start PRIVATE zerobench)
target_compile_definitions(bench_vm_start PRIVATE
  ZERO_SOURCE_DIR="${CMAKE_SOURCE_DIR}"
  ZERO_BUILD_DIR="${CMAKE_BINARY_DIR}"
  ZERO_ZEROD="$<TARGET_FILE:zerod>"
  ZERO_SHIM="$<TARGET_FILE:zero-shim>"
  ZERO_PLUGIN_DIR="${CMAKE_BINARY_DIR}/plugins")
add_dependencies(bench_vm_start zerod zero-shim zero-plugin-container zero-plugin-vm)
set_target_properties(bench_vm_start PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/tests)

# An instance's switch in place, container -> vm and vm -> container (docs/benchmarks.md).
add_executable(bench_switch ${CMAKE_CURRENT_SOURCE_DIR}/bench/switch.c)
target_link_libraries(bench_switch PRIVATE zerobench)
target_compile_definitions(bench_switch PRIVATE
  ZERO_SOURCE_DIR="${CMAKE_SOURCE_DIR}"
  ZERO_BUILD_DIR="${CMAKE_BINARY_DIR}"
  ZERO_ZEROD="$<TARGET_FILE:zerod>"
  ZERO_SHIM="$<TARGET_FILE:zero-shim>"
  ZERO_PLUGIN_DIR="${CMAKE_BINARY_DIR}/plugins")
add_dependencies(bench_switch zerod zero-shim zero-plugin-container zero-plugin-vm)
set_target_properties(bench_switch PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/tests)
