# libFuzzer targets (docs/fuzzing.md), in a tree configured with CC=clang -DZERO_FUZZ=ON (the
# project's code is then instrumented for coverage, with ASan and UBSan). Every
# tests/fuzz/fuzz_NAME.c is a target and a ctest test fuzz_NAME: it links the libraries below,
# its seed corpus is tests/fuzz/corpus/NAME/, and tests/fuzz/NAME.dict (a dictionary) and
# tests/fuzz/NAME.options (libFuzzer flags) are used when they exist. So a new target is that
# file and its corpus: nothing to list here.
if(NOT ZERO_FUZZ)
  return()
endif()

# Seconds each target runs in ctest (./deploy/check): short, on a fresh copy of its seeds.
set(ZERO_FUZZ_SECONDS 10 CACHE STRING "Seconds each fuzz target runs as a ctest test")

# What the targets link: the agent (with the store, the softcard and the shim's client), the
# asynchronous QMP client, and the shim's own parts. Static libraries: each fuzzer takes only
# the objects its entry points need.
add_library(zerofuzz STATIC ${CMAKE_CURRENT_SOURCE_DIR}/fuzz/fuzz.c)
target_link_libraries(zerofuzz PUBLIC zeroagent zeroqmp zeroshim zeroextract zerosoftcard)

add_custom_target(fuzzers)
file(GLOB ZERO_FUZZ_SOURCES CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/fuzz/fuzz_*.c)
foreach(src ${ZERO_FUZZ_SOURCES})
  get_filename_component(target ${src} NAME_WE)
  string(REGEX REPLACE "^fuzz_" "" name ${target})
  add_executable(${target} ${src})
  target_compile_options(${target} PRIVATE -fsanitize=fuzzer)
  target_link_options(${target} PRIVATE -fsanitize=fuzzer)
  target_link_libraries(${target} PRIVATE zerofuzz)
  add_dependencies(fuzzers ${target})
  add_test(NAME ${target}
           COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/fuzz/run.sh $<TARGET_FILE:${target}> ${ZERO_FUZZ_SECONDS}
                   ${CMAKE_CURRENT_BINARY_DIR}/fuzz-work/${name})
  math(EXPR timeout "${ZERO_FUZZ_SECONDS} + 60")
  set_tests_properties(${target} PROPERTIES LABELS fuzz TIMEOUT ${timeout})
endforeach()
