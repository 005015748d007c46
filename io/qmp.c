/* SPDX-License-Identifier: Apache-2.0 */
/*
 * QMP client on sd-event: the contract is in qmp.h. One io source per connection, one timer per
 * command with a timeout, one for the handshake. Input is split on '\n' (QEMU ends every message
 * with one and escapes newlines inside strings), output goes through a buffer drained on EPOLLOUT.
 *
 * Reentrancy: user callbacks may queue commands or free the connection. The connection is
 * reference-counted so that a dispatch in progress keeps the memory alive; zero_qmp_free()
 * closes at once and drops the owner's reference, and dispatch loops stop once state is CLOSED.
 * A command is unlinked from the list before its callback runs, so it is answered exactly once.
 *
 * zero_qmp_call() reads the socket itself (poll() on the fd, bounded by its deadline) instead of
 * running the loop, as sd_bus_call() does: what arrives before its reply (events, replies to
 * other commands, ready, closed) becomes a note, in stream order, and the notes are delivered
 * from the loop (a defer source, or on_io before it reads on). While notes are waiting, new
 * arrivals queue behind them too, so callbacks always see the stream's order. A reply noted is
 * already off the command list and its timer is gone: it cannot also time out. The input
 * buffer's read position lives in the struct, so a call made from a callback in the middle of
 * a buffer of lines takes the rest of them first, in order.
 */
#include "io/qmp.h"

#include <assert.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <stddef.h>
#include <stdarg.h>
#include <stdio.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "common/log.h"
#include "common/util.h"

/* Bytes read per wakeup; also how much buffer is kept around between messages. */
#define READ_CHUNK (64U * 1024U)

enum qmp_state {
        QMP_GREETING,     /* waiting for {"QMP": ...} */
        QMP_CAPABILITIES, /* qmp_capabilities sent; user commands held back */
        QMP_READY,
        QMP_CLOSED,
};

/* Something a user callback is to hear, kept while zero_qmp_call() waits (see the top). */
enum note_kind {
        NOTE_REPLY, /* a struct qmp_cmd, its answer in note_r, note_value, note_err */
        NOTE_EVENT, /* a struct qmp_event_note */
        NOTE_READY, /* zero_qmp.ready_note */
        NOTE_CLOSED, /* zero_qmp.closed_note, the reason in closed_r, closed_err */
};

struct qmp_note {
        struct qmp_note *next;
        enum note_kind kind;
};

#define NOTE_OWNER(n, type, member) ((type *) (void *) ((char *) (n) - offsetof(type, member)))

struct qmp_cmd {
        struct qmp_cmd *next;
        struct zero_qmp *q;
        char id[32];
        char *execute;
        char *line; /* "...\n" while held back before ready; NULL once in the output buffer */
        size_t line_len;
        sd_event_source *timer;
        zero_qmp_reply_fn cb;
        void *userdata;
        bool now; /* answered at once, never noted: internal, or zero_qmp_call()'s own */
        struct qmp_note note; /* embedded: noting a reply cannot fail */
        int note_r;
        json_t *note_value;
        struct zero_error note_err;
};

struct qmp_event_note {
        struct qmp_note note;
        char *name;
        json_t *data;
        uint64_t timestamp_usec;
};

struct zero_qmp {
        unsigned n_ref;
        enum qmp_state state;
        bool freed; /* zero_qmp_free() was called: no more callbacks but -ECANCELED */
        sd_event *event;
        int fd;
        sd_event_source *io;
        sd_event_source *handshake_timer;
        struct zero_qmp_callbacks cb;
        void *userdata;
        uint64_t timeout_usec;
        uint64_t next_id;
        struct qmp_cmd *cmds; /* in the order queued */
        char *in;
        size_t in_len, in_size;
        size_t in_start; /* where the first line not yet dispatched begins */
        size_t in_scan;  /* no '\n' between in_start and here */
        unsigned in_call; /* zero_qmp_call()s running: callbacks become notes */
        struct qmp_note *notes, **notes_tail;
        sd_event_source *defer; /* delivers the notes */
        struct qmp_note ready_note, closed_note;
        int closed_r;
        struct zero_error closed_err;
        char *out;
        size_t out_pos, out_len, out_size;
        int version; /* major * 1000000 + minor * 1000 + micro; 0 before the greeting */
};

static struct zero_qmp *qmp_ref(struct zero_qmp *q) {
        q->n_ref++;
        return q;
}

static void cmd_free(struct qmp_cmd *c) {
        if (!c)
                return;
        sd_event_source_disable_unref(c->timer);
        json_decref(c->note_value);
        free(c->execute);
        free(c->line);
        free(c);
}
DEFINE_TRIVIAL_CLEANUP_FUNC(struct qmp_cmd *, cmd_free);

static void qmp_unref(struct zero_qmp *q) {
        if (!q || --q->n_ref > 0)
                return;
        /* The last reference goes in zero_qmp_free(), after qmp_close() and the notes. */
        assert(!q->cmds && !q->notes);
        sd_event_source_disable_unref(q->io);
        sd_event_source_disable_unref(q->handshake_timer);
        sd_event_source_disable_unref(q->defer);
        safe_close(q->fd);
        sd_event_unref(q->event);
        free(q->in);
        free(q->out);
        free(q);
}
DEFINE_TRIVIAL_CLEANUP_FUNC(struct zero_qmp *, qmp_unref);

/* Timer slack: a timeout only matters when it fires, so let sd-event coalesce wakeups, but
 * never by more than 1/16 of the timeout (a 50 ms timeout must not become 250 ms). */
static uint64_t timer_accuracy(uint64_t usec) {
        return usec / 16 > 0 ? usec / 16 : 1;
}

/* Unlinks the pending command with this id, to be answered. */
static struct qmp_cmd *cmd_take(struct zero_qmp *q, const char *id) {
        for (struct qmp_cmd **p = &q->cmds; *p; p = &(*p)->next)
                if (streq((*p)->id, id)) {
                        struct qmp_cmd *c = *p;
                        *p = c->next;
                        c->next = NULL;
                        return c;
                }
        return NULL;
}

/* Whether a user callback must wait as a note: inside zero_qmp_call(), or behind notes. */
static bool qmp_deferring(const struct zero_qmp *q) {
        return !q->freed && (q->in_call > 0 || q->notes);
}

static int on_defer(sd_event_source *s, void *userdata);

static void note_add(struct zero_qmp *q, struct qmp_note *n, enum note_kind kind) {
        n->kind = kind;
        n->next = NULL;
        *q->notes_tail = n;
        q->notes_tail = &n->next;
        /* One-shot; also re-armed when it exists. If that fails, on_io delivers them. */
        if (!q->defer && sd_event_add_defer(q->event, &q->defer, on_defer, q) >= 0)
                (void) sd_event_source_set_description(q->defer, "qmp-notes");
        else if (q->defer)
                (void) sd_event_source_set_enabled(q->defer, SD_EVENT_ONESHOT);
}

static struct qmp_note *note_pop(struct zero_qmp *q) {
        struct qmp_note *n = q->notes;

        if (!n)
                return NULL;
        q->notes = n->next;
        if (!q->notes)
                q->notes_tail = &q->notes;
        n->next = NULL;
        return n;
}

/* Answers an unlinked command once and frees it. */
static void cmd_answer(struct zero_qmp *q, struct qmp_cmd *c, int r, json_t *v, const struct zero_error *err) {
        if (c->cb && !c->now && qmp_deferring(q)) {
                c->timer = sd_event_source_disable_unref(c->timer);
                c->note_r = r;
                c->note_value = json_incref(v);
                if (err)
                        c->note_err = *err;
                note_add(q, &c->note, NOTE_REPLY);
                return;
        }
        if (c->cb && (!q->freed || r == -ECANCELED))
                c->cb(q, r, v, err, c->userdata);
        cmd_free(c);
}

/* Delivers one note and frees what it holds. After zero_qmp_free() only replies are delivered,
 * as -ECANCELED (the contract of zero_qmp_free()). */
static void note_deliver(struct zero_qmp *q, struct qmp_note *n) {
        switch (n->kind) {
        case NOTE_REPLY: {
                struct qmp_cmd *c = NOTE_OWNER(n, struct qmp_cmd, note);
                struct zero_error canceled = {.code = ZERO_E_CANCELED, .message = "QMP connection freed"};

                if (q->freed)
                        c->cb(q, -ECANCELED, NULL, &canceled, c->userdata);
                else
                        c->cb(q, c->note_r, c->note_r >= 0 ? c->note_value : NULL, c->note_r < 0 ? &c->note_err : NULL,
                              c->userdata);
                cmd_free(c);
                break;
        }
        case NOTE_EVENT: {
                struct qmp_event_note *e = NOTE_OWNER(n, struct qmp_event_note, note);

                if (!q->freed && q->cb.event)
                        q->cb.event(q, e->name, e->data, e->timestamp_usec, q->userdata);
                json_decref(e->data);
                free(e->name);
                free(e);
                break;
        }
        case NOTE_READY:
                if (!q->freed && q->cb.ready)
                        q->cb.ready(q, q->userdata);
                break;
        case NOTE_CLOSED:
                if (!q->freed && q->cb.closed)
                        q->cb.closed(q, q->closed_r, &q->closed_err, q->userdata);
                break;
        }
}

/* Delivers the notes in order. Pops before delivering, so a callback that frees the connection
 * (which delivers the rest as -ECANCELED) or calls zero_qmp_call() (which adds to the tail) is
 * safe; the caller holds a reference. */
static void qmp_deliver_notes(struct zero_qmp *q) {
        struct qmp_note *n;

        while (!q->freed && (n = note_pop(q)))
                note_deliver(q, n);
}

/* Answers every pending command with r. Pops from the head, so a nested call (a callback that
 * frees the connection) simply carries on with the rest. */
static void qmp_fail_all(struct zero_qmp *q, int r, const struct zero_error *err) {
        struct qmp_cmd *c;
        while ((c = q->cmds)) {
                q->cmds = c->next;
                c->next = NULL;
                cmd_answer(q, c, r, NULL, err);
        }
}

_printf_(3, 4) static void qmp_close(struct zero_qmp *q, int r, const char *fmt, ...) {
        struct zero_error err = {};
        va_list ap;

        if (q->state == QMP_CLOSED)
                return;
        q->state = QMP_CLOSED;
        q->io = sd_event_source_disable_unref(q->io);
        q->handshake_timer = sd_event_source_disable_unref(q->handshake_timer);
        q->fd = safe_close(q->fd);
        err.code = r == -ECANCELED ? ZERO_E_CANCELED : r == -ETIMEDOUT ? ZERO_E_TIMEOUT : ZERO_E_RUNTIME;
        snprintf(err.detail, sizeof(err.detail), "%s",
                 r == -EPROTO      ? "protocol_error"
                 : r == -ECANCELED ? "canceled"
                 : r == -ETIMEDOUT ? "timeout"
                                   : "qmp_closed");
        va_start(ap, fmt);
        vsnprintf(err.message, sizeof(err.message), fmt, ap);
        va_end(ap);
        log_debug("QMP connection closed: %s", err.message);
        q->closed_r = r;
        q->closed_err = err;
        qmp_fail_all(q, r, &err);
        if (q->freed || !q->cb.closed)
                return;
        if (qmp_deferring(q))
                note_add(q, &q->closed_note, NOTE_CLOSED);
        else
                q->cb.closed(q, r, &err, q->userdata);
}

static int qmp_update_events(struct zero_qmp *q) {
        return sd_event_source_set_io_events(q->io, EPOLLIN | (q->out_pos < q->out_len ? EPOLLOUT : 0));
}

static int qmp_out_append(struct zero_qmp *q, const char *data, size_t len) {
        int r;

        if (q->out_pos > 0) {
                memmove(q->out, q->out + q->out_pos, q->out_len - q->out_pos);
                q->out_len -= q->out_pos;
                q->out_pos = 0;
        }
        if (q->out_size - q->out_len < len) {
                size_t size = q->out_len + len > 2 * q->out_size ? q->out_len + len : 2 * q->out_size;
                char *p = realloc(q->out, size);
                if (!p)
                        return -ENOMEM;
                q->out = p;
                q->out_size = size;
        }
        memcpy(q->out + q->out_len, data, len);
        q->out_len += len;
        r = qmp_update_events(q);
        if (r < 0)
                q->out_len -= len; /* not queued after all: the caller fails, nothing is half-sent */
        return r;
}

/* Moves a held-back command into the output buffer. */
static int cmd_send(struct zero_qmp *q, struct qmp_cmd *c) {
        int r = qmp_out_append(q, c->line, c->line_len);
        if (r < 0)
                return r;
        c->line = mfree(c->line);
        return 0;
}

static void qmp_write(struct zero_qmp *q) {
        while (q->out_pos < q->out_len) {
                ssize_t n = send(q->fd, q->out + q->out_pos, q->out_len - q->out_pos, MSG_NOSIGNAL | MSG_DONTWAIT);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        if (errno == EAGAIN)
                                break;
                        qmp_close(q, -ECONNRESET, "writing to QMP failed: %s", strerror(errno));
                        return;
                }
                q->out_pos += (size_t) n;
        }
        if (q->out_pos == q->out_len) {
                q->out_pos = q->out_len = 0;
                if (q->out_size > READ_CHUNK) /* a huge command passed: give the memory back */
                        q->out = mfree(q->out), q->out_size = 0;
        }
        int r = qmp_update_events(q);
        if (r < 0)
                qmp_close(q, -ECONNRESET, "cannot watch the QMP socket: %s", strerror(-r));
}

static int cmd_new(struct zero_qmp *q, const char *execute, json_t *arguments, uint64_t timeout_usec,
                   zero_qmp_reply_fn cb, void *userdata, struct qmp_cmd **ret);

static void on_capabilities(struct zero_qmp *q, int r, json_t *v, const struct zero_error *err, void *userdata) {
        if (q->state == QMP_CLOSED)
                return;
        if (r < 0) {
                qmp_close(q, -EPROTO, "qmp_capabilities failed: %s", err->message);
                return;
        }
        q->state = QMP_READY;
        q->handshake_timer = sd_event_source_disable_unref(q->handshake_timer);
        for (struct qmp_cmd *c = q->cmds; c; c = c->next)
                if (c->line && cmd_send(q, c) < 0) {
                        qmp_close(q, -ENOMEM, "out of memory");
                        return;
                }
        if (q->cb.ready && qmp_deferring(q))
                note_add(q, &q->ready_note, NOTE_READY);
        else if (q->cb.ready)
                q->cb.ready(q, q->userdata);
}

static void on_greeting(struct zero_qmp *q, json_t *m) {
        struct qmp_cmd *c = NULL;
        int r;

        int major, minor, micro;

        /* Three digits per component, as libvirt counts; anything else is no version we know (and
         * would overflow: minor 2147483 did, found by tests/fuzz). */
        if (json_unpack(m, "{s:{s:{s:{s:i,s:i,s:i}}}}", "QMP", "version", "qemu", "major", &major, "minor", &minor,
                        "micro", &micro) == 0 && major >= 0 && minor >= 0 && micro >= 0 && major < 2000 &&
            minor < 1000 && micro < 1000)
                q->version = major * 1000000 + minor * 1000 + micro;
        /* We ask for no capability (no "oob"): replies then come in order per command, which we
         * do not rely on, and every command is in-band. */
        r = cmd_new(q, "qmp_capabilities", NULL, 0, on_capabilities, NULL, &c);
        if (r >= 0) {
                c->now = true; /* the handshake goes on inside zero_qmp_call() too */
                c->next = q->cmds; /* first in the list, as on the wire */
                q->cmds = c;
                r = cmd_send(q, c);
        }
        if (r < 0)
                qmp_close(q, -ENOMEM, "cannot send qmp_capabilities: %s", strerror(-r));
        else
                q->state = QMP_CAPABILITIES;
}

static void on_reply(struct zero_qmp *q, json_t *m) {
        const char *id = json_string_value(json_object_get(m, "id"));
        json_t *ret = json_object_get(m, "return");
        struct zero_error err = {};
        struct qmp_cmd *c;

        c = id ? cmd_take(q, id) : NULL;
        if (!c) {
                /* A reply after its command timed out, or to a command QEMU could not parse. */
                log_debug("QMP: dropping a reply to no pending command (id %s)", strempty(id));
                return;
        }
        if (ret) {
                cmd_answer(q, c, 0, ret, NULL);
                return;
        }
        json_t *e = json_object_get(m, "error");
        const char *class = json_string_value(json_object_get(e, "class"));
        const char *desc = json_string_value(json_object_get(e, "desc"));
        zero_error_set(&err, -EIO, ZERO_E_RUNTIME, "%s", desc ?: "QMP error without a description");
        snprintf(err.detail, sizeof(err.detail), "%s", class ?: "GenericError");
        cmd_answer(q, c, -EIO, NULL, &err);
}

static void on_event(struct zero_qmp *q, json_t *m) {
        const char *name = json_string_value(json_object_get(m, "event"));
        json_t *ts = json_object_get(m, "timestamp");
        json_int_t sec = json_integer_value(json_object_get(ts, "seconds"));
        json_int_t usec = json_integer_value(json_object_get(ts, "microseconds"));

        uint64_t when = sec > 0 && usec >= 0 ? (uint64_t) sec * USEC_PER_SEC + (uint64_t) usec : 0;

        if (!name) {
                qmp_close(q, -EPROTO, "QMP event without a name");
                return;
        }
        if (!q->cb.event)
                return;
        if (qmp_deferring(q)) {
                struct qmp_event_note *e = calloc(1, sizeof(*e));
                if (e)
                        e->name = strdup(name);
                if (!e || !e->name) {
                        free(e);
                        log_error("QMP: out of memory, event %s dropped", name);
                        return;
                }
                e->data = json_incref(json_object_get(m, "data"));
                e->timestamp_usec = when;
                note_add(q, &e->note, NOTE_EVENT);
                return;
        }
        q->cb.event(q, name, json_object_get(m, "data"), when, q->userdata);
}

/* A line jansson cannot parse. QEMU only sends valid JSON, but it may hold an integer beyond
 * INT64_MAX, which jansson refuses. The line is still a whole message, so if it carries the id
 * of a pending command (QEMU puts "id" last, so take the last one: "id" keys inside the return
 * value come earlier), fail that command alone and keep the connection. */
static void on_unparsable(struct zero_qmp *q, const char *line, size_t len, const char *why) {
        const char *key = NULL;
        struct qmp_cmd *c = NULL;
        struct zero_error err = {};
        char id[32];

        for (const char *p = line; (p = memmem(p, (size_t) (line + len - p), "\"id\":", 5)); p += 5)
                key = p;
        /* qmp_read() made the line a string (its '\n' became '\0'): sscanf() stops there. */
        if (key && q->state == QMP_READY && sscanf(key + 5, " \"%31[^\"\n]", id) == 1)
                c = cmd_take(q, id);
        if (!c) {
                qmp_close(q, -EPROTO, "invalid JSON from QMP: %s", why);
                return;
        }
        zero_error_set(&err, -EPROTO, ZERO_E_RUNTIME, "cannot parse the reply to %s: %s", c->execute, why);
        cmd_answer(q, c, -EPROTO, NULL, &err);
}

static void qmp_dispatch_line(struct zero_qmp *q, const char *line, size_t len) {
        json_auto_t *m = NULL;
        json_error_t jerr;

        while (len > 0 && (line[len - 1] == '\r' || line[len - 1] == ' '))
                len--;
        if (len == 0)
                return;
        log_debug("QMP <- %.*s", (int) (len > INT32_MAX ? INT32_MAX : len), line);
        m = json_loadb(line, len, 0, &jerr);
        if (!m) {
                on_unparsable(q, line, len, jerr.text);
                return;
        }
        if (!json_is_object(m))
                qmp_close(q, -EPROTO, "QMP message is not an object");
        else if (q->state == QMP_GREETING && json_object_get(m, "QMP"))
                on_greeting(q, m);
        else if (q->state == QMP_GREETING)
                qmp_close(q, -EPROTO, "QMP peer sent no greeting");
        else if (json_object_get(m, "return") || json_object_get(m, "error"))
                on_reply(q, m);
        else if (json_object_get(m, "event"))
                on_event(q, m);
        else
                qmp_close(q, -EPROTO, "unexpected QMP message");
}

/* Dispatches the complete lines in the input buffer. The position is in the struct and moves
 * before each dispatch: a zero_qmp_call() from a callback goes on with the following lines. */
static void qmp_dispatch_lines(struct zero_qmp *q) {
        for (;;) {
                size_t start = q->in_start, end;
                char *nl;

                if (q->in_scan < start)
                        q->in_scan = start;
                nl = q->in_len > q->in_scan ? memchr(q->in + q->in_scan, '\n', q->in_len - q->in_scan) : NULL;
                if (!nl) {
                        q->in_scan = q->in_len; /* a big message arrives in many reads: each stays O(read) */
                        break;
                }
                end = (size_t) (nl - q->in);
                if (end - start > ZERO_QMP_MESSAGE_MAX) {
                        qmp_close(q, -EPROTO, "QMP message longer than %u bytes", ZERO_QMP_MESSAGE_MAX);
                        return;
                }
                *nl = '\0';
                q->in_start = q->in_scan = end + 1;
                /* The line is only read before any callback runs (which may move the buffer). */
                qmp_dispatch_line(q, q->in + start, end - start);
                if (q->state == QMP_CLOSED)
                        return; /* closed, maybe freed, from a callback: dispatch no more */
        }
        if (q->in_start > 0) { /* only then: a partial message is not moved on every read */
                memmove(q->in, q->in + q->in_start, q->in_len - q->in_start);
                q->in_len -= q->in_start;
                q->in_scan -= q->in_start;
                q->in_start = 0;
        }
        if (q->in_len > ZERO_QMP_MESSAGE_MAX)
                qmp_close(q, -EPROTO, "QMP message longer than %u bytes", ZERO_QMP_MESSAGE_MAX);
        else if (q->in_len == 0 && q->in_size > 4 * READ_CHUNK) /* after a huge reply */
                q->in = mfree(q->in), q->in_size = 0, q->in_scan = 0;
}

static void qmp_read(struct zero_qmp *q) {
        ssize_t n;

        if (q->in_size - q->in_len < READ_CHUNK) {
                /* Doubling, but no further than the limit needs: in_len <= ZERO_QMP_MESSAGE_MAX here. */
                size_t size = q->in_len + READ_CHUNK > 2 * q->in_size ? q->in_len + READ_CHUNK : 2 * q->in_size;
                size = size < ZERO_QMP_MESSAGE_MAX + 2 * READ_CHUNK ? size : ZERO_QMP_MESSAGE_MAX + 2 * READ_CHUNK;
                char *p = realloc(q->in, size);
                if (!p) {
                        qmp_close(q, -ENOMEM, "out of memory");
                        return;
                }
                q->in = p;
                q->in_size = size;
        }
        n = read(q->fd, q->in + q->in_len, q->in_size - q->in_len);
        if (n < 0 && (errno == EAGAIN || errno == EINTR))
                return;
        if (n <= 0) {
                qmp_close(q, -ECONNRESET, "QMP connection %s", n < 0 ? strerror(errno) : "closed by the peer");
                return;
        }
        q->in_len += (size_t) n;
        qmp_dispatch_lines(q);
}

static int on_defer(sd_event_source *s, void *userdata) {
        _cleanup_(qmp_unrefp) struct zero_qmp *q = qmp_ref(userdata);

        qmp_deliver_notes(q);
        return 0;
}

static int on_io(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        _cleanup_(qmp_unrefp) struct zero_qmp *q = qmp_ref(userdata);

        qmp_deliver_notes(q); /* what came before, first */
        if (q->freed || q->state == QMP_CLOSED)
                return 0;
        if (revents & (EPOLLIN | EPOLLHUP | EPOLLERR))
                qmp_read(q);
        /* Also flushes what the callbacks just queued, without waiting for another iteration. */
        if (q->state != QMP_CLOSED && q->out_pos < q->out_len)
                qmp_write(q);
        return 0;
}

static int on_handshake_timeout(sd_event_source *s, uint64_t usec, void *userdata) {
        _cleanup_(qmp_unrefp) struct zero_qmp *q = qmp_ref(userdata);

        qmp_close(q, -ETIMEDOUT, "no QMP %s in time", q->state == QMP_GREETING ? "greeting" : "capabilities reply");
        return 0;
}

static int on_cmd_timeout(sd_event_source *s, uint64_t usec, void *userdata) {
        struct qmp_cmd *c = userdata;
        _cleanup_(qmp_unrefp) struct zero_qmp *q = qmp_ref(c->q);
        struct zero_error err = {};

        c = cmd_take(q, c->id);
        zero_error_set(&err, -ETIMEDOUT, ZERO_E_TIMEOUT, "QMP command %s got no reply in time", c->execute);
        cmd_answer(q, c, -ETIMEDOUT, NULL, &err);
        return 0;
}

static int cmd_new(struct zero_qmp *q, const char *execute, json_t *arguments, uint64_t timeout_usec,
                   zero_qmp_reply_fn cb, void *userdata, struct qmp_cmd **ret) {
        json_auto_t *args = arguments, *m = NULL;
        _cleanup_(cmd_freep) struct qmp_cmd *c = NULL;
        size_t len;
        char *s;
        int r;

        if (!execute || !*execute || (args && !json_is_object(args)))
                return -EINVAL;
        c = calloc(1, sizeof(*c));
        if (!c)
                return -ENOMEM;
        *c = (struct qmp_cmd){.q = q, .cb = cb, .userdata = userdata};
        snprintf(c->id, sizeof(c->id), "zero-%" PRIu64, ++q->next_id);
        c->execute = strdup(execute);
        if (!c->execute)
                return -ENOMEM;
        /* {"execute", "arguments", "id"}: jansson keeps insertion order. */
        m = json_pack("{s:s}", "execute", execute);
        if (!m)
                return -EINVAL; /* not UTF-8 */
        if (args && json_object_set(m, "arguments", args) < 0)
                return -ENOMEM;
        if (json_object_set_new(m, "id", json_string(c->id)) < 0)
                return -ENOMEM;
        c->line = json_dumps(m, JSON_COMPACT);
        if (!c->line)
                return -ENOMEM;
        len = strlen(c->line);
        if (len > ZERO_QMP_MESSAGE_MAX)
                return -EMSGSIZE;
        log_debug("QMP -> %s", c->line);
        s = realloc(c->line, len + 2);
        if (!s)
                return -ENOMEM;
        c->line = s;
        c->line[len] = '\n'; /* compact JSON holds no raw newline: this ends the message */
        c->line[len + 1] = '\0';
        c->line_len = len + 1;
        /* Deadlines from the clock, not from sd_event_now(): that is when the loop last woke,
         * which may be long before this call (a timeout that fired early, test_qmp's). */
        if (timeout_usec > 0) {
                r = sd_event_add_time(q->event, &c->timer, CLOCK_MONOTONIC, zero_monotonic_usec() + timeout_usec,
                                      timer_accuracy(timeout_usec), on_cmd_timeout, c);
                if (r < 0)
                        return r;
        }
        *ret = TAKE_PTR(c);
        return 0;
}

/* Makes a command and appends it to the list; the returned pointer is borrowed. */
static int cmd_queue(struct zero_qmp *q, const char *execute, json_t *arguments, uint64_t timeout_usec,
                     zero_qmp_reply_fn cb, void *userdata, struct qmp_cmd **ret) {
        json_auto_t *args = arguments;
        struct qmp_cmd *c = NULL, **tail;
        int r;

        if (!q || q->freed)
                return -EINVAL;
        if (q->state == QMP_CLOSED)
                return -ENOTCONN;
        r = cmd_new(q, execute, TAKE_PTR(args), timeout_usec, cb, userdata, &c);
        if (r < 0)
                return r;
        /* Before ready, the line is held back; on_capabilities() sends it in queue order. */
        if (q->state == QMP_READY && (r = cmd_send(q, c)) < 0) {
                cmd_free(c);
                return r;
        }
        for (tail = &q->cmds; *tail; tail = &(*tail)->next)
                ;
        *tail = c;
        if (ret)
                *ret = c;
        return 0;
}

int zero_qmp_command_timeout(struct zero_qmp *q, const char *execute, json_t *arguments,
                             uint64_t timeout_usec, zero_qmp_reply_fn cb, void *userdata) {
        return cmd_queue(q, execute, arguments, timeout_usec, cb, userdata, NULL);
}

/* ---- zero_qmp_call(): the same connection, waited for ---- */

struct call {
        bool done;
        int r;
        json_t *value;
        struct zero_error err;
};

static void on_call_reply(struct zero_qmp *q, int r, json_t *v, const struct zero_error *err, void *userdata) {
        struct call *call = userdata;

        call->done = true;
        call->r = r;
        call->value = json_incref(v);
        if (err)
                call->err = *err;
}

/* One wait for the socket, bounded by deadline: writes what is queued, reads what came. */
static int qmp_pump(struct zero_qmp *q, uint64_t deadline) {
        struct pollfd p = {.fd = q->fd, .events = POLLIN};
        uint64_t now = zero_monotonic_usec(), ms;
        int n;

        if (q->out_pos < q->out_len) {
                qmp_write(q);
                if (q->state == QMP_CLOSED)
                        return 0;
                if (q->out_pos < q->out_len)
                        p.events |= POLLOUT;
        }
        if (now >= deadline)
                return -ETIMEDOUT;
        ms = (deadline - now + USEC_PER_MSEC - 1) / USEC_PER_MSEC;
        n = poll(&p, 1, ms > INT_MAX ? INT_MAX : (int) ms);
        if (n < 0 && errno == EINTR)
                return 0;
        if (n < 0) {
                qmp_close(q, -ECONNRESET, "cannot wait for QMP: %s", strerror(errno));
                return 0;
        }
        if (p.revents & POLLOUT)
                qmp_write(q);
        if (q->state != QMP_CLOSED && (p.revents & (POLLIN | POLLHUP | POLLERR)))
                qmp_read(q);
        return 0;
}

int zero_qmp_call(struct zero_qmp *q, const char *execute, json_t *arguments, uint64_t timeout_usec, json_t **ret,
                  struct zero_error *err) {
        json_auto_t *args = arguments;
        _cleanup_(qmp_unrefp) struct zero_qmp *ref = NULL;
        struct call call = {};
        struct qmp_cmd *c = NULL;
        uint64_t deadline;
        char id[32];
        int r;

        if (!q || q->freed || !execute)
                return zero_error_set(err, -EINVAL, ZERO_E_INTERNAL, "QMP: invalid call");
        if (timeout_usec == 0)
                timeout_usec = q->timeout_usec > 0 ? q->timeout_usec : ZERO_QMP_TIMEOUT_USEC_DEFAULT;
        deadline = zero_monotonic_usec() + timeout_usec;
        r = cmd_queue(q, execute, TAKE_PTR(args), 0, on_call_reply, &call, &c);
        if (r == -ENOTCONN)
                return zero_error_set(err, r, ZERO_E_RUNTIME, "QMP connection closed before %s", execute);
        if (r < 0)
                return zero_error_set(err, r, ZERO_E_INTERNAL, "cannot send QMP command %s: %s", execute, strerror(-r));
        c->now = true;
        snprintf(id, sizeof(id), "%s", c->id);
        ref = qmp_ref(q);
        q->in_call++;
        /* Lines already read (a call from a callback in the middle of them) come first. */
        qmp_dispatch_lines(q);
        while (!call.done) {
                if (q->state == QMP_CLOSED)
                        break; /* cannot happen: closing answered the call */
                if (qmp_pump(q, deadline) == -ETIMEDOUT) {
                        struct zero_error e = {};
                        c = cmd_take(q, id);
                        if (!c)
                                break; /* cannot happen: it is answered or listed */
                        zero_error_set(&e, -ETIMEDOUT, ZERO_E_TIMEOUT, "QMP command %s got no reply in time", execute);
                        snprintf(e.detail, sizeof(e.detail), "timeout");
                        cmd_answer(q, c, -ETIMEDOUT, NULL, &e);
                }
        }
        q->in_call--;
        if (!call.done)
                return zero_error_set(err, -ECONNRESET, ZERO_E_RUNTIME, "QMP connection closed during %s", execute);
        if (call.r < 0) {
                if (err)
                        *err = call.err;
                return call.r;
        }
        if (ret)
                *ret = call.value;
        else
                json_decref(call.value);
        return 0;
}

int zero_qmp_command(struct zero_qmp *q, const char *execute, json_t *arguments, zero_qmp_reply_fn cb,
                     void *userdata) {
        return zero_qmp_command_timeout(q, execute, arguments, q ? q->timeout_usec : 0, cb, userdata);
}

int zero_qmp_wait_ready(struct zero_qmp *q, uint64_t timeout_usec, struct zero_error *err) {
        _cleanup_(qmp_unrefp) struct zero_qmp *ref = NULL;
        uint64_t deadline;

        if (!q || q->freed)
                return zero_error_set(err, -EINVAL, ZERO_E_INTERNAL, "QMP: invalid call");
        if (timeout_usec == 0)
                timeout_usec = q->timeout_usec > 0 ? q->timeout_usec : ZERO_QMP_TIMEOUT_USEC_DEFAULT;
        deadline = zero_monotonic_usec() + timeout_usec;
        ref = qmp_ref(q);
        q->in_call++;
        qmp_dispatch_lines(q);
        while (q->state == QMP_GREETING || q->state == QMP_CAPABILITIES)
                if (qmp_pump(q, deadline) == -ETIMEDOUT)
                        break;
        q->in_call--;
        if (q->state == QMP_READY)
                return 0;
        if (q->state == QMP_CLOSED) {
                if (err)
                        *err = q->closed_err;
                return q->closed_r < 0 ? q->closed_r : -ECONNRESET;
        }
        return zero_error_set(err, -ETIMEDOUT, ZERO_E_TIMEOUT, "no QMP %s in time",
                              q->state == QMP_GREETING ? "greeting" : "capabilities reply");
}

int zero_qmp_new_fd(sd_event *e, int fd, const struct zero_qmp_callbacks *callbacks, void *userdata,
                    struct zero_qmp **ret) {
        _cleanup_close_ int sock = fd;
        _cleanup_(qmp_unrefp) struct zero_qmp *q = NULL;
        int flags, r;

        if (!e || sock < 0 || !ret)
                return -EINVAL;
        flags = fcntl(sock, F_GETFL);
        if (flags < 0 || fcntl(sock, F_SETFL, flags | O_NONBLOCK) < 0)
                return -errno;
        q = calloc(1, sizeof(*q));
        if (!q)
                return -ENOMEM;
        *q = (struct zero_qmp){.n_ref = 1, .fd = -EBADF, .event = sd_event_ref(e), .userdata = userdata,
                               .timeout_usec = ZERO_QMP_TIMEOUT_USEC_DEFAULT,
                               .cb = callbacks ? *callbacks : (struct zero_qmp_callbacks){}};
        q->notes_tail = &q->notes;
        r = sd_event_add_io(e, &q->io, sock, EPOLLIN, on_io, q);
        if (r < 0)
                return r;
        (void) sd_event_source_set_description(q->io, "qmp");
        r = sd_event_add_time(e, &q->handshake_timer, CLOCK_MONOTONIC, zero_monotonic_usec() + q->timeout_usec,
                              timer_accuracy(q->timeout_usec), on_handshake_timeout, q);
        if (r < 0)
                return r;
        q->fd = TAKE_FD(sock);
        *ret = TAKE_PTR(q);
        return 0;
}

int zero_qmp_new(sd_event *e, const char *socket_path, const struct zero_qmp_callbacks *callbacks,
                 void *userdata, struct zero_qmp **ret) {
        struct sockaddr_un sa = {.sun_family = AF_UNIX};
        _cleanup_close_ int fd = -EBADF;

        if (!e || !socket_path || !ret)
                return -EINVAL;
        if (strlen(socket_path) >= sizeof(sa.sun_path))
                return -ENAMETOOLONG;
        strcpy(sa.sun_path, socket_path);
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (fd < 0)
                return -errno;
        /* A unix stream connect completes or fails at once, also non-blocking (never EINPROGRESS). */
        if (connect(fd, (struct sockaddr *) &sa, sizeof(sa)) < 0)
                return -errno;
        return zero_qmp_new_fd(e, TAKE_FD(fd), callbacks, userdata, ret);
}

struct zero_qmp *zero_qmp_free(struct zero_qmp *q) {
        struct qmp_note *n;

        if (!q || q->freed)
                return NULL;
        q->freed = true;
        if (q->state != QMP_CLOSED)
                qmp_close(q, -ECANCELED, "QMP connection freed");
        else {
                struct zero_error err = {.code = ZERO_E_CANCELED, .message = "QMP connection freed"};
                qmp_fail_all(q, -ECANCELED, &err);
        }
        /* Replies noted but not delivered are canceled too; the other notes go unheard. */
        while ((n = note_pop(q)))
                note_deliver(q, n);
        q->defer = sd_event_source_disable_unref(q->defer);
        qmp_unref(q);
        return NULL;
}

void zero_qmp_set_timeout(struct zero_qmp *q, uint64_t timeout_usec) {
        if (!q)
                return;
        q->timeout_usec = timeout_usec;
        if (q->handshake_timer && timeout_usec == 0)
                q->handshake_timer = sd_event_source_disable_unref(q->handshake_timer);
        else if (q->handshake_timer) {
                (void) sd_event_source_set_time(q->handshake_timer, zero_monotonic_usec() + timeout_usec);
                (void) sd_event_source_set_time_accuracy(q->handshake_timer, timer_accuracy(timeout_usec));
        }
}

int zero_qmp_is_ready(const struct zero_qmp *q) {
        if (!q || q->state == QMP_CLOSED)
                return -ENOTCONN;
        return q->state == QMP_READY;
}

int zero_qmp_version(const struct zero_qmp *q) {
        if (!q)
                return -EINVAL;
        return q->version > 0 ? q->version : -ENODATA;
}
