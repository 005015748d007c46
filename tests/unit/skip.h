/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/*
 * A cmocka test that cannot run here (no root, a program missing) is reported to ctest as
 * skipped, never as passed: cmocka's skip() alone counts as a pass in the binary's exit status.
 *
 *   zero_skip("needs X: skipped\n");                     in the test, instead of skip()
 *   return zero_tests_exit(cmocka_run_group_tests(...));  in main
 *
 * The binary then exits ZERO_TEST_SKIPPED when a test was skipped and none failed, 1 when any
 * failed (cmocka's count of failures could itself be 77), 0 otherwise. Register such a test with
 * zero_unit_test(NAME ... SKIPS) (tests/CMakeLists.txt), which sets SKIP_RETURN_CODE to match.
 * Include after <cmocka.h>; one translation unit per test binary (the count is static).
 */

/* Automake's and ctest's usual skip status. */
#define ZERO_TEST_SKIPPED 77

static unsigned zero_tests_skipped;

#define zero_skip(...)                                                                             \
        do {                                                                                       \
                print_message(__VA_ARGS__);                                                        \
                zero_tests_skipped++;                                                              \
                skip();                                                                            \
        } while (0)

/* ZERO_TEST_FILTER=PATTERN (cmocka's * and ?) runs only the tests whose names match: to run
 * one test of a binary in a loop, as a flaky one is chased. Call in main, before the run. */
static inline void zero_tests_filter(void) {
        const char *p = getenv("ZERO_TEST_FILTER");

        if (p && *p)
                cmocka_set_test_filter(p);
}

static inline int zero_tests_exit(int failed) {
        if (failed != 0)
                return 1;
        return zero_tests_skipped > 0 ? ZERO_TEST_SKIPPED : 0;
}
