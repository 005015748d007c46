/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The instance service (instance_service.h): admission, the state table's refusals and the
 * recording of an instance's operations, for whoever asks (the HTTP front today).
 */
#include "agent/instance_service.h"

#include <string.h>

#include "agent/card_plan.h"
#include "agent/instance_spec.h"
#include "agent/node_owner.h"
#include "agent/operation.h"
#include "agent/plugin_loader.h"
#include "common/log.h"
#include "common/text.h"
#include "common/util.h"

int zero_instance_load(struct zero_agent *a, const char *name, struct zero_instance_row *row, struct zero_error *err) {
        int r = zero_store_instance_get(a->store, name, row);

        if (r == -ENOENT)
                return zero_error_set(err, r, ZERO_E_NOT_FOUND, "no instance named '%s'", ZERO_QUOTE(name));
        if (r < 0)
                return zero_error_store(err, r, "reading instance");
        return 0;
}

int zero_instance_record_and_launch(struct zero_agent *a, struct zero_instance_row *new_row,
                                    struct zero_card_plan *plan, struct zero_instance_row *update_row,
                                    struct zero_op *op, struct zero_error *err) {
        int r = zero_store_begin(a->store);

        if (r >= 0 && new_row)
                r = zero_store_instance_insert(a->store, new_row);
        if (r >= 0 && plan) {
                r = zero_card_plan_insert(a, plan, err);
                if (r < 0) {
                        (void) zero_store_rollback(a->store);
                        zero_op_free(op);
                        return r;
                }
        }
        if (r >= 0 && update_row)
                r = zero_store_instance_update(a->store, update_row);
        return zero_op_commit_and_launch(a, r, op, new_row ? "an instance" : NULL, new_row ? new_row->name : NULL,
                                         new_row ? new_row->image : NULL, err);
}

static int new_op(struct zero_agent *a, const char *kind, const struct zero_instance_row *row, json_t *params,
                  struct zero_op **ret, struct zero_error *err) {
        int r = zero_op_new(a, kind, row, params, ret);

        if (r < 0)
                return zero_error_set(err, r, ZERO_E_INTERNAL, "cannot create the operation: %s", strerror(-r));
        return 0;
}

/* The node's room for one more instance of row's size: the instance count, then CPUs (with the
 * overcommit) and memory (less what is reserved for the host). */
int zero_instance_admit(struct zero_agent *a, const struct zero_instance_row *row, struct zero_error *err) {
        int64_t cpus = 0, mem = 0;
        int r, n;

        n = zero_store_instance_count(a->store);
        if (n >= 0 && n >= a->config->max_instances)
                return zero_error_set(err, -ENOSPC, ZERO_E_OVER_CAPACITY, "this node holds at most %lld instances",
                                      (long long) a->config->max_instances);
        r = zero_store_instance_allocated(a->store, &cpus, &mem);
        if (r < 0)
                return zero_error_store(err, r, "reading allocations");
        if ((double) (cpus + row->cpus) > a->node_cpus * a->config->cpu_overcommit ||
            (uint64_t) (mem + row->memory_mib) + (uint64_t) a->config->memory_reserved_mib > a->node_memory_mib)
                return zero_error_set(
                        err, -ENOSPC, ZERO_E_OVER_CAPACITY,
                        "not enough resources: %lld cpus and %lld MiB are allocated of %g cpus and %llu MiB",
                        (long long) cpus, (long long) mem, a->node_cpus * a->config->cpu_overcommit,
                        (unsigned long long) (a->node_memory_mib - (uint64_t) a->config->memory_reserved_mib));
        return 0;
}

int zero_instance_create(struct zero_agent *a, json_t *body, struct zero_op **ret_op, struct zero_error *err) {
        struct zero_instance_row row = {}, other = {};
        struct zero_image_row image = {};
        struct zero_card_plan plan = {};
        struct zero_op *op = NULL;
        bool evict = false;
        int r;

        r = zero_spec_validate(a, body, &row, err);
        if (r < 0)
                return r;
        if (zero_store_instance_get(a->store, row.name, &other) >= 0) {
                zero_instance_row_done(&other);
                r = zero_error_set(err, -EEXIST, ZERO_E_CONFLICT, "an instance named '%s' exists already", row.name);
                goto out;
        }
        r = zero_store_image_get(a->store, row.image, &image);
        zero_image_row_done(&image);
        if (r == -ENOENT) {
                r = zero_error_set(err, r, ZERO_E_INVALID, "image '%s' does not exist", ZERO_QUOTE(row.image));
                goto out;
        }
        r = zero_node_owner_evict_param(a, row.mode, json_object_get(body, "evict"), &evict, err);
        if (r >= 0)
                r = zero_instance_admit(a, &row, err);
        if (r >= 0)
                r = zero_node_owner_check(a, NULL, row.name, row.mode, evict, err);
        if (r >= 0)
                r = zero_card_plan_build(a, body, &row, &plan, err);
        if (r >= 0)
                r = new_op(a, "create", &row, evict ? json_pack("{s:s}", "evict", "stop") : NULL, &op, err);
        if (r >= 0)
                r = zero_instance_record_and_launch(a, &row, &plan, NULL, op, err);
        if (r >= 0)
                *ret_op = op;
out:
        zero_card_plan_done(&plan);
        zero_instance_row_done(&row);
        return r;
}

/* No other operation runs on the instance: one at a time. */
static int check_idle(struct zero_agent *a, const struct zero_instance_row *row, struct zero_error *err) {
        struct zero_operation_row running = {};

        if (zero_store_operation_running_for(a->store, row->id, &running) < 0)
                return 0;
        zero_error_set(err, -EBUSY, ZERO_E_BUSY, "operation %s (%s) is in progress on '%s'", running.id, running.kind,
                       row->name);
        zero_operation_row_done(&running);
        return -EBUSY;
}

/* What every verb on an existing instance asks of it: no other operation in flight, and a state
 * the transition table allows for kind. The refusal names what ("cannot attach a volume while
 * 'web' is creating"), or when what is NULL the verb and the instance ("cannot start 'web' while
 * it is running"). */
static int check_verb(struct zero_agent *a, const struct zero_instance_row *row, const char *kind, const char *what,
                      struct zero_error *err) {
        int r = check_idle(a, row, err);

        if (r < 0 || zero_inst_transition_allows(zero_inst_transition_find(kind), zero_inst_state_of(row)))
                return r;
        if (what)
                return zero_error_set(err, -EBUSY, ZERO_E_WRONG_STATE, "cannot %s while '%s' is %s", what, row->name,
                                      row->state);
        return zero_error_set(err, -EBUSY, ZERO_E_WRONG_STATE, "cannot %s '%s' while it is %s", kind, row->name,
                              row->state);
}

/* The operation kind on row, recorded with what goes with it (plan: rows to insert; update: the
 * instance's row anew) and launched. Takes params. */
static int launch(struct zero_agent *a, const struct zero_instance_row *row, const char *kind, json_t *params,
                  struct zero_card_plan *plan, struct zero_instance_row *update, struct zero_op **ret_op,
                  struct zero_error *err) {
        struct zero_op *op = NULL;
        int r = new_op(a, kind, row, params, &op, err);

        if (r >= 0)
                r = zero_instance_record_and_launch(a, NULL, plan, update, op, err);
        if (r >= 0)
                *ret_op = op;
        return r;
}

int zero_instance_act(struct zero_agent *a, const char *name, const char *kind, json_t *params,
                      struct zero_op **ret_op, struct zero_error *err) {
        const struct zero_inst_transition *t = zero_inst_transition_find(kind);
        struct zero_instance_row row = {};
        int r;

        if (!t) {
                json_decref(params);
                return zero_error_set(err, -EINVAL, ZERO_E_INTERNAL, "'%s' is no verb of an instance", kind);
        }
        r = zero_instance_load(a, name, &row, err);
        if (r >= 0)
                r = check_verb(a, &row, kind, NULL, err);
        /* A verb that runs the instance in its mode: the node must be free for it, or be freed
         * first (a start's "evict": its evict step). A switch asks for the mode it goes to
         * (zero_instance_switch), before it gets here. */
        if (r >= 0 && (streq(kind, "start") || streq(kind, "restart"))) {
                bool evict = false;

                r = zero_node_owner_evict_param(a, row.mode, json_object_get(params, "evict"), &evict, err);
                if (r >= 0)
                        r = zero_node_owner_check(a, row.id, row.name, row.mode, evict, err);
        }
        /* A verb whose state shows at once (deleting, switching) records it with the operation. */
        if (r >= 0 && t->accepted != ZERO_INST_KEEP) {
                char *s = strdup(zero_inst_state_name(t->accepted));
                if (!s)
                        r = zero_error_set(err, -ENOMEM, ZERO_E_INTERNAL, "out of memory");
                else {
                        free(row.state);
                        row.state = s;
                        row.updated_at = (int64_t) zero_now_usec();
                }
        }
        if (r >= 0)
                r = launch(a, &row, kind, params, NULL, t->accepted != ZERO_INST_KEEP ? &row : NULL, ret_op, err);
        else
                json_decref(params);
        zero_instance_row_done(&row);
        return r;
}

/* The instance named name into row, and the switch's checks on it: another mode, one a plugin
 * here runs. */
static int switch_load(struct zero_agent *a, const char *name, const char *mode, struct zero_instance_row *row,
                       struct zero_error *err) {
        const struct zero_loaded_plugin *lp = zero_plugins_find(a->plugins, mode);
        int r = zero_instance_load(a, name, row, err);

        if (r < 0)
                return r;
        if (streq(row->mode, mode))
                return zero_error_set(err, -EALREADY, ZERO_E_WRONG_STATE, "'%s' is a %s already", row->name, mode);
        if (!lp)
                return zero_error_set(err, -ENOENT, ZERO_E_INVALID, "mode '%s': no plugin runs it here",
                                      ZERO_QUOTE(mode));
        if (!lp->probe.available)
                return zero_error_set(err, -EOPNOTSUPP, ZERO_E_INVALID, "mode '%s' cannot run here: %s", mode,
                                      lp->probe.reason);
        /* Its vTPM's state goes with it to a VM; a bms tenant would have the host's own TPM. */
        return zero_spec_tpm_check(a, row, mode, err);
}

int zero_instance_switch_check(struct zero_agent *a, const char *name, const char *mode, struct zero_error *err) {
        struct zero_instance_row row = {};
        int r = switch_load(a, name, mode, &row, err);

        zero_instance_row_done(&row);
        return r;
}

int zero_instance_switch(struct zero_agent *a, const char *name, const char *mode, json_t *params,
                         struct zero_op **ret_op, struct zero_error *err) {
        struct zero_instance_row row = {};
        int r = switch_load(a, name, mode, &row, err);

        if (r < 0) {
                json_decref(params);
                zero_instance_row_done(&row);
                return r;
        }
        /* What the steps need: the mode to go to, the one to go back to, and whether it runs
         * there (a stopped instance only changes its mode). */
        json_object_set_new(params, "mode", json_string(mode));
        json_object_set_new(params, "from", json_string(row.mode));
        json_object_set_new(params, "start", json_boolean(zero_inst_state_live(zero_inst_state_of(&row))));
        /* One that runs after the switch runs in the new mode: the node must be free for it there,
         * or be freed first ("evict": the switch's evict step). A stopped one only changes its
         * mode. */
        if (zero_inst_state_live(zero_inst_state_of(&row))) {
                bool evict = false;

                r = zero_node_owner_evict_param(a, mode, json_object_get(params, "evict"), &evict, err);
                if (r >= 0)
                        r = zero_node_owner_check(a, row.id, row.name, mode, evict, err);
        } else if (json_object_get(params, "evict"))
                r = zero_error_set(err, -EINVAL, ZERO_E_INVALID,
                                   "evict: '%s' is %s: its switch only changes its mode, and evicts nothing", row.name,
                                   row.state);
        if (r < 0) {
                json_decref(params);
                zero_instance_row_done(&row);
                return r;
        }
        log_info("Switching %s from %s to %s (%s)", row.name, row.mode, mode, row.state);
        zero_instance_row_done(&row);
        return zero_instance_act(a, name, "switch", params, ret_op, err);
}

/* What attach and detach share: no operation in flight, a state the table allows, and a plugin
 * that can do it while the instance runs. */
static int check_attach(struct zero_agent *a, const struct zero_instance_row *row, const char *kind,
                        const char *what, bool volume, struct zero_error *err) {
        const struct zero_loaded_plugin *lp = zero_plugins_find(a->plugins, row->mode);
        bool can;
        int r;

        r = check_verb(a, row, kind, what, err);
        if (r < 0 || !zero_inst_state_live(zero_inst_state_of(row)))
                return r;
        can = lp && (volume ? ZERO_PLUGIN_HAS(lp->plugin, plug_volume) && ZERO_PLUGIN_HAS(lp->plugin, unplug_volume)
                            : ZERO_PLUGIN_HAS(lp->plugin, plug_nic) && ZERO_PLUGIN_HAS(lp->plugin, unplug_nic));
        if (!can) {
                log_info("Refusing to %s: %s instance %s is %s", what, row->mode, row->name, row->state);
                return zero_error_set(err, -EBUSY, ZERO_E_WRONG_STATE,
                                      "cannot %s while the %s '%s' is %s: a %s's %s change only while it is stopped",
                                      what, row->mode, row->name, row->state, row->mode, volume ? "volumes" : "NICs");
        }
        return 0;
}

int zero_instance_attach(struct zero_agent *a, const char *name, bool volume, json_t *body, struct zero_op **ret_op,
                         struct zero_error *err) {
        const char *what = volume ? "attach a volume" : "attach a NIC";
        struct zero_instance_row row = {};
        struct zero_card_plan plan = {};
        int r;

        r = zero_instance_load(a, name, &row, err);
        if (r < 0)
                return r;
        r = check_attach(a, &row, "attach", what, volume, err);
        if (r >= 0)
                r = zero_card_plan_attach(a, &row, volume ? body : NULL, volume ? NULL : body, &plan, err);
        if (r >= 0) {
                const char *key = volume ? plan.atts[0].volume : plan.nics[0].id;

                log_info("Attaching %s %s to %s (%s)", volume ? "volume" : "NIC", key, row.name, row.state);
                r = launch(a, &row, "attach", json_pack("{s:s}", volume ? "volume" : "nic", key), &plan, NULL, ret_op,
                           err);
        }
        zero_card_plan_done(&plan);
        zero_instance_row_done(&row);
        return r;
}

int zero_instance_detach(struct zero_agent *a, const char *name, bool volume, const char *key,
                         struct zero_op **ret_op, struct zero_error *err) {
        const char *what = volume ? "detach a volume" : "detach a NIC";
        struct zero_instance_row row = {};
        struct zero_attachment_row att = {};
        struct zero_nic_row nic = {};
        int r;

        r = zero_instance_load(a, name, &row, err);
        if (r < 0)
                return r;
        r = volume ? zero_store_attachment_get(a->store, key, &att) : zero_store_nic_get(a->store, key, &nic);
        if (r >= 0 && !streq(strempty(volume ? att.instance_id : nic.instance_id), row.id))
                r = -ENOENT;
        if (r < 0)
                r = zero_error_set(err, r, r == -ENOENT ? ZERO_E_NOT_FOUND : ZERO_E_UNAVAILABLE, "'%s' has no %s '%s'",
                                   row.name, volume ? "volume" : "NIC", ZERO_QUOTE(key));
        else if (volume && streq(att.role, "root"))
                r = zero_error_set(err, -EPERM, ZERO_E_CONFLICT, "'%s' is the root volume of '%s': it cannot be detached",
                                   key, row.name);
        if (r >= 0)
                r = check_attach(a, &row, "detach", what, volume, err);
        if (r >= 0) {
                log_info("Detaching %s %s from %s (%s)", volume ? "volume" : "NIC", key, row.name, row.state);
                r = launch(a, &row, "detach", json_pack("{s:s}", volume ? "volume" : "nic", key), NULL, NULL, ret_op, err);
        }
        zero_attachment_row_done(&att);
        zero_nic_row_done(&nic);
        zero_instance_row_done(&row);
        return r;
}
