/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The node's one qemu-storage-daemon: started under zero-shim in RUN/qsd, adopted again by a
 * restarted zerod (its exports live on), watched through the shim's "wait", started again when
 * it dies. And a small synchronous QMP client: card ops are synchronous by the ABI and the
 * daemon answers in well under a millisecond, so one blocking exchange per command, each read
 * bounded by poll(), is simpler than the asynchronous io/qmp.c and keeps ops atomic.
 *
 * Library code: no logging, except in the watch path, which runs from the event loop with nobody
 * to hand an error to.
 */
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <systemd/sd-event.h>

#include "common/log.h"
#include "common/util.h"
#include "hvshim/client.h"
#include "io/softcard/storage.h"

#define QSD_SHIM_ID "softcard-qsd"
#define QMP_TIMEOUT_USEC (10 * USEC_PER_SEC)
#define QMP_CONNECT_TIMEOUT_USEC (5 * USEC_PER_SEC)
#define SYNC_TIMEOUT_USEC (5 * USEC_PER_SEC)
#define QMP_MESSAGE_MAX (16U << 20)
/* The watcher restarts a dying daemon at most this often, then waits for the next op. */
#define RESTART_BURST 5
#define RESTART_WINDOW_USEC (10 * USEC_PER_SEC)

struct qsd {
        sd_event *event;
        char *dir, *qmp_path, *nbd_path, *exports_dir, *shim, *binary;
        void (*lost_exports)(void *userdata);
        void *userdata;

        int qmp_fd;
        char *in; /* received bytes not yet taken as messages */
        size_t in_len, in_size;
        uint64_t next_id;
        pid_t pid;

        sd_event_source *watch, *notify;
        uint64_t restarts[RESTART_BURST]; /* CLOCK_MONOTONIC of the latest restarts, a ring */
        unsigned n_restarts;
};

static int qsd_start(struct qsd *q, struct zero_error *err);

pid_t qsd_pid(const struct qsd *q) {
        return q->pid;
}

const char *qsd_exports_dir(const struct qsd *q) {
        return q->exports_dir;
}

const char *qsd_nbd_socket(const struct qsd *q) {
        return q->nbd_path;
}

/* ---- The QMP connection ---- */

static void qmp_disconnect(struct qsd *q) {
        q->qmp_fd = safe_close(q->qmp_fd);
        q->in_len = 0;
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

static int qmp_write(struct qsd *q, const char *buf, size_t len, uint64_t deadline) {
        while (len > 0) {
                ssize_t n = send(q->qmp_fd, buf, len, MSG_NOSIGNAL);
                if (n < 0) {
                        int r;
                        if (errno == EINTR)
                                continue;
                        if (errno != EAGAIN)
                                return -errno;
                        r = wait_fd(q->qmp_fd, POLLOUT, deadline);
                        if (r < 0)
                                return r;
                        continue;
                }
                buf += n;
                len -= (size_t) n;
        }
        return 0;
}

/* The next message, events included. Lines are bounded by QMP_MESSAGE_MAX. */
static int qmp_read(struct qsd *q, uint64_t deadline, json_t **ret) {
        for (;;) {
                char *nl = q->in_len > 0 ? memchr(q->in, '\n', q->in_len) : NULL;
                ssize_t n;
                int r;

                if (nl) {
                        size_t line = (size_t) (nl - q->in) + 1;
                        json_t *v = json_loadb(q->in, line - 1, 0, NULL);
                        memmove(q->in, q->in + line, q->in_len - line);
                        q->in_len -= line;
                        if (!v || !json_is_object(v)) {
                                json_decref(v);
                                return -EPROTO;
                        }
                        *ret = v;
                        return 0;
                }
                if (q->in_len >= QMP_MESSAGE_MAX)
                        return -EMSGSIZE;
                if (q->in_size - q->in_len < 4096) {
                        size_t size = q->in_size ? q->in_size * 2 : 16384;
                        char *p = realloc(q->in, size);
                        if (!p)
                                return -ENOMEM;
                        q->in = p;
                        q->in_size = size;
                }
                n = recv(q->qmp_fd, q->in + q->in_len, q->in_size - q->in_len, 0);
                if (n > 0) {
                        q->in_len += (size_t) n;
                        continue;
                }
                if (n == 0)
                        return -ECONNRESET;
                if (errno == EINTR)
                        continue;
                if (errno != EAGAIN)
                        return -errno;
                r = wait_fd(q->qmp_fd, POLLIN, deadline);
                if (r < 0)
                        return r;
        }
}

/* Sends one command and reads up to its reply, skipping events and late replies. */
static int qmp_exchange(struct qsd *q, json_t *cmd, const char *id, uint64_t deadline, json_t **ret) {
        _cleanup_free_ char *text = json_dumps(cmd, JSON_COMPACT);
        size_t len;
        int r;

        if (!text)
                return -ENOMEM;
        len = strlen(text);
        text[len] = '\n'; /* json_dumps() leaves the NUL, which becomes the newline */
        r = qmp_write(q, text, len + 1, deadline);
        if (r < 0) /* -EPIPE: the command did not reach the daemon */
                return r == -ECONNRESET || r == -ENOTCONN ? -EPIPE : r;
        for (;;) {
                json_t *m;
                r = qmp_read(q, deadline, &m);
                if (r < 0)
                        return r;
                if (streq(strempty(json_string_value(json_object_get(m, "id"))), id)) {
                        *ret = m;
                        return 0;
                }
                json_decref(m);
        }
}

static json_t *qmp_command_new(struct qsd *q, const char *execute, json_t *args, char id[static 32]) {
        snprintf(id, 32, "zero-%llu", (unsigned long long) ++q->next_id);
        return json_pack("{s:s, s:s, s:O*}", "execute", execute, "id", id, "arguments", args);
}

/* Takes the greeting and negotiates capabilities on a new connection. */
static int qmp_handshake(struct qsd *q, uint64_t deadline) {
        json_auto_t *greeting = NULL, *cmd = NULL, *reply = NULL;
        char id[32];
        int r;

        r = qmp_read(q, deadline, &greeting);
        if (r >= 0 && !json_object_get(greeting, "QMP"))
                r = -EPROTO;
        if (r >= 0) {
                cmd = qmp_command_new(q, "qmp_capabilities", NULL, id);
                r = cmd ? qmp_exchange(q, cmd, id, deadline, &reply) : -ENOMEM;
        }
        if (r >= 0 && !json_object_get(reply, "return"))
                r = -EPROTO;
        if (r < 0)
                qmp_disconnect(q);
        return r;
}

static int qmp_connect(struct qsd *q, uint64_t deadline) {
        struct sockaddr_un sa = {.sun_family = AF_UNIX};

        qmp_disconnect(q);
        if (!q->qmp_path)
                return -ENOTCONN; /* a monitor handed over by qsd_open_monitor(): no reconnecting */
        strcpy(sa.sun_path, q->qmp_path); /* length checked by qsd_open() */
        q->qmp_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (q->qmp_fd < 0)
                return -errno;
        if (connect(q->qmp_fd, (struct sockaddr *) &sa, sizeof(sa)) < 0) {
                /* EAGAIN: the listen backlog is full; QEMU serves one client at a time. */
                int r = errno == EAGAIN ? -ETIMEDOUT : -errno;
                qmp_disconnect(q);
                return r;
        }
        return qmp_handshake(q, deadline);
}

static int qmp_error(int r, const char *execute, struct zero_error *err) {
        if (r == -ECONNRESET || r == -EPIPE)
                return zero_error_set(err, -ECONNRESET, ZERO_E_INTERNAL, "qemu-storage-daemon closed its monitor (%s)",
                                      execute);
        if (r == -ETIMEDOUT)
                return zero_error_set(err, r, ZERO_E_INTERNAL, "qemu-storage-daemon did not answer %s within %llu s",
                                      execute, (unsigned long long) (QMP_TIMEOUT_USEC / USEC_PER_SEC));
        return zero_error_set(err, r, ZERO_E_INTERNAL, "QMP %s: %s", execute, strerror(-r));
}

int qsd_call(struct qsd *q, const char *execute, json_t *args, json_t **ret, struct zero_error *err) {
        json_auto_t *a = args, *cmd = NULL, *reply = NULL;
        uint64_t deadline = zero_monotonic_usec() + QMP_TIMEOUT_USEC;
        json_t *e;
        char id[32];
        int r = 0;

        cmd = qmp_command_new(q, execute, a, id);
        if (!cmd)
                return zero_error_default(err, -ENOMEM, "QMP");
        if (q->qmp_fd < 0)
                r = qmp_connect(q, deadline);
        if (r >= 0)
                r = qmp_exchange(q, cmd, id, deadline, &reply);
        /* A connection the daemon dropped while we were idle (it was restarted, or closed the
         * monitor): one reconnect. Only when the command never reached it, so it is not run twice. */
        if (r == -EPIPE) {
                r = qmp_connect(q, deadline);
                if (r >= 0)
                        r = qmp_exchange(q, cmd, id, deadline, &reply);
        }
        if (r < 0) {
                qmp_disconnect(q);
                return qmp_error(r, execute, err);
        }
        e = json_object_get(reply, "error");
        if (e)
                return zero_error_set(err, -EIO, ZERO_E_INTERNAL, "%s: %s", execute,
                                      strempty(json_string_value(json_object_get(e, "desc"))));
        if (ret)
                *ret = json_incref(json_object_get(reply, "return"));
        return 0;
}

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
        if (!q->event)
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

static int qsd_start(struct qsd *q, struct zero_error *err) {
        _cleanup_free_ char *chardev = opt_escape("socket,id=qmp,server=on,wait=off,path=", q->qmp_path, "");
        _cleanup_free_ char *nbd = opt_escape("addr.type=unix,addr.path=", q->nbd_path, "");
        _cleanup_close_ int sync_fd = -EBADF;
        const char *argv[] = {q->binary, "--chardev", chardev, "--monitor", "chardev=qmp", "--nbd-server", nbd, NULL};
        struct zero_shim_spawn_args a = {.shim_path = q->shim, .id = QSD_SHIM_ID, .dir = q->dir, .argv = argv};
        uint64_t deadline;
        pid_t pid;
        int r;

        if (!chardev || !nbd)
                return zero_error_default(err, -ENOMEM, "Failed to start qemu-storage-daemon");
        watch_stop(q);
        qmp_disconnect(q);
        q->pid = 0;
        /* A fresh daemon has no exports: whatever the last one left in the kernel goes first. */
        r = softcard_exports_clear(q->exports_dir);
        if (r < 0)
                return zero_error_default(err, r, "Failed to clear the old exports");
        (void) unlink(q->qmp_path);
        (void) unlink(q->nbd_path);

        r = zero_shim_spawn(&a, &sync_fd, err);
        if (r < 0)
                return r;
        r = read_sync(sync_fd, &pid, err);
        if (r < 0)
                return r;
        /* The shim reports once the daemon runs, which listens some milliseconds later. */
        deadline = zero_monotonic_usec() + QMP_TIMEOUT_USEC;
        while ((r = qmp_connect(q, deadline)) == -ENOENT || r == -ECONNREFUSED) {
                if (kill(pid, 0) < 0 || zero_monotonic_usec() >= deadline)
                        break;
                (void) poll(NULL, 0, 2);
        }
        if (r < 0) {
                char tail[400];
                console_tail(q, tail, sizeof(tail));
                (void) shim_kill(q);
                return zero_error_set(err, r, ZERO_E_INTERNAL, "qemu-storage-daemon did not come up (%s): %s",
                                      strerror(-r), tail[0] ? tail : "no output");
        }
        q->pid = pid;
        r = watch_start(q);
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

static int on_notify(sd_event_source *s, void *userdata) {
        struct qsd *q = userdata;

        q->notify = sd_event_source_disable_unref(q->notify);
        notify_lost(q);
        return 0;
}

static int on_watch(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        struct qsd *q = userdata;
        struct zero_shim_exit e = {};
        struct zero_error err = {};
        char buf[256];
        ssize_t n;
        pid_t pid;

        n = recv(fd, buf, sizeof(buf) - 1, MSG_DONTWAIT);
        if (n < 0 && (errno == EAGAIN || errno == EINTR))
                return 0;
        buf[n > 0 ? n : 0] = '\0';
        watch_stop(q);
        qmp_disconnect(q);
        if (shim_status(q, &pid) > 0) {
                /* Not a death: the shim dropped us (e.g. too many clients). Watch again. */
                if (watch_start(q) < 0)
                        log_warning("softcard: cannot watch qemu-storage-daemon (pid %d) any more", (int) pid);
                return 0;
        }
        if (zero_shim_parse_exited(buf, &e) >= 0 || zero_shim_read_exit(q->dir, &e) >= 0)
                log_warning("softcard: qemu-storage-daemon (pid %d) exited, code %d signal %d", (int) e.pid, e.code,
                            e.signal);
        else
                log_warning("softcard: qemu-storage-daemon (pid %d) is gone", (int) q->pid);
        (void) shim_wait_gone(q, zero_monotonic_usec() + SYNC_TIMEOUT_USEC);
        q->pid = 0;
        if (!restart_allowed(q)) {
                log_error("softcard: qemu-storage-daemon died %d times in %llu s: not restarting it before the next "
                          "card operation", RESTART_BURST, (unsigned long long) (RESTART_WINDOW_USEC / USEC_PER_SEC));
                return 0;
        }
        if (qsd_start(q, &err) < 0) {
                log_error("softcard: cannot restart qemu-storage-daemon: %s", err.message);
                return 0;
        }
        log_notice("softcard: qemu-storage-daemon restarted (pid %d); its exports are lost", (int) q->pid);
        notify_lost(q);
        return 0;
}

int qsd_ensure(struct qsd *q, struct zero_error *err) {
        pid_t pid = 0;
        int r;

        if (q->qmp_fd >= 0) {
                struct pollfd p = {.fd = q->qmp_fd, .events = POLLRDHUP};
                if (poll(&p, 1, 0) == 0)
                        return 0;
                qmp_disconnect(q); /* hung up: dead, or it dropped us */
        }
        r = qmp_connect(q, zero_monotonic_usec() + QMP_CONNECT_TIMEOUT_USEC);
        if (r >= 0) {
                if (!q->watch && q->event)
                        (void) watch_start(q);
                return 0;
        }
        r = shim_status(q, &pid);
        if (r > 0)
                return zero_error_set(err, -EBUSY, ZERO_E_INTERNAL,
                                      "qemu-storage-daemon (pid %d) runs but its monitor does not answer", (int) pid);
        /* Dead, and the watcher gave up on it (or has not seen it yet): once per op. */
        (void) shim_wait_gone(q, zero_monotonic_usec() + SYNC_TIMEOUT_USEC);
        (void) restart_allowed(q);
        r = qsd_start(q, err);
        if (r < 0)
                return r;
        /* Not from inside the agent's call into us: from the loop, when there is one. */
        if (!q->event)
                notify_lost(q);
        else if (!q->notify && sd_event_add_defer(q->event, &q->notify, on_notify, q) < 0)
                notify_lost(q);
        return 0;
}

static int qsd_adopt(struct qsd *q) {
        pid_t pid;
        int r = shim_status(q, &pid);

        if (r <= 0)
                return r;
        r = qmp_connect(q, zero_monotonic_usec() + QMP_CONNECT_TIMEOUT_USEC);
        if (r < 0) {
                /* Running but deaf: of no use to anybody. */
                (void) shim_kill(q);
                return 0;
        }
        q->pid = pid;
        r = watch_start(q);
        return r < 0 ? r : 1;
}

#define SUN_PATH_SIZE sizeof(((struct sockaddr_un *) NULL)->sun_path)

int qsd_open(const struct qsd_config *c, struct qsd **ret, struct zero_error *err) {
        _cleanup_(qsd_closep) struct qsd *q = calloc(1, sizeof(*q));
        int r;

        if (!q)
                return zero_error_default(err, -ENOMEM, "Failed to open softcard");
        q->qmp_fd = -EBADF;
        q->event = c->event ? sd_event_ref(c->event) : NULL;
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
        _cleanup_(qsd_closep) struct qsd *q = calloc(1, sizeof(*q));
        int r;

        if (!q) {
                safe_close(fd);
                return zero_error_default(err, -ENOMEM, "Failed to open softcard");
        }
        q->qmp_fd = fd;
        /* Non-blocking like the monitor qmp_connect() opens: every wait is a bounded poll(). */
        if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) < 0)
                return zero_error_default(err, -errno, "Failed to set up the monitor");
        r = qmp_handshake(q, zero_monotonic_usec() + QMP_CONNECT_TIMEOUT_USEC);
        if (r < 0)
                return qmp_error(r, "qmp_capabilities", err);
        *ret = TAKE_PTR(q);
        return 0;
}

struct qsd *qsd_close(struct qsd *q) {
        if (!q)
                return NULL;
        watch_stop(q);
        q->notify = sd_event_source_disable_unref(q->notify);
        qmp_disconnect(q);
        sd_event_unref(q->event);
        free(q->in);
        free(q->dir);
        free(q->qmp_path);
        free(q->nbd_path);
        free(q->exports_dir);
        free(q->shim);
        free(q->binary);
        free(q);
        return NULL;
}
