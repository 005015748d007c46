/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/*
 * User text on its way into messages and logs. Whatever a client sends (a path, a name, a
 * header) may be invalid UTF-8 or hold control characters: JSON refuses the first, and a log
 * line must never carry the second (a "\n<2>" would forge a line of another priority).
 */
#include <stdbool.h>
#include <stddef.h>

/* Whether s[0..len) is well-formed UTF-8 (RFC 3629: no overlongs, no surrogates, <= U+10FFFF). */
bool zero_utf8_valid(const char *s, size_t len);
/* The length of the UTF-8 sequence that starts s[0..len), 0 when it is not a valid one. */
size_t zero_utf8_char_len(const char *s, size_t len);

/*
 * Copies s into buf (size >= 4) as safe text: valid UTF-8 is kept, control characters (C0, DEL,
 * C1) and bytes that are not valid UTF-8 become "\xNN", a backslash stays a backslash. The copy
 * is cut on a character boundary, never inside a character or an escape, and ends with "..."
 * when it was cut. Returns buf.
 */
char *zero_text_escape(const char *s, char *buf, size_t size);

/* User text for a "%s" in a message: escaped as above and cut to fit ZERO_QUOTE_MAX, in a buffer
 * that lives until the end of the enclosing block:
 *     zero_reply_error(req, 404, "not_found", "no instance named '%s'", ZERO_QUOTE(name)); */
#define ZERO_QUOTE_MAX 72
#define ZERO_QUOTE(s) zero_text_escape((s), (char[ZERO_QUOTE_MAX]){0}, ZERO_QUOTE_MAX)
