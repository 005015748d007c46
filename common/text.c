/* SPDX-License-Identifier: Apache-2.0 */
#include "common/text.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

size_t zero_utf8_char_len(const char *str, size_t len) {
        const unsigned char *s = (const unsigned char *) str;
        size_t n;
        uint32_t c;

        if (len == 0)
                return 0;
        if (s[0] < 0x80)
                return 1;
        if (s[0] >= 0xc2 && s[0] <= 0xdf)
                n = 2, c = s[0] & 0x1f;
        else if (s[0] >= 0xe0 && s[0] <= 0xef)
                n = 3, c = s[0] & 0x0f;
        else if (s[0] >= 0xf0 && s[0] <= 0xf4)
                n = 4, c = s[0] & 0x07;
        else
                return 0; /* a continuation byte, an overlong lead (c0, c1) or beyond U+10FFFF */
        if (len < n)
                return 0;
        for (size_t i = 1; i < n; i++) {
                if ((s[i] & 0xc0) != 0x80)
                        return 0;
                c = (c << 6) | (s[i] & 0x3f);
        }
        if ((n == 3 && c < 0x800) || (n == 4 && (c < 0x10000 || c > 0x10ffff)) || (c >= 0xd800 && c <= 0xdfff))
                return 0; /* overlong, out of range, or a UTF-16 surrogate */
        return n;
}

bool zero_utf8_valid(const char *s, size_t len) {
        for (size_t i = 0; i < len;) {
                size_t n = zero_utf8_char_len(s + i, len - i);
                if (n == 0)
                        return false;
                i += n;
        }
        return true;
}

/* U+0080..U+009F, the C1 controls, are two bytes: c2 80..c2 9f. */
static bool is_control(const unsigned char *s, size_t n) {
        return (n == 1 && (s[0] < 0x20 || s[0] == 0x7f)) || (n == 2 && s[0] == 0xc2 && s[1] < 0xa0);
}

/* The piece of output for the character at s[i]: itself, or its bytes as "\xNN". */
static size_t piece_at(const unsigned char *s, size_t i, size_t len, const char **ret, char esc[static 16],
                       size_t *ret_bytes) {
        size_t n = zero_utf8_char_len((const char *) s + i, len - i), plen = 0;

        if (n != 0 && !is_control(s + i, n)) {
                *ret = (const char *) s + i;
                *ret_bytes = n;
                return n;
        }
        n = n == 0 ? 1 : n; /* a C1 control is two bytes, two escapes */
        for (size_t k = 0; k < n; k++)
                plen += (size_t) snprintf(esc + plen, 16 - plen, "\\x%02x", s[i + k]);
        *ret = esc;
        *ret_bytes = n;
        return plen;
}

char *zero_text_escape(const char *str, char *buf, size_t size) {
        const unsigned char *s = (const unsigned char *) (str ? str : "");
        size_t len = strlen((const char *) s), total = 0, o = 0, n;
        const char *piece;
        char esc[16];

        if (size < 4) {
                if (size > 0)
                        buf[0] = '\0';
                return buf;
        }
        for (size_t i = 0; i < len; i += n)
                total += piece_at(s, i, len, &piece, esc, &n);
        for (size_t i = 0; i < len; i += n) {
                size_t plen = piece_at(s, i, len, &piece, esc, &n);
                /* All of it when all fits; else as much as leaves room for "..." and the NUL. */
                if (total >= size && o + plen + 3 >= size) {
                        memcpy(buf + o, "...", 4);
                        return buf;
                }
                memcpy(buf + o, piece, plen);
                o += plen;
        }
        buf[o] = '\0';
        return buf;
}
