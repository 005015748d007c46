/* SPDX-License-Identifier: Apache-2.0 */
/* common/text: UTF-8 validation and the escaping of user text for messages and logs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "common/text.h"

static bool valid(const char *s) {
        return zero_utf8_valid(s, strlen(s));
}

static void test_utf8_valid(void **state) {
        assert_true(valid(""));
        assert_true(valid("plain ascii"));
        assert_true(valid("\xc3\xa9"));             /* é */
        assert_true(valid("\xe2\x82\xac"));         /* € */
        assert_true(valid("\xf0\x9f\x98\x80"));     /* U+1F600 */
        assert_true(valid("\xf4\x8f\xbf\xbf"));     /* U+10FFFF, the last */
        assert_false(valid("\xff"));
        assert_false(valid("\x80"));                /* a lone continuation byte */
        assert_false(valid("\xc3"));                /* cut short */
        assert_false(valid("\xc3\x28"));            /* a bad continuation */
        assert_false(valid("\xc0\xaf"));            /* overlong '/' */
        assert_false(valid("\xe0\x80\xaf"));        /* overlong '/' again */
        assert_false(valid("\xed\xa0\x80"));        /* a UTF-16 surrogate */
        assert_false(valid("\xf4\x90\x80\x80"));    /* beyond U+10FFFF */
        assert_false(valid("\xf0\x80\x80\x80"));    /* overlong */
        assert_int_equal(zero_utf8_char_len("\xe2\x82\xac", 2), 0);
        assert_int_equal(zero_utf8_char_len("\xe2\x82\xac", 3), 3);
}

static void test_escape(void **state) {
        char buf[64];

        assert_string_equal(zero_text_escape("web-1", buf, sizeof(buf)), "web-1");
        assert_string_equal(zero_text_escape(NULL, buf, sizeof(buf)), "");
        assert_string_equal(zero_text_escape("caf\xc3\xa9", buf, sizeof(buf)), "caf\xc3\xa9");
        assert_string_equal(zero_text_escape("a\nb\tc\x7f", buf, sizeof(buf)), "a\\x0ab\\x09c\\x7f");
        assert_string_equal(zero_text_escape("x\n<2>zerod: FORGED", buf, sizeof(buf)), "x\\x0a<2>zerod: FORGED");
        assert_string_equal(zero_text_escape("\xff\xc3", buf, sizeof(buf)), "\\xff\\xc3");
        assert_string_equal(zero_text_escape("\xc2\x85", buf, sizeof(buf)), "\\xc2\\x85"); /* C1 NEL */
        assert_string_equal(zero_text_escape("back\\slash", buf, sizeof(buf)), "back\\slash");
        /* Escaping what is escaped already changes nothing: messages are escaped twice. */
        assert_string_equal(zero_text_escape("a\\x0ab", buf, sizeof(buf)), "a\\x0ab");
}

static void test_escape_cuts_on_boundaries(void **state) {
        char buf[8], big[ZERO_QUOTE_MAX];
        char long_name[200];

        assert_string_equal(zero_text_escape("abcdefg", buf, sizeof(buf)), "abcdefg");
        assert_string_equal(zero_text_escape("abcdefgh", buf, sizeof(buf)), "abcd...");
        /* é is two bytes: never half of one. */
        assert_string_equal(zero_text_escape("\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9", buf, sizeof(buf)), "\xc3\xa9\xc3\xa9...");
        assert_string_equal(zero_text_escape("a\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9", buf, sizeof(buf)), "a\xc3\xa9...");
        /* nor half of an escape */
        assert_string_equal(zero_text_escape("ab\n\n\n", buf, sizeof(buf)), "ab...");
        assert_string_equal(zero_text_escape("abc", buf, 3), "");

        memset(long_name, 'a', sizeof(long_name) - 1);
        long_name[0] = 'x';
        long_name[1] = '\xc3';
        long_name[2] = '\xa9';
        long_name[sizeof(long_name) - 1] = '\0';
        zero_text_escape(long_name, big, sizeof(big));
        assert_int_equal(strlen(big), ZERO_QUOTE_MAX - 1);
        assert_true(zero_utf8_valid(big, strlen(big)));
        assert_string_equal(big + strlen(big) - 3, "...");
        assert_string_equal(ZERO_QUOTE("ok"), "ok");
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_utf8_valid),
                cmocka_unit_test(test_escape),
                cmocka_unit_test(test_escape_cuts_on_boundaries),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
