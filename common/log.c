/* SPDX-License-Identifier: Apache-2.0 */
#include "common/log.h"

#include "common/text.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int max_priority = LOG_INFO;
static const char *ident = NULL;

void zero_log_set_max_priority(int prio) {
        max_priority = prio;
}

void zero_log_set_ident(const char *s) {
        ident = s;
}

int zero_log_internal(int prio, int error, const char *fmt, ...) {
        int e = error < 0 ? -error : error;

        if (prio <= max_priority) {
                char buf[2048], safe[4096];
                va_list ap;

                /* %m must print the error we were handed, not whatever errno is now. */
                errno = e;
                va_start(ap, fmt);
                vsnprintf(buf, sizeof(buf), fmt, ap);
                va_end(ap);
                /* One line, whatever a message quotes: a client's "\n<2>..." in a path must not
                 * start a forged line of its own in the journal. */
                zero_text_escape(buf, safe, sizeof(safe));
                if (ident)
                        fprintf(stderr, "<%d>%s: %s\n", prio, ident, safe);
                else
                        fprintf(stderr, "<%d>%s\n", prio, safe);
        }
        return -e;
}
