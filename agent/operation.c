/* SPDX-License-Identifier: Apache-2.0 */
#include "agent/operation.h"

#include <assert.h>
#include <string.h>

#include "agent/durable.h"
#include "agent/spawn.h"
#include "agent/fault.h"
#include "agent/card_job.h"
#include "agent/peer.h"
#include "agent/trim.h"
#include "common/log.h"
#include "common/util.h"

extern const struct zero_op_kind zero_op_kind_create, zero_op_kind_start, zero_op_kind_stop,
        zero_op_kind_restart, zero_op_kind_delete, zero_op_kind_attach, zero_op_kind_detach, zero_op_kind_switch,
        zero_op_kind_import, zero_op_kind_volume_create, zero_op_kind_volume_delete, zero_op_kind_volume_resize,
        zero_op_kind_volume_qos, zero_op_kind_network_create, zero_op_kind_network_delete, zero_op_kind_migrate,
        zero_op_kind_migrate_in;

static const struct zero_op_kind *const kinds[] = {
        &zero_op_kind_create,  &zero_op_kind_start,  &zero_op_kind_stop,   &zero_op_kind_restart,
        &zero_op_kind_delete, &zero_op_kind_attach, &zero_op_kind_detach,  &zero_op_kind_switch,
        &zero_op_kind_import, &zero_op_kind_volume_create, &zero_op_kind_volume_delete, &zero_op_kind_volume_resize,
        &zero_op_kind_volume_qos, &zero_op_kind_network_create, &zero_op_kind_network_delete, &zero_op_kind_migrate,
        &zero_op_kind_migrate_in,
};

/* The steps the operation runs now: the kind's, or its undo steps once one failed. */
static const struct zero_op_step *op_steps(const struct zero_op *op, size_t *ret_n) {
        *ret_n = op->undoing ? op->kind->n_undo : op->kind->n_steps;
        return op->undoing ? op->kind->undo : op->kind->steps;
}

static const struct zero_op_step *op_step(const struct zero_op *op) {
        size_t n;
        const struct zero_op_step *steps = op_steps(op, &n);

        return (size_t) op->row.step < n ? &steps[op->row.step] : NULL;
}

static const char *const status_names[_ZERO_OP_STATUS_MAX] = {
        [ZERO_OP_RUNNING] = "running",
        [ZERO_OP_SUCCEEDED] = "succeeded",
        [ZERO_OP_FAILED] = "failed",
};

const char *zero_op_status_name(enum zero_op_status s) {
        return zero_state_name_at(status_names, _ZERO_OP_STATUS_MAX, s);
}

enum zero_op_status zero_op_status_from_name(const char *s) {
        return (enum zero_op_status) zero_state_index(status_names, _ZERO_OP_STATUS_MAX, s);
}

const struct zero_op_kind *zero_op_kind_find(const char *name) {
        for (size_t i = 0; i < ELEMENTSOF(kinds); i++)
                if (streq(kinds[i]->name, name))
                        return kinds[i];
        return NULL;
}

static int op_new(struct zero_agent *a, const char *kind, const char *id, const struct zero_instance_row *inst,
                  json_t *params, struct zero_op **ret) {
        struct zero_op *op;
        char fresh[33];
        int r;

        r = id ? 0 : zero_random_id(fresh);
        if (r < 0) {
                json_decref(params);
                return r;
        }
        op = calloc(1, sizeof(*op));
        if (!op) {
                json_decref(params);
                return -ENOMEM;
        }
        op->agent = a;
        op->kind = zero_op_kind_find(kind);
        op->params = params ? params : json_object();
        op->row.id = strdup(id ? id : fresh);
        op->row.kind = strdup(kind);
        op->row.instance_id = inst ? strdup(inst->id) : NULL;
        op->row.instance_name = inst ? strdup(inst->name) : NULL;
        op->row.status = strdup(zero_op_status_name(ZERO_OP_RUNNING));
        op->row.step = 0;
        op->row.step_name = strdup(op->kind ? op->kind->steps[0].name : "");
        op->row.params = json_dumps(op->params, JSON_COMPACT);
        op->row.actor = a->actor ? strdup(a->actor) : NULL;
        op->row.created_at = op->row.updated_at = (int64_t) zero_now_usec();
        if (!op->kind || !op->row.id || !op->row.kind || (inst && (!op->row.instance_id || !op->row.instance_name)) ||
            !op->row.status || !op->row.step_name || !op->row.params || (a->actor && !op->row.actor)) {
                r = op->kind ? -ENOMEM : -EINVAL;
                zero_op_free(op);
                return r;
        }
        *ret = op;
        return 0;
}

int zero_op_new(struct zero_agent *a, const char *kind, const struct zero_instance_row *inst, json_t *params,
                struct zero_op **ret) {
        return op_new(a, kind, NULL, inst, params, ret);
}

int zero_op_new_with_id(struct zero_agent *a, const char *kind, const char *id, const struct zero_instance_row *inst,
                        json_t *params, struct zero_op **ret) {
        return op_new(a, kind, id, inst, params, ret);
}

int zero_op_new_detached(struct zero_agent *a, const char *kind, const char *id, json_t *params, struct zero_op **ret) {
        return op_new(a, kind, id, NULL, params, ret);
}

/* An operation on the object `what` ("volume", "network") named name: params get it. */
static int op_new_on(struct zero_agent *a, const char *kind, const char *what, const char *name, json_t *params,
                     struct zero_op **ret) {
        if (!params)
                params = json_object();
        if (!params || json_object_set_new(params, what, json_string(name)) < 0) {
                json_decref(params);
                return -ENOMEM;
        }
        return zero_op_new_detached(a, kind, NULL, params, ret);
}

int zero_op_new_volume(struct zero_agent *a, const char *kind, const char *volume, json_t *params,
                       struct zero_op **ret) {
        return op_new_on(a, kind, "volume", volume, params, ret);
}

int zero_op_new_network(struct zero_agent *a, const char *kind, const char *network, json_t *params,
                        struct zero_op **ret) {
        return op_new_on(a, kind, "network", network, params, ret);
}

const char *zero_op_volume(const struct zero_op *op) {
        return json_string_value(json_object_get(op->params, "volume"));
}

const char *zero_op_network(const struct zero_op *op) {
        return json_string_value(json_object_get(op->params, "network"));
}

/* The paused step's wait is over (answered, failed, or the operation goes): what it held goes
 * with it, and nothing can answer it any more. */
static void op_wait_end(struct zero_op *op) {
        op->wait = ZERO_OP_WAIT_NONE;
        op->then = ZERO_OP_THEN_DONE;
        op->child = sd_event_source_disable_unref(op->child); /* kills and reaps a child still there */
        op->timer = sd_event_source_disable_unref(op->timer);
        op->peer = zero_peer_call_free(op->peer); /* cancels a request still under way */
        op->peer_answer = NULL;
        if (op->card_pending > 0)
                zero_card_jobs_forget(op->agent, op);
        op->card_pending = 0;
        op->card_r = 0;
}

static void op_unlink(struct zero_op *op) {
        struct zero_op **p;
        for (p = &op->agent->ops; *p; p = &(*p)->next)
                if (*p == op) {
                        *p = op->next;
                        break;
                }
        op->next = NULL;
}

struct zero_op *zero_op_free(struct zero_op *op) {
        if (!op)
                return NULL;
        op_unlink(op);
        if (op->durable_pending)
                zero_durable_forget(op->agent->durable, op);
        op_wait_end(op);
        op->defer = sd_event_source_disable_unref(op->defer);
        op->cancel = sd_event_source_disable_unref(op->cancel);
        json_decref(op->params);
        json_decref(op->progress);
        zero_operation_row_done(&op->row);
        free(op);
        return NULL;
}

/* The image an operation on no instance is about (params' "name"), or NULL. */
static char *op_image(const struct zero_operation_row *row) {
        json_t *p = row->instance_id || row->instance_name || !row->params ? NULL : json_loads(row->params, 0, NULL);
        const char *name = json_string_value(json_object_get(p, "name"));
        char *s = name ? strdup(name) : NULL;

        json_decref(p);
        return s;
}

json_t *zero_op_row_to_json(const struct zero_operation_row *row) {
        char created[32], finished[32];
        _cleanup_free_ char *image = op_image(row);
        json_t *err = json_null();

        if (zero_op_status_from_name(row->status) == ZERO_OP_FAILED)
                err = json_pack("{s:s,s:s}", "code", strempty(row->error_code), "message", strempty(row->error_message));
        json_t *steps = row->steps ? json_loads(row->steps, 0, NULL) : NULL;

        if (!json_is_array(steps)) {
                json_decref(steps);
                steps = json_array();
        }
        json_t *j = json_pack("{s:s,s:s,s:s?,s:s?,s:s,s:I,s:s,s:o,s:o,s:s,s:s?,s:s?}", "id", row->id, "kind",
                              row->kind, "instance", row->instance_name, "image", image, "status", row->status,
                              "step_index", (json_int_t) row->step, "step", strempty(row->step_name), "steps", steps,
                              "error", err, "created_at", zero_format_time(row->created_at, created), "finished_at",
                              row->finished_at ? zero_format_time(row->finished_at, finished) : NULL, "actor",
                              row->actor);
        /* An operation on a volume (volume_create, volume_delete, volume_resize, volume_qos) or a
         * network (network_create, network_delete) names it. */
        json_t *params = row->params ? json_loads(row->params, 0, NULL) : NULL;
        const char *volume = json_string_value(json_object_get(params, "volume"));
        const char *network = json_string_value(json_object_get(params, "network"));
        if (j && volume && strncmp(row->kind, "volume_", 7) == 0)
                json_object_set_new(j, "volume", json_string(volume));
        if (j && network && strncmp(row->kind, "network_", 8) == 0)
                json_object_set_new(j, "network", json_string(network));
        /* What the operation found (zero_op_set_result(): a migration's downtime and times). */
        if (j && json_is_object(json_object_get(params, "result")))
                json_object_set(j, "result", json_object_get(params, "result"));
        json_decref(params);
        return j;
}

/* What the operation acts on, for the log: its instance, its volume, or the image it imports. */
static const char *op_about(const struct zero_op *op) {
        return op->row.instance_name ? op->row.instance_name
               : zero_op_volume(op)  ? zero_op_volume(op)
               : zero_op_network(op) ? zero_op_network(op)
                                     : strempty(json_string_value(json_object_get(op->params, "name")));
}

static void op_run_steps(struct zero_op *op, bool committed);

/* params and the row's copy of them, after a change. */
int zero_op_params_sync(struct zero_op *op) {
        char *p = json_dumps(op->params, JSON_COMPACT);

        if (!p)
                return -ENOMEM;
        free(op->row.params);
        op->row.params = p;
        return 0;
}

/* A step failed (r): the kind's undo steps run from the first, the failure's reason kept in
 * params ("undo") for the end and for a zerod that resumes them. */
static int op_undo_begin(struct zero_op *op, int r) {
        (void) zero_error_default(&op->err, r, op->row.step_name);
        if (json_object_set_new(op->params, "undo",
                                json_pack("{s:s,s:s,s:s,s:i}", "code", zero_errc_name(op->err.code), "message",
                                          op->err.message, "step", strempty(op->row.step_name), "errno", -r)) < 0 ||
            zero_op_params_sync(op) < 0)
                return -ENOMEM;
        log_warning("Operation %s %s of %s failed in step %s: %s; undoing it", op->row.id, op->row.kind,
                    strempty(op->row.instance_name), op->row.step_name, op->err.message);
        op->undoing = true;
        op->row.step = 0;
        op->err = (struct zero_error){};
        op_run_steps(op, false);
        return 0;
}

/* The undo steps are done (r: how the last went): the operation fails with the first failure. */
static int op_undo_end(struct zero_op *op, int r) {
        json_t *u = json_object_get(op->params, "undo");
        struct zero_error first = {};
        int e = (int) json_integer_value(json_object_get(u, "errno"));

        first.code = zero_errc_from_name(json_string_value(json_object_get(u, "code")));
        if (r < 0)
                snprintf(first.message, sizeof(first.message), "%.240s; then undoing failed in step %.32s: %.200s",
                         strempty(json_string_value(json_object_get(u, "message"))), op->row.step_name,
                         op->err.message[0] ? op->err.message : strerror(-r));
        else
                snprintf(first.message, sizeof(first.message), "%s",
                         strempty(json_string_value(json_object_get(u, "message"))));
        op->err = first;
        return e > 0 ? -e : -EIO;
}

/* The long-polls for one of the first n forward steps (GET /v1/operations/{id}?step=, parked on
 * ID@STEP) answer: the operation has reached it, or a later one, or undoes, or has ended. A few
 * wakes per step, each a look along the parked requests. */
static void op_publish_steps(struct zero_op *op, size_t n) {
        char key[ZERO_OP_WAKE_KEY_MAX];

        for (size_t i = 0; op->kind && i < n && i < op->kind->n_steps; i++) {
                snprintf(key, sizeof(key), "%s@%s", op->row.id, op->kind->steps[i].name);
                zero_publish(op->agent, ZERO_TOPIC_OPERATION_STEP, key);
        }
}

static void op_finish(struct zero_op *op, int r) {
        struct zero_agent *a = op->agent;
        char *s;

        if (r < 0 && !op->undoing && op->kind->n_undo > 0 && op_undo_begin(op, r) >= 0)
                return; /* the undo steps run (and end in here again) */
        if (op->undoing)
                r = op_undo_end(op, r);
        s = strdup(zero_op_status_name(r < 0 ? ZERO_OP_FAILED : ZERO_OP_SUCCEEDED));

        if (s) {
                free(op->row.status);
                op->row.status = s;
        }
        if (r < 0) {
                (void) zero_error_default(&op->err, r, op->row.step_name);
                free(op->row.error_code);
                free(op->row.error_message);
                op->row.error_code = strdup(zero_errc_name(op->err.code));
                op->row.error_message = strdup(op->err.message);
                log_warning("Operation %s %s of %s failed in step %s: %s", op->row.id, op->row.kind, op_about(op),
                            op->row.step_name, op->err.message);
                if (op->kind->on_fail)
                        op->kind->on_fail(op);
        } else
                log_info("Operation %s %s of %s succeeded", op->row.id, op->row.kind, op_about(op));
        op->row.finished_at = op->row.updated_at = (int64_t) zero_now_usec();
        zero_metrics_operation_ended(a, op->row.kind, r >= 0, op->row.finished_at - op->row.created_at);
        r = zero_store_operation_update(a->store, &op->row);
        if (r < 0)
                log_error_errno(r, "Failed to record the end of operation %s: %m", op->row.id);
        zero_agent_event(a, "operation", op->row.instance_name,
                         json_pack("{s:s,s:s,s:s}", "id", op->row.id, "kind", op->row.kind, "status", op->row.status));
        zero_publish(a, ZERO_TOPIC_OPERATION_ENDED, op->row.id); /* the long-polls on it answer */
        op_publish_steps(op, SIZE_MAX);
        /* The store's commits while it ran (others' too, if any ran meanwhile), its end's not yet
         * (the batch's end commits it). */
        log_debug("Operation %s %s: %llu store commits (page cache %zu KiB)", op->row.id, op->row.kind,
                  (unsigned long long) (zero_store_commits(a->store) - op->commits),
                  zero_store_cache_bytes(a->store) / 1024);
        zero_op_free(op);
        /* An operation's end may have freed the node: the evict steps look again now rather than
         * at their next poll (their timers fire from the loop, not from inside this call). */
        for (struct zero_op *o = a->ops; o; o = o->next)
                if ((o->wait & ZERO_OP_WAIT_NODE) && o->timer)
                        (void) sd_event_source_set_time_relative(o->timer, 0);
        /* The last one running ended: what the operations had on the heap at once (8 creates at a
         * time held 7 MiB: the card's replies, JSON, rows) is free but stays with the process, as
         * glibc gives back only the top of the heap by itself; and the code they ran stays mapped.
         * Given back here, once per burst, so that zerod's resident memory follows its live data
         * (trim.h, bench_density). */
        if (!a->ops)
                zero_trim_when_idle(a);
}

/* "KIND.STEP" or "KIND.STEP.done" (fault.h). */
static void op_fault_point(struct zero_op *op, bool done) {
        const struct zero_op_step *step = op_step(op);
        char name[96];

        if (!step)
                return;
        snprintf(name, sizeof(name), "%s.%s%s", op->kind->name, step->name, done ? ".done" : "");
        zero_fault_point(name);
}

void zero_op_fault_point_answer(struct zero_op *op) {
        const struct zero_op_step *step = op ? op_step(op) : NULL;
        char name[128];

        if (!step || !step->answer)
                return;
        snprintf(name, sizeof(name), "%s.%s.%s", op->kind->name, step->name, step->answer);
        zero_fault_point(name);
}

int zero_op_fault_points_print(FILE *f) {
#ifdef ZERO_FAULT_INJECTION
        for (size_t k = 0; k < ELEMENTSOF(kinds); k++)
                for (size_t s = 0; s < kinds[k]->n_steps + kinds[k]->n_undo; s++) {
                        const struct zero_op_step *step = s < kinds[k]->n_steps ? &kinds[k]->steps[s]
                                                                                : &kinds[k]->undo[s - kinds[k]->n_steps];

                        fprintf(f, "%s.%s\n", kinds[k]->name, step->name);
                        if (step->answer)
                                fprintf(f, "%s.%s.%s\n", kinds[k]->name, step->name, step->answer);
                        fprintf(f, "%s.%s.done\n", kinds[k]->name, step->name);
                }
        return 0;
#else
        return -EOPNOTSUPP;
#endif
}

/* Commits the step about to run, so a restart knows where to pick up. */
static int op_record_step(struct zero_op *op) {
        char *name = strdup(op_step(op)->name);
        int r;

        if (!name)
                return -ENOMEM;
        free(op->row.step_name);
        op->row.step_name = name;
        op->row.updated_at = (int64_t) zero_now_usec();
        op->step_started = zero_monotonic_usec();
        r = zero_store_operation_update(op->agent->store, &op->row);
        if (r >= 0)
                op_publish_steps(op, op->undoing ? op->kind->n_steps : (size_t) op->row.step + 1);
        return r;
}

/* The step ran: its time goes to the log and the event log, then the next one. */
static void op_step_done(struct zero_op *op) {
        uint64_t us = zero_monotonic_usec() - op->step_started;
        json_t *steps = op->row.steps ? json_loads(op->row.steps, 0, NULL) : NULL;
        char *s;

        /* Recorded with the next step's commit (op_record_step) or the end's (op_finish). */
        if (!json_is_array(steps)) {
                json_decref(steps);
                steps = json_array();
        }
        json_array_append_new(steps, json_pack("{s:s,s:I}", "step", op->row.step_name, "duration_us", (json_int_t) us));
        s = json_dumps(steps, JSON_COMPACT);
        json_decref(steps);
        if (s) {
                free(op->row.steps);
                op->row.steps = s;
        }

        log_debug("Operation %s %s: step %s took %llu µs", op->row.id, op->row.kind, op->row.step_name,
                  (unsigned long long) us);
        zero_agent_event(op->agent, "operation.step", op->row.instance_name,
                         json_pack("{s:s,s:s,s:s,s:I,s:I}", "id", op->row.id, "kind", op->row.kind, "step",
                                   op->row.step_name, "index", (json_int_t) op->row.step, "duration_us",
                                   (json_int_t) us));
        op_fault_point(op, true);
        op->row.step++;
}

/* Runs the current step and the ones after it until one pauses, fails, or the last is done.
 * committed: the current step is recorded already (it runs again after its wait's answer). */
static void op_run_steps(struct zero_op *op, bool committed) {
        for (;; committed = false) {
                int r;

                if (!committed) {
                        if (!op_step(op)) {
                                op_finish(op, 0);
                                return;
                        }
                        /* The step's record is committed before it runs, with what the step
                         * before it wrote (one commit per step: the batch, op_run()). */
                        if (op->cancel_asked && !op->undoing) {
                                zero_error_set(&op->err, -ECANCELED, ZERO_E_CANCELED, "canceled before step %s",
                                               op_step(op)->name);
                                op_finish(op, -ECANCELED);
                                return;
                        }
                        op->answer_r = 0;
                        r = op_record_step(op);
                        if (r >= 0)
                                r = zero_store_batch_flush(op->agent->store);
                        if (r < 0) {
                                zero_error_set(&op->err, r, ZERO_E_UNAVAILABLE, "cannot record step %s: %s",
                                               op_step(op)->name, strerror(-r));
                                op_finish(op, r);
                                return;
                        }
                        op_fault_point(op, false);
                }
                op->rerun = committed;
                r = op_step(op)->run(op);
                if (r == ZERO_OP_PENDING && op->wait != ZERO_OP_WAIT_NONE)
                        return;
                op_wait_end(op);
                if (r == ZERO_OP_PENDING)
                        r = zero_error_set(&op->err, -EPROTO, ZERO_E_INTERNAL, "step %s paused waiting for nothing",
                                           op->row.step_name);
                if (r < 0) {
                        op_finish(op, r);
                        return;
                }
                op_step_done(op);
        }
}

/* The events a step appends name whoever asked for the operation. A step may end inside another
 * operation's (a plugin's done() from its loop callback), hence the save and restore. What the
 * steps write until they pause or end is one batch of the store: one commit per step (its record,
 * the instance's state changes and the events it appends), not one per write. */
static void op_run(struct zero_op *op, bool committed) {
        struct zero_agent *a = op->agent;
        struct zero_store *store = a->store;
        const char *saved = a->actor;
        int r;

        a->actor = op->row.actor;
        zero_store_batch_begin(store);
        op_run_steps(op, committed); /* may free op */
        r = zero_store_batch_end(store);
        if (r < 0)
                log_error_errno(r, "Failed to record an operation's steps: %m");
        a->actor = saved;
}

static int on_defer(sd_event_source *s, void *userdata) {
        struct zero_op *op = userdata;
        op->defer = sd_event_source_disable_unref(op->defer);
        op_run(op, false);
        return 0;
}

static void op_enlist(struct zero_op *op) {
        op->next = op->agent->ops;
        op->agent->ops = op;
}

/* Runs it after the HTTP reply is out, from a fresh stack. */
static int op_start(struct zero_op *op) {
        op->commits = zero_store_commits(op->agent->store);
        return sd_event_add_defer(op->agent->event, &op->defer, on_defer, op);
}

int zero_op_launch(struct zero_op *op) {
        op_enlist(op);
        return op_start(op);
}

void zero_op_durable_key(char key[static ZERO_OP_WAKE_KEY_MAX], const char *id) {
        snprintf(key, ZERO_OP_WAKE_KEY_MAX, "%s!durable", id);
}

int zero_error_store(struct zero_error *err, int r, const char *what) {
        if (r == -EBUSY)
                return zero_error_set(err, r, ZERO_E_UNAVAILABLE, "the state database is busy, retry: %s", what);
        return zero_error_set(err, r, ZERO_E_INTERNAL, "%s: %s", what, strerror(-r));
}

/* The row is synced (or could not be: the log says so, and the answer stands, for the row is
 * committed): the event "operation", the steps, and the 202 the front holds. */
static void on_durable(struct zero_agent *a, int r, void *userdata) {
        struct zero_op *op = userdata;

        if (r == -ECANCELED)
                return; /* zerod goes: the next one resumes it */
        op->durable_pending = false;
        zero_agent_event(a, "operation", op->row.instance_name,
                         json_pack("{s:s,s:s,s:s,s:s?,s:s?}", "id", op->row.id, "kind", op->row.kind, "status",
                                   zero_op_status_name(ZERO_OP_RUNNING), "volume", zero_op_volume(op), "network",
                                   zero_op_network(op)));
        zero_publish(a, ZERO_TOPIC_OPERATION_DURABLE, op->row.id);
        r = op_start(op);
        if (r < 0) {
                zero_error_set(&op->err, r, ZERO_E_INTERNAL, "cannot run the operation: %s", strerror(-r));
                op_finish(op, r); /* frees op */
        }
}

int zero_op_commit_and_launch(struct zero_agent *a, int r, struct zero_op *op, const char *what, const char *name,
                              const char *image, struct zero_error *err) {
        if (r >= 0)
                r = zero_store_operation_insert(a->store, &op->row);
        if (r >= 0)
                r = zero_store_commit(a->store);
        if (r < 0) {
                (void) zero_store_rollback(a->store);
                if (r == -EEXIST && what)
                        zero_error_set(err, r, ZERO_E_CONFLICT, "%s named '%s' exists already", what, name);
                else if (r == -ENOENT && image)
                        zero_error_set(err, r, ZERO_E_INVALID, "image '%s' does not exist", image);
                else
                        zero_error_store(err, r, "recording the operation");
                zero_op_free(op);
                return r;
        }
        /* Answered 202 once durable: the operation must outlive a power cut (store.h). It is in
         * the list from here (a second operation on its instance is refused), and runs once
         * synced. */
        op_enlist(op);
        op->durable_pending = true;
        if (!a->durable || zero_durable_wait(a->durable, on_durable, op) < 0) {
                r = zero_store_sync(a->store); /* on the loop: no sync child (tests), or no memory */
                if (r < 0)
                        log_error_errno(r, "Cannot sync the state database: %m");
                on_durable(a, r, op);
        }
        return 0;
}

int zero_op_wait(struct zero_op *op, enum zero_op_wait what, enum zero_op_then then) {
        assert(what != ZERO_OP_WAIT_NONE && op->wait == ZERO_OP_WAIT_NONE);
        op->wait = what;
        op->then = then;
        return ZERO_OP_PENDING;
}

struct zero_op *zero_op_waiting(struct zero_agent *a, const char *instance_id, unsigned what) {
        for (struct zero_op *op = a->ops; op && instance_id; op = op->next)
                if ((op->wait & what) && op->row.instance_id && streq(op->row.instance_id, instance_id))
                        return op;
        return NULL;
}

struct zero_op *zero_op_of_instance(struct zero_agent *a, const char *instance_id) {
        for (struct zero_op *op = a->ops; op && instance_id; op = op->next)
                if (op->row.instance_id && streq(op->row.instance_id, instance_id))
                        return op;
        return NULL;
}

void zero_op_continue(struct zero_op *op, int r) {
        struct zero_agent *a = op->agent;
        enum zero_op_then then = op->then;
        const char *saved = a->actor;

        op_wait_end(op);
        a->actor = op->row.actor;
        op->answer_r = r;
        /* The step's end (its event) goes into the next step's batch (op_run()). */
        zero_store_batch_begin(a->store);
        if (then == ZERO_OP_THEN_RERUN_ANY)
                op_run_steps(op, true);
        else if (r < 0)
                op_finish(op, r); /* frees op */
        else if (then == ZERO_OP_THEN_RERUN)
                op_run_steps(op, true);
        else {
                op_step_done(op);
                op_run_steps(op, false);
        }
        if ((r = zero_store_batch_end(a->store)) < 0)
                log_error_errno(r, "Failed to record an operation's steps: %m");
        a->actor = saved;
}

bool zero_op_answer(struct zero_agent *a, const char *instance_id, unsigned what, int r,
                    const struct zero_error *err) {
        struct zero_op *op = zero_op_waiting(a, instance_id, what);

        if (!op)
                return false;
        if (r < 0 && err && err->message[0])
                op->err = *err;
        zero_op_continue(op, r);
        return true;
}

static int on_child(sd_event_source *s, const siginfo_t *si, void *userdata) {
        struct zero_op *op = userdata;
        int r = 0;

        op->child = sd_event_source_disable_unref(op->child); /* reaped */
        if (si->si_code != CLD_EXITED || si->si_status != 0)
                r = zero_error_set(&op->err, -EIO, ZERO_E_INTERNAL, "%s failed (%s %d)", strempty(op->child_what),
                                   si->si_code == CLD_EXITED ? "status" : "signal", si->si_status);
        zero_op_continue(op, r);
        return 0;
}

int zero_op_wait_child(struct zero_op *op, char *const argv[], const char *what, enum zero_op_then then) {
        int r = zero_spawn(op->agent, argv, on_child, op, &op->child);

        if (r < 0)
                return zero_error_set(&op->err, r, ZERO_E_INTERNAL, "cannot run %s: %s", what, strerror(-r));
        op->child_what = what;
        return zero_op_wait(op, ZERO_OP_WAIT_CHILD, then);
}

/* Stands in for a kind this zerod does not know (a row from a newer version): it only fails. */
static const struct zero_op_step unknown_steps[] = {{"unknown", NULL, NULL}};
static const struct zero_op_kind unknown_kind = {.name = "unknown", .steps = unknown_steps, .n_steps = 1};

static bool op_launched(struct zero_agent *a, const char *id) {
        for (struct zero_op *o = a->ops; o; o = o->next)
                if (streq(o->row.id, id))
                        return true;
        return false;
}

/* The machine restarted since the operation's step was recorded: what prepare, spawn and boot
 * made (the run directory, tmpfs, and the runtime's processes) went with it, and a step past
 * prepare would find nothing (a create resumed at spawn: "bundle is not prepared"). Such an
 * operation goes back to card_up, which makes the instance's exports again, and on from there:
 * every step is idempotent. */
static void rewind_after_restart(struct zero_op *op) {
        int64_t prepare = -1, card_up = -1;

        for (size_t s = 0; s < op->kind->n_steps; s++)
                if (streq(op->kind->steps[s].name, "prepare"))
                        prepare = (int64_t) s;
                else if (streq(op->kind->steps[s].name, "card_up") && prepare < 0)
                        card_up = (int64_t) s;
        if (prepare < 0 || card_up < 0 || op->row.step <= prepare || op->row.step >= (int64_t) op->kind->n_steps)
                return;
        /* The hand-over's own step expects the restart (the take-back is one) and knows what it
         * lost: it asks the card how the hand-over stands, and loads the kernel again when the card
         * never heard of it (handover.c); nothing of the run directory is its. Rewound, the
         * take-back presented the volumes, prepared and loaded a kernel for nothing (lab_bms_switch:
         * 8 s of the switch back under TCG). */
        if (streq(strempty(op->row.step_name), "handover"))
                return;
        log_info("Operation %s: the machine restarted during step %s: back to step card_up", op->row.id,
                 strempty(op->row.step_name));
        op->row.step = card_up;
        /* The name follows (what the resume says, and what op_record_step() commits). */
        free(op->row.step_name);
        op->row.step_name = strdup(op->kind->steps[card_up].name);
}

int zero_op_resume_all(struct zero_agent *a) {
        struct zero_operation_row *rows = NULL;
        size_t n = 0;
        int r;

        r = zero_store_operation_list_unfinished(a->store, &rows, &n);
        if (r < 0)
                return log_error_errno(r, "Failed to list unfinished operations: %m");
        for (size_t i = 0; i < n; i++) {
                struct zero_op *op;
                json_error_t jerr;

                /* Launched by this zerod already, before the resume: the card's start restarts the
                 * instances whose exports it had to make anew. A second copy would run the same
                 * steps again (it_card_crash: its forced stop killed the container the first had
                 * just started). */
                if (op_launched(a, rows[i].id))
                        continue;
                op = calloc(1, sizeof(*op));
                if (!op)
                        break;
                op->agent = a;
                op->row = rows[i];
                memset(&rows[i], 0, sizeof(rows[i]));
                op->kind = zero_op_kind_find(op->row.kind);
                op->params = op->row.params ? json_loads(op->row.params, 0, &jerr) : NULL;
                if (!op->params)
                        op->params = json_object();
                /* A step failed and the undo steps ran when zerod stopped: they go on. */
                op->undoing = op->kind && op->kind->n_undo > 0 && json_is_object(json_object_get(op->params, "undo"));
                /* A zerod of another version may number the steps differently: the name decides. */
                if (op->kind && op->row.step_name && op_step(op) && !streq(op_step(op)->name, op->row.step_name)) {
                        size_t n_list;
                        const struct zero_op_step *list = op_steps(op, &n_list);

                        for (size_t k = 0; k < n_list; k++)
                                if (streq(list[k].name, op->row.step_name))
                                        op->row.step = (int64_t) k;
                }
                if (!op->kind || (size_t) op->row.step > (op->undoing ? op->kind->n_undo : op->kind->n_steps)) {
                        log_error("Operation %s has unknown kind %s or step %lld: marking it failed", op->row.id,
                                  op->row.kind, (long long) op->row.step);
                        op->kind = &unknown_kind;
                        zero_error_set(&op->err, -EINVAL, ZERO_E_INTERNAL, "unknown operation kind");
                        op->next = a->ops;
                        a->ops = op;
                        op_finish(op, -EINVAL);
                        continue;
                }
                if (a->machine_restarted)
                        rewind_after_restart(op);
                log_info("Resuming operation %s %s of %s at step %s", op->row.id, op->row.kind, op_about(op),
                         strempty(op->row.step_name));
                (void) zero_op_launch(op);
        }
        zero_operation_rows_free(rows, n);
        return 0;
}

void zero_op_free_all(struct zero_agent *a) {
        while (a->ops)
                zero_op_free(a->ops);
        zero_trim_cancel(a); /* the one the last operation's end asked for */
}

int zero_op_save(struct zero_op *op) {
        int r = zero_op_params_sync(op);

        if (r < 0)
                return r;
        op->row.updated_at = (int64_t) zero_now_usec();
        return zero_store_operation_update(op->agent->store, &op->row);
}
