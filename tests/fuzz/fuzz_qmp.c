/* SPDX-License-Identifier: Apache-2.0 */
/*
 * io/qmp.c, the asynchronous QMP client, reading what QEMU would send: the input is written into
 * the other end of a socketpair the client was made on (zero_qmp_new_fd()), then the socket is
 * shut down, and the loop runs until the client has seen it close. Each input is read twice:
 * written at once, and in about three pieces with the loop run in between, so that messages are
 * cut across reads (1 + size / 3 + size % 13 bytes: the cuts move as inputs grow and shrink; a
 * piece per few bytes would cost an epoll round trip each).
 *
 * The client has two commands queued before the greeting (zero-1, zero-2; qmp_capabilities is
 * zero-3) and queues one more from ready() and from each reply, up to 8 (zero-4 ...); the event
 * SHUTDOWN frees the connection from inside its callback, as a caller may. ready() also makes
 * one synchronous call (zero_qmp_call(), 1 ms: what is in the socket already is read by it, the
 * rest times it out), so the messages after it are kept and delivered from the loop. Checked:
 * the reply contract of qmp.h (r = 0 with a value, or r < 0 with err and no value), every command
 * answered exactly once, no callback from inside zero_qmp_call(), closed() called at most once
 * and never after zero_qmp_free().
 */
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/util.h"
#include "io/qmp.h"
#include "tests/fuzz/fuzz.h"

#define COMMANDS_MAX 8

struct run {
        struct zero_qmp *q;
        unsigned queued, answered, closed;
        bool freed, in_call, called;
};

static void on_reply(struct zero_qmp *q, int r, json_t *v, const struct zero_error *err, void *userdata);

static void queue(struct run *run, const char *execute) {
        if (run->freed || run->queued >= COMMANDS_MAX)
                return;
        if (zero_qmp_command(run->q, execute, NULL, on_reply, run) >= 0)
                run->queued++;
}

static void on_reply(struct zero_qmp *q, int r, json_t *v, const struct zero_error *err, void *userdata) {
        struct run *run = userdata;

        FUZZ_ASSERT(!run->in_call, "a reply callback inside zero_qmp_call()");
        FUZZ_ASSERT(r >= 0 ? v && !err : !v && err && err->message[0], "reply r=%d v=%p err=%p", r, (void *) v,
                    (const void *) err);
        run->answered++;
        FUZZ_ASSERT(run->answered <= run->queued, "%u answers to %u commands", run->answered, run->queued);
        if (r >= 0)
                free(json_dumps(v, JSON_ENCODE_ANY)); /* the borrowed value is alive */
        queue(run, "query-status");
}

static void on_ready(struct zero_qmp *q, void *userdata) {
        struct run *run = userdata;

        FUZZ_ASSERT(zero_qmp_is_ready(q) == 1, "ready() before ready");
        FUZZ_ASSERT(!run->in_call, "ready() inside zero_qmp_call()");
        (void) zero_qmp_version(q);
        queue(run, "query-pci");
        if (!run->called && !run->freed) {
                struct zero_error err = {};
                json_t *ret = NULL;
                int r;

                run->called = run->in_call = true;
                r = zero_qmp_call(q, "query-sync", NULL, USEC_PER_MSEC, &ret, &err);
                run->in_call = false;
                FUZZ_ASSERT(r >= 0 ? !!ret : !ret && err.message[0], "call r=%d ret=%p without a reason", r,
                            (void *) ret);
                json_decref(ret);
        }
}

static void on_event(struct zero_qmp *q, const char *name, json_t *data, uint64_t ts, void *userdata) {
        struct run *run = userdata;

        FUZZ_ASSERT(name, "an event without a name");
        FUZZ_ASSERT(!run->in_call, "an event inside zero_qmp_call()");
        if (data)
                free(json_dumps(data, JSON_ENCODE_ANY));
        if (streq(name, "SHUTDOWN") && !run->freed) {
                run->freed = true;
                zero_qmp_free(q);
        }
}

static void on_closed(struct zero_qmp *q, int r, const struct zero_error *err, void *userdata) {
        struct run *run = userdata;

        FUZZ_ASSERT(r < 0 && err && !run->freed, "closed(%d) after free or without a reason", r);
        FUZZ_ASSERT(!run->in_call, "closed() inside zero_qmp_call()");
        run->closed++;
        FUZZ_ASSERT(run->closed == 1, "closed() %u times", run->closed);
        FUZZ_ASSERT(run->answered == run->queued, "closed with %u of %u commands answered", run->answered,
                    run->queued);
}

static const struct zero_qmp_callbacks callbacks = {.ready = on_ready, .event = on_event, .closed = on_closed};

/* Runs the loop until nothing is left to do now. */
static void drain(sd_event *e) {
        for (int i = 0; i < 100000; i++)
                if (sd_event_run(e, 0) <= 0)
                        return;
        FUZZ_ASSERT(false, "the loop never idles");
}

static void feed(sd_event *e, const uint8_t *data, size_t size, size_t piece) {
        struct run run = {};
        char sink[4096];
        int sv[2];

        FUZZ_ASSERT(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) >= 0, "socketpair");
        FUZZ_ASSERT(zero_qmp_new_fd(e, sv[0], &callbacks, &run, &run.q) >= 0, "zero_qmp_new_fd");
        queue(&run, "query-status");
        queue(&run, "qom-list");
        for (size_t off = 0; off < size && !run.freed && !run.closed; off += piece) {
                size_t n = size - off < piece ? size - off : piece;
                FUZZ_ASSERT(zero_write_all(sv[1], data + off, n) >= 0, "write");
                drain(e);
                while (recv(sv[1], sink, sizeof(sink), MSG_DONTWAIT) > 0)
                        ; /* what the client sent */
        }
        (void) shutdown(sv[1], SHUT_WR);
        drain(e);
        FUZZ_ASSERT(run.freed || run.closed == 1, "the client missed the end of its connection");
        if (!run.freed)
                zero_qmp_free(run.q);
        FUZZ_ASSERT(run.answered == run.queued, "%u of %u commands answered after free", run.answered, run.queued);
        close(sv[1]);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        static sd_event *e;

        if (!e) {
                (void) fuzz_scratch_dir(); /* logs off */
                FUZZ_ASSERT(sd_event_new(&e) >= 0, "sd_event_new");
        }
        feed(e, data, size, size > 0 ? size : 1);
        feed(e, data, size, 1 + size / 3 + size % 13);
        return 0;
}
