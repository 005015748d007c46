/* SPDX-License-Identifier: Apache-2.0 */
/*
 * io/qmp.c against a fake QMP server scripted per test, in the manner of libvirt's
 * qemumonitortestutils: the client gets one end of a socketpair, the test plays the server on
 * the other end from the same thread. Every callback of the client appends a record to fx.log,
 * so a test checks what happened and in which order. The loop is driven with sd_event_run()
 * and every wait is bounded (TIMEOUT_USEC).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "common/log.h"
#include "common/util.h"
#include "io/qmp.h"

#define TIMEOUT_USEC (5 * USEC_PER_SEC)
#define GREETING                                                                                   \
        "{\"QMP\": {\"version\": {\"qemu\": {\"micro\": 22, \"minor\": 2, \"major\": 7}, "          \
        "\"package\": \"\"}, \"capabilities\": [\"oob\"]}}\n"

struct fx {
        sd_event *e;
        struct zero_qmp *q;
        int srv;    /* the fake server's end */
        char *in;   /* what the client wrote and the server has not consumed yet */
        size_t in_len;
        char last_line[1024]; /* raw text of the last command the server took */
        json_t *log;          /* one object per client callback, in order */
        bool free_in_reply;   /* the next reply callback frees the connection */
        bool free_in_closed;  /* the closed callback frees the connection */
        bool call_in_event;   /* the event "CALL" makes a synchronous call "nested" */
        char dir[32];         /* a temporary directory, removed by the teardown */
};

static void on_reply(struct zero_qmp *q, int r, json_t *v, const struct zero_error *err, void *userdata);

static void log_add(struct fx *f, json_t *rec) {
        assert_non_null(rec);
        assert_int_equal(json_array_append_new(f->log, rec), 0);
}

static void on_ready(struct zero_qmp *q, void *userdata) {
        log_add(userdata, json_pack("{s:s}", "kind", "ready"));
}

static void on_event(struct zero_qmp *q, const char *name, json_t *data, uint64_t ts, void *userdata) {
        struct fx *f = userdata;

        log_add(f, json_pack("{s:s, s:s, s:O*, s:I}", "kind", "event", "name", name, "data", data, "ts",
                             (json_int_t) ts));
        if (f->call_in_event && streq(name, "CALL")) {
                struct zero_error err = {};
                json_t *ret = NULL;
                int r = zero_qmp_call(q, "nested", NULL, TIMEOUT_USEC, &ret, &err);
                log_add(f, json_pack("{s:s, s:i, s:o*}", "kind", "nested", "r", r, "return", ret));
        }
}

static void on_closed(struct zero_qmp *q, int r, const struct zero_error *err, void *userdata) {
        assert_non_null(err);
        struct fx *f = userdata;
        log_add(f, json_pack("{s:s, s:i, s:s}", "kind", "closed", "r", r, "message", err->message));
        if (f->free_in_closed)
                f->q = zero_qmp_free(f->q);
}

static const struct zero_qmp_callbacks callbacks = {.ready = on_ready, .event = on_event, .closed = on_closed};

/* userdata of a command: its tag, and the fixture. */
struct tag {
        struct fx *f;
        const char *name;
        const char *then; /* a command to queue from inside the callback */
};

static void on_reply(struct zero_qmp *q, int r, json_t *v, const struct zero_error *err, void *userdata) {
        struct tag *t = userdata;
        struct fx *f = t->f;

        if (r < 0) {
                assert_non_null(err);
                assert_null(v);
        }
        log_add(f, json_pack("{s:s, s:s, s:i, s:O*, s:s, s:s}", "kind", "reply", "tag", t->name, "r", r, "return", v,
                             "code", !err ? "" : err->detail[0] ? err->detail : zero_errc_name(err->code), "message", err ? err->message : ""));
        if (t->then)
                assert_int_equal(zero_qmp_command(q, t->then, NULL, NULL, NULL), 0);
        if (f->free_in_reply) {
                f->free_in_reply = false;
                f->q = zero_qmp_free(f->q);
        }
}

static json_t *rec(struct fx *f, size_t i) {
        json_t *r = json_array_get(f->log, i);
        if (!r)
                fail_msg("no record %zu (have %zu)", i, json_array_size(f->log));
        return r;
}

static const char *rec_str(struct fx *f, size_t i, const char *key) {
        return json_string_value(json_object_get(rec(f, i), key));
}

static int rec_int(struct fx *f, size_t i, const char *key) {
        return (int) json_integer_value(json_object_get(rec(f, i), key));
}

static void assert_reply(struct fx *f, size_t i, const char *tag, int r) {
        assert_string_equal(rec_str(f, i, "kind"), "reply");
        assert_string_equal(rec_str(f, i, "tag"), tag);
        assert_int_equal(rec_int(f, i, "r"), r);
}

static bool deadline_passed(uint64_t start) {
        return zero_monotonic_usec() - start > TIMEOUT_USEC;
}

static void run_once(struct fx *f, uint64_t usec) {
        assert_true(sd_event_run(f->e, usec) >= 0);
}

/* Runs the loop until the log holds n records. */
static void run_until(struct fx *f, size_t n) {
        uint64_t start = zero_monotonic_usec();
        while (json_array_size(f->log) < n) {
                if (deadline_passed(start))
                        fail_msg("timed out waiting for %zu records, have %zu", n, json_array_size(f->log));
                run_once(f, 100 * USEC_PER_MSEC);
        }
}

/* Runs the loop a little, for things that must NOT happen. */
static void run_idle(struct fx *f) {
        for (int i = 0; i < 5; i++)
                run_once(f, 2 * USEC_PER_MSEC);
}

static void server_pull(struct fx *f) {
        char buf[65536];
        ssize_t n;
        while ((n = recv(f->srv, buf, sizeof(buf), MSG_DONTWAIT)) > 0) {
                char *p = realloc(f->in, f->in_len + (size_t) n);
                assert_non_null(p);
                memcpy(p + f->in_len, buf, (size_t) n);
                f->in = p;
                f->in_len += (size_t) n;
        }
}

/* Takes one complete line the client sent, or NULL. */
static json_t *server_take(struct fx *f) {
        char *nl;
        json_t *m;
        size_t len;

        server_pull(f);
        nl = f->in ? memchr(f->in, '\n', f->in_len) : NULL;
        if (!nl)
                return NULL;
        len = (size_t) (nl - f->in);
        snprintf(f->last_line, sizeof(f->last_line), "%.*s", (int) len, f->in);
        m = json_loadb(f->in, len, 0, NULL);
        assert_non_null(m);
        memmove(f->in, nl + 1, f->in_len - len - 1);
        f->in_len -= len + 1;
        return m;
}

/* The next command the client sends; checks its name. */
static json_t *server_next(struct fx *f, const char *execute) {
        uint64_t start = zero_monotonic_usec();
        json_t *m;
        while (!(m = server_take(f))) {
                if (deadline_passed(start))
                        fail_msg("timed out waiting for the client to send %s", execute);
                run_once(f, 100 * USEC_PER_MSEC);
        }
        assert_string_equal(json_string_value(json_object_get(m, "execute")), execute);
        assert_non_null(json_string_value(json_object_get(m, "id")));
        return m;
}

static void server_nothing(struct fx *f) {
        json_t *m;
        run_idle(f);
        m = server_take(f);
        if (m)
                fail_msg("the client sent %s", f->last_line);
}

/* Writes all of data, running the client's loop while the socket is full. -EPIPE if the client
 * hung up. */
static int server_write(struct fx *f, const char *data, size_t len) {
        uint64_t start = zero_monotonic_usec();
        while (len > 0) {
                ssize_t n = send(f->srv, data, len, MSG_DONTWAIT | MSG_NOSIGNAL);
                if (n < 0 && (errno == EPIPE || errno == ECONNRESET))
                        return -EPIPE;
                if (n < 0) {
                        assert_int_equal(errno, EAGAIN);
                        if (deadline_passed(start))
                                fail_msg("timed out writing to the client");
                        run_once(f, 10 * USEC_PER_MSEC);
                        continue;
                }
                data += n;
                len -= (size_t) n;
        }
        return 0;
}

_printf_(2, 3) static void server_send(struct fx *f, const char *fmt, ...) {
        _cleanup_free_ char *s = NULL;
        va_list ap;
        va_start(ap, fmt);
        assert_true(vasprintf(&s, fmt, ap) >= 0);
        va_end(ap);
        assert_int_equal(server_write(f, s, strlen(s)), 0);
}

static const char *id_of(json_t *cmd) {
        return json_string_value(json_object_get(cmd, "id"));
}

static void server_return(struct fx *f, json_t *cmd, const char *value) {
        server_send(f, "{\"return\": %s, \"id\": \"%s\"}\n", value, id_of(cmd));
}

static void handshake(struct fx *f) {
        size_t n = json_array_size(f->log);
        json_auto_t *caps = NULL;

        server_send(f, GREETING);
        caps = server_next(f, "qmp_capabilities");
        assert_null(json_object_get(caps, "arguments"));
        server_return(f, caps, "{}");
        run_until(f, n + 1);
        assert_string_equal(rec_str(f, n, "kind"), "ready");
        assert_int_equal(zero_qmp_is_ready(f->q), 1);
}

static void fx_open(struct fx *f) {
        int sv[2];
        *f = (struct fx){.srv = -EBADF};
        assert_int_equal(sd_event_new(&f->e), 0);
        assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
        f->srv = sv[1];
        assert_int_equal(zero_qmp_new_fd(f->e, sv[0], &callbacks, f, &f->q), 0);
        f->log = json_array();
}

static void fx_close(struct fx *f) {
        f->q = zero_qmp_free(f->q);
        f->srv = safe_close(f->srv);
        f->e = sd_event_unref(f->e);
        json_decref(f->log);
        free(f->in);
}

static int setup(void **state) {
        struct fx *f = calloc(1, sizeof(*f));
        if (!f)
                return -1;
        fx_open(f);
        *state = f;
        return 0;
}

static int teardown(void **state) {
        struct fx *f = *state;
        if (f->dir[0])
                assert_int_equal(zero_rm_rf(f->dir), 0);
        fx_close(*state);
        free(*state);
        return 0;
}

static void test_handshake_holds_commands(void **state) {
        struct fx *f = *state;
        struct tag early = {.f = f, .name = "early"}, later = {.f = f, .name = "later"};
        json_auto_t *c1 = NULL, *c2 = NULL;

        /* Queued before the greeting: held back until qmp_capabilities has returned. */
        assert_int_equal(zero_qmp_command(f->q, "query-version", NULL, on_reply, &early), 0);
        assert_int_equal(zero_qmp_is_ready(f->q), 0);
        assert_int_equal(zero_qmp_version(f->q), -ENODATA);
        server_nothing(f);

        server_send(f, GREETING);
        json_auto_t *caps = server_next(f, "qmp_capabilities");
        server_nothing(f);
        assert_int_equal(json_array_size(f->log), 0);
        server_return(f, caps, "{}");

        c1 = server_next(f, "query-version");
        assert_string_not_equal(id_of(c1), id_of(caps));
        assert_int_equal(zero_qmp_version(f->q), 7002022);
        assert_string_equal(rec_str(f, 0, "kind"), "ready");

        /* {"execute", "arguments", "id"} on one line. */
        assert_int_equal(zero_qmp_command(f->q, "block-export-del", json_pack("{s:s}", "id", "e1"), on_reply, &later), 0);
        c2 = server_next(f, "block-export-del");
        char want[128];
        snprintf(want, sizeof(want), "{\"execute\":\"block-export-del\",\"arguments\":{\"id\":\"e1\"},\"id\":\"%s\"}",
                 id_of(c2));
        assert_string_equal(f->last_line, want);

        server_return(f, c1, "{\"qemu\": {\"major\": 7}}");
        server_return(f, c2, "{}");
        run_until(f, 3);
        assert_reply(f, 1, "early", 0);
        assert_int_equal(json_integer_value(json_object_get(json_object_get(json_object_get(rec(f, 1), "return"), "qemu"), "major")), 7);
        assert_reply(f, 2, "later", 0);
}

/* A version that does not fit major * 1000000 + minor * 1000 + micro is none (it overflowed an
 * int before: tests/fuzz/corpus/qmp/regress_version_overflow); the handshake goes on. */
static void test_odd_versions(void **state) {
        struct fx *f = *state;
        static const struct {
                const char *version;
                int want;
        } cases[] = {
                {"{\"major\": 1, \"minor\": 2147483, \"micro\": 0}", -ENODATA},
                {"{\"major\": 7, \"minor\": 2, \"micro\": 1000}", -ENODATA},
                {"{\"major\": 2000, \"minor\": 0, \"micro\": 0}", -ENODATA},
                {"{\"major\": 7, \"minor\": -1, \"micro\": 0}", -ENODATA},
                {"{\"major\": 1999, \"minor\": 999, \"micro\": 999}", 1999999999},
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                json_auto_t *caps = NULL;
                if (i > 0) {
                        fx_close(f);
                        fx_open(f);
                }
                server_send(f, "{\"QMP\": {\"version\": {\"qemu\": %s}, \"capabilities\": []}}\n", cases[i].version);
                caps = server_next(f, "qmp_capabilities");
                server_return(f, caps, "{}");
                run_until(f, 1);
                assert_string_equal(rec_str(f, 0, "kind"), "ready");
                assert_int_equal(zero_qmp_version(f->q), cases[i].want);
        }
}

/* Marks the fds without FD_CLOEXEC in seen[]; with check, fails on one not marked before (the
 * test may have inherited some from its runner). */
static void scan_cloexec(bool seen[static 1024], bool check) {
        DIR *d = opendir("/proc/self/fd");
        struct dirent *de;
        assert_non_null(d);
        while ((de = readdir(d))) {
                int fd = atoi(de->d_name), flags;
                if (de->d_name[0] == '.' || fd < 0 || fd >= 1024 || fd == dirfd(d))
                        continue;
                flags = fcntl(fd, F_GETFD);
                if (flags < 0 || (flags & FD_CLOEXEC))
                        continue;
                if (check && !seen[fd])
                        fail_msg("fd %d is not O_CLOEXEC", fd);
                seen[fd] = true;
        }
        closedir(d);
}

static void test_connect_path(void **state) {
        struct fx *f = *state;
        struct sockaddr_un sa = {.sun_family = AF_UNIX};
        _cleanup_close_ int lfd = -EBADF;
        struct tag t = {.f = f, .name = "v"};
        struct zero_qmp *q = NULL;
        bool inherited[1024] = {};

        scan_cloexec(inherited, false);
        /* Replace the socketpair connection of the fixture by one made from a path. */
        f->q = zero_qmp_free(f->q);
        f->srv = safe_close(f->srv);
        snprintf(f->dir, sizeof(f->dir), "/tmp/zero-qmp-test.XXXXXX");
        assert_non_null(mkdtemp(f->dir));
        snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/qmp.sock", f->dir);
        assert_int_equal(zero_qmp_new(f->e, sa.sun_path, &callbacks, f, &q), -ENOENT);
        assert_null(q);
        lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        assert_true(lfd >= 0);
        assert_int_equal(bind(lfd, (struct sockaddr *) &sa, sizeof(sa)), 0);
        assert_int_equal(listen(lfd, 1), 0);
        assert_int_equal(zero_qmp_new(f->e, sa.sun_path, &callbacks, f, &f->q), 0);
        f->srv = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
        assert_true(f->srv >= 0);
        scan_cloexec(inherited, true);

        handshake(f);
        assert_int_equal(zero_qmp_command(f->q, "query-version", NULL, on_reply, &t), 0);
        json_auto_t *c = server_next(f, "query-version");
        server_return(f, c, "{}");
        run_until(f, 2);
        assert_reply(f, 1, "v", 0);

        assert_int_equal(zero_qmp_new(f->e, "/nonexistent/a/very/long/path/that/does/not/fit/into/sun_path/of/"
                                            "a/unix/socket/address/which/holds/only/108/bytes/qmp.sock",
                                      NULL, NULL, &q),
                         -ENAMETOOLONG);
}

static void test_out_of_order(void **state) {
        struct fx *f = *state;
        struct tag a = {.f = f, .name = "a", .then = "chained"}, b = {.f = f, .name = "b"};

        handshake(f);
        assert_int_equal(zero_qmp_command(f->q, "cmd-a", NULL, on_reply, &a), 0);
        assert_int_equal(zero_qmp_command(f->q, "cmd-b", NULL, on_reply, &b), 0);
        json_auto_t *ca = server_next(f, "cmd-a");
        json_auto_t *cb = server_next(f, "cmd-b");
        server_return(f, cb, "{\"n\": 2}");
        server_return(f, ca, "{\"n\": 1}");
        run_until(f, 3);
        assert_reply(f, 1, "b", 0);
        assert_int_equal(json_integer_value(json_object_get(json_object_get(rec(f, 1), "return"), "n")), 2);
        assert_reply(f, 2, "a", 0);
        assert_int_equal(json_integer_value(json_object_get(json_object_get(rec(f, 2), "return"), "n")), 1);
        /* a's callback queued a command from inside the loop. */
        json_decref(server_next(f, "chained"));
}

static void test_error_reply(void **state) {
        struct fx *f = *state;
        struct tag a = {.f = f, .name = "a"}, b = {.f = f, .name = "b"};

        handshake(f);
        assert_int_equal(zero_qmp_command(f->q, "blockdev-add", json_pack("{s:s}", "driver", "file"), on_reply, &a), 0);
        assert_int_equal(zero_qmp_command(f->q, "no-such-command", NULL, on_reply, &b), 0);
        json_auto_t *ca = server_next(f, "blockdev-add");
        json_auto_t *cb = server_next(f, "no-such-command");
        server_send(f, "{\"error\": {\"class\": \"GenericError\", \"desc\": \"Could not open 'x': No such file\"}, "
                       "\"id\": \"%s\"}\n",
                    id_of(ca));
        server_send(f, "{\"id\": \"%s\", \"error\": {\"class\": \"CommandNotFound\", \"desc\": \"nope\"}}\n", id_of(cb));
        run_until(f, 3);
        assert_reply(f, 1, "a", -EIO);
        assert_string_equal(rec_str(f, 1, "code"), "GenericError");
        assert_string_equal(rec_str(f, 1, "message"), "Could not open 'x': No such file");
        assert_reply(f, 2, "b", -EIO);
        assert_string_equal(rec_str(f, 2, "code"), "CommandNotFound");
        assert_int_equal(zero_qmp_is_ready(f->q), 1);
}

static void test_event_between_replies(void **state) {
        struct fx *f = *state;
        struct tag a = {.f = f, .name = "a"}, b = {.f = f, .name = "b"};

        handshake(f);
        assert_int_equal(zero_qmp_command(f->q, "cmd-a", NULL, on_reply, &a), 0);
        assert_int_equal(zero_qmp_command(f->q, "cmd-b", NULL, on_reply, &b), 0);
        json_auto_t *ca = server_next(f, "cmd-a");
        json_auto_t *cb = server_next(f, "cmd-b");
        server_return(f, ca, "{}");
        run_until(f, 2);
        server_send(f, "{\"timestamp\": {\"seconds\": 1795625045, \"microseconds\": 98912}, "
                       "\"event\": \"BLOCK_EXPORT_DELETED\", \"data\": {\"id\": \"fx\"}}\n");
        run_until(f, 3);
        server_send(f, "{\"event\": \"STOP\"}\n");
        server_return(f, cb, "{}");
        run_until(f, 5);
        assert_reply(f, 1, "a", 0);
        assert_string_equal(rec_str(f, 2, "kind"), "event");
        assert_string_equal(rec_str(f, 2, "name"), "BLOCK_EXPORT_DELETED");
        assert_string_equal(json_string_value(json_object_get(json_object_get(rec(f, 2), "data"), "id")), "fx");
        assert_true(json_integer_value(json_object_get(rec(f, 2), "ts")) == 1795625045098912LL);
        assert_string_equal(rec_str(f, 3, "name"), "STOP");
        assert_null(json_object_get(rec(f, 3), "data"));
        assert_int_equal(rec_int(f, 3, "ts"), 0);
        assert_reply(f, 4, "b", 0);
}

static void test_split_and_coalesced(void **state) {
        struct fx *f = *state;
        struct tag a = {.f = f, .name = "a"}, b = {.f = f, .name = "b"}, c = {.f = f, .name = "c"};
        _cleanup_free_ char *msg = NULL;

        handshake(f);
        assert_int_equal(zero_qmp_command(f->q, "cmd-a", NULL, on_reply, &a), 0);
        assert_int_equal(zero_qmp_command(f->q, "cmd-b", NULL, on_reply, &b), 0);
        assert_int_equal(zero_qmp_command(f->q, "cmd-c", NULL, on_reply, &c), 0);
        json_auto_t *ca = server_next(f, "cmd-a");
        json_auto_t *cb = server_next(f, "cmd-b");
        json_auto_t *cc = server_next(f, "cmd-c");

        /* One reply in pieces of 1 to 7 bytes, the client reading each before the next. */
        msg = zero_strdup_printf("{\"return\": {\"s\": \"a\\nb\"}, \"id\": \"%s\"}\r\n", id_of(ca));
        for (size_t off = 0, step = 1, len = strlen(msg); off < len; off += step, step = step % 7 + 1) {
                size_t n = off + step > len ? len - off : step;
                assert_int_equal(server_write(f, msg + off, n), 0);
                run_idle(f);
                if (off + n < len)
                        assert_int_equal(json_array_size(f->log), 1);
        }
        run_until(f, 2);
        assert_reply(f, 1, "a", 0);
        assert_string_equal(json_string_value(json_object_get(json_object_get(rec(f, 1), "return"), "s")), "a\nb");

        /* Two replies and an event in one write, and the start of nothing after them. */
        server_send(f, "{\"return\": 1, \"id\": \"%s\"}\n{\"event\": \"X\"}\n{\"return\": [], \"id\": \"%s\"}\n",
                    id_of(cc), id_of(cb));
        run_until(f, 5);
        assert_reply(f, 2, "c", 0);
        assert_string_equal(rec_str(f, 3, "name"), "X");
        assert_reply(f, 4, "b", 0);
}

static void test_server_closes(void **state) {
        struct fx *f = *state;
        struct tag a = {.f = f, .name = "a"}, b = {.f = f, .name = "b"}, c = {.f = f, .name = "c"};

        handshake(f);
        assert_int_equal(zero_qmp_command(f->q, "cmd-a", NULL, on_reply, &a), 0);
        assert_int_equal(zero_qmp_command(f->q, "cmd-b", NULL, on_reply, &b), 0);
        json_decref(server_next(f, "cmd-a"));
        json_decref(server_next(f, "cmd-b"));
        assert_int_equal(zero_qmp_command(f->q, "cmd-c", NULL, on_reply, &c), 0);
        /* Half a message, then the end. */
        server_send(f, "{\"return\": {}, \"id\": ");
        f->srv = safe_close(f->srv);
        run_until(f, 5);
        assert_reply(f, 1, "a", -ECONNRESET);
        assert_reply(f, 2, "b", -ECONNRESET);
        assert_reply(f, 3, "c", -ECONNRESET);
        assert_string_equal(rec_str(f, 4, "kind"), "closed");
        assert_int_equal(rec_int(f, 4, "r"), -ECONNRESET);
        assert_int_equal(zero_qmp_is_ready(f->q), -ENOTCONN);
        assert_int_equal(zero_qmp_command(f->q, "cmd-d", json_object(), on_reply, &a), -ENOTCONN);
        run_idle(f);
        assert_int_equal(json_array_size(f->log), 5);
}

static void test_close_during_handshake(void **state) {
        struct fx *f = *state;
        struct tag a = {.f = f, .name = "a"};

        assert_int_equal(zero_qmp_command(f->q, "cmd-a", NULL, on_reply, &a), 0);
        server_send(f, GREETING);
        json_decref(server_next(f, "qmp_capabilities"));
        f->free_in_closed = true;
        f->srv = safe_close(f->srv);
        run_until(f, 2);
        assert_reply(f, 0, "a", -ECONNRESET);
        assert_string_equal(rec_str(f, 1, "kind"), "closed");
        assert_null(f->q);
        run_idle(f);
        assert_int_equal(json_array_size(f->log), 2);
}

static void test_timeout(void **state) {
        struct fx *f = *state;
        struct tag a = {.f = f, .name = "a"}, b = {.f = f, .name = "b"}, c = {.f = f, .name = "c"};
        uint64_t start;

        handshake(f);
        start = zero_monotonic_usec();
        assert_int_equal(zero_qmp_command_timeout(f->q, "slow", NULL, 50 * USEC_PER_MSEC, on_reply, &a), 0);
        json_auto_t *ca = server_next(f, "slow");
        run_until(f, 2);
        assert_reply(f, 1, "a", -ETIMEDOUT);
        assert_true(zero_monotonic_usec() - start >= 50 * USEC_PER_MSEC);
        assert_string_equal(rec_str(f, 1, "code"), "timeout");

        /* The late reply is dropped; the connection goes on. */
        server_return(f, ca, "{}");
        zero_qmp_set_timeout(f->q, 30 * USEC_PER_MSEC);
        assert_int_equal(zero_qmp_command(f->q, "slow-too", NULL, on_reply, &b), 0);
        json_decref(server_next(f, "slow-too"));
        run_until(f, 3);
        assert_reply(f, 2, "b", -ETIMEDOUT);
        zero_qmp_set_timeout(f->q, 0);
        assert_int_equal(zero_qmp_command(f->q, "fast", NULL, on_reply, &c), 0);
        json_auto_t *cc = server_next(f, "fast");
        server_return(f, cc, "{}");
        run_until(f, 4);
        assert_reply(f, 3, "c", 0);
}

static void test_handshake_timeout(void **state) {
        struct fx *f = *state;
        struct tag a = {.f = f, .name = "a"};

        zero_qmp_set_timeout(f->q, 40 * USEC_PER_MSEC);
        assert_int_equal(zero_qmp_command_timeout(f->q, "cmd-a", NULL, 0, on_reply, &a), 0);
        run_until(f, 2);
        assert_reply(f, 0, "a", -ETIMEDOUT);
        assert_string_equal(rec_str(f, 1, "kind"), "closed");
        assert_int_equal(rec_int(f, 1, "r"), -ETIMEDOUT);
        assert_non_null(strstr(rec_str(f, 1, "message"), "greeting"));
}

static void test_garbage(void **state) {
        struct fx *f = *state;
        static const char *const garbage[] = {
                "this is not json\n", "[1, 2]\n", "{\"what\": 1}\n", "{\"event\": 5}\n", GREETING, "\"str\"\n",
                /* An unparsable reply whose id belongs to no pending command. */
                "{\"return\": 18446744073709551616, \"id\": \"zero-999\"}\n",
        };

        for (size_t i = 0; i < ELEMENTSOF(garbage); i++) {
                struct tag a = {.f = f, .name = "a"};
                if (i > 0) {
                        fx_close(f);
                        fx_open(f);
                }
                handshake(f);
                assert_int_equal(zero_qmp_command(f->q, "cmd-a", NULL, on_reply, &a), 0);
                json_decref(server_next(f, "cmd-a"));
                server_send(f, "%s", garbage[i]);
                run_until(f, 3);
                assert_reply(f, 1, "a", -EPROTO);
                assert_string_equal(rec_str(f, 1, "code"), "protocol_error");
                assert_string_equal(rec_str(f, 2, "kind"), "closed");
                assert_int_equal(rec_int(f, 2, "r"), -EPROTO);
        }
        /* Garbage instead of a greeting. */
        fx_close(f);
        fx_open(f);
        server_send(f, "{\"return\": {}}\n");
        run_until(f, 1);
        assert_int_equal(rec_int(f, 0, "r"), -EPROTO);
}

static void test_big_integer(void **state) {
        struct fx *f = *state;
        struct tag a = {.f = f, .name = "a"}, b = {.f = f, .name = "b"};

        /* Beyond jansson's int64: only this command fails, the stream stays in sync. */
        handshake(f);
        assert_int_equal(zero_qmp_command(f->q, "cmd-a", NULL, on_reply, &a), 0);
        assert_int_equal(zero_qmp_command(f->q, "cmd-b", NULL, on_reply, &b), 0);
        json_auto_t *ca = server_next(f, "cmd-a");
        json_auto_t *cb = server_next(f, "cmd-b");
        server_send(f, "{\"return\": [{\"id\": \"%s\", \"size\": 18446744073709551615}], \"id\": \"%s\"}\n", id_of(cb),
                    id_of(ca));
        server_return(f, cb, "{}");
        run_until(f, 3);
        assert_reply(f, 1, "a", -EPROTO);
        assert_non_null(strstr(rec_str(f, 1, "message"), "cmd-a"));
        assert_reply(f, 2, "b", 0);
        assert_int_equal(zero_qmp_is_ready(f->q), 1);
}

static void test_oversized(void **state) {
        struct fx *f = *state;
        struct tag a = {.f = f, .name = "a"};
        size_t len = ZERO_QMP_MESSAGE_MAX + 2 * 1024 * 1024;
        _cleanup_free_ char *big = malloc(len);

        handshake(f);
        assert_non_null(big);
        /* A command too long is refused at once, and its arguments are not leaked. */
        memset(big, 'x', len);
        big[len - 1] = '\0';
        assert_int_equal(zero_qmp_command(f->q, "big", json_pack("{s:s}", "s", big), on_reply, &a), -EMSGSIZE);
        assert_int_equal(zero_qmp_command(f->q, "bad", json_array(), on_reply, &a), -EINVAL);
        assert_int_equal(zero_qmp_command(f->q, NULL, NULL, on_reply, &a), -EINVAL);
        assert_int_equal(zero_qmp_command(NULL, "x", json_object(), on_reply, &a), -EINVAL);
        assert_int_equal(json_array_size(f->log), 1);

        assert_int_equal(zero_qmp_command(f->q, "cmd-a", NULL, on_reply, &a), 0);
        json_decref(server_next(f, "cmd-a"));
        /* A reply that never ends: the client gives up past the limit and hangs up. */
        memset(big, ' ', len);
        big[0] = '{';
        int r = server_write(f, big, len);
        assert_true(r == -EPIPE || r == 0);
        run_until(f, 3);
        assert_reply(f, 1, "a", -EPROTO);
        assert_non_null(strstr(rec_str(f, 2, "message"), "longer than"));
}

static void test_free_pending(void **state) {
        struct fx *f = *state;
        struct tag a = {.f = f, .name = "a"}, b = {.f = f, .name = "b"}, c = {.f = f, .name = "c"};

        handshake(f);
        assert_int_equal(zero_qmp_command(f->q, "cmd-a", json_pack("{s:i}", "x", 1), on_reply, &a), 0);
        assert_int_equal(zero_qmp_command(f->q, "cmd-b", NULL, on_reply, &b), 0);
        json_decref(server_next(f, "cmd-a"));
        assert_int_equal(zero_qmp_command(f->q, "cmd-c", NULL, on_reply, &c), 0);
        f->q = zero_qmp_free(f->q);
        assert_int_equal(json_array_size(f->log), 4);
        assert_reply(f, 1, "a", -ECANCELED);
        assert_reply(f, 2, "b", -ECANCELED);
        assert_reply(f, 3, "c", -ECANCELED);
        run_idle(f);
        assert_int_equal(json_array_size(f->log), 4);
        assert_null(zero_qmp_free(NULL));
}

static void test_free_in_callback(void **state) {
        struct fx *f = *state;
        struct tag a = {.f = f, .name = "a"}, b = {.f = f, .name = "b"};

        handshake(f);
        assert_int_equal(zero_qmp_command(f->q, "cmd-a", NULL, on_reply, &a), 0);
        assert_int_equal(zero_qmp_command(f->q, "cmd-b", NULL, on_reply, &b), 0);
        json_auto_t *ca = server_next(f, "cmd-a");
        json_auto_t *cb = server_next(f, "cmd-b");
        /* a's callback frees the connection: b is cancelled, and the rest of the same read (an
         * event, b's reply) is not dispatched. */
        f->free_in_reply = true;
        server_send(f, "{\"return\": {}, \"id\": \"%s\"}\n{\"event\": \"X\"}\n{\"return\": {}, \"id\": \"%s\"}\n",
                    id_of(ca), id_of(cb));
        run_until(f, 3);
        assert_null(f->q);
        assert_reply(f, 1, "a", 0);
        assert_reply(f, 2, "b", -ECANCELED);
        run_idle(f);
        assert_int_equal(json_array_size(f->log), 3);
}

/* ---- zero_qmp_call() ---- */

/* The id of the n-th command of the connection: qmp_capabilities is zero-1. */
static const char *nth_id(unsigned n) {
        static char ids[4][32]; /* a few per printf */
        static unsigned next;
        char *id = ids[next++ % ELEMENTSOF(ids)];
        snprintf(id, sizeof(ids[0]), "zero-%u", n);
        return id;
}

/* The server answers before the client asks: the test runs on one thread, and the call does
 * not return before its reply. Events and a reply to an earlier command arrive first; they are
 * delivered from the loop after the call, in stream order, and so is what comes after. The
 * earlier command's timeout expired during the call: its reply came first, so it counts. */
static void test_call_reply(void **state) {
        struct fx *f = *state;
        struct tag a = {.f = f, .name = "a"};
        struct zero_error err = {};
        json_t *ret = NULL;

        handshake(f);
        assert_int_equal(zero_qmp_command_timeout(f->q, "cmd-a", NULL, 5 * USEC_PER_MSEC, on_reply, &a), 0);
        server_send(f, "{\"event\": \"E1\"}\n{\"return\": {\"n\": 2}, \"id\": \"%s\"}\n", nth_id(2));
        server_send(f, "{\"event\": \"E2\", \"data\": {\"x\": 1}}\n{\"return\": {\"n\": 3}, \"id\": \"%s\"}\n", nth_id(3));
        (void) poll(NULL, 0, 20); /* a's timer is due now, but only the loop would fire it */
        assert_int_equal(zero_qmp_call(f->q, "cmd-s", json_pack("{s:s}", "k", "v"), TIMEOUT_USEC, &ret, &err), 0);
        assert_int_equal(json_integer_value(json_object_get(ret, "n")), 3);
        json_decref(ret);
        assert_int_equal(json_array_size(f->log), 1); /* nothing delivered inside the call */
        json_decref(server_next(f, "cmd-a"));
        json_auto_t *cs = server_next(f, "cmd-s");
        assert_string_equal(id_of(cs), nth_id(3));
        assert_string_equal(json_string_value(json_object_get(json_object_get(cs, "arguments"), "k")), "v");

        server_send(f, "{\"event\": \"E3\"}\n"); /* after the call: behind what it kept */
        run_until(f, 5);
        assert_string_equal(rec_str(f, 1, "name"), "E1");
        assert_reply(f, 2, "a", 0);
        assert_int_equal(json_integer_value(json_object_get(json_object_get(rec(f, 2), "return"), "n")), 2);
        assert_string_equal(rec_str(f, 3, "name"), "E2");
        assert_int_equal(json_integer_value(json_object_get(json_object_get(rec(f, 3), "data"), "x")), 1);
        assert_string_equal(rec_str(f, 4, "name"), "E3");
        run_idle(f);
        assert_int_equal(json_array_size(f->log), 5);

        /* No value wanted: fine too. */
        server_send(f, "{\"return\": {}, \"id\": \"%s\"}\n", nth_id(4));
        assert_int_equal(zero_qmp_call(f->q, "cmd-t", NULL, TIMEOUT_USEC, NULL, &err), 0);
}

static void test_call_error(void **state) {
        struct fx *f = *state;
        struct zero_error err = {};
        json_t *ret = NULL;

        handshake(f);
        server_send(f, "{\"error\": {\"class\": \"DeviceNotFound\", \"desc\": \"no node q1\"}, \"id\": \"%s\"}\n",
                    nth_id(2));
        assert_int_equal(zero_qmp_call(f->q, "blockdev-del", NULL, TIMEOUT_USEC, &ret, &err), -EIO);
        assert_null(ret);
        assert_string_equal(err.message, "no node q1");
        assert_string_equal(err.detail, "DeviceNotFound");
        assert_int_equal(zero_qmp_is_ready(f->q), 1);
        assert_int_equal(zero_qmp_call(f->q, NULL, NULL, 0, NULL, &err), -EINVAL);
        assert_int_equal(zero_qmp_call(NULL, "x", NULL, 0, NULL, &err), -EINVAL);
        assert_int_equal(zero_qmp_call(f->q, "x", json_array(), 0, NULL, &err), -EINVAL);
        assert_int_equal(json_array_size(f->log), 1);
}

/* No reply: the call gives up at its deadline, not before, and not much after; the late reply
 * is dropped and the next call gets its own. */
static void test_call_timeout(void **state) {
        struct fx *f = *state;
        struct zero_error err = {};
        json_t *ret = NULL;
        uint64_t start, took;

        handshake(f);
        start = zero_monotonic_usec();
        assert_int_equal(zero_qmp_call(f->q, "slow", NULL, 30 * USEC_PER_MSEC, &ret, &err), -ETIMEDOUT);
        took = zero_monotonic_usec() - start;
        print_message("timed out after %.1f ms\n", (double) took / 1000.0);
        assert_true(took >= 30 * USEC_PER_MSEC && took < 2 * USEC_PER_SEC);
        assert_int_equal(err.code, ZERO_E_TIMEOUT);
        assert_non_null(strstr(err.message, "slow"));
        assert_null(ret);
        json_auto_t *cs = server_next(f, "slow");

        server_return(f, cs, "{\"late\": true}");
        server_send(f, "{\"return\": {\"n\": 3}, \"id\": \"%s\"}\n", nth_id(3));
        assert_int_equal(zero_qmp_call(f->q, "fast", NULL, TIMEOUT_USEC, &ret, &err), 0);
        assert_int_equal(json_integer_value(json_object_get(ret, "n")), 3);
        json_decref(ret);
        /* 0: the connection's timeout. */
        zero_qmp_set_timeout(f->q, 20 * USEC_PER_MSEC);
        assert_int_equal(zero_qmp_call(f->q, "slow-too", NULL, 0, NULL, &err), -ETIMEDOUT);
        assert_int_equal(zero_qmp_is_ready(f->q), 1);
        run_idle(f);
        assert_int_equal(json_array_size(f->log), 1);
}

/* A call before the greeting goes through the handshake; ready() comes from the loop after. */
static void test_call_handshake(void **state) {
        struct fx *f = *state;
        struct tag early = {.f = f, .name = "early"};
        struct zero_error err = {};
        json_t *ret = NULL;

        assert_int_equal(zero_qmp_command(f->q, "early", NULL, on_reply, &early), 0); /* zero-1 */
        server_send(f, GREETING);
        server_send(f, "{\"return\": {}, \"id\": \"%s\"}\n", nth_id(3)); /* qmp_capabilities */
        server_send(f, "{\"return\": 1, \"id\": \"%s\"}\n{\"return\": 2, \"id\": \"%s\"}\n", nth_id(1), nth_id(2));
        assert_int_equal(zero_qmp_call(f->q, "query-version", NULL, TIMEOUT_USEC, &ret, &err), 0);
        assert_int_equal(json_integer_value(ret), 2);
        json_decref(ret);
        assert_int_equal(zero_qmp_is_ready(f->q), 1);
        assert_int_equal(zero_qmp_version(f->q), 7002022);
        assert_int_equal(json_array_size(f->log), 0);
        json_decref(server_next(f, "qmp_capabilities"));
        json_decref(server_next(f, "early"));
        json_decref(server_next(f, "query-version"));
        run_until(f, 2);
        assert_string_equal(rec_str(f, 0, "kind"), "ready");
        assert_reply(f, 1, "early", 0);
}

/* The peer hangs up during the call: the call fails, closed() comes from the loop. */
static void test_call_closed(void **state) {
        struct fx *f = *state;
        struct tag a = {.f = f, .name = "a"};
        struct zero_error err = {};

        handshake(f);
        assert_int_equal(zero_qmp_command(f->q, "cmd-a", NULL, on_reply, &a), 0);
        server_send(f, "{\"event\": \"E1\"}\n");
        assert_int_equal(shutdown(f->srv, SHUT_WR), 0);
        assert_int_equal(zero_qmp_call(f->q, "cmd-s", NULL, TIMEOUT_USEC, NULL, &err), -ECONNRESET);
        assert_true(err.message[0]);
        assert_int_equal(json_array_size(f->log), 1);
        assert_int_equal(zero_qmp_is_ready(f->q), -ENOTCONN);
        assert_int_equal(zero_qmp_call(f->q, "cmd-t", NULL, TIMEOUT_USEC, NULL, &err), -ENOTCONN);
        run_until(f, 4);
        assert_string_equal(rec_str(f, 1, "name"), "E1");
        assert_reply(f, 2, "a", -ECONNRESET);
        assert_string_equal(rec_str(f, 3, "kind"), "closed");
}

/* A call from a callback, in the middle of a read: the lines after the callback's come first. */
static void test_call_from_callback(void **state) {
        struct fx *f = *state;

        handshake(f);
        f->call_in_event = true;
        server_send(f, "{\"event\": \"CALL\"}\n{\"event\": \"AFTER\"}\n{\"return\": {\"n\": 2}, \"id\": \"%s\"}\n"
                       "{\"event\": \"LAST\"}\n",
                    nth_id(2));
        run_until(f, 5);
        assert_string_equal(rec_str(f, 1, "name"), "CALL");
        assert_string_equal(rec_str(f, 2, "kind"), "nested");
        assert_int_equal(rec_int(f, 2, "r"), 0);
        assert_int_equal(json_integer_value(json_object_get(json_object_get(rec(f, 2), "return"), "n")), 2);
        assert_string_equal(rec_str(f, 3, "name"), "AFTER");
        assert_string_equal(rec_str(f, 4, "name"), "LAST");
        json_decref(server_next(f, "nested"));
}

/* Freed with deliveries pending: a kept reply is cancelled, the rest goes unheard. */
static void test_call_then_free(void **state) {
        struct fx *f = *state;
        struct tag a = {.f = f, .name = "a"};
        struct zero_error err = {};

        handshake(f);
        assert_int_equal(zero_qmp_command(f->q, "cmd-a", NULL, on_reply, &a), 0);
        server_send(f, "{\"event\": \"E1\"}\n{\"return\": {}, \"id\": \"%s\"}\n{\"return\": {}, \"id\": \"%s\"}\n",
                    nth_id(2), nth_id(3));
        assert_int_equal(zero_qmp_call(f->q, "cmd-s", NULL, TIMEOUT_USEC, NULL, &err), 0);
        f->q = zero_qmp_free(f->q);
        assert_int_equal(json_array_size(f->log), 2);
        assert_reply(f, 1, "a", -ECANCELED);
        run_idle(f);
        assert_int_equal(json_array_size(f->log), 2);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_handshake_holds_commands, setup, teardown),
                cmocka_unit_test_setup_teardown(test_odd_versions, setup, teardown),
                cmocka_unit_test_setup_teardown(test_connect_path, setup, teardown),
                cmocka_unit_test_setup_teardown(test_out_of_order, setup, teardown),
                cmocka_unit_test_setup_teardown(test_error_reply, setup, teardown),
                cmocka_unit_test_setup_teardown(test_event_between_replies, setup, teardown),
                cmocka_unit_test_setup_teardown(test_split_and_coalesced, setup, teardown),
                cmocka_unit_test_setup_teardown(test_server_closes, setup, teardown),
                cmocka_unit_test_setup_teardown(test_close_during_handshake, setup, teardown),
                cmocka_unit_test_setup_teardown(test_timeout, setup, teardown),
                cmocka_unit_test_setup_teardown(test_handshake_timeout, setup, teardown),
                cmocka_unit_test_setup_teardown(test_garbage, setup, teardown),
                cmocka_unit_test_setup_teardown(test_big_integer, setup, teardown),
                cmocka_unit_test_setup_teardown(test_oversized, setup, teardown),
                cmocka_unit_test_setup_teardown(test_free_pending, setup, teardown),
                cmocka_unit_test_setup_teardown(test_free_in_callback, setup, teardown),
                cmocka_unit_test_setup_teardown(test_call_reply, setup, teardown),
                cmocka_unit_test_setup_teardown(test_call_error, setup, teardown),
                cmocka_unit_test_setup_teardown(test_call_timeout, setup, teardown),
                cmocka_unit_test_setup_teardown(test_call_handshake, setup, teardown),
                cmocka_unit_test_setup_teardown(test_call_closed, setup, teardown),
                cmocka_unit_test_setup_teardown(test_call_from_callback, setup, teardown),
                cmocka_unit_test_setup_teardown(test_call_then_free, setup, teardown),
        };
        /* Every message in the log of a failing test: the debug lines are the libvirt-style trace. */
        zero_log_set_max_priority(getenv("ZERO_QMP_TEST_QUIET") ? LOG_INFO : LOG_DEBUG);
        return cmocka_run_group_tests(tests, NULL, NULL);
}
