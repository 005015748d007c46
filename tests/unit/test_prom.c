/* SPDX-License-Identifier: Apache-2.0 */
/* common/prom: the Prometheus text format, byte for byte (escapes, histograms, values). */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/prom.h"

/* What fn wrote, as a string (free it). */
#define CAPTURE(out, code)                                                                         \
        do {                                                                                       \
                size_t len_ = 0;                                                                   \
                FILE *f = open_memstream(&(out), &len_);                                           \
                assert_non_null(f);                                                                \
                code;                                                                              \
                assert_int_equal(fclose(f), 0);                                                    \
        } while (0)

static void test_label_escapes(void **state) {
        char buf[64] = "";

        assert_int_equal(zero_prom_label(buf, sizeof(buf), "route", "/v1/instances/{}"), 0);
        assert_string_equal(buf, "route=\"/v1/instances/{}\"");
        assert_int_equal(zero_prom_label(buf, sizeof(buf), "x", "a\"b\\c\nd"), 0);
        assert_string_equal(buf, "route=\"/v1/instances/{}\",x=\"a\\\"b\\\\c\\nd\"");
        /* NULL is the empty value (a label Prometheus treats as absent). */
        buf[0] = '\0';
        assert_int_equal(zero_prom_label(buf, sizeof(buf), "instance", NULL), 0);
        assert_string_equal(buf, "instance=\"\"");
}

static void test_label_too_long(void **state) {
        char buf[16] = "a=\"1\"";

        /* Does not fit: -ENOBUFS and buf as it was, never a cut label. */
        assert_int_equal(zero_prom_label(buf, sizeof(buf), "key", "0123456789"), -ENOBUFS);
        assert_string_equal(buf, "a=\"1\"");
        /* Exactly full: `b="12"` after the comma takes 6 + 1 of the 10 left, and the NUL. */
        assert_int_equal(zero_prom_label(buf, sizeof(buf), "b", "12"), 0);
        assert_string_equal(buf, "a=\"1\",b=\"12\"");
        /* An escape that would be cut in half does not fit either. */
        char small[8] = "";
        assert_int_equal(zero_prom_label(small, sizeof(small), "k", "ab\""), -ENOBUFS);
        assert_string_equal(small, "");
}

static void test_family_and_samples(void **state) {
        char *out = NULL;

        CAPTURE(out, {
                zero_prom_family(f, "zero_x_total", "counter", "Things\\done\nover lines.");
                zero_prom_sample_u64(f, "zero_x_total", NULL, 18446744073709551615ULL);
                zero_prom_sample(f, "zero_y", "a=\"b\"", 0.25);
                zero_prom_sample(f, "zero_y", "", NAN);
                zero_prom_sample(f, "zero_y", NULL, INFINITY);
                zero_prom_sample(f, "zero_y", NULL, -INFINITY);
                zero_prom_sample(f, "zero_y", NULL, 1796622780.53);
        });
        assert_string_equal(out, "# HELP zero_x_total Things\\\\done\\nover lines.\n"
                                 "# TYPE zero_x_total counter\n"
                                 "zero_x_total 18446744073709551615\n"
                                 "zero_y{a=\"b\"} 0.25\n"
                                 "zero_y NaN\n"
                                 "zero_y +Inf\n"
                                 "zero_y -Inf\n"
                                 "zero_y 1796622780.53\n");
        free(out);
}

static void test_histogram(void **state) {
        static const double le[] = {0.1, 1, 2.5};
        const struct zero_prom_buckets b = {le, 3};
        struct zero_prom_histogram h = {};
        char *out = NULL;

        zero_prom_observe(&h, &b, 0.05);
        zero_prom_observe(&h, &b, 0.1); /* on a bound: in that bucket (le is "less or equal") */
        zero_prom_observe(&h, &b, 2);
        zero_prom_observe(&h, &b, 7); /* above every bound: +Inf only */
        CAPTURE(out, zero_prom_histogram_write(f, "zero_d_seconds", "kind=\"create\"", &h, &b));
        assert_string_equal(out, "zero_d_seconds_bucket{kind=\"create\",le=\"0.1\"} 2\n"
                                 "zero_d_seconds_bucket{kind=\"create\",le=\"1\"} 2\n"
                                 "zero_d_seconds_bucket{kind=\"create\",le=\"2.5\"} 3\n"
                                 "zero_d_seconds_bucket{kind=\"create\",le=\"+Inf\"} 4\n"
                                 "zero_d_seconds_sum{kind=\"create\"} 9.15\n"
                                 "zero_d_seconds_count{kind=\"create\"} 4\n");
        free(out);
        /* Without labels, and empty. */
        h = (struct zero_prom_histogram){};
        CAPTURE(out, zero_prom_histogram_write(f, "zero_e", NULL, &h, &b));
        assert_string_equal(out, "zero_e_bucket{le=\"0.1\"} 0\nzero_e_bucket{le=\"1\"} 0\nzero_e_bucket{le=\"2.5\"} 0\n"
                                 "zero_e_bucket{le=\"+Inf\"} 0\nzero_e_sum 0\nzero_e_count 0\n");
        free(out);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_label_escapes),
                cmocka_unit_test(test_label_too_long),
                cmocka_unit_test(test_family_and_samples),
                cmocka_unit_test(test_histogram),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
