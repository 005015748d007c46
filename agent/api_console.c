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
#include <sys/epoll.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent/agent.h"
#include "agent/api.h"
#include "agent/http.h"
#include "agent/relay.h"
#include "common/frame.h"
#include "shim/client.h"
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
        /* Not a stream's (an interactive console's): told of changes instead. */
        void (*changed)(void *userdata);
        void *changed_userdata;
};

static void follow_changed(struct follow *f) {
        if (f->changed)
                f->changed(f->changed_userdata);
        else
                zero_stream_wake(f->stream);
}

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

        follow_changed(f);
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
        follow_changed(f);
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

/* The console's next bytes into buf (after the tail, which the caller sends first): > 0, the
 * bytes in *ret_n; 1 with *ret_n 0: ask again at once (a newer log was opened); 0: nothing for
 * now (a change is told); ZERO_STREAM_END: the instance's run directory is gone. */
static int follow_next(struct follow *f, char *buf, size_t size, size_t *ret_n) {
        struct stat st;
        ssize_t n;

        *ret_n = 0;
        if (f->fd >= 0) {
                n = pread(f->fd, buf, size, f->off);
                if (n < 0)
                        return -errno;
                if (n > 0) {
                        f->off += n;
                        *ret_n = (size_t) n;
                        return 1;
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

static int follow_fill(struct zero_stream *s, void *userdata) {
        struct follow *f = userdata;
        char buf[FOLLOW_CHUNK];
        size_t n;
        int r;

        f->stream = s;
        if (f->tail) {
                r = zero_stream_write(s, f->tail, f->tail_len);
                f->tail = mfree(f->tail);
                return r < 0 ? r : 1;
        }
        r = follow_next(f, buf, sizeof(buf), &n);
        if (r > 0 && n > 0) {
                int k = zero_stream_write(s, buf, n);
                return k < 0 ? k : 1;
        }
        return r;
}

/* A follower of dir's console from want bytes before its end. */
static int follow_new(sd_event *e, const char *dir, size_t want, struct follow **ret) {
        struct follow *f = calloc(1, sizeof(*f));
        struct stat st;
        int r;

        if (!f)
                return -ENOMEM;
        f->event = e;
        f->fd = -1;
        f->dir = strdup(dir);
        f->path = zero_strdup_printf("%s/console.log", dir);
        f->old = zero_strdup_printf("%s/console.log.1", dir);
        if (!f->dir || !f->path || !f->old) {
                follow_free(f);
                return -ENOMEM;
        }
        /* The tail and the follow from one open file: no byte twice, none missed. */
        if (follow_open(f, f->path) >= 0 && fstat(f->fd, &st) == 0)
                f->off = st.st_size;
        console_tail(dir, f->fd, f->off, want, &f->tail, &f->tail_len);
        r = follow_watch(f);
        if (r == -ENOENT)
                r = sd_event_add_time_relative(e, &f->look, CLOCK_MONOTONIC, FOLLOW_LOOK_USEC, 0, on_look, f);
        if (r < 0) {
                follow_free(f);
                return r;
        }
        *ret = f;
        return 0;
}

static void reply_follow(struct zero_request *req, const char *dir, size_t want) {
        struct follow *f;
        int r = follow_new(zero_request_agent(req)->event, dir, want, &f);

        if (r < 0)
                return zero_reply_error(req, 500, "internal", "cannot watch the console: %s", strerror(-r));
        zero_reply_stream_raw(req, "text/plain; charset=utf-8", follow_fill, follow_free, f);
}

/* --- the interactive console: POST /v1/instances/{name}/console, upgraded --- */

/* The console followed into a pipe whose other end the relay reads as STDOUT frames; what the
 * client types goes to the instance's stdin (the shim's pipe: zero_shim_attach()). */
struct attach {
        struct follow *f;
        char *name;
        int pipe_w; /* the follower's output */
        sd_event_source *pipe_src;
        char buf[FOLLOW_CHUNK];
        size_t len, off;
        struct zero_relay_fds fds; /* until the upgrade hands them to the relay */
        struct zero_relay *relay;
        bool ended;
};

static void attach_free(struct attach *t) {
        if (!t)
                return;
        t->relay = zero_relay_free(t->relay);
        t->pipe_src = sd_event_source_disable_unref(t->pipe_src);
        safe_close(t->pipe_w);
        safe_close(t->fds.in);
        safe_close(t->fds.out);
        if (t->f)
                follow_free(t->f);
        free(t->name);
        free(t);
}

/* Moves the console into the pipe until it is full (then its writability wakes this) or the
 * console has nothing more for now (then the follower's change does). */
static void attach_pump(void *userdata) {
        struct attach *t = userdata;

        while (!t->ended) {
                if (t->off < t->len) {
                        ssize_t k = write(t->pipe_w, t->buf + t->off, t->len - t->off);
                        if (k < 0 && errno == EAGAIN) {
                                (void) sd_event_source_set_enabled(t->pipe_src, SD_EVENT_ONESHOT);
                                return;
                        }
                        if (k < 0) /* the relay is gone: its end is near */
                                return;
                        t->off += (size_t) k;
                        continue;
                }
                t->off = t->len = 0;
                t->f->tail = mfree(t->f->tail); /* none asked for: it starts at the end */
                int r = follow_next(t->f, t->buf, sizeof(t->buf), &t->len);
                if (r == ZERO_STREAM_END || r < 0) {
                        /* The instance is deleted: the stream's end, told as an exit. */
                        t->ended = true;
                        t->pipe_src = sd_event_source_disable_unref(t->pipe_src);
                        t->pipe_w = safe_close(t->pipe_w);
                        zero_relay_exited(t->relay, 0, 0);
                        return;
                }
                if (r == 0)
                        return;
        }
}

static int on_pipe_writable(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        attach_pump(userdata);
        return 0;
}

static void attach_over(struct zero_relay *r, bool gone, void *userdata) {
        struct attach *t = userdata;

        log_info("Interactive console of %s: %s", t->name, gone ? "the client left" : "ended");
        attach_free(t);
}

static const struct zero_relay_ops attach_relay_ops = {.over = attach_over};

static void attach_upgraded(struct zero_upgrade *u, int fd, const char *extra, size_t n_extra, void *userdata) {
        struct attach *t = userdata;
        int r = zero_relay_start(t->f->event, u, fd, extra, n_extra, &t->fds, &attach_relay_ops, t, &t->relay);

        if (r < 0) {
                log_error_errno(r, "Interactive console of %s: cannot relay: %m", t->name);
                attach_free(t);
                return;
        }
        if (t->ended)
                zero_relay_exited(t->relay, 0, 0);
        attach_pump(t);
}

static void attach_free_userdata(void *userdata) {
        attach_free(userdata);
}

static const struct zero_upgrade_ops attach_upgrade_ops = {
        .upgraded = attach_upgraded,
        .free_userdata = attach_free_userdata,
        .stop = attach_free_userdata,
};

void zero_api_attach_console(struct zero_request *req) {
        struct zero_agent *a = zero_request_agent(req);
        struct zero_error err = {};
        struct zero_inst *inst;
        struct attach *t;
        json_t *body = zero_request_body(req);
        int p[2], r, in = -EBADF;

        if (body && (!json_is_object(body) || json_object_size(body) > 0))
                return zero_reply_error(req, 422, "invalid", "the interactive console takes no fields: {} or no body");
        if (zero_api_stream_instance(req, "an interactive console", &inst) < 0)
                return;
        r = zero_shim_attach(inst->run_dir, &in, &err);
        if (r == -ENXIO)
                /* Its runtime keeps no stdin: a container created without "stdin" (a VM's is kept
                 * always), whose command reads /dev/null. */
                return zero_reply_error(req, 409, "conflict",
                                        "instance %s was created without stdin: create it with \"stdin\": true "
                                        "(zeroctl create -i) to type into its console",
                                        inst->name);
        if (r < 0) {
                if (err.code == ZERO_E_RUNTIME)
                        return zero_reply_error(req, 409, "conflict", "%s: %s", inst->name, err.message);
                return zero_reply_zero_error(req, r, &err);
        }
        t = calloc(1, sizeof(*t));
        if (!t || !(t->name = strdup(inst->name)) || pipe2(p, O_CLOEXEC | O_NONBLOCK) < 0) {
                safe_close(in);
                if (t)
                        free(t->name);
                free(t);
                return zero_reply_error(req, 500, "internal", "cannot make the console's relay");
        }
        t->pipe_w = p[1];
        t->fds = (struct zero_relay_fds){.in = in, .out = p[0], .err = -EBADF};
        r = fcntl(in, F_SETFL, O_NONBLOCK) < 0 ? -errno : 0;
        if (r >= 0)
                r = follow_new(a->event, inst->run_dir, 0, &t->f);
        if (r >= 0)
                r = sd_event_add_io(a->event, &t->pipe_src, t->pipe_w, EPOLLOUT, on_pipe_writable, t);
        if (r >= 0)
                r = sd_event_source_set_enabled(t->pipe_src, SD_EVENT_OFF);
        if (r < 0) {
                attach_free(t);
                return zero_reply_error(req, 500, "internal", "cannot follow the console: %s", strerror(-r));
        }
        t->f->changed = attach_pump;
        t->f->changed_userdata = t;
        log_info("Interactive console of %s (for %s)", inst->name, zero_request_actor(req));
        zero_reply_upgrade(req, ZERO_FRAME_PROTOCOL, &attach_upgrade_ops, t);
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
