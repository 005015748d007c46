/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The source's half of a live migration: the operation kind migrate (migration.h).
 *
 *   target        the target agent is asked to prepare the instance (POST /v1/migrations)
 *   target_ready  ... and long-polled until its QEMU listens (its operation's result "uri")
 *   send          QEMU sends the guest, until it is paused before the switchover (plugin SEND)
 *   release       the card releases the volumes: drained, written back (card.h); a target that
 *                 holds what it receives ("held") is sent the rest meanwhile (SWITCHOVER begun)
 *   handover      the target's card takes them (POST /v1/migrations/{id}/switchover)
 *   switchover    QEMU goes on until the target has it all (plugin SWITCHOVER), and a held
 *                 target says it runs the guest: from here on the instance is the target's,
 *                 and nothing is undone
 *   stop, cleanup, card_down, forget   the source's QEMU, exports, taps and rows go
 *
 * The params say how far it came: "target_op" (the target's operation), "uri" (where its QEMU
 * listens), "held", "switching" (migrate-continue may be sent: no cancel any more),
 * "handover_sent", "asking_owner" (whether the target runs the guest is its to say: asked until
 * it does, the guest paused here), "switched" (the target runs the guest). A step that fails
 * before "switched" runs the undo steps: the volumes taken back (nothing to read afresh: nobody
 * wrote them meanwhile), the migration cancelled and the guest running here again, the target's
 * operation cancelled (best effort: a target that cannot be reached undoes its own once its QEMU
 * loses the source). After migrate-continue a step fails only when the target cannot run the
 * guest: it never had the hand-over's request, or its operation failed.
 */
#include <string.h>

#include "agent/card_steps.h"
#include "agent/instance_steps.h"
#include "agent/migration.h"
#include "agent/plugin_loader.h"
#include "common/log.h"
#include "common/util.h"

/* A request to the target: short ones, and the long-poll's wait plus a margin. */
#define PEER_TIMEOUT_USEC (30 * USEC_PER_SEC)
#define READY_WAIT_S 20
#define ABORT_TIMEOUT_USEC (10 * USEC_PER_SEC)
/* Asking the target who runs the guest: its long-poll's wait, and the pause between asks while
 * it cannot be reached (asked until it answers: the guest stays paused here meanwhile). */
#define OWNER_WAIT_S 10
#define OWNER_RETRY_USEC (1 * USEC_PER_SEC)
#define OWNER_LOG_EVERY 30

static bool param_true(const struct zero_op *op, const char *key) {
        return json_is_true(json_object_get(op->params, key));
}

static const char *param_str(const struct zero_op *op, const char *key) {
        return json_string_value(json_object_get(op->params, key));
}

/* params[key] = value (stolen), written with the row now. */
static int param_save(struct zero_op *op, const char *key, json_t *value) {
        if (json_object_set_new(op->params, key, value) < 0 || zero_op_save(op) < 0)
                return zero_error_set(&op->err, -ENOMEM, ZERO_E_UNAVAILABLE, "cannot record %s", key);
        return 0;
}

/* --- requests to the target --- */

static void on_peer(void *userdata, int r, long status, json_t *body, const struct zero_error *err) {
        struct zero_op *op = userdata;
        zero_op_peer_fn fn = op->peer_answer;

        op->peer = NULL; /* gone with its answer */
        op->peer_answer = NULL;
        zero_op_continue(op, fn(op, r, status, body, err));
}

/* Sends the request and pauses the step (ZERO_OP_WAIT_PEER) until fn has read the answer. */
static int op_peer(struct zero_op *op, const char *method, const char *path, json_t *body, uint64_t timeout_usec,
                   zero_op_peer_fn fn, enum zero_op_then then) {
        struct zero_peer_target t;
        _cleanup_free_ char *token = NULL;
        int r = zero_migration_peer(op, &t, &token, &op->err);

        if (r < 0) {
                json_decref(body);
                return r;
        }
        r = zero_peer_call(op->agent, &t, method, path, body, timeout_usec, on_peer, op, &op->peer, &op->err);
        if (r < 0)
                return r;
        op->peer_answer = fn;
        return zero_op_wait(op, ZERO_OP_WAIT_PEER, then);
}

/* The common reading: a failure is the step's, with the peer's reason. */
static int peer_failed(struct zero_op *op, int r, const struct zero_error *err, const char *what) {
        zero_error_set(&op->err, r, err->code, "%s: %s", what, err->message);
        return r;
}

/* --- the steps --- */

static int on_target(struct zero_op *op, int r, long status, json_t *body, const struct zero_error *err) {
        const char *id = json_string_value(json_object_get(body, "id"));

        if (r < 0)
                return peer_failed(op, r, err, "the target refused the instance");
        if (!id || strlen(id) > 64)
                return zero_error_set(&op->err, -EPROTO, ZERO_E_RUNTIME, "the target answered %ld without an operation",
                                      status);
        log_info("Migration of %s: the target's operation is %s", strempty(op->row.instance_name), id);
        return param_save(op, "target_op", json_string(id));
}

static int step_target(struct zero_op *op) {
        struct zero_instance_row row = {};
        json_t *body = NULL;
        int r;

        if (param_str(op, "target_op"))
                return 0;
        r = zero_store_instance_get_by_id(op->agent->store, strempty(op->row.instance_id), &row);
        if (r < 0)
                return zero_error_store(&op->err, r, "reading the instance");
        r = zero_migration_describe(op->agent, &row, strempty(param_str(op, "listen")), op->row.id,
                                    json_integer_value(json_object_get(op->params, "timeout_s")), &body, &op->err);
        zero_instance_row_done(&row);
        if (r < 0)
                return r;
        return op_peer(op, "POST", "/v1/migrations", body, PEER_TIMEOUT_USEC, on_target, ZERO_OP_THEN_DONE);
}

/* The target's operation: failed (its reason), listening (its "uri": this step is done), or not
 * yet (the long-poll again). */
static int on_ready(struct zero_op *op, int r, long status, json_t *body, const struct zero_error *err) {
        const char *uri = json_string_value(json_object_get(json_object_get(body, "result"), "uri"));
        const char *st = json_string_value(json_object_get(body, "status"));

        if (r < 0)
                return peer_failed(op, r, err, "the target's operation cannot be read");
        if (st && !streq(st, "running"))
                return zero_error_set(&op->err, -EIO, ZERO_E_RUNTIME, "the target's operation %s: %s",
                                      st, strempty(json_string_value(json_object_get(json_object_get(body, "error"),
                                                                                     "message"))));
        if (uri && json_is_true(json_object_get(json_object_get(body, "result"), "held")) &&
            json_object_set_new(op->params, "held", json_true()) < 0)
                return -ENOMEM;
        if (uri)
                return param_save(op, "uri", json_string(uri));
        return 0; /* not yet: the step runs again */
}

static bool past_deadline(struct zero_op *op) {
        json_t *d = json_object_get(op->params, "deadline_us");
        return json_is_integer(d) && zero_now_usec() > (uint64_t) json_integer_value(d);
}

static int step_target_ready(struct zero_op *op) {
        _cleanup_free_ char *path = NULL;

        if (param_str(op, "uri"))
                return 0;
        if (past_deadline(op))
                return zero_error_set(&op->err, -ETIMEDOUT, ZERO_E_TIMEOUT, "the target did not get ready in time");
        path = zero_strdup_printf("/v1/operations/%s?wait=%d&step=handover", strempty(param_str(op, "target_op")),
                                  READY_WAIT_S);
        if (!path)
                return -ENOMEM;
        return op_peer(op, "GET", path, NULL, (READY_WAIT_S + 10) * USEC_PER_SEC, on_ready, ZERO_OP_THEN_RERUN);
}

/* The plugin's migrate_out for a phase, with the instance's info: its own answer (0, <0, or
 * ZERO_PLUGIN_PENDING with a done() to come). */
static int plugin_call(struct zero_op *op, enum zero_migrate_phase phase, uint32_t flags) {
        struct zero_migrate_args args = {
                .size = sizeof(args),
                .uri = param_str(op, "uri"),
                .downtime_ms = (uint64_t) json_integer_value(json_object_get(op->params, "downtime_ms")),
                .bandwidth = (uint64_t) json_integer_value(json_object_get(op->params, "bandwidth")),
                .flags = flags,
        };
        struct zero_step_ctx c;
        int r = zero_step_ctx_load(op, &c);

        if (r < 0)
                return r;
        r = c.plugin->ops.migrate_out(c.pctx, &c.info.info, phase, &args, &op->err);
        zero_step_ctx_done(&c);
        return r;
}

/* ... as a step's answer (a done() to come runs the step again, as then says). */
static int plugin_phase(struct zero_op *op, enum zero_migrate_phase phase, enum zero_op_then then) {
        return zero_step_plugin_pending(op, plugin_call(op, phase, 0), then);
}

static int on_send_timeout(sd_event_source *s, uint64_t usec, void *userdata) {
        struct zero_op *op = userdata;

        op->timer = sd_event_source_disable_unref(op->timer);
        zero_error_set(&op->err, -ETIMEDOUT, ZERO_E_TIMEOUT,
                       "the migration did not reach its switchover within %lld s (timeout_s)",
                       (long long) json_integer_value(json_object_get(op->params, "timeout_s")));
        zero_op_continue(op, -ETIMEDOUT);
        return 0;
}

static int step_send(struct zero_op *op) {
        json_t *d = json_object_get(op->params, "deadline_us");
        uint64_t now = zero_now_usec(), at;
        int r;

        if (past_deadline(op))
                return zero_error_set(&op->err, -ETIMEDOUT, ZERO_E_TIMEOUT,
                                      "the migration did not reach its switchover in time");
        r = plugin_phase(op, ZERO_MIGRATE_SEND, ZERO_OP_THEN_RERUN);
        if (r != ZERO_OP_PENDING || op->timer)
                return r;
        /* The deadline holds while it sends: a guest that never converges is given up. */
        at = json_is_integer(d) && (uint64_t) json_integer_value(d) > now ? (uint64_t) json_integer_value(d) - now : 0;
        if (sd_event_add_time_relative(op->agent->event, &op->timer, CLOCK_MONOTONIC, at, USEC_PER_SEC, on_send_timeout,
                                       op) < 0)
                log_warning("Migration of %s: no deadline (cannot arm a timer)", strempty(op->row.instance_name));
        return r;
}

/* The guest is paused. A target that holds what it receives (params "held": its QEMU runs the
 * guest only once its card took the volumes) is sent the rest at once (migrate-continue), while
 * the card here releases the volumes: the window is the longer of the two, not their sum. The
 * plugin's SWITCHOVER goes on by itself meanwhile (its done() comes to no wait: the step
 * switchover finds it done, or under way). The target cannot run the guest before it has the
 * hand-over's request, which follows the release. */
static int step_release(struct zero_op *op) {
        if (param_true(op, "held") && !param_true(op, "switched")) {
                int r;

                if (!param_true(op, "switching") && param_save(op, "switching", json_true()) < 0)
                        return -ENOMEM;
                r = plugin_call(op, ZERO_MIGRATE_SWITCHOVER, 0);
                if (r < 0)
                        return r;
        }
        return zero_card_hand(op, strempty(op->row.instance_id), false);
}

/* Before migrate-continue (a target that does not hold): a failure is undone, the target cannot
 * have the guest. After it: whether the target runs the guest is its to say (step switchover). */
static int on_handover(struct zero_op *op, int r, long status, json_t *body, const struct zero_error *err) {
        if (r >= 0)
                return 0;
        if (!param_true(op, "switching"))
                return peer_failed(op, r, err, "the target did not take the volumes");
        log_warning("Migration of %s: the hand-over's request failed (%s): asking the target who runs the guest",
                    strempty(op->row.instance_name), err->message);
        return param_save(op, "switch_error", json_string(err->message));
}

static int step_handover(struct zero_op *op) {
        _cleanup_free_ char *path = zero_strdup_printf("/v1/migrations/%s/switchover", strempty(param_str(op, "target_op")));

        if (!path)
                return -ENOMEM;
        /* From here the target may run the guest. */
        if (!param_true(op, "handover_sent") && param_save(op, "handover_sent", json_true()) < 0)
                return -ENOMEM;
        return op_peer(op, "POST", path, NULL, PEER_TIMEOUT_USEC, on_handover, ZERO_OP_THEN_DONE);
}

/* QEMU's figures of the switchover, as the operation's result. */
static void record_result(struct zero_op *op) {
        static const char *const keys[] = {"downtime_ms", "total_ms", "setup_ms", "ram_transferred_bytes", "iterations",
                                           "cpu_throttle_percent"};

        for (size_t i = 0; op->progress && i < ELEMENTSOF(keys); i++)
                if (json_object_get(op->progress, keys[i]))
                        (void) zero_op_set_result(op, keys[i], json_incref(json_object_get(op->progress, keys[i])));
}

/* Who runs the guest, as the target's operation says: it does (succeeded, or at its step
 * running: "switched"); it never will (failed, or it does not know the operation: the step fails
 * and the guest runs here again); not yet said, or the target cannot be reached: asked again
 * (the step runs again), the guest paused here meanwhile. Resuming it here on a guess could run
 * it on both nodes: a target that had the hand-over's request runs it once it took the volumes. */
static int on_owner(struct zero_op *op, int r, long status, json_t *body, const struct zero_error *err) {
        const char *st = json_string_value(json_object_get(body, "status"));
        const char *step = json_string_value(json_object_get(body, "step"));
        json_int_t tries = json_integer_value(json_object_get(op->params, "owner_tries"));

        if (r >= 0 && st && (streq(st, "succeeded") || (streq(st, "running") && step && streq(step, "running")))) {
                (void) json_object_del(op->params, "owner_later");
                return param_save(op, "switched", json_true());
        }
        if ((r >= 0 && st && streq(st, "failed")) || (r < 0 && status == 404))
                return zero_error_set(&op->err, -EIO, ZERO_E_RUNTIME,
                                      "the switchover failed (%s), and the target does not run the guest: %s",
                                      param_str(op, "switch_error") ?: "the target's operation failed",
                                      r < 0 ? err->message
                                            : strempty(json_string_value(json_object_get(
                                                      json_object_get(body, "error"), "message"))));
        if (json_object_set_new(op->params, "owner_tries", json_integer(tries + 1)) < 0)
                return -ENOMEM;
        if (r < 0 && tries % OWNER_LOG_EVERY == 0)
                log_warning("Migration of %s: the target cannot say who runs the guest (%s): its guest stays paused "
                            "here, asking again", strempty(op->row.instance_name), err->message);
        /* Unreachable, or undoing its half (its long-poll answers at once until it ended): a
         * second's pause before the next ask. */
        return param_save(op, "owner_later", json_boolean(r < 0 || (step && strncmp(step, "undo_", 5) == 0)));
}

static int on_owner_retry(sd_event_source *s, uint64_t usec, void *userdata) {
        struct zero_op *op = userdata;

        op->timer = sd_event_source_disable_unref(op->timer);
        zero_op_continue(op, 0);
        return 0;
}

/* Asks the target's operation until it runs the guest or ended (a long-poll for its step
 * running), a second after an ask it did not answer. */
static int ask_owner(struct zero_op *op) {
        _cleanup_free_ char *path = NULL;
        int r;

        if (op->err.message[0] && !param_str(op, "switch_error") &&
            json_object_set_new(op->params, "switch_error", json_string(op->err.message)) < 0)
                return -ENOMEM;
        if (!param_true(op, "asking_owner") && param_save(op, "asking_owner", json_true()) < 0)
                return -ENOMEM;
        op->err = (struct zero_error){};
        if (param_true(op, "owner_later")) {
                (void) json_object_del(op->params, "owner_later");
                r = sd_event_add_time_relative(op->agent->event, &op->timer, CLOCK_MONOTONIC, OWNER_RETRY_USEC,
                                               10 * USEC_PER_MSEC, on_owner_retry, op);
                if (r < 0)
                        return zero_error_set(&op->err, r, ZERO_E_INTERNAL, "cannot arm a timer: %s", strerror(-r));
                return zero_op_wait(op, ZERO_OP_WAIT_PEER, ZERO_OP_THEN_RERUN);
        }
        path = zero_strdup_printf("/v1/operations/%s?wait=%d&step=running", strempty(param_str(op, "target_op")),
                                  OWNER_WAIT_S);
        return path ? op_peer(op, "GET", path, NULL, (OWNER_WAIT_S + 10) * USEC_PER_SEC, on_owner, ZERO_OP_THEN_RERUN)
                    : -ENOMEM;
}

/* QEMU goes on until the target has it all. A target that does not hold what it receives runs
 * the guest then: QEMU's "completed" says the switchover is done. One that holds it runs it
 * once its card took the volumes: its operation says so (ask_owner), as it does whenever QEMU
 * here cannot say how the switchover ended (it failed, or exited, or the hand-over's request
 * failed after migrate-continue). */
static int step_switchover(struct zero_op *op) {
        int r;

        if (param_true(op, "switched"))
                return 0;
        if (param_true(op, "asking_owner") || param_str(op, "switch_error"))
                return ask_owner(op);
        if (op->answer_r < 0) /* the plugin's done() failed it */
                return ask_owner(op);
        if (!param_true(op, "switching") && param_save(op, "switching", json_true()) < 0)
                return -ENOMEM;
        r = plugin_phase(op, ZERO_MIGRATE_SWITCHOVER, ZERO_OP_THEN_RERUN_ANY);
        if (r == 0) {
                record_result(op);
                log_info("Migration of %s: QEMU sent it all to %s (QEMU's downtime %lld ms)",
                         strempty(op->row.instance_name), strempty(param_str(op, "target")),
                         (long long) json_integer_value(json_object_get(op->progress, "downtime_ms")));
                if (param_true(op, "held")) {
                        op->err = (struct zero_error){};
                        return ask_owner(op);
                }
                return param_save(op, "switched", json_true());
        }
        return r < 0 ? ask_owner(op) : r;
}

static int step_forget(struct zero_op *op) {
        int r = zero_migration_forget(op);

        if (r == 0)
                zero_agent_event(op->agent, "instance.migrated", op->row.instance_name,
                                 json_pack("{s:s?,s:O?}", "to", param_str(op, "target"), "result",
                                           json_object_get(op->params, "result")));
        return r;
}

/* --- undo: before the switchover, the guest runs here again --- */

static int undo_take(struct zero_op *op) {
        if (param_true(op, "switched"))
                return 0;
        /* Reached after migrate-continue only when the target said it does not run the guest. */
        return zero_card_hand(op, strempty(op->row.instance_id), true);
}

static int undo_resume(struct zero_op *op) {
        bool alive;
        int r;

        if (param_true(op, "switched"))
                return 0;
        r = zero_step_shim_alive(op, false, &alive);
        if (r < 0)
                return r;
        if (!alive)
                return 0; /* QEMU is gone: nothing runs here to resume (on_fail says error) */
        /* After migrate-continue QEMU may have completed: the target said it never runs it. */
        return zero_step_plugin_pending(op,
                                        plugin_call(op, ZERO_MIGRATE_CANCEL,
                                                    param_true(op, "switching") ? ZERO_MIGRATE_CANCEL_COMPLETED : 0),
                                        ZERO_OP_THEN_RERUN);
}

static int on_target_abort(struct zero_op *op, int r, long status, json_t *body, const struct zero_error *err) {
        if (r < 0)
                log_warning("Migration of %s: the target's operation %s could not be cancelled (%s): it undoes itself "
                            "once its QEMU loses the source, or at its deadline",
                            strempty(op->row.instance_name), strempty(param_str(op, "target_op")), err->message);
        return 0;
}

/* Best effort: a target that cannot be reached undoes its own migration once its QEMU loses the
 * source, or at its deadline. */
static int undo_target(struct zero_op *op) {
        _cleanup_free_ char *path = NULL;
        int r;

        if (param_true(op, "switched") || !param_str(op, "target_op") || param_true(op, "target_aborted"))
                return 0;
        if (json_object_set_new(op->params, "target_aborted", json_true()) < 0 || zero_op_save(op) < 0)
                return -ENOMEM;
        path = zero_strdup_printf("/v1/operations/%s", param_str(op, "target_op"));
        r = path ? op_peer(op, "DELETE", path, NULL, ABORT_TIMEOUT_USEC, on_target_abort, ZERO_OP_THEN_RERUN) : -ENOMEM;
        if (r < 0) {
                log_warning("Migration of %s: cannot ask the target to cancel: %s", strempty(op->row.instance_name),
                            op->err.message);
                op->err = (struct zero_error){};
                return 0;
        }
        return r;
}

/* A failure after the switchover leaves the instance the target's: the row says what went
 * wrong here. Before it, the guest runs here again (or QEMU is gone: error). */
static void fail_migrate(struct zero_op *op) {
        struct zero_step_ctx c;

        if (zero_step_ctx_load(op, &c) < 0)
                return;
        free(c.row.error);
        c.row.error = param_true(op, "switched")
                              ? zero_strdup_printf("migrated to %s, but cleaning up here failed: %s",
                                                   strempty(param_str(op, "target")), op->err.message)
                              : zero_strdup_printf("migration failed: %s", op->err.message);
        (void) zero_inst_set_state(op->agent, &c.row,
                                   zero_inst_transition_end(zero_op_states(op), false,
                                                            !param_true(op, "switched") && zero_inst_shim_alive(c.inst)));
        zero_step_ctx_done(&c);
}

/* Until migrate-continue may have been sent. */
static bool migrate_can_cancel(const struct zero_op *op) {
        return !param_true(op, "switching");
}

#define STEP(n) {#n, step_##n, NULL}
#define UNDO(n) {"undo_" #n, undo_##n, NULL}

static int step_stop(struct zero_op *op) {
        return zero_step_stop(op);
}

static int step_cleanup(struct zero_op *op) {
        return zero_step_cleanup(op);
}

static int step_card_down(struct zero_op *op) {
        return zero_step_card_down(op);
}

static const struct zero_op_step migrate_steps[] = {
        STEP(target),  STEP(target_ready), STEP(send),    STEP(release),   STEP(handover),
        STEP(switchover), STEP(stop),      STEP(cleanup), STEP(card_down), STEP(forget),
};
static const struct zero_op_step migrate_undo[] = {UNDO(take), UNDO(resume), UNDO(target)};

const struct zero_op_kind zero_op_kind_migrate = {
        .name = "migrate",
        .steps = migrate_steps,
        .n_steps = ELEMENTSOF(migrate_steps),
        .on_fail = fail_migrate,
        .undo = migrate_undo,
        .n_undo = ELEMENTSOF(migrate_undo),
        .can_cancel = migrate_can_cancel,
};
