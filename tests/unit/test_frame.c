/* SPDX-License-Identifier: Apache-2.0 */
/* common/frame: the framed stream of exec's upgraded connection, both ways. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "common/frame.h"

static void test_round_trip(void **state) {
        uint8_t buf[64];
        struct zero_frame f;

        zero_frame_header(ZERO_FRAME_STDOUT, 5, buf);
        memcpy(buf + 8, "hello", 5);
        assert_memory_equal(buf, "\x01\0\0\0\0\0\0\x05", 8);
        /* Cut anywhere before its end: more is needed, nothing is wrong. */
        for (size_t n = 0; n < 13; n++)
                assert_int_equal(zero_frame_parse(buf, n, &f), 0);
        assert_int_equal(zero_frame_parse(buf, 13, &f), 13);
        assert_int_equal(f.stream, ZERO_FRAME_STDOUT);
        assert_int_equal(f.len, 5);
        assert_memory_equal(f.payload, "hello", 5);
        /* Followed by the next: only the first is taken. */
        zero_frame_header(ZERO_FRAME_STDIN_EOF, 0, buf + 13);
        assert_int_equal(zero_frame_parse(buf, 21, &f), 13);
        assert_int_equal(zero_frame_parse(buf + 13, 8, &f), 8);
        assert_int_equal(f.stream, ZERO_FRAME_STDIN_EOF);
        assert_int_equal(f.len, 0);
}

static void test_fixed_payloads(void **state) {
        uint8_t buf[16];
        struct zero_frame f;
        unsigned rows, cols;
        int code, sig;

        zero_frame_header(ZERO_FRAME_EXIT, 8, buf);
        zero_frame_exit_encode(137, 9, buf + 8);
        assert_memory_equal(buf + 8, "\0\0\0\x89\0\0\0\x09", 8);
        assert_int_equal(zero_frame_parse(buf, 16, &f), 16);
        zero_frame_exit_decode(&f, &code, &sig);
        assert_int_equal(code, 137);
        assert_int_equal(sig, 9);

        zero_frame_header(ZERO_FRAME_RESIZE, 4, buf);
        zero_frame_resize_encode(50, 300, buf + 8);
        assert_int_equal(zero_frame_parse(buf, 12, &f), 12);
        zero_frame_resize_decode(&f, &rows, &cols);
        assert_int_equal(rows, 50);
        assert_int_equal(cols, 300);
}

static void test_broken(void **state) {
        uint8_t buf[16] = {};
        struct zero_frame f;

        /* An unknown stream, a nonzero reserved byte, a payload over the maximum. */
        zero_frame_header(_ZERO_FRAME_MAX, 0, buf);
        assert_int_equal(zero_frame_parse(buf, 8, &f), -EBADMSG);
        zero_frame_header(ZERO_FRAME_STDIN, 0, buf);
        buf[2] = 1;
        assert_int_equal(zero_frame_parse(buf, 8, &f), -EBADMSG);
        zero_frame_header(ZERO_FRAME_STDIN, ZERO_FRAME_PAYLOAD_MAX + 1, buf);
        assert_int_equal(zero_frame_parse(buf, 8, &f), -EBADMSG);
        zero_frame_header(ZERO_FRAME_STDIN, ZERO_FRAME_PAYLOAD_MAX, buf);
        assert_int_equal(zero_frame_parse(buf, 8, &f), 0); /* the largest: wait for it */
        /* Fixed-size frames of another size. */
        zero_frame_header(ZERO_FRAME_EXIT, 4, buf);
        assert_int_equal(zero_frame_parse(buf, 16, &f), -EBADMSG);
        zero_frame_header(ZERO_FRAME_STDIN_EOF, 1, buf);
        assert_int_equal(zero_frame_parse(buf, 16, &f), -EBADMSG);
        zero_frame_header(ZERO_FRAME_RESIZE, 8, buf);
        assert_int_equal(zero_frame_parse(buf, 16, &f), -EBADMSG);
        /* The length's high bytes count (no 16-bit reading of it). */
        zero_frame_header(ZERO_FRAME_STDOUT, 0x01000001, buf);
        assert_int_equal(zero_frame_parse(buf, 16, &f), -EBADMSG);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_round_trip),
                cmocka_unit_test(test_fixed_payloads),
                cmocka_unit_test(test_broken),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
