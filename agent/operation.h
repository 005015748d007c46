/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/*
 * The operation engine. Every multi-step action (create, start, stop, restart, delete) is a row
 * in the store's operations table and a list of named steps. The step about to run is committed
 * to the store before it runs, so after a crash zerod knows where each action stood and runs that
 * step again: every step is idempotent. A step either finishes (0), fails (-errno with op->err
 * filled), or pauses (ZERO_OP_PENDING) until its answer comes.
 *
 * The engine owns every wait. A step that pauses says what it waits for (zero_op_wait(): the
 * shim's spawn report, the instance's exit, the plugin's done(), the card's jobs, a
 * child process); whoever hears of such a thing (the instance's shim link, the services table,
 * the card jobs, the child's watch) hands it to the engine with zero_op_answer(), which finds
 * the operation waiting for it, if any. So an instance, a plugin or a volume never points at an
 * operation, and an operation that is freed leaves nothing behind that could call it. What a
 * wait holds (the stop's kill timer, a child process) is the operation's, and goes with the step.
 */
#include <jansson.h>
#include <stdio.h>

#include "agent/agent.h"

#define ZERO_OP_PENDING 1

struct zero_peer_call;

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

/* What a paused step waits for: one of these, or a few at once (a mask: the first answer ends the
 * wait). Answers come from the loop (zero_op_answer()). */
enum zero_op_wait {
        ZERO_OP_WAIT_NONE = 0,
        ZERO_OP_WAIT_REPORT = 1 << 0,  /* the instance's shim reports its spawn (a pid, or why not) */
        ZERO_OP_WAIT_EXIT = 1 << 1,    /* the instance's main process exits */
        ZERO_OP_WAIT_PLUGIN = 1 << 2,  /* the plugin's services->done() after ZERO_PLUGIN_PENDING */
        ZERO_OP_WAIT_CARD = 1 << 3,    /* the card's jobs (zero_op_wait_card()) */
        ZERO_OP_WAIT_CHILD = 1 << 4,   /* a child process of the step's (zero_op_wait_child()) */
        ZERO_OP_WAIT_PEER = 1 << 5,    /* another node's agent: the answer to the step's request
                                        * (op->peer), or a request of the peer's (migration.h) */
        ZERO_OP_WAIT_NODE = 1 << 6,    /* the node to be free of others (the evict step, node_owner.c) */
};

/* How a wait's answer ends the step: done, or the step runs again (its work is idempotent, and
 * it now finds what it waited for: a plugin that asked to be called again, a child that removed
 * what the step removes). */
enum zero_op_then {
        ZERO_OP_THEN_DONE,
        ZERO_OP_THEN_RERUN,
        /* The step runs again whatever the answer, a failure included (op->answer_r, op->err):
         * a step that looks elsewhere before it gives up (a migration's switchover asks the
         * target whether it runs the guest). */
        ZERO_OP_THEN_RERUN_ANY,
};

/* A step's reader of another agent's answer (a request the step made, op->peer): r and err as
 * peer.h's callback gives them; returns the step's answer (0, or -errno with op->err). */
typedef int (*zero_op_peer_fn)(struct zero_op *op, int r, long status, json_t *body, const struct zero_error *err);

struct zero_op_kind {
        const char *name;
        const struct zero_op_step *steps;
        size_t n_steps;
        /* What a failure leaves the instance as; called after the failed step (after the undo
         * steps, when the kind has them). */
        void (*on_fail)(struct zero_op *op);
        /* Steps that take back what a failed operation did, run (and journalled, and resumed
         * after a crash) like the others once a step failed: the operation is still running
         * while they run, and fails with the first failure's error when they are done (an undo
         * step that fails ends them, its reason added). Their names differ from the forward
         * steps' (the journal finds a step by name). A kind without them fails at once. */
        const struct zero_op_step *undo;
        size_t n_undo;
        /* Whether DELETE /v1/operations/{id} may cancel it now (NULL: never). A canceled
         * operation fails (canceled) where it stands, and its undo steps run. */
        bool (*can_cancel)(const struct zero_op *op);
};

struct zero_op {
        struct zero_agent *agent;
        struct zero_op *next;
        struct zero_operation_row row;
        const struct zero_op_kind *kind;
        json_t *params;
        struct zero_error err;
        sd_event_source *defer;
        uint64_t step_started; /* monotonic µs, for the per-step timing log */
        uint64_t commits;      /* the store's commits when it was launched, for the log at its end */

        /* The wait of the paused step (zero_op_wait()); NONE while a step runs or none waits. */
        enum zero_op_wait wait;
        enum zero_op_then then;
        /* What the waiting step holds, the operation's: gone with the step (or the operation). */
        sd_event_source *child;   /* a child process (zero_op_wait_child()): freeing kills it */
        const char *child_what;   /* ... what it does, for the error (a static string) */
        sd_event_source *timer;   /* the step's timer (the stop's kill after its timeout) */
        unsigned card_pending;    /* zero_op_wait_card(): jobs not ended yet */
        int card_r;               /* ... and the first failure among them */
        unsigned card_rounds;     /* zero_card_asked(): times the step waited for its plugin's asks */
        struct zero_peer_call *peer; /* a request to another agent (peer.h): freeing cancels it */
        zero_op_peer_fn peer_answer; /* ... and who reads its answer */
        int answer_r;             /* ZERO_OP_THEN_RERUN_ANY: the answer the step runs again with */
        bool rerun;               /* the step runs again after its wait's answer (not its first run) */
        sd_event_source *cancel;  /* zero_op_cancel(): the cancel, from the loop */
        bool cancel_asked;
        bool undoing;             /* a step failed: the kind's undo steps run (params "undo") */
        json_t *progress;         /* what the step under way reports (a migration's), in memory */
        bool durable_pending;     /* committed, not yet synced: its steps and its 202 wait (durable.h) */
};

/* A kind of forward steps only (no undo, no cancel). */
#define ZERO_OP_KIND(n, s, fail) {.name = (n), .steps = (s), .n_steps = ELEMENTSOF(s), .on_fail = (fail)}

const struct zero_op_kind *zero_op_kind_find(const char *name);

/* Makes an operation for an instance; not stored, not running. params is stolen (may be NULL). */
int zero_op_new(struct zero_agent *a, const char *kind, const struct zero_instance_row *inst, json_t *params,
                struct zero_op **ret);
/* The same with the id given (one the card made: a switch asked of it while a tenant held the
 * host, agent/handover.c). */
int zero_op_new_with_id(struct zero_agent *a, const char *kind, const char *id, const struct zero_instance_row *inst,
                        json_t *params, struct zero_op **ret);
/* The same for an operation on no instance (an image's import: params holds the image's
 * "name"); id is the operation's id, made up when NULL. */
int zero_op_new_detached(struct zero_agent *a, const char *kind, const char *id, json_t *params, struct zero_op **ret);
/* An operation on volume `volume` (no instance): params get "volume". */
int zero_op_new_volume(struct zero_agent *a, const char *kind, const char *volume, json_t *params,
                       struct zero_op **ret);
/* An operation on network `network` (no instance): params get "network". */
int zero_op_new_network(struct zero_agent *a, const char *kind, const char *network, json_t *params,
                        struct zero_op **ret);
struct zero_op *zero_op_free(struct zero_op *op);
/* The volume or network an operation works on (params "volume", "network"; an attach or detach
 * names its volume there too), NULL for none. */
const char *zero_op_volume(const struct zero_op *op);
const char *zero_op_network(const struct zero_op *op);
/* Takes an operation that is stored (status running) and runs its steps from row.step on. */
int zero_op_launch(struct zero_op *op);
/* Ends what a caller began with zero_store_begin() and wrote (r: how that went): op's row goes
 * in, the transaction commits and op is launched once the commit is durable (durable.h: the sync
 * runs off the loop; the front holds the 202 until then, zero_op_durable()), announced by the
 * event "operation" (status running); else everything is rolled back, op is freed and err says
 * why. what and name: a new row, for the ZERO_E_CONFLICT of a taken name ("a volume"; NULL for
 * none); image: for the ZERO_E_INVALID of a missing one. Takes op. */
int zero_op_commit_and_launch(struct zero_agent *a, int r, struct zero_op *op, const char *what, const char *name,
                              const char *image, struct zero_error *err);
/* The store's failure r with `what` was being done: ZERO_E_UNAVAILABLE for a locked store (-EBUSY:
 * retry), ZERO_E_INTERNAL otherwise. Returns r. */
int zero_error_store(struct zero_error *err, int r, const char *what);
/* A step pauses: returns ZERO_OP_PENDING for the step to return. what: one wait. */
int zero_op_wait(struct zero_op *op, enum zero_op_wait what, enum zero_op_then then);
/* The running operation on instance `instance_id` whose step waits for one of `what` (a mask),
 * or NULL. */
struct zero_op *zero_op_waiting(struct zero_agent *a, const char *instance_id, unsigned what);
/* The operation in memory (running, or about to) on instance_id, or NULL. */
struct zero_op *zero_op_of_instance(struct zero_agent *a, const char *instance_id);
/* The answer to a wait: the operation on instance_id waiting for one of `what` (if any) goes on
 * (r >= 0: the step is done or runs again, as its wait said) or fails (r < 0, with err when not
 * NULL). Returns whether an operation was waiting. Call it last: the operation may end inside. */
bool zero_op_answer(struct zero_agent *a, const char *instance_id, unsigned what, int r,
                    const struct zero_error *err);
/* The same for an operation at hand (a child's or a volume job's callback that has op). */
void zero_op_continue(struct zero_op *op, int r);
/* Runs argv as a child of zerod (nice, idle I/O, dies with zerod) and pauses the step until it
 * exits: status 0 answers with `then`, another status fails the step with a message naming
 * `what`. -errno (op->err set) when it cannot start. */
int zero_op_wait_child(struct zero_op *op, char *const argv[], const char *what, enum zero_op_then then);
json_t *zero_op_row_to_json(const struct zero_operation_row *row);
/* The operation with id in memory (running), or NULL. */
struct zero_op *zero_op_find(struct zero_agent *a, const char *id);
/* What the running step reports of its progress (a migration's RAM sent, dirty rate, ...),
 * shown by GET /v1/operations/{id} while it runs; replaces what was there. Steals progress. */
void zero_op_set_progress(struct zero_op *op, json_t *progress);
/* The progress of the running operation with id (a new reference), or NULL. */
json_t *zero_op_progress_json(struct zero_agent *a, const char *id);
/* Records what the operation found (a migration's downtime) in its params' "result", which the
 * API shows as the operation's "result"; stored with the next step's commit or the end. Steals. */
int zero_op_set_result(struct zero_op *op, const char *key, json_t *value);
/* Writes op's row (params, step) to the store now. */
int zero_op_save(struct zero_op *op);
/* The row's copy of params after a change of op->params (written with the next commit). */
int zero_op_params_sync(struct zero_op *op);
/* Whether the operation of row has come to step name of its kind: it runs it or a later one,
 * or undoes, or has ended. */
bool zero_op_row_reached(const struct zero_operation_row *row, const char *name);
/* Whether kind has a forward step name (what GET /v1/operations/{id}?step= may wait for). */
bool zero_op_kind_has_step(const char *kind, const char *name);
/* A long-poll for a step of an operation parks on "ID@STEP" (ZERO_TOPIC_OPERATION_STEP's subject). */
#define ZERO_OP_WAKE_KEY_MAX 128
/* Whether op's row is durable: its 202 may go. Until then the front parks the reply on the key
 * zero_op_durable_key() makes, which the core's ZERO_TOPIC_OPERATION_DURABLE (subject: the id)
 * wakes. */
static inline bool zero_op_durable(const struct zero_op *op) {
        return !op->durable_pending;
}
void zero_op_durable_key(char key[static ZERO_OP_WAKE_KEY_MAX], const char *id);
/* Cancels the running operation id, if its kind allows it now (ZERO_E_WRONG_STATE otherwise,
 * ZERO_E_NOT_FOUND for none): it fails with ZERO_E_CANCELED from the loop, and its undo steps
 * run. */
int zero_op_cancel(struct zero_agent *a, const char *id, struct zero_error *err);
/* Picks up every unfinished operation in the store (after a restart). */
int zero_op_resume_all(struct zero_agent *a);
void zero_op_free_all(struct zero_agent *a);
/* The answer a paused step waits for has arrived (the caller handles it next): fault point
 * KIND.STEP.ANSWER of op's current step, if the step names one. */
void zero_op_fault_point_answer(struct zero_op *op);
/* card_steps.c: a step that waits for the card's jobs (card_job.h), asked for here: ZERO_OP_PENDING
 * until the last ends (the operation then goes on as `then` says, or fails with the first
 * failure), 0 when there is none, -errno with op->err when one cannot be asked for. */
struct zero_card_job_req;
int zero_op_wait_card(struct zero_op *op, const struct zero_card_job_req *reqs, size_t n, enum zero_op_then then);
/* Every fault point of every kind's steps, one a line (fault.h); -EOPNOTSUPP without them. */
int zero_op_fault_points_print(FILE *f);
