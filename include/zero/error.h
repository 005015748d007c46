/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/*
 * struct zero_error: the human-readable reason that travels beside a -errno return.
 * Part of the plugin ABI (plugins fill it in), so its layout only ever grows at the end.
 * Library code fills it; only main(), HTTP handlers and zeroctl print it.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

struct zero_error {
        int status;        /* HTTP status the API should answer with; 0 = 500 */
        char code[32];     /* machine-readable: "not_found", "conflict", "invalid", ... */
        char message[512]; /* one line for a human */
};

__attribute__((format(printf, 5, 6))) static inline int
zero_error_set(struct zero_error *e, int r, int status, const char *code, const char *fmt, ...) {
        if (e) {
                va_list ap;
                e->status = status;
                snprintf(e->code, sizeof(e->code), "%s", code);
                va_start(ap, fmt);
                vsnprintf(e->message, sizeof(e->message), fmt, ap);
                va_end(ap);
        }
        return r < 0 ? r : -EINVAL;
}

/* Fill only if nothing more specific was said yet. */
static inline int zero_error_default(struct zero_error *e, int r, const char *what) {
        if (e && e->message[0] == '\0') {
                e->status = 500;
                snprintf(e->code, sizeof(e->code), "internal");
                snprintf(e->message, sizeof(e->message), "%s: %s", what, strerror(r < 0 ? -r : r));
        }
        return r;
}
