/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/*
 * The operation engine. Every multi-step action (create, start, stop, restart, delete) is a row
 * in the store's operations table and a list of named steps. The step about to run is committed
 * to the store before it runs, so after a crash zerod knows where each action stood and runs that
 * step again: every step is idempotent. A step either finishes (0), fails (-errno with op->err
 * filled), or pauses (ZERO_OP_PENDING) until an event calls zero_op_continue().
 */
#include <jansson.h>
#include <stdio.h>

#include "agent/agent.h"

#define ZERO_OP_PENDING 1

/* An operation's status, as the store keeps it (its name) and the API shows it. */
enum zero_op_status {
        ZERO_OP_RUNNING,
        ZERO_OP_SUCCEEDED,
        ZERO_OP_FAILED,
        _ZERO_OP_STATUS_MAX,
        _ZERO_OP_STATUS_INVALID = -EINVAL,
};
const char *zero_op_status_name(enum zero_op_status s);
enum zero_op_status zero_op_status_from_name(const char *s);

struct zero_op_step {
        const char *name;
        int (*run)(struct zero_op *op);
        /* For a step that pauses (ZERO_OP_PENDING): what resumes it, e.g. spawn's "reported".
         * It names the fault point KIND.STEP.ANSWER, where the answer has arrived and nothing
         * of it is recorded yet (fault.h): a crash while the step waits. NULL: none. */
        const char *answer;
};

struct zero_op_kind {
        const char *name;
        const struct zero_op_step *steps;
        size_t n_steps;
        /* What a failure leaves the instance as; called after the failed step. */
        void (*on_fail)(struct zero_op *op);
};

struct zero_op {
        struct zero_agent *agent;
        struct zero_op *next;
        struct zero_operation_row row;
        const struct zero_op_kind *kind;
        json_t *params;
        struct zero_error err;
        sd_event_source *defer;
        sd_event_source *child; /* a helper process the step waits for (the import's zero-unpack);
                                 * owned: freeing the operation kills it */
        uint64_t step_started;  /* monotonic µs, for the per-step timing log */
        unsigned volumes_pending; /* zero_op_wait_volumes(): jobs not ended yet */
        int volumes_r;            /* ... and the first failure among them */
};

const struct zero_op_kind *zero_op_kind_find(const char *name);

/* Makes an operation for an instance; not stored, not running. params is stolen (may be NULL). */
int zero_op_new(struct zero_agent *a, const char *kind, const struct zero_instance_row *inst, json_t *params,
                struct zero_op **ret);
/* The same for an operation on no instance (an image's import: params holds the image's
 * "name"); id is the operation's id, made up when NULL. */
int zero_op_new_detached(struct zero_agent *a, const char *kind, const char *id, json_t *params, struct zero_op **ret);
/* An operation on volume `volume` (no instance): params get "volume". */
int zero_op_new_volume(struct zero_agent *a, const char *kind, const char *volume, json_t *params,
                       struct zero_op **ret);
struct zero_op *zero_op_free(struct zero_op *op);
/* The volume an operation works on (params "volume"), NULL for an instance's. */
const char *zero_op_volume(const struct zero_op *op);
/* Takes an operation that is stored (status running) and runs its steps from row.step on. */
int zero_op_launch(struct zero_op *op);
/* Ends what a caller began with zero_store_begin() and wrote (r: how that went): op's row goes
 * in, the transaction commits and op is launched, announced by the event "operation" (status
 * running); else everything is rolled back, op is freed and err says why. what and name: a new
 * row, for the ZERO_E_CONFLICT of a taken name ("a volume"; NULL for none); image: for the
 * ZERO_E_INVALID of a missing one. Takes op. */
int zero_op_commit_and_launch(struct zero_agent *a, int r, struct zero_op *op, const char *what, const char *name,
                              const char *image, struct zero_error *err);
/* The store's failure r with `what` was being done: ZERO_E_UNAVAILABLE for a locked store (-EBUSY:
 * retry), ZERO_E_INTERNAL otherwise. Returns r. */
int zero_error_store(struct zero_error *err, int r, const char *what);
/* Called when a paused step has its answer: r >= 0 the step is done, r < 0 it failed. */
void zero_op_continue(struct zero_op *op, int r);
json_t *zero_op_row_to_json(const struct zero_operation_row *row);
/* Picks up every unfinished operation in the store (after a restart). */
int zero_op_resume_all(struct zero_agent *a);
void zero_op_free_all(struct zero_agent *a);
/* The answer a paused step waits for has arrived (the caller handles it next): fault point
 * KIND.STEP.ANSWER of op's current step, if the step names one. */
void zero_op_fault_point_answer(struct zero_op *op);
/* volume_ops.c: a step that waits for the card's jobs on volumes (volume_job.h): ZERO_OP_PENDING
 * until the last ends (the operation then continues, or fails with the first failure), 0 when
 * there is none, -errno with op->err when one cannot start. */
int zero_op_wait_volumes(struct zero_op *op, const char *const *names, size_t n);
/* Every fault point of every kind's steps, one a line (fault.h); -EOPNOTSUPP without them. */
int zero_op_fault_points_print(FILE *f);
