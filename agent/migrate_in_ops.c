/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The target's half of a live migration: the operation kind migrate_in (migration.h). Its
 * instance, volumes and NICs were recorded with it (state incoming).
 *
 *   card_up    exports made with the volumes released behind them (the source still writes
 *              them), the taps on the networks
 *   prepare    the plugin lays the runtime out to receive it (info->incoming)
 *   spawn      QEMU under its shim with -incoming defer
 *   listen     QEMU listens (plugin LISTEN); the address is the operation's result "uri", which
 *              the source long-polls for (GET /v1/operations/{id}?step=handover)
 *   handover   waits for the source: its guest paused and its volumes released, it asks for the
 *              switchover (POST /v1/migrations/{id}/switchover); or QEMU exits (the source
 *              broke off), or the deadline passes
 *   take       the card takes the volumes (read afresh); the source's request is answered then
 *   receive    QEMU gets the rest and runs the guest, announced on its networks (plugin RECEIVE).
 *              A plugin of ABI 4.9 holds the guest it received until then (result "held"): the
 *              source sends the rest while the cards hand the volumes over, and the guest runs
 *              here only after the take
 *   running    the instance is this node's
 *
 * A failure before the guest runs here (params "received") undoes it all: QEMU killed, its
 * exports and taps taken down, the rows forgotten (the volumes' files stay: the source's). The
 * source cancels it that way too (DELETE /v1/operations/{id}).
 */
#include <signal.h>
#include <string.h>

#include "agent/card_steps.h"
#include "agent/instance_steps.h"
#include "agent/migration.h"
#include "agent/plugin_loader.h"
#include "common/log.h"
#include "common/util.h"

static bool param_true(const struct zero_op *op, const char *key) {
        return json_is_true(json_object_get(op->params, key));
}

/* The plugin holds the guest it received until RECEIVE (plugin ABI 4.9): the source may send it
 * all before the card here took the volumes. */
static bool plugin_holds(const struct zero_op *op) {
        struct zero_step_ctx c;
        bool held;

        if (zero_step_ctx_load((struct zero_op *) op, &c) < 0)
                return false;
        held = ZERO_PLUGIN_ABI_MINOR_OF(c.plugin->abi_version) >= 9;
        zero_step_ctx_done(&c);
        return held;
}

/* The plugin's migrate_in for a phase; its answer as a step's. */
static int plugin_phase(struct zero_op *op, enum zero_migrate_phase phase) {
        _cleanup_free_ char *uri = zero_strdup_printf("tcp:%s:0", strempty(json_string_value(
                                                                             json_object_get(op->params, "listen"))));
        struct zero_migrate_args args = {.size = sizeof(args), .uri = uri};
        struct zero_step_ctx c;
        int r;

        if (!uri)
                return -ENOMEM;
        r = zero_step_ctx_load(op, &c);
        if (r < 0)
                return r;
        r = c.plugin->ops.migrate_in(c.pctx, &c.info.info, phase, &args, &op->err);
        zero_step_ctx_done(&c);
        return zero_step_plugin_pending(op, r, ZERO_OP_THEN_RERUN);
}

static int step_card_up(struct zero_op *op) {
        return zero_step_card_up(op);
}

static int step_prepare(struct zero_op *op) {
        return zero_step_prepare(op);
}

static int step_spawn(struct zero_op *op) {
        return zero_step_spawn(op);
}

static int step_listen(struct zero_op *op) {
        const char *uri;
        int r;

        if (json_is_string(json_object_get(json_object_get(op->params, "result"), "uri")))
                return 0;
        r = plugin_phase(op, ZERO_MIGRATE_LISTEN);
        if (r != 0)
                return r;
        /* The plugin reported where QEMU listens (migrate_progress) before its done(). */
        uri = json_string_value(json_object_get(op->progress, "uri"));
        if (!uri)
                return zero_error_set(&op->err, -EPROTO, ZERO_E_RUNTIME, "QEMU listens, but the plugin said not where");
        log_info("Migration of %s: QEMU listens at %s", strempty(op->row.instance_name), uri);
        r = zero_op_set_result(op, "held", json_boolean(plugin_holds(op)));
        if (r >= 0)
                r = zero_op_set_result(op, "uri", json_string(uri));
        return r < 0 ? r : zero_op_save(op);
}

static int on_handover_timeout(sd_event_source *s, uint64_t usec, void *userdata) {
        struct zero_op *op = userdata;

        op->timer = sd_event_source_disable_unref(op->timer);
        zero_error_set(&op->err, -ETIMEDOUT, ZERO_E_TIMEOUT, "the source did not come to its switchover in time");
        zero_op_continue(op, -ETIMEDOUT);
        return 0;
}

/* The source's switchover request answers this wait (zero_migration_switchover()); QEMU's exit
 * too: the source broke off (QEMU exits when its incoming migration fails). */
static int step_handover(struct zero_op *op) {
        json_t *d = json_object_get(op->params, "deadline_us");
        uint64_t now = zero_now_usec();
        bool alive;
        int r;

        if (param_true(op, "taking"))
                return 0;
        r = zero_step_shim_alive(op, false, &alive);
        if (r < 0)
                return r;
        if (!alive)
                return zero_error_set(&op->err, -ECONNRESET, ZERO_E_RUNTIME,
                                      "QEMU exited before the switchover: the source broke off");
        if (json_is_integer(d) && (uint64_t) json_integer_value(d) <= now)
                return zero_error_set(&op->err, -ETIMEDOUT, ZERO_E_TIMEOUT, "the source did not come to its switchover in time");
        r = sd_event_add_time_relative(op->agent->event, &op->timer, CLOCK_MONOTONIC,
                                       json_is_integer(d) ? (uint64_t) json_integer_value(d) - now : 0, USEC_PER_SEC,
                                       on_handover_timeout, op);
        if (r < 0)
                return zero_error_set(&op->err, r, ZERO_E_INTERNAL, "cannot arm the deadline: %s", strerror(-r));
        return zero_op_wait(op, ZERO_OP_WAIT_PEER | ZERO_OP_WAIT_EXIT, ZERO_OP_THEN_RERUN);
}

static int step_take(struct zero_op *op) {
        return zero_card_hand(op, strempty(op->row.instance_id), true);
}

static int step_receive(struct zero_op *op) {
        int r;

        if (param_true(op, "received"))
                return 0;
        r = plugin_phase(op, ZERO_MIGRATE_RECEIVE);
        if (r != 0)
                return r;
        /* The guest runs here: from now on nothing undoes it. */
        if (json_object_set_new(op->params, "received", json_true()) < 0 || zero_op_save(op) < 0)
                return zero_error_set(&op->err, -ENOMEM, ZERO_E_UNAVAILABLE, "cannot record the switchover");
        return 0;
}

static int step_running(struct zero_op *op) {
        struct zero_step_ctx c;
        int r = zero_step_ctx_load(op, &c);

        if (r < 0)
                return r;
        (void) zero_inst_record_pid(c.inst, &c.row);
        free(c.row.error);
        c.row.error = NULL;
        c.row.started_at = (int64_t) zero_now_usec();
        r = zero_inst_set_state(op->agent, &c.row,
                                zero_inst_transition_end(zero_op_states(op), true, zero_inst_shim_alive(c.inst)));
        if (r >= 0)
                zero_agent_event(op->agent, "instance.migrated", c.row.name,
                                 json_pack("{s:s?}", "from",
                                           json_string_value(json_object_get(json_object_get(op->params, "source"),
                                                                             "node"))));
        zero_step_ctx_done(&c);
        return r;
}

/* --- undo: the instance was never this node's --- */

/* QEMU goes first (quit, then killed: it has nothing of the guest's to keep). */
/* The instance's context for an undo step, 1 when it is gone already (nothing to undo). */
static int undo_ctx(struct zero_op *op, struct zero_step_ctx *c) {
        int r;

        if (param_true(op, "received"))
                return 1;
        r = zero_step_ctx_load(op, c);
        if (r == -ENOENT) {
                op->err = (struct zero_error){};
                return 1;
        }
        return r;
}

static int undo_stop(struct zero_op *op) {
        struct zero_step_ctx c;
        int r = undo_ctx(op, &c);

        if (r != 0)
                return r > 0 ? 0 : r;
        if (zero_inst_watch(c.inst) < 0) {
                zero_step_ctx_done(&c);
                return 0;
        }
        r = c.plugin->ops.kill(c.pctx, &c.info.info, SIGKILL, &op->err);
        zero_step_ctx_done(&c);
        if (r < 0)
                log_warning("Undoing the migration of %s: %s; waiting for QEMU's exit anyway",
                            strempty(op->row.instance_name), op->err.message);
        op->err = (struct zero_error){};
        return zero_op_wait(op, ZERO_OP_WAIT_EXIT, ZERO_OP_THEN_RERUN);
}

static int undo_cleanup(struct zero_op *op) {
        struct zero_step_ctx c;
        int r = undo_ctx(op, &c);

        if (r != 0)
                return r > 0 ? 0 : r;
        r = zero_plugin_again_answer(c.plugin, c.plugin->ops.cleanup(c.pctx, &c.info.info, &op->err));
        zero_step_ctx_done(&c);
        return zero_step_plugin_pending(op, r, ZERO_OP_THEN_RERUN);
}

static int undo_card_down(struct zero_op *op) {
        int r;

        if (param_true(op, "received"))
                return 0;
        r = zero_step_card_down(op);
        if (r == -ENOENT) {
                op->err = (struct zero_error){};
                return 0;
        }
        return r;
}

static int undo_forget(struct zero_op *op) {
        if (param_true(op, "received"))
                return 0;
        return zero_migration_forget(op);
}

/* Undone, the rows are gone (nothing to set). Received (the guest runs here, a later step
 * failed): it is this node's, running, with the reason. */
static void fail_migrate_in(struct zero_op *op) {
        struct zero_step_ctx c;

        if (!param_true(op, "received") || zero_step_ctx_load(op, &c) < 0)
                return;
        free(c.row.error);
        c.row.error = zero_strdup_printf("received, but: %s", op->err.message);
        (void) zero_inst_set_state(op->agent, &c.row, zero_inst_shim_alive(c.inst) ? ZERO_INST_RUNNING : ZERO_INST_ERROR);
        zero_step_ctx_done(&c);
}

/* The source's undo cancels it, until the guest runs here. */
static bool migrate_in_can_cancel(const struct zero_op *op) {
        return !param_true(op, "received");
}

#define STEP(n) {#n, step_##n, NULL}
#define UNDO(n) {"undo_" #n, undo_##n, NULL}

static const struct zero_op_step migrate_in_steps[] = {
        STEP(card_up),  STEP(prepare), {"spawn", step_spawn, "reported"},
        STEP(listen),   STEP(handover), STEP(take),
        STEP(receive),  STEP(running),
};
static const struct zero_op_step migrate_in_undo[] = {UNDO(stop), UNDO(cleanup), UNDO(card_down), UNDO(forget)};

const struct zero_op_kind zero_op_kind_migrate_in = {
        .name = "migrate_in",
        .steps = migrate_in_steps,
        .n_steps = ELEMENTSOF(migrate_in_steps),
        .on_fail = fail_migrate_in,
        .undo = migrate_in_undo,
        .n_undo = ELEMENTSOF(migrate_in_undo),
        .can_cancel = migrate_in_can_cancel,
};
