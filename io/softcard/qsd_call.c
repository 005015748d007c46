/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The daemon's monitor (storage.h): one io/qmp.c connection on the agent's loop, and the calls
 * on it. Two kinds share one set of rules:
 *  - qsd_call(), a zero_qmp_call() that polls the socket until its reply or deadline: for what
 *    must answer within the card op that asks (zerod's start and its sync(), volume stats with
 *    their 25 ms bound, the synchronous ops while the agent still calls them);
 *  - qsd_call_async(), a command whose answer comes from the loop: for the volume ops
 *    (volume.c), so that nothing waits on the daemon inside a card op.
 * The rules (issue 11, item 7):
 *  - every call has a timeout: QMP_TIMEOUT_USEC, or for a best-effort call (stats, which a GET
 *    shows when it can: qsd_set_best_effort()) QSD_QUICK_TIMEOUT_USEC;
 *  - while the daemon is being restarted (qsd.c) calls fail at once, unsent, ZERO_E_UNAVAILABLE;
 *  - a daemon that let a full-timeout call time out and has said nothing since (stopped, hung)
 *    is "stalled": calls wait QSD_QUICK_TIMEOUT_USEC at most (a daemon merely slow under load
 *    catches up), and once it has been stalled for STALL_GRACE_USEC they fail at once, unsent (a
 *    stopped daemon would run them all when it goes on), until it answers again, which a probe
 *    on the loop (query-version, no timeout) notices;
 *  - a best-effort call that timed out says only that the daemon is late by more than 25 ms,
 *    which a merely slow one is under load (a stats GET at a load of 9 under ASan missed it): it
 *    makes the daemon "lagging", not stalled. The best-effort calls after it fail at once, unsent,
 *    until the daemon answers again (the same probe), so that a stopped daemon costs a GET
 *    nothing after the first; the calls that change something keep their whole timeout. (When
 *    it marked the daemon stalled, the export after a stats GET that missed 25 ms got 25 ms
 *    itself, and failed on a daemon that answered 15 ms later: test_softcard_async's
 *    test_slow_not_stalled.)
 * call_admit() and call_outcome() hold them, for both kinds.
 *
 * An asynchronous call is answered once, from the loop, never from inside qsd_call_async() nor
 * from inside another call of this file: a reply from the daemon comes from the connection's
 * io (qmp.h: never from inside zero_qmp_command()); an answer decided here (unsent under the
 * rules, the connection dropped under it by a reconnect or a restart) goes through a defer
 * source. A cancelled call is answered to nobody: it stays with the connection until its reply
 * or timeout, then goes (its outcome still counts for the stalled rule). qsd_close() answers
 * nobody: it drops the work under way (the volume ops), then the calls.
 */
#include <systemd/sd-event.h>

#include "common/log.h"
#include "common/util.h"
#include "io/softcard/qsd_internal.h"

struct qsd_call {
        struct qsd *q;
        struct qsd_call *next; /* q->calls */
        char *execute;
        uint64_t timeout_usec;
        qsd_reply_fn cb; /* NULL once cancelled */
        void *userdata;
        bool sent;              /* the connection has it: it goes when the connection answers */
        sd_event_source *defer; /* an answer decided here, for the loop to deliver */
        int r;
        struct zero_error err;
};

bool qsd_set_best_effort(struct qsd *q, bool best_effort) {
        bool old = q->best_effort;

        q->best_effort = best_effort;
        q->timeout_usec = best_effort ? QSD_QUICK_TIMEOUT_USEC : QMP_TIMEOUT_USEC;
        return old;
}

sd_event *qsd_event(const struct qsd *q) {
        return q->private_event ? NULL : q->event;
}

/* ---- The connection ---- */

void qsd_disconnect(struct qsd *q) {
        /* The pending commands are answered -ECANCELED: the probe clears probing, the
         * asynchronous calls are answered from the loop (on_call_reply()). */
        q->qmp = zero_qmp_free(q->qmp);
        q->stalled_usec = q->lagging_usec = 0;
        softcard_view_forget(&q->view); /* the next connection may reach another daemon */
}

/* Our own loop has nobody else to run it: what the connection keeps for the loop (events,
 * the probe's reply, its close) is delivered before each use. */
void qsd_dispatch(struct qsd *q) {
        for (int i = 0; q->private_event && i < 64 && sd_event_run(q->event, 0) > 0; i++)
                ;
}

int qsd_connect(struct qsd *q, uint64_t wait_usec, struct zero_error *err) {
        int r;

        qsd_disconnect(q);
        if (!q->qmp_path) /* a monitor handed over by qsd_open_monitor(): no reconnecting */
                return zero_error_set(err, -ENOTCONN, ZERO_E_INTERNAL, "the monitor of qemu-storage-daemon is closed");
        r = zero_qmp_new(q->event, q->qmp_path, &qsd_qmp_callbacks, q, &q->qmp);
        if (r == -EAGAIN) /* the listen backlog is full: QEMU serves one client at a time */
                r = -ETIMEDOUT;
        if (r < 0)
                return zero_error_set(err, r, ZERO_E_INTERNAL, "cannot connect to qemu-storage-daemon: %s",
                                      strerror(-r));
        if (wait_usec == 0) {
                /* The handshake goes on from the loop, bounded; commands queue behind it, their
                 * own timers running. */
                zero_qmp_set_timeout(q->qmp, QMP_CONNECT_TIMEOUT_USEC);
                return 0;
        }
        r = zero_qmp_wait_ready(q->qmp, wait_usec, err);
        if (r < 0)
                qsd_disconnect(q);
        return r;
}

static bool connected(const struct qsd *q) {
        return q->qmp && zero_qmp_is_ready(q->qmp) >= 0; /* ready, or its handshake under way */
}

/* ---- The rules ---- */

/* The daemon said something: calls get their whole timeout back. */
static void qmp_answers(struct qsd *q) {
        if (q->stalled_usec > 0)
                log_info("softcard: qemu-storage-daemon answers again after %.1f s",
                         (double) (zero_monotonic_usec() - q->stalled_usec) / (double) USEC_PER_SEC);
        q->stalled_usec = q->lagging_usec = 0;
}

static void on_probe(struct zero_qmp *qmp, int r, json_t *v, const struct zero_error *err, void *userdata) {
        struct qsd *q = userdata;

        q->probing = false;
        if (r >= 0 || r == -EIO)
                qmp_answers(q);
}

/* Its reply comes after those of the calls that timed out: then the daemon is back. */
static void qmp_probe(struct qsd *q) {
        if (!q->probing && q->qmp && zero_qmp_command_timeout(q->qmp, "query-version", NULL, 0, on_probe, q) >= 0)
                q->probing = true;
}

/* A call with its whole timeout timed out: until the daemon says something again, calls wait
 * briefly only. */
static void qmp_stalled(struct qsd *q) {
        if (q->stalled_usec == 0) {
                q->stalled_usec = zero_monotonic_usec();
                if (!q->private_event)
                        log_warning("softcard: qemu-storage-daemon (pid %d) does not answer QMP; calls wait %llu ms "
                                    "at most until it does",
                                    (int) q->pid, (unsigned long long) (QSD_QUICK_TIMEOUT_USEC / USEC_PER_MSEC));
        }
        qmp_probe(q);
}

/* A best-effort call timed out: the next ones wait for the daemon's next answer; the others do
 * not care. */
static void qmp_lagging(struct qsd *q) {
        if (q->lagging_usec == 0) {
                q->lagging_usec = zero_monotonic_usec();
                log_debug("softcard: qemu-storage-daemon did not answer a best-effort call within %llu ms",
                          (unsigned long long) (QSD_QUICK_TIMEOUT_USEC / USEC_PER_MSEC));
        }
        qmp_probe(q);
}

/* Before a call is sent: 0 and its timeout in *timeout, or the answer it gets unsent.
 * best_effort: the call is one of qsd_set_best_effort()'s. */
static int call_admit(struct qsd *q, const char *execute, bool best_effort, uint64_t *timeout,
                      struct zero_error *err) {
        *timeout = best_effort ? QSD_QUICK_TIMEOUT_USEC : QMP_TIMEOUT_USEC;
        if (q->phase != RESTART_NONE) /* its connection is the restart's, not ours to make */
                return zero_error_set(err, -EAGAIN, ZERO_E_UNAVAILABLE,
                                      "qemu-storage-daemon is being restarted: %s not sent", execute);
        if (q->stalled_usec > 0) {
                uint64_t stalled = zero_monotonic_usec() - q->stalled_usec;
                if (stalled >= STALL_GRACE_USEC) {
                        qmp_probe(q); /* if none could be sent before */
                        return zero_error_set(err, -ETIMEDOUT, ZERO_E_TIMEOUT,
                                              "qemu-storage-daemon has not answered for %.1f s (stopped or hung): "
                                              "%s not sent",
                                              (double) stalled / (double) USEC_PER_SEC, execute);
                }
                if (*timeout > QSD_QUICK_TIMEOUT_USEC)
                        *timeout = QSD_QUICK_TIMEOUT_USEC;
        }
        if (best_effort && q->lagging_usec > 0) {
                qmp_probe(q);
                return zero_error_set(err, -ETIMEDOUT, ZERO_E_TIMEOUT,
                                      "qemu-storage-daemon has not answered since a call timed out %.0f ms ago: %s "
                                      "not sent",
                                      (double) (zero_monotonic_usec() - q->lagging_usec) / (double) USEC_PER_MSEC,
                                      execute);
        }
        return 0;
}

/* What a call's answer says of the daemon. */
static void call_outcome(struct qsd *q, int r, bool best_effort) {
        if (r == -ETIMEDOUT && best_effort)
                qmp_lagging(q);
        else if (r == -ETIMEDOUT)
                qmp_stalled(q);
        else if (r >= 0 || r == -EIO)
                qmp_answers(q);
}

int qsd_qmp_error(int r, const char *execute, uint64_t timeout_usec, const struct zero_error *e,
                  struct zero_error *err) {
        if (r == -EIO) /* QMP's own error: its desc */
                return zero_error_set(err, -EIO, ZERO_E_INTERNAL, "%s: %s", execute, e->message);
        if (r == -ECONNRESET || r == -ENOTCONN || r == -EPIPE || r == -ECANCELED)
                return zero_error_set(err, -ECONNRESET, ZERO_E_INTERNAL, "qemu-storage-daemon closed its monitor (%s)",
                                      execute);
        if (r == -ETIMEDOUT)
                return zero_error_set(err, r, ZERO_E_TIMEOUT, "qemu-storage-daemon did not answer %s within %llu ms",
                                      execute, (unsigned long long) (timeout_usec / USEC_PER_MSEC));
        return zero_error_set(err, r, ZERO_E_INTERNAL, "QMP %s: %s", execute, e->message[0] ? e->message : strerror(-r));
}

/* ---- Synchronous calls ---- */

int qsd_call(struct qsd *q, const char *execute, json_t *args, json_t **ret, struct zero_error *err) {
        json_auto_t *a = args;
        struct zero_error e = {};
        uint64_t timeout;
        int r;

        qsd_dispatch(q);
        r = call_admit(q, execute, q->best_effort, &timeout, err);
        if (r < 0)
                return r;
        /* A connection the daemon dropped while we were idle (seen by the loop): connect again,
         * before the command, so it is never sent twice. */
        if (!q->qmp || zero_qmp_is_ready(q->qmp) < 0) {
                r = qsd_connect(q, timeout, &e);
                if (r < 0)
                        return qsd_qmp_error(r, execute, timeout, &e, err);
        }
        r = zero_qmp_call(q->qmp, execute, TAKE_PTR(a), timeout, ret, &e);
        call_outcome(q, r, q->best_effort);
        if (r < 0)
                return qsd_qmp_error(r, execute, timeout, &e, err);
        return 0;
}

/* ---- Asynchronous calls ---- */

static struct qsd_call *call_free(struct qsd_call *c) {
        if (!c)
                return NULL;
        sd_event_source_disable_unref(c->defer);
        free(c->execute);
        free(c);
        return NULL;
}
DEFINE_TRIVIAL_CLEANUP_FUNC(struct qsd_call *, call_free)

static void call_unlink(struct qsd_call *c) {
        for (struct qsd_call **p = &c->q->calls; *p; p = &(*p)->next)
                if (*p == c) {
                        *p = c->next;
                        break;
                }
        c->next = NULL;
}

/* The answer, once: c is gone before cb runs (cb may start the next call, or close q). */
static void call_deliver(struct qsd_call *c, int r, json_t *value, const struct zero_error *err) {
        qsd_reply_fn cb = c->cb;
        void *userdata = c->userdata;
        struct zero_error e = *err;

        call_unlink(c);
        call_free(c);
        if (cb)
                cb(userdata, r, r >= 0 ? value : NULL, &e);
}

static int on_call_defer(sd_event_source *s, void *userdata) {
        struct qsd_call *c = userdata;

        call_deliver(c, c->r, NULL, &c->err);
        return 0;
}

/* An answer for the loop to deliver; 0, or -errno when even that cannot be. */
static int call_defer(struct qsd_call *c, int r, const struct zero_error *err) {
        int k;

        c->r = r;
        c->err = *err;
        k = sd_event_add_defer(c->q->event, &c->defer, on_call_defer, c);
        if (k >= 0)
                (void) sd_event_source_set_description(c->defer, "softcard-qsd-answer");
        return k;
}

static void on_call_reply(struct zero_qmp *qmp, int r, json_t *value, const struct zero_error *err, void *userdata) {
        struct qsd_call *c = userdata;
        struct qsd *q = c->q;
        bool canceled = r == -ECANCELED;
        struct zero_error e = {};

        c->sent = false;
        if (!canceled)
                call_outcome(q, r, false);
        if (!c->cb || q->closing) {
                call_unlink(c);
                call_free(c);
                return;
        }
        if (r < 0)
                r = qsd_qmp_error(r, c->execute, c->timeout_usec, err, &e);
        /* The connection was freed under it (a reconnect, a restart), maybe inside a call of
         * ours: -ECONNRESET, from the loop. */
        if (canceled && call_defer(c, r, &e) >= 0)
                return;
        call_deliver(c, r, value, &e);
}

int qsd_call_async(struct qsd *q, const char *execute, json_t *args, qsd_reply_fn cb, void *userdata,
                   struct qsd_call **ret) {
        json_auto_t *a = args;
        _cleanup_(call_freep) struct qsd_call *c = NULL;
        struct zero_error e = {}, answer = {};
        int r;

        if (!q || !execute || !cb)
                return -EINVAL;
        if (q->private_event || q->closing) /* nobody runs our own loop for the answer */
                return -EOPNOTSUPP;
        c = calloc(1, sizeof(*c));
        if (!c || !(c->execute = strdup(execute)))
                return -ENOMEM;
        c->q = q;
        c->cb = cb;
        c->userdata = userdata;
        /* The loop's calls are the ops that change something: never best effort. */
        r = call_admit(q, execute, false, &c->timeout_usec, &answer);
        if (r >= 0 && !connected(q)) {
                r = qsd_connect(q, 0, &e);
                if (r < 0)
                        r = qsd_qmp_error(r, execute, c->timeout_usec, &e, &answer);
        }
        if (r >= 0) {
                r = zero_qmp_command_timeout(q->qmp, execute, TAKE_PTR(a), c->timeout_usec, on_call_reply, c);
                if (r < 0) /* refused before it was queued: no memory, too long, not JSON */
                        return r;
                c->sent = true;
        } else {
                r = call_defer(c, r, &answer);
                if (r < 0)
                        return r;
        }
        c->next = q->calls;
        q->calls = c;
        if (ret)
                *ret = c;
        TAKE_PTR(c);
        return 0;
}

struct qsd_call *qsd_call_cancel(struct qsd_call *c) {
        if (!c)
                return NULL;
        c->cb = NULL;
        if (c->sent)
                return NULL; /* the connection's: on_call_reply() frees it */
        call_unlink(c);
        return call_free(c);
}

/* ---- Work under way ---- */

static bool work_waits(struct qsd *q, const struct qsd_work *w) {
        for (struct qsd_work *x = q->works; x && x != w; x = x->next)
                if (streq(x->key, w->key))
                        return true;
        return false;
}

int qsd_work_add(struct qsd *q, struct qsd_work *w) {
        struct qsd_work **p = &q->works;

        while (*p)
                p = &(*p)->next;
        w->next = NULL;
        *p = w;
        w->waiting = work_waits(q, w);
        return !w->waiting;
}

void qsd_work_remove(struct qsd *q, struct qsd_work *w) {
        bool found = false;

        for (struct qsd_work **p = &q->works; *p; p = &(*p)->next)
                if (*p == w) {
                        *p = w->next;
                        found = true;
                        break;
                }
        w->next = NULL;
        if (!found || q->closing)
                return;
        /* The next with its key: its turn. */
        for (struct qsd_work *x = q->works; x; x = x->next)
                if (x->waiting && streq(x->key, w->key)) {
                        if (!work_waits(q, x)) {
                                x->waiting = false;
                                x->turn(x);
                        }
                        break;
                }
}

void qsd_calls_drop(struct qsd *q) {
        q->closing = true;
        while (q->works)
                q->works->drop(q->works); /* removes itself */
        for (struct qsd_call *c = q->calls, *next; c; c = next) {
                next = c->next;
                if (!c->sent) {
                        call_unlink(c);
                        call_free(c);
                } else
                        c->cb = NULL; /* freed when the connection goes, last in qsd_close() */
        }
}
