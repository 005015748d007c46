/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The steps of instance operations. Each step is idempotent: after a crash the step recorded in
 * the store runs again and must find its own earlier work done (a live shim, a mount in place)
 * and carry on from there.
 */
#include <assert.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "agent/agent.h"
#include "agent/attest.h"
#include "agent/card.h"
#include "agent/node_owner.h"
#include "agent/operation.h"
#include "agent/plugin_loader.h"
#include "agent/services.h"
#include "agent/card_job.h"
#include "agent/card_steps.h"
#include "agent/handover.h"
#include "agent/instance_steps.h"
#include "agent/volume_service.h"
#include "common/log.h"
#include "common/util.h"

#define STOP_TIMEOUT_DEFAULT_S 10

void zero_step_ctx_done(struct zero_step_ctx *c) {
        zero_info_done(&c->info);
        zero_instance_row_done(&c->row);
}

int zero_step_ctx_load(struct zero_op *op, struct zero_step_ctx *c) {
        struct zero_agent *a = op->agent;
        const struct zero_loaded_plugin *lp;
        int r;

        *c = (struct zero_step_ctx){};
        if (!op->row.instance_id)
                return zero_error_set(&op->err, -ENOENT, ZERO_E_NOT_FOUND, "instance %s is gone",
                                      strempty(op->row.instance_name));
        r = zero_store_instance_get_by_id(a->store, op->row.instance_id, &c->row);
        if (r < 0)
                return zero_error_set(&op->err, r, ZERO_E_NOT_FOUND, "instance %s is gone", strempty(op->row.instance_name));
        lp = zero_plugins_find(a->plugins, c->row.mode);
        if (!lp) {
                zero_step_ctx_done(c);
                return zero_error_set(&op->err, -ENOENT, ZERO_E_INVALID, "no plugin for mode %s", c->row.mode);
        }
        c->plugin = lp->plugin;
        r = zero_inst_get(a, c->row.id, c->row.name, &c->inst);
        if (r >= 0)
                r = zero_info_build(a, &c->row, c->inst, &c->info, &op->err);
        if (r < 0) {
                zero_step_ctx_done(c);
                return r;
        }
        c->pctx = zero_services_ctx(c->inst, lp);
        /* A live migration's target starts its runtime to receive the instance (plugin.h 4.3),
         * its card's exports made with the volumes still the source's (card_steps.h). */
        c->info.info.incoming = json_is_true(json_object_get(op->params, "incoming"));
        return 0;
}

/* The states the operation's steps record (instance_state.h). Every kind of instance_ops.c has
 * a row in the table (test_instance_state checks it). */
const struct zero_inst_transition *zero_op_states(struct zero_op *op) {
        const struct zero_inst_transition *t = zero_inst_transition_find(op->kind->name);
        assert(t);
        return t;
}

/* A switch of a stopped instance changes its mode only ("start": false): the start's steps pass. */
static bool switch_without_start(struct zero_op *op) {
        return json_is_false(json_object_get(op->params, "start"));
}

/* Waits for the card's jobs on the volumes named, or on every volume in state `state` when there
 * is no list (an operation recorded by an older zerod). */
static int wait_volumes(struct zero_op *op, const char *owner, enum zero_vol_state state, json_t *list) {
        struct zero_volume_row *rows = NULL;
        struct zero_card_job_req *reqs = NULL;
        size_t n = 0, k = 0;
        int r;

        if (json_is_array(list)) {
                reqs = calloc(json_array_size(list) + 1, sizeof(*reqs));
                for (size_t i = 0; reqs && i < json_array_size(list); i++)
                        if (json_is_string(json_array_get(list, i)))
                                reqs[k++] = (struct zero_card_job_req){
                                        .kind = ZERO_CARD_JOB_VOLUME, .object = json_string_value(json_array_get(list, i))};
        } else {
                r = owner ? zero_store_volume_list_owned_by(op->agent->store, owner, &rows, &n)
                          : zero_store_volume_list(op->agent->store, &rows, &n);
                if (r < 0)
                        return zero_error_set(&op->err, r, ZERO_E_UNAVAILABLE, "cannot list volumes: %s", strerror(-r));
                reqs = calloc(n + 1, sizeof(*reqs));
                for (size_t i = 0; reqs && i < n; i++)
                        if (zero_vol_state_from_name(rows[i].state) == state)
                                reqs[k++] = (struct zero_card_job_req){.kind = ZERO_CARD_JOB_VOLUME, .object = rows[i].name};
        }
        r = reqs ? zero_op_wait_card(op, reqs, k, ZERO_OP_THEN_DONE) : -ENOMEM;
        free(reqs);
        zero_volume_rows_free(rows, n);
        return r;
}

/* The instance's root volume made from its image (a copy-on-write clone: milliseconds). */
static int step_volumes(struct zero_op *op) {
        struct zero_step_ctx c;
        int r = zero_step_ctx_load(op, &c);

        if (r < 0)
                return r;
        r = wait_volumes(op, c.row.id, ZERO_VOL_CREATING, NULL);
        zero_step_ctx_done(&c);
        return r;
}

/* A plugin op's ZERO_PLUGIN_PENDING: the operation waits for services->done(), which ends the
 * step (boot, the hot-plug ops) or, for the ops that ask to be called again once it comes
 * (prepare, cleanup: plugin.h), runs it again. */
int zero_step_plugin_pending(struct zero_op *op, int r, enum zero_op_then then) {
        return r == ZERO_PLUGIN_PENDING ? zero_op_wait(op, ZERO_OP_WAIT_PLUGIN, then) : r;
}

static int step_prepare(struct zero_op *op) {
        struct zero_step_ctx c;
        int r = zero_step_ctx_load(op, &c);

        if (r < 0)
                return r;
        if (switch_without_start(op)) {
                zero_step_ctx_done(&c);
                return 0;
        }
        r = zero_inst_set_state(op->agent, &c.row, zero_op_states(op)->starting);
        zero_card_asked_reset(c.inst);
        /* What this start launches, measured before the runtime sees it (attest.h): every start
         * of every mode passes here (a bms hand-over too, which comes before spawn). Once a
         * step, not again when the plugin's prepare is called again after its wait (the
         * container's root mount): nothing it measures changed meanwhile, and each record is
         * two files written (docs/benchmarks.md, container_start). */
        if (r >= 0 && !op->rerun)
                r = zero_attest_measure(op->agent, &c.row, &c.info.info, &op->err);
        if (r >= 0)
                r = zero_step_plugin_pending(op, zero_plugin_again_answer(c.plugin, c.plugin->ops.prepare(c.pctx, &c.info.info, &op->err)),
                                   ZERO_OP_THEN_RERUN);
        r = zero_card_asked(op, c.inst, &c.info.info, r);
        zero_step_ctx_done(&c);
        return r;
}

/* What the plugin's mode needs of the card (exports, NIC attachments) is made before it prepares:
 * card_steps.h. */
static int step_card_up(struct zero_op *op) {
        struct zero_step_ctx c;
        int r = zero_step_ctx_load(op, &c);

        if (r < 0)
                return r;
        if (!switch_without_start(op))
                r = zero_card_up(op, c.plugin, c.pctx, &c.info.info, NULL, NULL, c.info.info.incoming);
        zero_step_ctx_done(&c);
        return r;
}

/* Once the runtime is gone and cleaned up: the card takes back every export and attachment. */
static int step_card_down(struct zero_op *op) {
        struct zero_step_ctx c;
        int r = zero_step_ctx_load(op, &c);

        if (r < 0)
                return r;
        r = zero_card_down(op, c.plugin, c.pctx, &c.info.info, NULL, NULL);
        zero_step_ctx_done(&c);
        return r;
}

static int step_spawn(struct zero_op *op) {
        struct zero_step_ctx c;
        int r = zero_step_ctx_load(op, &c);

        if (r < 0)
                return r;
        /* A hand-over ran instead (handover.c): the instance ended with the take-back. */
        if (switch_without_start(op) || zero_handover_plugin(c.plugin)) {
                zero_step_ctx_done(&c);
                return 0;
        }
        if (zero_inst_watch(c.inst) >= 0) {
                /* Done before a crash: the shim is there already, and its report may never have
                 * been read: the pid comes from its files. */
                log_info("Adopting the running shim of %s", c.row.name);
                (void) zero_inst_record_pid(c.inst, &c.row);
                zero_step_ctx_done(&c);
                return 0;
        }
        /* A run begins: started_at is its start, and stopped_at its end, null until it comes
         * (instance.c records it at the exit), never the end of an earlier run (issue 16: after a
         * switch, show gave the old runtime's stop, earlier than the new start). Recorded before
         * the runtime starts, so that an exit, however quick, comes after it. */
        c.row.started_at = (int64_t) zero_now_usec();
        c.row.stopped_at = 0;
        r = zero_store_instance_update(op->agent->store, &c.row);
        if (r < 0) {
                zero_step_ctx_done(&c);
                return zero_error_set(&op->err, r, ZERO_E_UNAVAILABLE, "cannot record the start: %s", strerror(-r));
        }
        zero_card_asked_reset(c.inst);
        r = zero_card_asked(op, c.inst, &c.info.info, c.plugin->ops.start(c.pctx, &c.info.info, &op->err));
        if (r != 0) {
                zero_step_ctx_done(&c);
                return r;
        }
        if (!c.inst->sync_source)
                r = zero_error_set(&op->err, -EPROTO, ZERO_E_INTERNAL, "plugin %s started no shim", c.plugin->name);
        if (r >= 0)
                r = zero_op_wait(op, ZERO_OP_WAIT_REPORT, ZERO_OP_THEN_DONE);
        zero_step_ctx_done(&c);
        return r;
}


/* The plugin brings the started runtime to running (the vm plugin: devices checked, then "cont"). */
static int step_boot(struct zero_op *op) {
        struct zero_step_ctx c;
        int r = zero_step_ctx_load(op, &c);

        if (r < 0)
                return r;
        if (!ZERO_PLUGIN_HAS(c.plugin, boot) || switch_without_start(op) || zero_inst_watch(c.inst) < 0) {
                /* Nothing to do, or it exited already: step_running tells which. */
                zero_step_ctx_done(&c);
                return 0;
        }
        r = c.plugin->ops.boot(c.pctx, &c.info.info, &op->err);
        zero_step_ctx_done(&c);
        /* The instance's exit ends this wait too (instance.c): step_running tells which. */
        return zero_step_plugin_pending(op, r, ZERO_OP_THEN_DONE);
}

static int step_running(struct zero_op *op) {
        struct zero_step_ctx c;
        int r = zero_step_ctx_load(op, &c);

        if (r < 0)
                return r;
        free(c.row.error);
        c.row.error = NULL;
        if (switch_without_start(op))
                r = zero_inst_set_state(op->agent, &c.row, zero_inst_transition_end(zero_op_states(op), true, false));
        else if (c.row.pid > 0 || zero_inst_shim_alive(c.inst)) {
                /* started_at is the spawn's; an operation an older zerod spawned for may have left
                 * the last run's times */
                if (c.row.started_at == 0 || c.row.stopped_at != 0) {
                        c.row.started_at = (int64_t) zero_now_usec();
                        c.row.stopped_at = 0;
                }
                r = zero_inst_set_state(op->agent, &c.row, zero_inst_transition_end(zero_op_states(op), true, true));
        } else {
                /* It ran and exited already (a short command): it is simply stopped, its run's
                 * times those of its spawn and of its exit. */
                (void) c.plugin->ops.cleanup(c.pctx, &c.info.info, &op->err);
                r = zero_inst_set_state(op->agent, &c.row, zero_inst_transition_end(zero_op_states(op), true, false));
                /* A hand-over taken back with a switch asked of the card: that switch next. */
                if (r >= 0)
                        r = zero_handover_then(op, &c.row);
        }
        zero_step_ctx_done(&c);
        return r;
}

static int on_kill_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        struct zero_op *op = userdata;
        struct zero_error err = {};
        struct zero_inst *inst;
        int r;

        op->timer = sd_event_source_disable_unref(op->timer);
        r = zero_inst_get(op->agent, op->row.instance_id, strempty(op->row.instance_name), &inst);
        if (r >= 0) {
                log_info("Instance %s did not stop in time: killing it", inst->name);
                r = zero_inst_signal(inst, SIGKILL, &err);
        }
        if (r < 0)
                log_warning_errno(r, "Failed to kill %s: %s", strempty(op->row.instance_name), err.message);
        return 0;
}

static int step_stop(struct zero_op *op) {
        json_t *t = json_object_get(op->params, "timeout_s");
        bool force = json_is_true(json_object_get(op->params, "force"));
        uint64_t timeout = json_is_integer(t) ? (uint64_t) json_integer_value(t) : STOP_TIMEOUT_DEFAULT_S;
        struct zero_step_ctx c;
        int r = zero_step_ctx_load(op, &c);

        if (r < 0)
                return r;
        if (zero_inst_watch(c.inst) < 0) {
                zero_step_ctx_done(&c); /* not running: nothing to stop */
                return 0;
        }
        (void) zero_inst_set_state(op->agent, &c.row, zero_op_states(op)->stopping);
        if (force || timeout == 0)
                r = c.plugin->ops.kill(c.pctx, &c.info.info, SIGKILL, &op->err);
        else {
                r = c.plugin->ops.stop(c.pctx, &c.info.info, &op->err);
                /* The step's own: it goes when the exit comes (or the operation does). */
                if (r >= 0)
                        r = sd_event_add_time_relative(op->agent->event, &op->timer, CLOCK_MONOTONIC,
                                                       timeout * USEC_PER_SEC, 0, on_kill_timer, op);
        }
        if (r < 0)
                log_warning("Stopping %s: %s; waiting for its exit anyway", c.row.name, op->err.message);
        /* Either way the shim will tell us when the process is gone. */
        op->err = (struct zero_error){};
        zero_step_ctx_done(&c);
        return zero_op_wait(op, ZERO_OP_WAIT_EXIT, ZERO_OP_THEN_DONE);
}

static int step_cleanup(struct zero_op *op) {
        struct zero_step_ctx c;
        int r = zero_step_ctx_load(op, &c);

        if (r < 0)
                return r;
        r = zero_plugin_again_answer(c.plugin, c.plugin->ops.cleanup(c.pctx, &c.info.info, &op->err));
        if (r == ZERO_PLUGIN_PENDING)
                r = zero_step_plugin_pending(op, r, ZERO_OP_THEN_RERUN); /* the state once it is all done */
        else if (r >= 0)
                r = zero_inst_set_state(op->agent, &c.row, zero_op_states(op)->stopped);
        zero_step_ctx_done(&c);
        return r;
}

/* Marks the instance's own volumes for deletion and lists them in the operation's params, for
 * volumes_delete (the owner is gone with the instance's row). */
static int mark_owned_volumes(struct zero_op *op, const char *instance_id) {
        json_t *d = json_object_get(op->params, "delete_volumes");
        struct zero_volume_row *rows = NULL;
        json_t *names = json_array();
        char *params;
        size_t n = 0;
        int r;

        if (!names)
                return -ENOMEM;
        r = json_is_false(d) ? 0 : zero_store_volume_list_owned_by(op->agent->store, instance_id, &rows, &n);
        for (size_t i = 0; r >= 0 && i < n; i++) {
                char *state = strdup(zero_vol_state_name(ZERO_VOL_DELETING));
                if (!state || json_array_append_new(names, json_string(rows[i].name)) < 0) {
                        free(state);
                        r = -ENOMEM;
                        break;
                }
                free(rows[i].state);
                rows[i].state = state;
                rows[i].updated_at = (int64_t) zero_now_usec();
                r = zero_store_volume_update(op->agent->store, &rows[i]);
        }
        zero_volume_rows_free(rows, n);
        if (r >= 0)
                r = json_object_set_new(op->params, "volumes", names) < 0 ? -ENOMEM : 0;
        else
                json_decref(names);
        params = r >= 0 ? json_dumps(op->params, JSON_COMPACT) : NULL;
        if (r >= 0 && !params)
                r = -ENOMEM;
        if (r >= 0) {
                free(op->row.params);
                op->row.params = params;
                r = zero_store_operation_update(op->agent->store, &op->row);
        }
        return r;
}

static int step_remove(struct zero_op *op) {
        struct zero_agent *a = op->agent;
        struct zero_step_ctx c;
        int r = zero_step_ctx_load(op, &c);

        if (r == -ENOENT) {
                op->err = (struct zero_error){};
                return 0; /* removed before a crash */
        }
        if (r < 0)
                return r;
        /* The files first, in a child (a large state directory takes the disk a while): the step
         * runs again once it is done, finds them gone and removes the rows. --one-file-system:
         * never into a mount left behind; rm then fails, and so does the step. */
        if (access(c.inst->run_dir, F_OK) == 0 || access(c.inst->state_dir, F_OK) == 0) {
                char *argv[] = {"rm", "-rf", "--one-file-system", "--", c.inst->run_dir, c.inst->state_dir, NULL};
                r = zero_op_wait_child(op, argv, "removing the instance's files", ZERO_OP_THEN_RERUN);
                zero_step_ctx_done(&c);
                return r;
        }
        /* One transaction: the volumes the instance owns are marked for the next step (or kept,
         * free, with delete_volumes=false) as its row goes, with its NICs and attachments. */
        r = zero_store_begin(a->store);
        if (r >= 0)
                r = mark_owned_volumes(op, c.row.id);
        if (r >= 0)
                r = zero_store_instance_delete(a->store, c.row.id);
        if (r >= 0)
                r = zero_store_commit(a->store);
        if (r < 0)
                (void) zero_store_rollback(a->store);
        if (r >= 0) {
                zero_agent_event(a, "instance.deleted", c.row.name, NULL);
                zero_inst_free(a, c.inst);
        }
        zero_step_ctx_done(&c);
        return r;
}

/* A failed start leaves no half-started runtime behind and says why on the instance. */
static void fail_to_error(struct zero_op *op) {
        struct zero_step_ctx c;
        struct zero_error ignore = {};

        if (zero_step_ctx_load(op, &c) < 0)
                return;
        bool alive = zero_inst_shim_alive(c.inst);

        if (alive)
                (void) zero_inst_signal(c.inst, SIGKILL, &ignore);
        else if (zero_plugin_again_answer(c.plugin, c.plugin->ops.cleanup(c.pctx, &c.info.info, &ignore)) == 0)
                /* Once the runtime let go of them (a cleanup that answers later is called again,
                 * instance.c, and takes them down then). */
                zero_card_down_nowait(op->agent, c.row.id, NULL, NULL);
        if (!alive && c.row.stopped_at < c.row.started_at)
                /* the run the spawn began ends here (a killed one's exit records it) */
                c.row.stopped_at = (int64_t) zero_now_usec();
        free(c.row.error);
        c.row.error = strdup(op->err.message);
        /* the runtime is gone: killed, or cleaned up */
        (void) zero_inst_set_state(op->agent, &c.row, zero_inst_transition_end(zero_op_states(op), false, false));
        zero_step_ctx_done(&c);
}

static void fail_keep_state(struct zero_op *op) {
        struct zero_step_ctx c;

        if (zero_step_ctx_load(op, &c) < 0)
                return;
        free(c.row.error);
        c.row.error = strdup(op->err.message);
        (void) zero_inst_set_state(op->agent, &c.row,
                                   zero_inst_transition_end(zero_op_states(op), false, zero_inst_shim_alive(c.inst)));
        zero_step_ctx_done(&c);
}

/* --- attach, detach: one volume or NIC of an existing instance (api_attach.c) --- */

/* Plugs (in) or unplugs the operation's volume or NIC when the instance runs; nothing to do
 * otherwise: the store is the whole change, and the next start has the new set. */
static int plug(struct zero_op *op, bool in) {
        const char *vol = json_string_value(json_object_get(op->params, "volume"));
        const char *nic = json_string_value(json_object_get(op->params, "nic"));
        const struct zero_instance_info *info;
        struct zero_step_ctx c;
        int r = zero_step_ctx_load(op, &c);

        if (r < 0)
                return r;
        info = &c.info.info;
        if (zero_inst_watch(c.inst) < 0) {
                zero_step_ctx_done(&c);
                return 0;
        }
        zero_card_asked_reset(c.inst);
        r = zero_error_set(&op->err, -ENOENT, ZERO_E_NOT_FOUND, "'%s' has no %s %s", c.row.name, vol ? "volume" : "NIC",
                           vol ? strempty(vol) : strempty(nic));
        for (size_t i = 0; vol && i < info->n_volumes; i++)
                if (streq(info->volumes[i].name, vol)) {
                        bool can = in ? ZERO_PLUGIN_HAS(c.plugin, plug_volume) : ZERO_PLUGIN_HAS(c.plugin, unplug_volume);
                        op->err = (struct zero_error){};
                        r = !can ? zero_error_set(&op->err, -EOPNOTSUPP, ZERO_E_WRONG_STATE,
                                                  "the %s plugin cannot change volumes of a running instance", c.row.mode)
                            : in ? c.plugin->ops.plug_volume(c.pctx, info, &info->volumes[i], &op->err)
                                 : c.plugin->ops.unplug_volume(c.pctx, info, &info->volumes[i], &op->err);
                }
        for (size_t i = 0; nic && i < info->n_nics; i++)
                if (streq(info->nics[i].id, nic)) {
                        bool can = in ? ZERO_PLUGIN_HAS(c.plugin, plug_nic) : ZERO_PLUGIN_HAS(c.plugin, unplug_nic);
                        op->err = (struct zero_error){};
                        r = !can ? zero_error_set(&op->err, -EOPNOTSUPP, ZERO_E_WRONG_STATE,
                                                  "the %s plugin cannot change NICs of a running instance", c.row.mode)
                            : in ? c.plugin->ops.plug_nic(c.pctx, info, &info->nics[i], &op->err)
                                 : c.plugin->ops.unplug_nic(c.pctx, info, &info->nics[i], &op->err);
                }
        r = zero_card_asked(op, c.inst, info, r);
        zero_step_ctx_done(&c);
        return zero_step_plugin_pending(op, r, ZERO_OP_THEN_DONE);
}

static int step_plug(struct zero_op *op) {
        return plug(op, true);
}

/* The card's part of a hot-plug: the one volume or NIC, made before plug (when the instance runs:
 * a stopped one gets it at its next start) and taken down after unplug. */
static int card_one(struct zero_op *op, bool up) {
        const char *vol = json_string_value(json_object_get(op->params, "volume"));
        const char *nic = json_string_value(json_object_get(op->params, "nic"));
        struct zero_step_ctx c;
        int r = zero_step_ctx_load(op, &c);

        if (r < 0)
                return r;
        if (!vol && !nic)
                r = zero_error_set(&op->err, -EINVAL, ZERO_E_INTERNAL, "an attachment of nothing");
        else if (!up)
                r = zero_card_down(op, c.plugin, c.pctx, &c.info.info, vol, nic);
        else if (zero_inst_watch(c.inst) >= 0)
                r = zero_card_up(op, c.plugin, c.pctx, &c.info.info, vol, nic, false);
        zero_step_ctx_done(&c);
        return r;
}

static int step_card_up_one(struct zero_op *op) {
        return card_one(op, true);
}

static int step_card_down_one(struct zero_op *op) {
        return card_one(op, false);
}

static int step_unplug(struct zero_op *op) {
        return plug(op, false);
}

/* The attachment or the NIC leaves the store (the NIC's address is free again). */
static int step_forget(struct zero_op *op) {
        const char *vol = json_string_value(json_object_get(op->params, "volume"));
        const char *nic = json_string_value(json_object_get(op->params, "nic"));
        int r = vol ? zero_store_attachment_delete(op->agent->store, vol)
                    : zero_store_nic_delete(op->agent->store, strempty(nic));

        if (r == -ENOENT)
                r = 0; /* done before a crash */
        if (r < 0)
                return zero_error_set(&op->err, r, ZERO_E_UNAVAILABLE, "cannot forget %s %s", vol ? "volume" : "NIC",
                                      vol ? vol : strempty(nic));
        zero_agent_event(op->agent, vol ? "instance.volume_detached" : "instance.nic_detached", op->row.instance_name,
                         json_pack("{s:s}", vol ? "volume" : "nic", vol ? vol : strempty(nic)));
        return 0;
}

static int step_plugged(struct zero_op *op) {
        const char *vol = json_string_value(json_object_get(op->params, "volume"));
        const char *nic = json_string_value(json_object_get(op->params, "nic"));

        zero_agent_event(op->agent, vol ? "instance.volume_attached" : "instance.nic_attached", op->row.instance_name,
                         json_pack("{s:s}", vol ? "volume" : "nic", vol ? vol : strempty(nic)));
        return 0;
}

/* A failed attach forgets what it recorded: the instance is as before. */
static void fail_attach(struct zero_op *op) {
        struct zero_error keep = op->err;

        /* What card_up made goes too (before the row that says so). */
        if (op->row.instance_id)
                zero_card_down_nowait(op->agent, op->row.instance_id,
                                      json_string_value(json_object_get(op->params, "volume")),
                                      json_string_value(json_object_get(op->params, "nic")));
        if (step_forget(op) < 0)
                log_warning("Cannot forget the failed attachment of %s: %s", strempty(op->row.instance_name),
                            op->err.message);
        op->err = keep;
}

static void fail_detach(struct zero_op *op) {
        log_warning("Detaching from %s failed: %s; it stays attached", strempty(op->row.instance_name), op->err.message);
}

/* --- switch: the same instance, volumes and NICs in another mode --- */

/* The switch's point of no return: from here on the instance is of the new mode, and the steps
 * that follow (prepare, spawn, boot, running) are the new plugin's. */
static int step_mode(struct zero_op *op) {
        const char *mode = json_string_value(json_object_get(op->params, "mode"));
        struct zero_instance_row row = {};
        char *m;
        int r;

        if (!mode)
                return zero_error_set(&op->err, -EINVAL, ZERO_E_INTERNAL, "switch without a mode");
        r = zero_store_instance_get_by_id(op->agent->store, op->row.instance_id, &row);
        if (r < 0)
                return zero_error_set(&op->err, r, ZERO_E_NOT_FOUND, "instance %s is gone", strempty(op->row.instance_name));
        if (!streq(row.mode, mode)) {
                m = strdup(mode);
                if (!m) {
                        zero_instance_row_done(&row);
                        return -ENOMEM;
                }
                free(row.mode);
                row.mode = m;
                row.updated_at = (int64_t) zero_now_usec();
                r = zero_store_instance_update(op->agent->store, &row);
                if (r >= 0)
                        zero_agent_event(op->agent, "instance.mode", row.name,
                                         json_pack("{s:s,s:s?}", "mode", mode, "from",
                                                   json_string_value(json_object_get(op->params, "from"))));
        }
        zero_instance_row_done(&row);
        return r < 0 ? zero_error_set(&op->err, r, ZERO_E_UNAVAILABLE, "cannot record the new mode") : 0;
}

/* A failed switch leaves the instance in its old mode: the new runtime's leftovers are undone,
 * the mode goes back, and an instance that ran is started again there (a start operation). */
static void fail_switch(struct zero_op *op) {
        const char *from = json_string_value(json_object_get(op->params, "from"));
        bool start = json_is_true(json_object_get(op->params, "start"));
        struct zero_error ignore = {};
        struct zero_op *again = NULL;
        struct zero_step_ctx c;

        if (!from || zero_step_ctx_load(op, &c) < 0)
                return;
        if (!streq(c.row.mode, from)) {
                if (zero_inst_shim_alive(c.inst))
                        (void) zero_inst_signal(c.inst, SIGKILL, &ignore);
                if (zero_plugin_again_answer(c.plugin, c.plugin->ops.cleanup(c.pctx, &c.info.info, &ignore)) == 0)
                        zero_card_down_nowait(op->agent, c.row.id, NULL, NULL);
                free(c.row.mode);
                c.row.mode = strdup(from);
                zero_agent_event(op->agent, "instance.mode", c.row.name, json_pack("{s:s,s:s}", "mode", from, "reason",
                                                                                  "the switch failed"));
        } else if (zero_inst_shim_alive(c.inst)) {
                /* It failed before the old runtime stopped: it runs on. */
                (void) zero_inst_set_state(op->agent, &c.row, zero_inst_transition_end(zero_op_states(op), false, true));
                zero_step_ctx_done(&c);
                return;
        }
        free(c.row.error);
        c.row.error = zero_strdup_printf("switch failed: %s", op->err.message);
        (void) zero_inst_set_state(op->agent, &c.row, zero_inst_transition_end(zero_op_states(op), false, false));
        /* "again": false, the switch out of a tenant's run (handover.c): its old mode's start would
         * hand the host over again, which nobody asked for; it stays stopped. */
        if (start && !json_is_false(json_object_get(op->params, "again")) && c.row.mode &&
            zero_op_new(op->agent, "start", &c.row, NULL, &again) >= 0) {
                if (zero_store_operation_insert(op->agent->store, &again->row) >= 0 && zero_op_launch(again) >= 0)
                        log_info("Starting %s again as a %s after the failed switch", c.row.name, from);
                else
                        zero_op_free(again);
        }
        zero_step_ctx_done(&c);
}

int zero_step_shim_alive(struct zero_op *op, bool ignore_gone, bool *ret) {
        struct zero_step_ctx c;
        int r = zero_step_ctx_load(op, &c);

        *ret = false;
        if (r == -ENOENT && ignore_gone) {
                op->err = (struct zero_error){};
                return 0;
        }
        if (r < 0)
                return r;
        *ret = zero_inst_shim_alive(c.inst);
        zero_step_ctx_done(&c);
        return 0;
}

/* For the kinds of other files (instance_steps.h). */
int zero_step_card_up(struct zero_op *op) {
        return step_card_up(op);
}
int zero_step_card_down(struct zero_op *op) {
        return step_card_down(op);
}
int zero_step_prepare(struct zero_op *op) {
        return step_prepare(op);
}
int zero_step_spawn(struct zero_op *op) {
        return step_spawn(op);
}
int zero_step_stop(struct zero_op *op) {
        return step_stop(op);
}
int zero_step_cleanup(struct zero_op *op) {
        return step_cleanup(op);
}

#define STEP(n) {#n, step_##n, NULL}
/* A step that pauses until `answer` comes (operation.h): spawn waits for the shim's report. */
#define STEP_ANSWER(n, answer) {#n, step_##n, #answer}
/* The volumes remove marked deleting are unexported and removed by the card. */
static int step_volumes_delete(struct zero_op *op) {
        return wait_volumes(op, NULL, ZERO_VOL_DELETING, json_object_get(op->params, "volumes"));
}

/* evict: the node cleared for an instance that needs it to itself, when the request says so
 * (node_owner.h); it passes at once otherwise. */
/* handover_load, handover: the host handed to the instance instead of a spawn (handover.h), for
 * a plugin with ops.handover (bms); they pass for every other. */
#define HANDOVER_STEPS {"handover_load", zero_step_handover_load, NULL}, {"handover", zero_step_handover, NULL}
static const struct zero_op_step create_steps[] = {{"evict", zero_node_owner_evict_step, NULL},
                                                   STEP(volumes), STEP(card_up), STEP(prepare), HANDOVER_STEPS,
                                                   STEP_ANSWER(spawn, reported), STEP(boot), STEP(running)};
static const struct zero_op_step stop_steps[] = {STEP(stop), STEP(cleanup), STEP(card_down)};
/* No card_down: the same mode takes the same exports again (a plugin's cleanup that gave them
 * back queued the unexports, and card_up's exports run after them). */
static const struct zero_op_step restart_steps[] = {STEP(stop), STEP(cleanup), STEP(card_up), STEP(prepare),
                                                    HANDOVER_STEPS, STEP_ANSWER(spawn, reported), STEP(boot),
                                                    STEP(running)};
static const struct zero_op_step delete_steps[] = {STEP(stop), STEP(cleanup), STEP(card_down), STEP(remove),
                                                   STEP(volumes_delete)};

static const struct zero_op_step attach_steps[] = {{"card_up", step_card_up_one, NULL}, STEP(plug), STEP(plugged)};
static const struct zero_op_step detach_steps[] = {STEP(unplug), {"card_down", step_card_down_one, NULL}, STEP(forget)};

/* A switch to a mode that runs by a hand-over (bms) hands the host over where another starts its
 * runtime, and clears the node first when asked to ("evict"); both steps pass otherwise. */
static const struct zero_op_step switch_steps[] = {{"evict", zero_node_owner_evict_step, NULL},
                                                   STEP(stop),
                                                   STEP(cleanup),
                                                   STEP(card_down),
                                                   STEP(mode),
                                                   STEP(card_up),
                                                   STEP(prepare),
                                                   HANDOVER_STEPS,
                                                   STEP_ANSWER(spawn, reported),
                                                   STEP(boot),
                                                   STEP(running)};

const struct zero_op_kind zero_op_kind_switch = ZERO_OP_KIND("switch", switch_steps, fail_switch);
const struct zero_op_kind zero_op_kind_attach = ZERO_OP_KIND("attach", attach_steps, fail_attach);
const struct zero_op_kind zero_op_kind_detach = ZERO_OP_KIND("detach", detach_steps, fail_detach);
const struct zero_op_kind zero_op_kind_create = ZERO_OP_KIND("create", create_steps, fail_to_error);
const struct zero_op_kind zero_op_kind_start = ZERO_OP_KIND("start", create_steps, fail_to_error);
const struct zero_op_kind zero_op_kind_stop = ZERO_OP_KIND("stop", stop_steps, fail_keep_state);
const struct zero_op_kind zero_op_kind_restart = ZERO_OP_KIND("restart", restart_steps, fail_to_error);
const struct zero_op_kind zero_op_kind_delete = ZERO_OP_KIND("delete", delete_steps, fail_keep_state);
