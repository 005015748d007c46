/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/*
 * struct qsd, shared by qsd.c (the daemon under its shim: start, adoption, watch, restart) and
 * qsd_call.c (its monitor: the connection, the calls on it and their rules, the work under way).
 * Nothing else includes this: storage.h is the interface.
 */
#include <stdbool.h>
#include <sys/types.h>
#include <systemd/sd-event.h>

#include "io/qmp.h"
#include "io/softcard/storage.h"

#define QMP_TIMEOUT_USEC (10 * USEC_PER_SEC)
#define QMP_CONNECT_TIMEOUT_USEC (5 * USEC_PER_SEC)
/* Stalled this long, calls no longer wait for the daemon at all. */
#define STALL_GRACE_USEC (1 * USEC_PER_SEC)
/* The watcher restarts a dying daemon at most this often, then waits for the next op. */
#define RESTART_BURST 5

enum restart_phase {
        RESTART_NONE,
        RESTART_SHIM_EXIT, /* the dead daemon's shim still removes its socket */
        RESTART_REPORT,    /* the new shim is to report the daemon's pid on the sync pipe */
        RESTART_LISTEN,    /* the daemon is to listen on qmp.sock */
        RESTART_HANDSHAKE, /* connected: greeting and capabilities (the connection's own bound) */
};

struct qsd_call;

struct qsd {
        sd_event *event;    /* the agent's loop, or our own (private_event) */
        bool private_event; /* opened without a loop: nobody runs it but us, nothing is watched */
        bool closing;       /* in qsd_close(): answers go to nobody */
        char *dir, *qmp_path, *nbd_path, *exports_dir, *shim, *binary;
        void (*lost_exports)(void *userdata);
        void *userdata;
        struct softcard_loop_index loops; /* the card's loop devices (loop_index.c) */
        struct softcard_view view;        /* the daemon's state (view.c) */

        /* qsd_call.c */
        struct zero_qmp *qmp;
        bool best_effort;       /* qsd_call()s are best effort (qsd_set_best_effort()) */
        uint64_t timeout_usec;  /* of a qsd_call() now: QMP_TIMEOUT_USEC, or QSD_QUICK_TIMEOUT_USEC */
        uint64_t stalled_usec;  /* when a call timed out, while the daemon has not answered since */
        uint64_t lagging_usec;  /* the same for a best-effort call (qsd_call.c's rules) */
        bool probing;           /* a query-version waits for the stalled or lagging daemon */
        struct qsd_call *calls; /* asynchronous calls not answered yet */
        struct qsd_work *works; /* work under way, in the order it came */

        /* qsd.c */
        pid_t pid;
        sd_event_source *watch;
        uint64_t restarts[RESTART_BURST]; /* CLOCK_MONOTONIC of the latest restarts, a ring */
        unsigned n_restarts;
        /* A restart from the loop (restart_begin()). */
        enum restart_phase phase;
        sd_event_source *restart_timer, *restart_io;
        uint64_t restart_deadline;
        pid_t restart_pid;
        char report[256];
        size_t report_len;
};

/* qsd.c: the connection's callbacks (a restart waits for its handshake). */
extern const struct zero_qmp_callbacks qsd_qmp_callbacks;

/* qsd_call.c */
/* A new connection to RUN/qsd/qmp.sock (the old one dropped: its calls are answered
 * -ECONNRESET from the loop); wait_usec > 0: its handshake waited for that long, 0: not waited
 * for (commands queue behind it). zero_qmp_new()'s -errno (-ENOENT, -ECONNREFUSED: nobody
 * listens) with err set. */
int qsd_connect(struct qsd *q, uint64_t wait_usec, struct zero_error *err);
void qsd_disconnect(struct qsd *q);
/* Delivers what our own loop holds (events, the probe's reply): a driver without the agent's. */
void qsd_dispatch(struct qsd *q);
/* r and what the connection said, as a card op's error. */
int qsd_qmp_error(int r, const char *execute, uint64_t timeout_usec, const struct zero_error *e,
                  struct zero_error *err);
/* qsd_close(): the work under way and the calls go, without a word to their owners. */
void qsd_calls_drop(struct qsd *q);
