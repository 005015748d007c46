# Benchmarks (tests/bench/): built with everything else so that they never rot, but run by hand
# (docs/benchmarks.md), never by ctest: their figures depend on the machine, a test's must not.
# The harness (tests/bench/harness.h): a zerod of the benchmark's own, its API, figures, cleanup.
add_library(zerobench STATIC ${CMAKE_CURRENT_SOURCE_DIR}/bench/harness.c ${CMAKE_CURRENT_SOURCE_DIR}/bench/fleet.c)
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

# The VM benches run zerod with both plugins and the unified image (docs/benchmarks.md):
# vm_start, a VM's start through the API against plain QEMU; switch, an instance's switch in
# place, container -> vm and vm -> container.
foreach(bench vm_start switch)
  add_executable(bench_${bench} ${CMAKE_CURRENT_SOURCE_DIR}/bench/${bench}.c)
  target_link_libraries(bench_${bench} PRIVATE zerobench)
  target_compile_definitions(bench_${bench} PRIVATE
    ZERO_SOURCE_DIR="${CMAKE_SOURCE_DIR}"
    ZERO_BUILD_DIR="${CMAKE_BINARY_DIR}"
    ZERO_ZEROD="$<TARGET_FILE:zerod>"
    ZERO_SHIM="$<TARGET_FILE:zero-shim>"
    ZERO_PLUGIN_DIR="${CMAKE_BINARY_DIR}/plugins")
  add_dependencies(bench_${bench} zerod zero-shim zero-plugin-container zero-plugin-vm)
  set_target_properties(bench_${bench} PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/tests)
endforeach()

# The API's reads under load, with 100 and 1,000 running containers, measured with wrk; density,
# N running containers: zerod's and the shims' memory, a page of the list, zerod's restart,
# create/delete cycles; idle, what an idle zerod costs: memory and wakeups, alone and with 100
# running containers (docs/benchmarks.md, api, density and idle).
foreach(bench api density idle)
  add_executable(bench_${bench} ${CMAKE_CURRENT_SOURCE_DIR}/bench/${bench}.c)
  target_link_libraries(bench_${bench} PRIVATE zerobench)
  target_compile_definitions(bench_${bench} PRIVATE
    ZERO_SOURCE_DIR="${CMAKE_SOURCE_DIR}"
    ZERO_ZEROD="$<TARGET_FILE:zerod>"
    ZERO_SHIM="$<TARGET_FILE:zero-shim>"
    ZERO_PLUGIN_DIR="${CMAKE_BINARY_DIR}/plugins")
  add_dependencies(bench_${bench} zerod zero-shim zero-plugin-container)
  set_target_properties(bench_${bench} PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/tests)
endforeach()

# bench_migrate's dirtying guest (tests/bench/migrate.sh DIRTY=...): static, for the busybox guest,
# and never sanitized (it runs there, without the sanitizers' runtime).
add_executable(zero-test-dirtier ${CMAKE_CURRENT_SOURCE_DIR}/bench/dirtier.c)
target_compile_options(zero-test-dirtier PRIVATE -fno-sanitize=all)
target_link_options(zero-test-dirtier PRIVATE -fno-sanitize=all -static)
set_target_properties(zero-test-dirtier PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/tests)
