/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/*
 * struct zero_error: the reason that travels beside a -errno return, in the core's own terms: a
 * domain code (what kind of failure it is, for a program) and one line for a human. It knows no
 * transport: zerod's HTTP front maps the code to a status (agent/http.c), zeroctl to an
 * exit code. Part of the plugin and card ABIs (plugins and drivers fill it in), so the codes are
 * only ever appended and the layout only ever grows at the end.
 * Library code fills it; only main(), the HTTP front and zeroctl print it.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

enum zero_errc {
        ZERO_E_INTERNAL = 0, /* a bug, or the host failed us: nothing the caller did */
        ZERO_E_INVALID,      /* the request's content is refused: a bad value, an unknown field */
        ZERO_E_MALFORMED,    /* the request cannot be read at all (not JSON, not an object) */
        ZERO_E_FORBIDDEN,    /* the caller may not do this (a host path outside import_dirs) */
        ZERO_E_NOT_FOUND,    /* what it names does not exist */
        ZERO_E_CONFLICT,     /* it clashes with what exists (a name taken, a subnet overlapping) */
        ZERO_E_IN_USE,       /* it cannot go while something uses it */
        ZERO_E_WRONG_STATE,  /* not in the state it is in (start a running instance) */
        ZERO_E_BUSY,         /* another operation works on it now: retry when it ended */
        ZERO_E_UNAVAILABLE,  /* zerod cannot take it now (store busy, a limit reached): retry */
        ZERO_E_TIMEOUT,      /* a runtime or daemon gave no answer in time */
        ZERO_E_RUNTIME,      /* the runtime (crun, QEMU, the card's daemon) failed */
        ZERO_E_TOO_LARGE,    /* bigger than a configured limit */
        ZERO_E_OVER_CAPACITY, /* the node has not the CPUs, memory or addresses for it */
        ZERO_E_NO_SPACE,     /* the disk is full */
        ZERO_E_CANCELED,     /* the work was given up (its connection closed, zerod stops) */
        ZERO_E_USAGE,        /* zeroctl: a bad command line */
        _ZERO_E_MAX,
};

struct zero_error {
        enum zero_errc code;
        char message[512]; /* one line for a human */
        /* Optional, for programs and logs: the origin's own name for the failure (QMP's error
         * class "GenericError", the code string an API answered zeroctl with); "" when none. */
        char detail[32];
};

/* The code's name, as the API and the operations table spell it: "invalid", "not_found", ... */
static inline const char *zero_errc_name(enum zero_errc c) {
        static const char *const names[_ZERO_E_MAX] = {
                [ZERO_E_INTERNAL] = "internal",       [ZERO_E_INVALID] = "invalid",
                [ZERO_E_MALFORMED] = "malformed",     [ZERO_E_FORBIDDEN] = "forbidden",
                [ZERO_E_NOT_FOUND] = "not_found",     [ZERO_E_CONFLICT] = "conflict",
                [ZERO_E_IN_USE] = "in_use",           [ZERO_E_WRONG_STATE] = "wrong_state",
                [ZERO_E_BUSY] = "busy",               [ZERO_E_UNAVAILABLE] = "unavailable",
                [ZERO_E_TIMEOUT] = "timeout",         [ZERO_E_RUNTIME] = "runtime_error",
                [ZERO_E_TOO_LARGE] = "too_large",     [ZERO_E_OVER_CAPACITY] = "over_capacity",
                [ZERO_E_NO_SPACE] = "insufficient_storage", [ZERO_E_CANCELED] = "canceled",
                [ZERO_E_USAGE] = "usage",
        };
        return (unsigned) c < _ZERO_E_MAX && names[c] ? names[c] : "internal";
}

/* The code named s (zero_errc_name's inverse); ZERO_E_INTERNAL for a name it does not know. */
static inline enum zero_errc zero_errc_from_name(const char *s) {
        for (int c = 0; s && c < _ZERO_E_MAX; c++)
                if (strcmp(s, zero_errc_name((enum zero_errc) c)) == 0)
                        return (enum zero_errc) c;
        return ZERO_E_INTERNAL;
}

/* Sets e (when not NULL): code, the message made of fmt, no detail. Returns r, or -EINVAL when r
 * is no error. For helpers with a printf-like signature of their own. */
__attribute__((format(printf, 4, 0))) static inline int
zero_error_setv(struct zero_error *e, int r, enum zero_errc code, const char *fmt, va_list ap) {
        if (e) {
                e->code = code;
                e->detail[0] = '\0';
                vsnprintf(e->message, sizeof(e->message), fmt, ap);
        }
        return r < 0 ? r : -EINVAL;
}

__attribute__((format(printf, 4, 5))) static inline int
zero_error_set(struct zero_error *e, int r, enum zero_errc code, const char *fmt, ...) {
        va_list ap;

        va_start(ap, fmt);
        r = zero_error_setv(e, r, code, fmt, ap);
        va_end(ap);
        return r;
}

/* Fill only if nothing more specific was said yet. */
static inline int zero_error_default(struct zero_error *e, int r, const char *what) {
        if (e && e->message[0] == '\0') {
                e->code = ZERO_E_INTERNAL;
                e->detail[0] = '\0';
                snprintf(e->message, sizeof(e->message), "%s: %s", what, strerror(r < 0 ? -r : r));
        }
        return r;
}
