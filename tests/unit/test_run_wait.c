/* SPDX-License-Identifier: Apache-2.0 */
/* common/util: zero_run_wait_timeout(), the bounded run of a command (the container plugin's own
 * crun delete): status and output as zero_run_wait(), and a child that does not end in time is
 * killed and reaped, whether it keeps its output open or not. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/wait.h>

#include <cmocka.h>

#include "common/util.h"

static uint64_t elapsed_ms(uint64_t start) {
        return (zero_monotonic_usec() - start) / USEC_PER_MSEC;
}

static void assert_no_child(void) {
        assert_int_equal(waitpid(-1, NULL, WNOHANG), -1);
        assert_int_equal(errno, ECHILD);
}

static void test_status_and_output(void **state) {
        char *const argv[] = {"sh", "-c", "echo out; echo err >&2; exit 3", NULL};
        _cleanup_free_ char *out = NULL, *out2 = NULL;

        assert_int_equal(zero_run_wait_timeout(argv, 10000, &out), 3);
        assert_string_equal(out, "out\nerr\n");
        /* Without a bound: the same. */
        assert_int_equal(zero_run_wait_timeout(argv, -1, &out2), 3);
        assert_string_equal(out2, "out\nerr\n");
        assert_no_child();
}

static void test_output_drained(void **state) {
        /* More than the 4 KiB kept: the rest is read and dropped, so the child never blocks. */
        char *const argv[] = {"sh", "-c", "head -c 100000 /dev/zero | tr '\\0' a", NULL};
        _cleanup_free_ char *out = NULL;

        assert_int_equal(zero_run_wait_timeout(argv, 10000, &out), 0);
        assert_int_equal(strlen(out), 4095);
        assert_no_child();
}

static void test_timeout_with_output_open(void **state) {
        char *const argv[] = {"sleep", "1000", NULL};
        _cleanup_free_ char *out = NULL;
        uint64_t start = zero_monotonic_usec(), ms;

        assert_int_equal(zero_run_wait_timeout(argv, 200, &out), -ETIMEDOUT);
        ms = elapsed_ms(start);
        assert_true(ms >= 200 && ms < 5000);
        assert_null(out);
        assert_no_child();
}

static void test_timeout_with_output_closed(void **state) {
        /* The output ends at once, the process does not: its end is waited for with the bound. */
        char *const argv[] = {"sh", "-c", "exec >/dev/null 2>&1; exec sleep 1000", NULL};
        uint64_t start = zero_monotonic_usec(), ms;

        assert_int_equal(zero_run_wait_timeout(argv, 200, NULL), -ETIMEDOUT);
        ms = elapsed_ms(start);
        assert_true(ms >= 200 && ms < 5000);
        assert_no_child();
}

static void test_cannot_run(void **state) {
        char *const argv[] = {"/nonexistent/crun", "delete", NULL};
        _cleanup_free_ char *out = NULL;

        assert_int_equal(zero_run_wait_timeout(argv, 10000, &out), 127);
        assert_non_null(strstr(out, "cannot run /nonexistent/crun"));
        assert_no_child();
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_status_and_output),
                cmocka_unit_test(test_output_drained),
                cmocka_unit_test(test_timeout_with_output_open),
                cmocka_unit_test(test_timeout_with_output_closed),
                cmocka_unit_test(test_cannot_run),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
