/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The node's one qemu-storage-daemon: started under zero-shim in RUN/qsd, adopted again by a
 * restarted zerod (its exports live on), watched through the shim's "wait", started again when
 * it dies. Its monitor, the calls on it and their rules are qsd_call.c's.
 *
 * Nothing here holds the loop for long (issue 11, item 7): a restart after the daemon died runs
 * from the loop: the old shim's exit, the spawn, the shim's report, the QMP socket and its
 * greeting are each waited for by a source with a deadline, then lost_exports; ops meanwhile
 * fail at once (ZERO_E_UNAVAILABLE). Only zerod's start (qsd_open) and a driver opened without a
 * loop start the daemon synchronously, before anything is served.
 *
 * Library code: no logging, except in the watch and restart paths, which run from the event
 * loop with nobody to hand an error to.
 */
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <systemd/sd-event.h>

#include "common/log.h"
#include "common/util.h"
#include "shim/client.h"
#include "io/softcard/qsd_internal.h"

#define QSD_SHIM_ID "softcard-qsd"
#define SYNC_TIMEOUT_USEC (5 * USEC_PER_SEC)
/* How often a restart looks again for the old shim's exit and the new daemon's socket. */
#define RESTART_POLL_USEC (2 * USEC_PER_MSEC)
#define RESTART_WINDOW_USEC (10 * USEC_PER_SEC) /* RESTART_BURST restarts within it at most */

pid_t qsd_pid(const struct qsd *q) {
        return q->pid;
}

const char *qsd_exports_dir(const struct qsd *q) {
        return q->exports_dir;
}

struct softcard_loop_index *qsd_loops(struct qsd *q) {
        return &q->loops;
}

struct softcard_view *qsd_view(struct qsd *q) {
        return &q->view;
}

const char *qsd_nbd_socket(const struct qsd *q) {
        return q->nbd_path;
}

/* ---- The connection's callbacks: a restart waits for its handshake ---- */

static void restart_connected(struct qsd *q);
static void restart_fail(struct qsd *q, const char *fmt, ...) _printf_(2, 3);

static void on_qmp_ready(struct zero_qmp *qmp, void *userdata) {
        struct qsd *q = userdata;

        if (q->phase == RESTART_HANDSHAKE && qmp == q->qmp)
                restart_connected(q);
}

static void on_qmp_closed(struct zero_qmp *qmp, int r, const struct zero_error *err, void *userdata) {
        struct qsd *q = userdata;

        /* Otherwise nothing to do: the next call connects again, the watch sees a death. */
        if (q->phase == RESTART_HANDSHAKE && qmp == q->qmp)
                restart_fail(q, "its monitor closed during the handshake: %s", err->message);
}

const struct zero_qmp_callbacks qsd_qmp_callbacks = {.ready = on_qmp_ready, .closed = on_qmp_closed};

/* ---- The daemon under its shim ---- */

/* 1 and the daemon's pid when a shim runs it, 0 when there is no shim or its daemon exited. */
static int shim_status(struct qsd *q, pid_t *ret_pid) {
        _cleanup_close_ int fd = -EBADF;
        _cleanup_free_ char *reply = NULL;
        int pid, r;

        r = zero_shim_connect(q->dir, false, &fd);
        if (r == -ENOENT || r == -ECONNREFUSED)
                return 0;
        if (r < 0)
                return r;
        r = zero_shim_request_timeout(fd, "status", (int) (SYNC_TIMEOUT_USEC / USEC_PER_MSEC), &reply);
        if (r == -ECONNRESET)
                return 0; /* it was finishing */
        if (r < 0)
                return r;
        if (sscanf(reply, "running pid=%d", &pid) == 1 && pid > 0) {
                *ret_pid = pid;
                return 1;
        }
        return strncmp(reply, "exited ", 7) == 0 ? 0 : -EBADMSG;
}

/* A shim that reported the exit still removes its socket and files: a new shim in the same
 * directory would take it for a live one. */
static int shim_wait_gone(struct qsd *q, uint64_t deadline) {
        for (;;) {
                _cleanup_close_ int fd = -EBADF;
                int r = zero_shim_connect(q->dir, false, &fd);
                if (r == -ENOENT || r == -ECONNREFUSED)
                        return 0;
                if (zero_monotonic_usec() >= deadline)
                        return -ETIMEDOUT;
                (void) poll(NULL, 0, 2);
        }
}

static int shim_kill(struct qsd *q) {
        _cleanup_close_ int fd = -EBADF;
        _cleanup_free_ char *reply = NULL;

        if (zero_shim_connect(q->dir, false, &fd) >= 0)
                (void) zero_shim_request_timeout(fd, "signal 9", (int) (SYNC_TIMEOUT_USEC / USEC_PER_MSEC), &reply);
        return shim_wait_gone(q, zero_monotonic_usec() + SYNC_TIMEOUT_USEC);
}

/* The end of the daemon's console log, for an error message. */
static void console_tail(struct qsd *q, char *buf, size_t size) {
        _cleanup_free_ char *path = zero_strdup_printf("%s/%s", q->dir, ZERO_SHIM_FILE_CONSOLE);
        _cleanup_close_ int fd = path ? open(path, O_RDONLY | O_CLOEXEC) : -EBADF;
        off_t end = fd >= 0 ? lseek(fd, 0, SEEK_END) : -1;
        ssize_t n = end < 0 ? -1 : pread(fd, buf, size - 1, end > (off_t) size - 1 ? end - (off_t) size + 1 : 0);

        buf[n > 0 ? n : 0] = '\0';
        for (char *p = buf; *p; p++)
                if (*p == '\n')
                        *p = ' ';
}

static int wait_fd(int fd, short events, uint64_t deadline) {
        struct pollfd p = {.fd = fd, .events = events};

        for (;;) {
                uint64_t now = zero_monotonic_usec();
                int n;

                if (now >= deadline)
                        return -ETIMEDOUT;
                n = poll(&p, 1, (int) ((deadline - now + USEC_PER_MSEC - 1) / USEC_PER_MSEC));
                if (n < 0 && errno != EINTR)
                        return -errno;
                if (n > 0)
                        return 0;
        }
}

/* The shim's report, waited for: zerod's start only. */
static int read_sync(int fd, pid_t *ret_pid, struct zero_error *err) {
        uint64_t deadline = zero_monotonic_usec() + SYNC_TIMEOUT_USEC;
        char line[512];
        size_t len = 0;

        while (len + 1 < sizeof(line) && !memchr(line, '\n', len)) {
                ssize_t n = read(fd, line + len, sizeof(line) - 1 - len);
                if (n == 0)
                        break;
                if (n < 0 && errno == EAGAIN) {
                        if (wait_fd(fd, POLLIN, deadline) < 0)
                                return zero_error_set(err, -ETIMEDOUT, ZERO_E_INTERNAL,
                                                      "zero-shim did not report the start of qemu-storage-daemon");
                        continue;
                }
                if (n < 0 && errno != EINTR)
                        return zero_error_default(err, -errno, "Failed to read zero-shim's report");
                if (n > 0)
                        len += (size_t) n;
        }
        line[len] = '\0';
        return zero_shim_parse_sync(line, ret_pid, err);
}

/* QEMU option values: a ',' is written ",,". */
static char *opt_escape(const char *prefix, const char *path, const char *suffix) {
        _cleanup_free_ char *p = malloc(strlen(path) * 2 + 1);
        char *o = p;

        if (!p)
                return NULL;
        for (const char *s = path; *s; s++) {
                *o++ = *s;
                if (*s == ',')
                        *o++ = ',';
        }
        *o = '\0';
        return zero_strdup_printf("%s%s%s", prefix, p, suffix);
}

static void watch_stop(struct qsd *q) {
        q->watch = sd_event_source_disable_unref(q->watch);
}

static int on_watch(sd_event_source *s, int fd, uint32_t revents, void *userdata);

/* A "wait" pending on the shim's socket: its answer, or its hang-up, is the daemon's death. */
static int watch_start(struct qsd *q) {
        _cleanup_close_ int fd = -EBADF;
        int r;

        watch_stop(q);
        if (q->private_event)
                return 0;
        r = zero_shim_connect(q->dir, true, &fd);
        if (r < 0)
                return r;
        if (send(fd, "wait", 4, MSG_NOSIGNAL | MSG_DONTWAIT) < 0)
                return -errno;
        r = sd_event_add_io(q->event, &q->watch, fd, EPOLLIN, on_watch, q);
        if (r < 0)
                return r;
        (void) sd_event_source_set_io_fd_own(q->watch, true);
        (void) sd_event_source_set_description(q->watch, "softcard-qsd-watch");
        TAKE_FD(fd);
        return 0;
}

/* What a fresh daemon needs first: no connection, no watch, and nothing the last one left in
 * the kernel (its exports died with it). Then the shim that runs it; its sync pipe in *ret_fd. */
static int qsd_spawn(struct qsd *q, int *ret_fd, struct zero_error *err) {
        _cleanup_free_ char *chardev = opt_escape("socket,id=qmp,server=on,wait=off,path=", q->qmp_path, "");
        _cleanup_free_ char *nbd = opt_escape("addr.type=unix,addr.path=", q->nbd_path, "");
        const char *argv[] = {q->binary, "--chardev", chardev, "--monitor", "chardev=qmp", "--nbd-server", nbd, NULL};
        struct zero_shim_spawn_args a = {.shim_path = q->shim, .id = QSD_SHIM_ID, .dir = q->dir, .argv = argv};
        int r;

        if (!chardev || !nbd)
                return zero_error_default(err, -ENOMEM, "Failed to start qemu-storage-daemon");
        watch_stop(q);
        qsd_disconnect(q);
        q->pid = 0;
        r = softcard_exports_clear(q->exports_dir);
        softcard_loop_index_forget(&q->loops); /* its FUSE loops went */
        if (r < 0)
                return zero_error_default(err, r, "Failed to clear the old exports");
        (void) unlink(q->qmp_path);
        (void) unlink(q->nbd_path);
        return zero_shim_spawn(&a, ret_fd, err);
}

/* The daemon is up (connected, handshake done): adopt it. */
static int qsd_started(struct qsd *q, pid_t pid) {
        q->pid = pid;
        return watch_start(q);
}

/* The daemon takes its options in order (--chardev, --monitor, --nbd-server): its NBD socket is
 * there once its monitor is set up. Its QMP socket listens before that, and QEMU 7.2 has been
 * seen to break off (a handshake cut, once an assertion in its JSON parser) with a client that
 * connected in between: until then it counts as not listening yet. */
static bool options_taken(const struct qsd *q) {
        return access(q->nbd_path, F_OK) == 0;
}

/* Synchronous, bounded: zerod's start, or a driver without a loop. */
static int qsd_start(struct qsd *q, struct zero_error *err) {
        _cleanup_close_ int sync_fd = -EBADF;
        struct zero_error e = {};
        uint64_t deadline;
        pid_t pid;
        int r;

        r = qsd_spawn(q, &sync_fd, err);
        if (r < 0)
                return r;
        r = read_sync(sync_fd, &pid, err);
        if (r < 0)
                return r;
        /* The shim reports once the daemon runs, which listens some milliseconds later. */
        deadline = zero_monotonic_usec() + QMP_TIMEOUT_USEC;
        for (unsigned handshakes = 0;;) {
                uint64_t now = zero_monotonic_usec();
                e = (struct zero_error){};
                r = options_taken(q) ? qsd_connect(q, now < deadline ? deadline - now : 1, &e) : -ENOENT;
                if (r >= 0 || kill(pid, 0) < 0 || zero_monotonic_usec() >= deadline)
                        break;
                /* Not listening yet; or, once in CI, a handshake that broke off (EPROTO) with the
                 * daemon alive: a new connection gets a new greeting, a few times. */
                if (r != -ENOENT && r != -ECONNREFUSED) {
                        if (++handshakes > 3)
                                break;
                        log_warning("softcard: qemu-storage-daemon's QMP handshake failed, connecting again: %s",
                                    e.message[0] ? e.message : strerror(-r));
                }
                (void) poll(NULL, 0, 2);
        }
        if (r < 0) {
                char tail[400];
                console_tail(q, tail, sizeof(tail));
                (void) shim_kill(q);
                return zero_error_set(err, r, ZERO_E_INTERNAL, "qemu-storage-daemon did not come up (%s: %s): %s",
                                      strerror(-r), e.message[0] ? e.message : "-", tail[0] ? tail : "no output");
        }
        r = qsd_started(q, pid);
        if (r < 0)
                return zero_error_default(err, r, "Failed to watch qemu-storage-daemon");
        return 0;
}

static bool restart_allowed(struct qsd *q) {
        uint64_t now = zero_monotonic_usec();
        unsigned oldest = q->n_restarts % RESTART_BURST;

        if (q->n_restarts >= RESTART_BURST && now - q->restarts[oldest] < RESTART_WINDOW_USEC)
                return false;
        q->restarts[oldest] = now;
        q->n_restarts++;
        return true;
}

static void notify_lost(struct qsd *q) {
        if (q->lost_exports)
                q->lost_exports(q->userdata);
}

/* ---- The restart from the loop: each wait a source, each bounded ---- */

static void restart_stop(struct qsd *q) {
        q->restart_timer = sd_event_source_disable_unref(q->restart_timer);
        q->restart_io = sd_event_source_disable_unref(q->restart_io); /* closes the sync pipe */
        q->phase = RESTART_NONE;
        q->report_len = 0;
}

static int on_restart_timer(sd_event_source *s, uint64_t usec, void *userdata);

/* The phase's next look, after usec. */
static int restart_arm(struct qsd *q, uint64_t usec) {
        int r;

        if (!q->restart_timer) {
                r = sd_event_add_time_relative(q->event, &q->restart_timer, CLOCK_MONOTONIC, usec, 0, on_restart_timer,
                                               q);
                if (r >= 0)
                        (void) sd_event_source_set_description(q->restart_timer, "softcard-qsd-restart");
                return r;
        }
        r = sd_event_source_set_time_relative(q->restart_timer, usec);
        return r < 0 ? r : sd_event_source_set_enabled(q->restart_timer, SD_EVENT_ONESHOT);
}

static void restart_fail(struct qsd *q, const char *fmt, ...) {
        char why[256], tail[400];
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(why, sizeof(why), fmt, ap);
        va_end(ap);
        console_tail(q, tail, sizeof(tail));
        log_error("softcard: cannot restart qemu-storage-daemon: %s: %s", why, tail[0] ? tail : "no output");
        restart_stop(q);
        qsd_disconnect(q);
        /* A daemon that came half up goes; its shim's exit is waited for by the next restart,
         * which the next card op starts. */
        if (q->restart_pid > 0) {
                _cleanup_close_ int fd = -EBADF;
                _cleanup_free_ char *reply = NULL;
                if (zero_shim_connect(q->dir, false, &fd) >= 0)
                        (void) zero_shim_request_timeout(fd, "signal 9", (int) (SYNC_TIMEOUT_USEC / USEC_PER_MSEC), &reply);
        }
        q->restart_pid = 0;
}

static void restart_connected(struct qsd *q) {
        pid_t pid = q->restart_pid;

        restart_stop(q);
        q->restart_pid = 0;
        zero_qmp_set_timeout(q->qmp, 0); /* calls bring their own */
        if (qsd_started(q, pid) < 0)
                log_warning("softcard: cannot watch qemu-storage-daemon (pid %d)", (int) pid);
        log_notice("softcard: qemu-storage-daemon restarted (pid %d); its exports are lost", (int) pid);
        notify_lost(q);
}

/* The socket is there once the daemon listens: connect, then the handshake's own bound. */
static void restart_listen(struct qsd *q) {
        uint64_t now = zero_monotonic_usec();
        int r;

        qsd_disconnect(q);
        r = options_taken(q) ? zero_qmp_new(q->event, q->qmp_path, &qsd_qmp_callbacks, q, &q->qmp) : -ENOENT;

        if (r >= 0) {
                q->phase = RESTART_HANDSHAKE;
                q->restart_timer = sd_event_source_disable_unref(q->restart_timer);
                zero_qmp_set_timeout(q->qmp, now < q->restart_deadline ? q->restart_deadline - now : 1);
                return;
        }
        if (r != -ENOENT && r != -ECONNREFUSED && r != -EAGAIN)
                restart_fail(q, "cannot connect to its monitor: %s", strerror(-r));
        else if (kill(q->restart_pid, 0) < 0)
                restart_fail(q, "it exited before it listened");
        else if (now >= q->restart_deadline)
                restart_fail(q, "it did not listen on its monitor within %llu s",
                             (unsigned long long) (QMP_TIMEOUT_USEC / USEC_PER_SEC));
        else if ((r = restart_arm(q, RESTART_POLL_USEC)) < 0)
                restart_fail(q, "cannot arm a timer: %s", strerror(-r));
}

static int on_restart_report(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        struct qsd *q = userdata;
        struct zero_error err = {};
        ssize_t n;
        int r;

        n = read(fd, q->report + q->report_len, sizeof(q->report) - 1 - q->report_len);
        if (n < 0 && (errno == EAGAIN || errno == EINTR))
                return 0;
        if (n > 0)
                q->report_len += (size_t) n;
        q->report[q->report_len] = '\0';
        if (n > 0 && !memchr(q->report, '\n', q->report_len) && q->report_len + 1 < sizeof(q->report))
                return 0; /* more to come */
        q->restart_io = sd_event_source_disable_unref(q->restart_io);
        r = zero_shim_parse_sync(q->report, &q->restart_pid, &err);
        if (r < 0) {
                restart_fail(q, "zero-shim reported: %s", err.message);
                return 0;
        }
        q->phase = RESTART_LISTEN;
        q->restart_deadline = zero_monotonic_usec() + QMP_TIMEOUT_USEC;
        restart_listen(q);
        return 0;
}

static void restart_spawn(struct qsd *q) {
        _cleanup_close_ int fd = -EBADF;
        struct zero_error err = {};
        int r;

        r = qsd_spawn(q, &fd, &err);
        if (r < 0) {
                restart_fail(q, "%s", err.message);
                return;
        }
        r = sd_event_add_io(q->event, &q->restart_io, fd, EPOLLIN, on_restart_report, q);
        if (r < 0) {
                restart_fail(q, "cannot watch zero-shim's report: %s", strerror(-r));
                return;
        }
        (void) sd_event_source_set_io_fd_own(q->restart_io, true);
        TAKE_FD(fd);
        q->phase = RESTART_REPORT;
        q->restart_deadline = zero_monotonic_usec() + SYNC_TIMEOUT_USEC;
        r = restart_arm(q, SYNC_TIMEOUT_USEC);
        if (r < 0)
                restart_fail(q, "cannot arm a timer: %s", strerror(-r));
}

/* A shim that reported the exit still removes its socket and files: a new shim in the same
 * directory would take it for a live one. */
static void restart_shim_exit(struct qsd *q) {
        _cleanup_close_ int fd = -EBADF;
        int r = zero_shim_connect(q->dir, true, &fd);

        if (r == -ENOENT || r == -ECONNREFUSED)
                restart_spawn(q);
        else if (zero_monotonic_usec() >= q->restart_deadline)
                restart_fail(q, "the old zero-shim in %s does not go", q->dir);
        else if ((r = restart_arm(q, RESTART_POLL_USEC)) < 0)
                restart_fail(q, "cannot arm a timer: %s", strerror(-r));
}

static int on_restart_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        struct qsd *q = userdata;

        switch (q->phase) {
        case RESTART_SHIM_EXIT:
                restart_shim_exit(q);
                break;
        case RESTART_REPORT:
                restart_fail(q, "zero-shim did not report the start of qemu-storage-daemon within %llu s",
                             (unsigned long long) (SYNC_TIMEOUT_USEC / USEC_PER_SEC));
                break;
        case RESTART_LISTEN:
                restart_listen(q);
                break;
        case RESTART_NONE:
        case RESTART_HANDSHAKE: /* the connection's own bound, then on_qmp_closed() */
                break;
        }
        return 0;
}

/* Starts a restart from the loop (once: a second call while one runs does nothing). Ops fail
 * with ZERO_E_UNAVAILABLE meanwhile; lost_exports is called when the daemon answers. */
static void restart_begin(struct qsd *q) {
        if (q->phase != RESTART_NONE)
                return;
        watch_stop(q);
        qsd_disconnect(q);
        q->pid = 0;
        q->restart_pid = 0;
        q->phase = RESTART_SHIM_EXIT;
        q->restart_deadline = zero_monotonic_usec() + SYNC_TIMEOUT_USEC;
        restart_shim_exit(q);
}

static int on_watch(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        struct qsd *q = userdata;
        struct zero_shim_exit e = {};
        char buf[256];
        ssize_t n;
        pid_t pid;

        n = recv(fd, buf, sizeof(buf) - 1, MSG_DONTWAIT);
        if (n < 0 && (errno == EAGAIN || errno == EINTR))
                return 0;
        buf[n > 0 ? n : 0] = '\0';
        watch_stop(q);
        if (shim_status(q, &pid) > 0) {
                /* Not a death: the shim dropped us (e.g. too many clients). Watch again. */
                if (watch_start(q) < 0)
                        log_warning("softcard: cannot watch qemu-storage-daemon (pid %d) any more", (int) pid);
                return 0;
        }
        qsd_disconnect(q);
        if (zero_shim_parse_exited(buf, &e) >= 0 || zero_shim_read_exit(q->dir, &e) >= 0)
                log_warning("softcard: qemu-storage-daemon (pid %d) exited, code %d signal %d", (int) e.pid, e.code,
                            e.signal);
        else
                log_warning("softcard: qemu-storage-daemon (pid %d) is gone", (int) q->pid);
        q->pid = 0;
        if (!restart_allowed(q)) {
                log_error("softcard: qemu-storage-daemon died %d times in %llu s: not restarting it before the next "
                          "card operation", RESTART_BURST, (unsigned long long) (RESTART_WINDOW_USEC / USEC_PER_SEC));
                return 0;
        }
        restart_begin(q);
        return 0;
}

/* wait: the handshake of a new connection is waited for (a synchronous op follows), else it
 * goes on from the loop with the commands queued behind it. */
static int ensure(struct qsd *q, bool wait, struct zero_error *err) {
        struct zero_error e = {};
        pid_t pid = 0;
        int r;

        qsd_dispatch(q);
        if (q->phase != RESTART_NONE)
                return zero_error_set(err, -EAGAIN, ZERO_E_UNAVAILABLE,
                                      "qemu-storage-daemon is being restarted: retry in a moment");
        r = q->qmp ? zero_qmp_is_ready(q->qmp) : -ENOTCONN;
        if (r > 0 || (r == 0 && !wait))
                return 0;
        r = qsd_connect(q, !wait ? 0
                           : q->timeout_usec < QMP_CONNECT_TIMEOUT_USEC ? q->timeout_usec
                                                                        : QMP_CONNECT_TIMEOUT_USEC,
                        &e);
        if (r >= 0) {
                if (!q->watch)
                        (void) watch_start(q);
                return 0;
        }
        /* Its shim still reports it running: it hangs, or it is dying and the shim has not reaped
         * it yet (a SIGKILL closes the monitor first). Either way the caller is not at fault and the
         * watcher acts on it: unavailable, as during a restart. */
        r = shim_status(q, &pid);
        if (r > 0)
                return zero_error_set(err, -EAGAIN, ZERO_E_UNAVAILABLE,
                                      "qemu-storage-daemon (pid %d) runs but its monitor does not answer: retry in a "
                                      "moment", (int) pid);
        /* Dead, and the watcher gave up on it (or has not seen it yet): once per op. */
        (void) restart_allowed(q);
        if (!q->private_event) {
                restart_begin(q);
                if (q->phase != RESTART_NONE)
                        return zero_error_set(err, -EAGAIN, ZERO_E_UNAVAILABLE,
                                              "qemu-storage-daemon was not running: it is being restarted, retry in a moment");
                return zero_error_set(err, -EIO, ZERO_E_INTERNAL, "qemu-storage-daemon is not running and cannot be "
                                      "restarted (zerod's log says why)");
        }
        (void) shim_wait_gone(q, zero_monotonic_usec() + SYNC_TIMEOUT_USEC);
        r = qsd_start(q, err);
        if (r < 0)
                return r;
        notify_lost(q); /* no loop: nobody else would */
        return 0;
}

int qsd_ensure(struct qsd *q, struct zero_error *err) {
        return ensure(q, true, err);
}

int qsd_ensure_nowait(struct qsd *q, struct zero_error *err) {
        return ensure(q, false, err);
}

static int qsd_adopt(struct qsd *q) {
        pid_t pid;
        int r = shim_status(q, &pid);

        if (r <= 0)
                return r;
        r = qsd_connect(q, QMP_CONNECT_TIMEOUT_USEC, NULL);
        if (r < 0) {
                /* Running but deaf: of no use to anybody. */
                (void) shim_kill(q);
                return 0;
        }
        r = qsd_started(q, pid);
        return r < 0 ? r : 1;
}

#define SUN_PATH_SIZE sizeof(((struct sockaddr_un *) NULL)->sun_path)

static struct qsd *qsd_new(sd_event *e) {
        struct qsd *q = calloc(1, sizeof(*q));

        if (!q)
                return NULL;
        q->timeout_usec = QMP_TIMEOUT_USEC;
        if (e)
                q->event = sd_event_ref(e);
        else if (sd_event_new(&q->event) >= 0)
                q->private_event = true;
        else
                return mfree(q);
        return q;
}

int qsd_open(const struct qsd_config *c, struct qsd **ret, struct zero_error *err) {
        _cleanup_(qsd_closep) struct qsd *q = qsd_new(c->event);
        int r;

        if (!q)
                return zero_error_default(err, -ENOMEM, "Failed to open softcard");
        q->lost_exports = c->lost_exports;
        q->userdata = c->userdata;
        q->dir = zero_strdup_printf("%s/qsd", c->run_dir);
        q->qmp_path = zero_strdup_printf("%s/qsd/qmp.sock", c->run_dir);
        q->nbd_path = zero_strdup_printf("%s/qsd/nbd.sock", c->run_dir);
        q->exports_dir = zero_strdup_printf("%s/exports", c->run_dir);
        q->shim = strdup(c->shim);
        q->binary = strdup(c->binary);
        if (!q->dir || !q->qmp_path || !q->nbd_path || !q->exports_dir || !q->shim || !q->binary)
                return zero_error_default(err, -ENOMEM, "Failed to open softcard");
        /* Sockets under RUN/exports are longer still: RUN/exports/<32 hex>.vhost. */
        if (strlen(q->exports_dir) + 40 >= SUN_PATH_SIZE)
                return zero_error_set(err, -ENAMETOOLONG, ZERO_E_INTERNAL,
                                      "run directory %s is too long for the daemon's sockets", c->run_dir);
        r = zero_mkdir_p(q->dir, 0700);
        if (r >= 0)
                r = zero_mkdir_p(q->exports_dir, 0700);
        if (r < 0)
                return zero_error_default(err, r, "Failed to create the softcard's run directories");

        r = qsd_adopt(q);
        if (r < 0)
                return zero_error_default(err, r, "Failed to adopt qemu-storage-daemon");
        if (r == 0) {
                (void) shim_wait_gone(q, zero_monotonic_usec() + SYNC_TIMEOUT_USEC);
                r = qsd_start(q, err);
                if (r < 0)
                        return r;
        }
        *ret = TAKE_PTR(q);
        return 0;
}

int qsd_open_monitor(int fd, struct qsd **ret, struct zero_error *err) {
        _cleanup_(qsd_closep) struct qsd *q = qsd_new(NULL);
        struct zero_error e = {};
        int r;

        if (!q) {
                safe_close(fd);
                return zero_error_default(err, -ENOMEM, "Failed to open softcard");
        }
        r = zero_qmp_new_fd(q->event, fd, &qsd_qmp_callbacks, q, &q->qmp);
        if (r < 0)
                return zero_error_default(err, r, "Failed to set up the monitor");
        r = zero_qmp_wait_ready(q->qmp, QMP_CONNECT_TIMEOUT_USEC, &e);
        if (r < 0)
                return qsd_qmp_error(r, "qmp_capabilities", QMP_CONNECT_TIMEOUT_USEC, &e, err);
        *ret = TAKE_PTR(q);
        return 0;
}

struct qsd *qsd_close(struct qsd *q) {
        if (!q)
                return NULL;
        /* The ops under way and the calls go without a word; the connection last, which
         * answers the calls it has to nobody. */
        qsd_calls_drop(q);
        /* A restart half-way leaves its daemon running: the next qsd_open() adopts it. */
        restart_stop(q);
        watch_stop(q);
        qsd_disconnect(q);
        sd_event_unref(q->event);
        free(q->dir);
        free(q->qmp_path);
        free(q->nbd_path);
        free(q->exports_dir);
        softcard_loop_index_forget(&q->loops);
        softcard_view_forget(&q->view);
        free(q->shim);
        free(q->binary);
        free(q);
        return NULL;
}

int qsd_stop(struct qsd *q, struct zero_error *err) {
        _cleanup_close_ int fd = -EBADF;
        _cleanup_free_ char *reply = NULL;
        int r;

        /* Nothing of this client may start it again: no watch, no restart, no connection. */
        restart_stop(q);
        watch_stop(q);
        qsd_disconnect(q);
        r = zero_shim_connect(q->dir, false, &fd);
        if (r == -ENOENT || r == -ECONNREFUSED)
                return 0; /* no daemon */
        if (r < 0)
                return zero_error_default(err, r, "Cannot reach the storage daemon's shim");
        /* SIGTERM: the daemon closes its exports and images and quits; its shim then ends. */
        r = zero_shim_request_timeout(fd, "signal 15", (int) (SYNC_TIMEOUT_USEC / USEC_PER_MSEC), &reply);
        if (r >= 0 && shim_wait_gone(q, zero_monotonic_usec() + 2 * SYNC_TIMEOUT_USEC) >= 0)
                return 0;
        if (shim_kill(q) < 0)
                return zero_error_default(err, -ETIMEDOUT, "The storage daemon did not stop");
        return 0;
}
