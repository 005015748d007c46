/* SPDX-License-Identifier: Apache-2.0 */
#include "cli/sse.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"

void zeroctl_sse_init(struct zeroctl_sse *p, zeroctl_sse_fn on_event, void *userdata) {
        *p = (struct zeroctl_sse){.on_event = on_event, .userdata = userdata};
}

static void frame_reset(struct zeroctl_sse *p) {
        free(p->type);
        free(p->data);
        p->type = p->data = NULL;
        p->data_len = 0;
        p->has_data = false;
}

void zeroctl_sse_done(struct zeroctl_sse *p) {
        if (!p)
                return;
        frame_reset(p);
        free(p->line);
        free(p->id);
        *p = (struct zeroctl_sse){};
}

static int set_string(char **slot, const char *v) {
        char *s = strdup(v);

        if (!s)
                return -ENOMEM;
        free(*slot);
        *slot = s;
        return 0;
}

static int append_data(struct zeroctl_sse *p, const char *v) {
        size_t n = strlen(v), extra = p->has_data ? 1 : 0;
        char *d;

        if (p->data_len + extra + n > ZEROCTL_SSE_LINE_MAX)
                return -EMSGSIZE;
        d = realloc(p->data, p->data_len + extra + n + 1);
        if (!d)
                return -ENOMEM;
        if (extra)
                d[p->data_len++] = '\n';
        memcpy(d + p->data_len, v, n + 1);
        p->data = d;
        p->data_len += n;
        p->has_data = true;
        return 0;
}

/* One complete line (NUL-terminated in p->line). */
static int process_line(struct zeroctl_sse *p) {
        char *field = p->line ? p->line : (char *) "", *value;
        int r;

        if (field[0] == '\0') {
                /* The blank line: dispatch. The id stays for the next frames (it is the stream's
                 * "last event ID"), the type and data do not. */
                if (p->has_data)
                        r = p->on_event(strempty(p->id), strempty(p->type), p->data,
                                        p->userdata);
                else
                        r = 0;
                frame_reset(p);
                return r;
        }
        if (field[0] == ':')
                return 0; /* a comment: ": open", ": keepalive" */
        value = strchr(field, ':');
        if (value) {
                *value++ = '\0';
                if (*value == ' ')
                        value++;
        } else
                value = (char *) "";
        if (streq(field, "data"))
                return append_data(p, value);
        if (streq(field, "event"))
                return set_string(&p->type, value);
        /* The spec ignores an id with a NUL in it; ours come from a C string, so none can. */
        if (streq(field, "id"))
                return set_string(&p->id, value);
        return 0; /* "retry" and fields the spec does not know */
}

static int line_append(struct zeroctl_sse *p, const char *s, size_t n) {
        if (p->line_len + n > ZEROCTL_SSE_LINE_MAX)
                return -EMSGSIZE;
        return zero_buf_append(&p->line, &p->line_len, &p->line_cap, s, n);
}

/* How many bytes of buf[0..n) come before a line end ('\r' or '\n'). */
static size_t line_span(const char *buf, size_t n) {
        size_t i = 0;

        while (i < n && buf[i] != '\r' && buf[i] != '\n')
                i++;
        return i;
}

int zeroctl_sse_feed(struct zeroctl_sse *p, const char *buf, size_t len) {
        const char *end = buf + len;
        int r;

        while (buf < end) {
                size_t n;

                if (p->after_cr) {
                        p->after_cr = false;
                        if (*buf == '\n') {
                                buf++;
                                continue;
                        }
                }
                n = line_span(buf, (size_t) (end - buf));
                r = line_append(p, buf, n);
                if (r < 0)
                        return r;
                buf += n;
                if (buf == end)
                        break; /* the line goes on in the next chunk */
                p->after_cr = *buf == '\r';
                buf++;
                r = process_line(p);
                p->line_len = 0;
                if (p->line)
                        p->line[0] = '\0';
                if (r != 0)
                        return r;
        }
        return 0;
}
