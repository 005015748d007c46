/* SPDX-License-Identifier: Apache-2.0 */
/* Who owns the node (node_owner.h). */
#include "agent/node_owner.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/instance_service.h"
#include "agent/instance_state.h"
#include "agent/operation.h"
#include "agent/plugin_loader.h"
#include "common/log.h"
#include "common/util.h"

static bool mode_exclusive(const struct zero_agent *a, const char *mode) {
        const struct zero_loaded_plugin *lp = zero_plugins_find(a->plugins, mode);

        return lp && lp->probe.exclusive;
}

/* Appends "'web' (container, running)" to buf, after ", " when it holds some already. */
static void name_holder(char *buf, size_t size, const struct zero_instance_row *row) {
        size_t len = strlen(buf);

        if (len < size)
                snprintf(buf + len, size - len, "%s'%s' (%s, %s)", len ? ", " : "", row->name, row->mode, row->state);
}

/* An instance of an exclusive mode owns the node while it holds it, and also while an operation
 * runs on it that may run it (its start while still stopped, its evict step waiting): two of them
 * must never both pass their admission. what gets "running", or "stopped, start in progress". */
static bool owns(struct zero_agent *a, const struct zero_instance_row *row, char *what, size_t size) {
        struct zero_operation_row running = {};

        if (!mode_exclusive(a, row->mode))
                return false;
        snprintf(what, size, "%s", row->state);
        if (zero_store_operation_running_for(a->store, row->id, &running) >= 0) {
                snprintf(what, size, "%s, %s in progress", row->state, running.kind);
                zero_operation_row_done(&running);
                return true;
        }
        return !zero_inst_state_idle(zero_inst_state_of(row));
}

int zero_node_owner_check(struct zero_agent *a, const char *self, const char *name, const char *mode, bool evict,
                          struct zero_error *err) {
        bool exclusive = mode_exclusive(a, mode);
        struct zero_instance_row *rows = NULL;
        const struct zero_instance_row *owner = NULL;
        char held[512] = "", what[64] = "";
        size_t n = 0, n_held = 0;
        int r;

        r = zero_store_instance_list(a->store, &rows, &n);
        if (r < 0)
                return zero_error_store(err, r, "reading instances");
        for (size_t i = 0; i < n && !owner; i++) {
                const struct zero_instance_row *row = &rows[i];

                if (self && streq(row->id, self))
                        continue;
                if (owns(a, row, what, sizeof(what)))
                        owner = row; /* at most one: it was admitted alone */
                else if (exclusive && !zero_inst_state_idle(zero_inst_state_of(row)) &&
                         n_held++ < ZERO_NODE_OWNER_NAMED)
                        name_holder(held, sizeof(held), row);
        }
        if (owner)
                r = zero_error_set(err, -EBUSY, ZERO_E_CONFLICT,
                                   "the node is held by %s instance '%s' (%s): it has the node to itself, so '%s' "
                                   "cannot run beside it",
                                   owner->mode, owner->name, what, name);
        else if (exclusive && n_held > 0 && !evict) {
                char more[48] = "";

                if (n_held > ZERO_NODE_OWNER_NAMED)
                        snprintf(more, sizeof(more), " and %zu more", n_held - ZERO_NODE_OWNER_NAMED);
                r = zero_error_set(err, -EBUSY, ZERO_E_CONFLICT,
                                   "the node is held by %s%s: %s instance '%s' needs the node to itself "
                                   "(\"evict\": \"stop\" stops the others first)",
                                   held, more, mode, name);
        } else
                r = 0;
        zero_instance_rows_free(rows, n);
        return r;
}

int zero_node_owner_evict_param(struct zero_agent *a, const char *mode, json_t *v, bool *ret, struct zero_error *err) {
        *ret = false;
        if (!v)
                return 0;
        if (!json_is_string(v) || !streq(json_string_value(v), "stop"))
                return zero_error_set(err, -EINVAL, ZERO_E_INVALID,
                                      "evict: \"stop\" is the one way to clear the node (the others are stopped first)");
        if (!mode_exclusive(a, mode))
                return zero_error_set(err, -EINVAL, ZERO_E_INVALID,
                                      "evict: only an instance of a mode that needs the node to itself evicts others "
                                      "('%s' does not)",
                                      mode);
        *ret = true;
        return 0;
}

/* Whether the operation recorded a stop of id already: its params' "evicted", [{"instance",
 * "operation"}], kept with the operation's row (so a resumed evict step knows them too). */
static bool evicted(const struct zero_op *op, const char *id) {
        json_t *list = json_object_get(op->params, "evicted"), *v;
        size_t i;

        json_array_foreach(list, i, v) {
                if (streq(strempty(json_string_value(json_object_get(v, "instance"))), id))
                        return true;
        }
        return false;
}

/* Records in op's row that stop (an operation) evicts instance id. */
static int record_evicted(struct zero_op *op, const char *id, const char *stop) {
        json_t *list = json_object_get(op->params, "evicted");
        char *params;

        if (!json_is_array(list)) {
                list = json_array();
                if (json_object_set_new(op->params, "evicted", list) < 0)
                        return -ENOMEM;
        }
        if (json_array_append_new(list, json_pack("{s:s,s:s}", "instance", id, "operation", stop)) < 0)
                return -ENOMEM;
        params = json_dumps(op->params, JSON_COMPACT);
        if (!params)
                return -ENOMEM;
        free(op->row.params);
        op->row.params = params;
        return zero_store_operation_update(op->agent->store, &op->row);
}

static int on_poll(sd_event_source *s, uint64_t usec, void *userdata) {
        struct zero_op *op = userdata;

        if (op->wait & ZERO_OP_WAIT_NODE)
                zero_op_continue(op, 0); /* runs the step again; the wait's end drops this timer */
        return 0;
}

/* One holder: its own operation runs (waited for), or a stop of it is recorded and launched.
 * Returns 0, or fails the step with the reason in op->err. */
static int evict_one(struct zero_op *op, const struct zero_instance_row *row) {
        struct zero_operation_row running = {};
        struct zero_error err = {};
        struct zero_op *stop = NULL;
        int r;

        if (zero_store_operation_running_for(op->agent->store, row->id, &running) >= 0) {
                zero_operation_row_done(&running);
                return 0;
        }
        if (!zero_inst_transition_allows(zero_inst_transition_find("stop"), zero_inst_state_of(row)))
                return 0; /* on its way by itself (an exit being cleaned up): looked at again */
        if (evicted(op, row->id))
                return zero_error_set(&op->err, -EBUSY, ZERO_E_CONFLICT,
                                      "cannot evict '%s': it holds the node again after its stop (%s)", row->name,
                                      row->state);
        r = zero_instance_act(op->agent, row->name, "stop", json_object(), &stop, &err);
        if (r < 0)
                return zero_error_set(&op->err, r, err.code, "cannot evict '%s': %s", row->name, err.message);
        r = record_evicted(op, row->id, stop->row.id);
        if (r < 0)
                /* The stop runs (it is recorded); a resumed step would find it and wait. */
                return zero_error_set(&op->err, r, ZERO_E_UNAVAILABLE, "cannot record the evict of '%s'", row->name);
        log_info("Operation %s: evicting %s (stop %s) for %s", op->row.id, row->name, stop->row.id,
                 strempty(op->row.instance_name));
        return 0;
}

int zero_node_owner_evict_step(struct zero_op *op) {
        struct zero_instance_row *rows = NULL;
        size_t n = 0, held = 0;
        int r;

        if (!json_is_string(json_object_get(op->params, "evict")))
                return 0;
        r = zero_store_instance_list(op->agent->store, &rows, &n);
        if (r < 0)
                return zero_error_store(&op->err, r, "reading instances");
        for (size_t i = 0; r >= 0 && i < n; i++) {
                const struct zero_instance_row *row = &rows[i];
                char what[64];

                if (streq(row->id, strempty(op->row.instance_id)))
                        continue;
                if (owns(op->agent, row, what, sizeof(what))) {
                        r = zero_error_set(&op->err, -EBUSY, ZERO_E_CONFLICT,
                                           "the node is held by %s instance '%s' (%s): it is not evicted", row->mode,
                                           row->name, what);
                        break;
                }
                if (zero_inst_state_idle(zero_inst_state_of(row)))
                        continue;
                held++;
                r = evict_one(op, row);
        }
        zero_instance_rows_free(rows, n);
        if (r < 0 || held == 0)
                return r;
        r = sd_event_add_time_relative(op->agent->event, &op->timer, CLOCK_MONOTONIC,
                                       ZERO_NODE_EVICT_POLL_MS * USEC_PER_MSEC, 0, on_poll, op);
        if (r < 0)
                return zero_error_set(&op->err, r, ZERO_E_INTERNAL, "cannot arm the evict's timer: %s", strerror(-r));
        return zero_op_wait(op, ZERO_OP_WAIT_NODE, ZERO_OP_THEN_RERUN);
}
