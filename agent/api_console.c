/* SPDX-License-Identifier: Apache-2.0 */
/*
 * GET /v1/instances/{name}/console[?bytes=N][&follow=true]: the instance's console log (its
 * shim's console.log, rotated once to console.log.1, read straight from the run directory: no
 * round trip to the shim, and it works for an instance whose shim is gone). The last N bytes
 * (64 KiB unless asked); with follow, then what is written from there on, as it comes, like
 * `tail -f`: a raw chunked body (text/plain, no framing) that goes on across stops and starts
 * and the shim's rotation, and ends when the instance's run directory goes (its delete), or
 * when the client closes. New bytes are noticed by inotify on the run directory; before the
 * directory exists (an instance never started), a timer looks for it every second.
 */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent/agent.h"
#include "agent/api.h"
#include "agent/http.h"
#include "common/log.h"
#include "common/util.h"

#define CONSOLE_DEFAULT_BYTES (64 * 1024)
#define CONSOLE_MAX_BYTES (1024 * 1024)
#define FOLLOW_CHUNK (16 * 1024)
#define FOLLOW_LOOK_USEC (1000 * 1000ULL)

/* Appends up to `want` bytes of fd before offset end to buf. */
static void tail_fd(int fd, off_t end, size_t want, char **buf, size_t *len) {
        off_t off = end > (off_t) want ? end - (off_t) want : 0;
        char *nb;
        ssize_t n;

        if (fd < 0 || want == 0 || end <= 0)
                return;
        nb = realloc(*buf, *len + (size_t) (end - off) + 1);
        if (!nb)
                return;
        *buf = nb;
        n = pread(fd, *buf + *len, (size_t) (end - off), off);
        if (n > 0)
                *len += (size_t) n;
}

/* The last `want` bytes of the console, across the rotation: into buf. cur_fd (may be -1) is
 * console.log, read up to cur_end. */
static void console_tail(const char *dir, int cur_fd, off_t cur_end, size_t want, char **buf, size_t *len) {
        _cleanup_free_ char *old = zero_strdup_printf("%s/console.log.1", dir);
        size_t in_cur = cur_end > 0 ? (size_t) cur_end : 0;

        if (old && want > in_cur) {
                _cleanup_close_ int fd = open(old, O_RDONLY | O_CLOEXEC);
                struct stat st;

                if (fd >= 0 && fstat(fd, &st) == 0)
                        tail_fd(fd, st.st_size, want - in_cur, buf, len);
        }
        tail_fd(cur_fd, cur_end, want, buf, len);
}

/* --- following --- */

struct follow {
        sd_event *event;
        char *dir, *path, *old; /* the run directory, its console.log and console.log.1 */
        int fd;           /* console.log as it was opened: read to its end before a newer one */
        ino_t ino;
        off_t off;
        char *tail; /* what goes first: the last bytes asked for */
        size_t tail_len;
        sd_event_source *watch, *look; /* inotify on dir; or, without dir, a timer that looks for it */
        struct zero_stream *stream;    /* known from the first fill on */
};

static void follow_free(void *userdata) {
        struct follow *f = userdata;

        f->watch = sd_event_source_disable_unref(f->watch);
        f->look = sd_event_source_disable_unref(f->look);
        if (f->fd >= 0)
                close(f->fd);
        free(f->tail);
        free(f->dir);
        free(f->path);
        free(f->old);
        free(f);
}

static int on_dir_change(sd_event_source *s, const struct inotify_event *ev, void *userdata) {
        struct follow *f = userdata;

        zero_stream_wake(f->stream);
        return 0;
}

static int follow_watch(struct follow *f) {
        return sd_event_add_inotify(f->event, &f->watch, f->dir,
                                    IN_MODIFY | IN_CREATE | IN_MOVED_TO | IN_DELETE_SELF | IN_MOVE_SELF | IN_ONLYDIR,
                                    on_dir_change, f);
}

static int on_look(sd_event_source *s, uint64_t usec, void *userdata) {
        struct follow *f = userdata;

        if (follow_watch(f) >= 0)
                f->look = sd_event_source_disable_unref(f->look);
        else
                (void) sd_event_source_set_time_relative(s, FOLLOW_LOOK_USEC);
        zero_stream_wake(f->stream);
        return 0;
}

/* path (console.log, or console.log.1) from its start: -ENOENT while there is none. */
static int follow_open(struct follow *f, const char *path) {
        struct stat st;
        int fd = open(path, O_RDONLY | O_CLOEXEC);

        if (fd < 0)
                return -errno;
        if (fstat(fd, &st) < 0) {
                close(fd);
                return -errno;
        }
        if (f->fd >= 0)
                close(f->fd);
        f->fd = fd;
        f->ino = st.st_ino;
        f->off = 0;
        return 0;
}

static int follow_fill(struct zero_stream *s, void *userdata) {
        struct follow *f = userdata;
        char buf[FOLLOW_CHUNK];
        struct stat st;
        ssize_t n;

        f->stream = s;
        if (f->tail) {
                int r = zero_stream_write(s, f->tail, f->tail_len);
                f->tail = mfree(f->tail);
                return r < 0 ? r : 1;
        }
        if (f->fd >= 0) {
                n = pread(f->fd, buf, sizeof(buf), f->off);
                if (n < 0)
                        return -errno;
                if (n > 0) {
                        f->off += n;
                        int r = zero_stream_write(s, buf, (size_t) n);
                        return r < 0 ? r : 1;
                }
        }
        /* At the end of what was opened: a newer console.log (the shim rotated it, or made it).
         * Rotated twice since (a follower that fell a whole log behind): console.log.1 is one
         * this never read, read first; what was rotated away before it is lost, as with tail -F. */
        if (stat(f->path, &st) == 0 && (f->fd < 0 || st.st_ino != f->ino)) {
                struct stat old;

                if (f->fd >= 0 && stat(f->old, &old) == 0 && old.st_ino != f->ino && old.st_ino != st.st_ino &&
                    follow_open(f, f->old) >= 0)
                        return 1;
                return follow_open(f, f->path) < 0 ? 0 : 1;
        }
        /* The directory gone with its instance (not before it was ever made): the end. */
        if (!f->look && access(f->dir, F_OK) < 0 && errno == ENOENT)
                return ZERO_STREAM_END;
        return 0;
}

static void reply_follow(struct zero_request *req, const char *dir, size_t want) {
        struct zero_agent *a = zero_request_agent(req);
        struct follow *f = calloc(1, sizeof(*f));
        struct stat st;
        int r;

        if (!f)
                return zero_reply_error(req, 500, "internal", "out of memory");
        f->event = a->event;
        f->fd = -1;
        f->dir = strdup(dir);
        f->path = zero_strdup_printf("%s/console.log", dir);
        f->old = zero_strdup_printf("%s/console.log.1", dir);
        if (!f->dir || !f->path || !f->old) {
                follow_free(f);
                return zero_reply_error(req, 500, "internal", "out of memory");
        }
        /* The tail and the follow from one open file: no byte twice, none missed. */
        if (follow_open(f, f->path) >= 0 && fstat(f->fd, &st) == 0)
                f->off = st.st_size;
        console_tail(dir, f->fd, f->off, want, &f->tail, &f->tail_len);
        r = follow_watch(f);
        if (r == -ENOENT)
                r = sd_event_add_time_relative(a->event, &f->look, CLOCK_MONOTONIC, FOLLOW_LOOK_USEC, 0, on_look, f);
        if (r < 0) {
                follow_free(f);
                return zero_reply_error(req, 500, "internal", "cannot watch the console: %s", strerror(-r));
        }
        zero_reply_stream_raw(req, "text/plain; charset=utf-8", follow_fill, follow_free, f);
}

void zero_api_get_console(struct zero_request *req) {
        struct zero_agent *a = zero_request_agent(req);
        struct zero_instance_row row = {};
        struct zero_inst *inst;
        const char *q = zero_request_query(req, "bytes");
        const char *fq = zero_request_query(req, "follow");
        int64_t want = CONSOLE_DEFAULT_BYTES;
        bool follow = fq && (streq(fq, "true") || streq(fq, "1"));
        char *buf = NULL;
        size_t len = 0;
        struct stat st;

        if (q && zero_parse_int64(q, 0, CONSOLE_MAX_BYTES, &want) < 0)
                return zero_reply_error(req, 422, "invalid", "bytes: expected 0..%d", CONSOLE_MAX_BYTES);
        if (fq && !follow && !streq(fq, "false") && !streq(fq, "0"))
                return zero_reply_error(req, 422, "invalid", "follow: expected true or false");
        if (zero_api_load_instance(req, &row) < 0)
                return;
        if (zero_inst_get(a, row.id, row.name, &inst) < 0) {
                zero_instance_row_done(&row);
                return zero_reply_error(req, 500, "internal", "out of memory");
        }
        zero_instance_row_done(&row);
        if (follow)
                return reply_follow(req, inst->run_dir, (size_t) want);

        _cleanup_free_ char *cur = zero_strdup_printf("%s/console.log", inst->run_dir);
        _cleanup_close_ int fd = cur ? open(cur, O_RDONLY | O_CLOEXEC) : -1;
        console_tail(inst->run_dir, fd, fd >= 0 && fstat(fd, &st) == 0 ? st.st_size : 0, (size_t) want, &buf, &len);
        if (!buf)
                buf = calloc(1, 1);
        zero_reply_text(req, 200, "text/plain; charset=utf-8", buf, len);
}
