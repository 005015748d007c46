/* SPDX-License-Identifier: Apache-2.0 */
#include "common/log.h"

#include "common/text.h"

#include <dlfcn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int max_priority = LOG_INFO;
static const char *ident = NULL;
static int on_tty = -1; /* stderr is a terminal: known at the first line */

/* A terminal gets words, the journal (and a file a supervisor reads) the syslog prefix that
 * sets the line's priority: "<6>" before every line is noise to a person. */
static const char *tty_level(int prio) {
        return prio <= LOG_ERR ? "error: " : prio == LOG_WARNING ? "warning: " : "";
}

void zero_log_set_max_priority(int prio) {
        max_priority = prio;
}

/* Plugins link the common code statically: their max_priority would stay LOG_INFO (their debug
 * lines, the card driver's QMP traffic, never shown under --log-level debug), their ident unset. */
void zero_log_pass_on(void *dl_handle) {
        void (*set)(int, const char *) = NULL;

        *(void **) &set = dl_handle ? dlsym(dl_handle, ZERO_LOG_MODULE_SYMBOL) : NULL;
        if (set)
                set(max_priority, ident);
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
                if (on_tty < 0)
                        on_tty = isatty(STDERR_FILENO) == 1;
                if (on_tty)
                        fprintf(stderr, "%s%s%s%s\n", strempty(ident), ident ? ": " : "", tty_level(prio), safe);
                else if (ident)
                        fprintf(stderr, "<%d>%s: %s\n", prio, ident, safe);
                else
                        fprintf(stderr, "<%d>%s\n", prio, safe);
        }
        return -e;
}
