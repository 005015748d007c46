/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/*
 * The card's work as jobs, the way zerod's card jobs are (agent/card_job.c): one job per object
 * (a volume, a NIC, a network, the host) at a time, in the order asked for, jobs on different
 * objects side by side; so the softcard driver, which serializes nothing itself (card.h), never
 * meets two ops on one object. A job is a list of steps run from the loop (never inside the call
 * that asks for it):
 *
 *   step returns  > 0   done: the next step runs now
 *                 0     under way: whoever it waits for calls zc_job_next() from the loop
 *                 < 0   failed, with j->err: the job ends there
 *
 * When the last step is done (or one failed), every waiter hears how it ended (r, the job's
 * result, err), from the loop, and the next job of its object starts.
 */
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <systemd/sd-event.h>

#include "zero/error.h"

struct zc;
struct zc_job;
struct zero_hotplug;
struct zero_subprocess;

typedef int (*zc_step_fn)(struct zc_job *j);
/* A step that did its work at once: r < 0 fails, anything else goes on (never "under way", 0, which
 * a store call's 0 would otherwise say). */
static inline int zc_step_next(int r) {
        return r < 0 ? r : 1;
}
/* A waiter: r, the job's result (borrowed; NULL on failure) and err (on failure). */
typedef void (*zc_job_done_fn)(void *userdata, int r, json_t *result, const struct zero_error *err);

struct zc_waiter {
        zc_job_done_fn fn;
        void *userdata;
        struct zc_waiter *next;
};

struct zc_job {
        struct zc *zc;
        char object[48];         /* "volume:ID", "nic:ID", "network:ID", "host" */
        char id[48];             /* the object's id (the part after the colon) */
        const char *what;        /* "create", "present", ...: for logs */
        const zc_step_fn *steps; /* NULL-terminated */
        unsigned step;
        json_t *args;   /* what the job was asked (the request's body) */
        json_t *result; /* what it answers with (a record as the API shows it) */
        int r;
        struct zero_error err;
        struct zc_waiter *waiters;
        bool running;
        sd_event_source *defer; /* runs the next step from the loop */
        /* what a step waits for, gone with the job */
        struct zero_hotplug *hp;
        struct zc_job *hp_next; /* in the host's queue of hot-plugs (present.c) */
        sd_event_source *timer;
        struct zero_subprocess *child;
        unsigned tries;
        uint64_t started; /* CLOCK_MONOTONIC µs when it started running */
        char text[512];   /* a step's note for a later one: an export's path, ... */
        struct zc_job *next;
};

/* Asks for a job on object (args stolen); it starts once the jobs asked before it on the same
 * object ended. *ret (may be NULL) is the job, to wait for. */
int zc_job_submit(struct zc *zc, const char *object, const char *id, const char *what, const zc_step_fn *steps,
                  json_t *args, struct zc_job **ret);
/* fn is called once, when the job ends. */
int zc_job_wait(struct zc_job *j, zc_job_done_fn fn, void *userdata);
/* An asynchronous step ended: r >= 0 goes on with the next step, r < 0 fails the job with err
 * (copied; a default message when NULL). From the loop only.
 */
void zc_job_next(struct zc_job *j, int r, const struct zero_error *err);
/* The same step run again, from the loop (its turn came: a queue's next) or after usec; the
 * latter returns 0, a step's "under way". */
void zc_job_again(struct zc_job *j);
int zc_job_again_in(struct zc_job *j, uint64_t usec);
/* From a step: the job is done, the steps after this one are skipped; returns 1 (the step's
 * "done"). */
int zc_job_skip_rest(struct zc_job *j);
/* Sets the job's result (stolen). */
void zc_job_result(struct zc_job *j, json_t *result);
/* Whether a job on object is queued or running. */
bool zc_job_busy(struct zc *zc, const char *object);
/* The card stops: every job is dropped, its waiters told (ZERO_E_UNAVAILABLE).
 */
void zc_jobs_free(struct zc *zc);
/* The running job on object, NULL if none; the last one asked for, NULL if none. */
struct zc_job *zc_job_running(struct zc *zc, const char *object);
struct zc_job *zc_job_last(struct zc *zc, const char *object);
