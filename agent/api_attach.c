/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Online configuration: a volume or a NIC added to or removed from an existing instance.
 *
 *   POST   /v1/instances/{name}/volumes          {"name", "path", "personality"}
 *   DELETE /v1/instances/{name}/volumes/{volume}
 *   POST   /v1/instances/{name}/nics             {"network", "ip", "mac"}
 *   DELETE /v1/instances/{name}/nics/{nic id}
 *
 * Each is an operation (202): "attach" records the attachment (or the NIC, with its address) in
 * the same transaction as the operation, then plugs it into the running instance; "detach"
 * unplugs it, then forgets it. A stopped instance only changes in the store, and its next start
 * has the new set. A running instance whose plugin cannot plug (containers: a mount or a veth
 * cannot be added to a running OCI container in a way that survives its restart) answers 409.
 */
#include <string.h>

#include "agent/agent.h"
#include "agent/api.h"
#include "agent/card.h"
#include "agent/operation.h"
#include "agent/plugin_loader.h"
#include "common/log.h"
#include "common/text.h"
#include "common/util.h"

static bool instance_runs(const struct zero_instance_row *row) {
        return streq(row->state, "running") || streq(row->state, "paused");
}

/* The checks both directions share: no operation in flight, a state that allows it, a plugin
 * that can do it while the instance runs. Replies itself on failure. */
static int check_instance(struct zero_request *req, const struct zero_instance_row *row, const char *what,
                          bool volume) {
        struct zero_agent *a = zero_request_agent(req);
        struct zero_operation_row running = {};
        const struct zero_loaded_plugin *lp = zero_plugins_find(a->plugins, row->mode);
        bool can;

        if (zero_store_operation_running_for(a->store, row->id, &running) >= 0) {
                zero_reply_error(req, 409, "busy", "operation %s (%s) is in progress on '%s'", running.id, running.kind,
                                 row->name);
                zero_operation_row_done(&running);
                return -EBUSY;
        }
        if (!instance_runs(row) && !streq(row->state, "stopped") && !streq(row->state, "error")) {
                zero_reply_error(req, 409, "wrong_state", "cannot %s while '%s' is %s", what, row->name, row->state);
                return -EBUSY;
        }
        if (!instance_runs(row))
                return 0;
        can = lp && (volume ? ZERO_PLUGIN_HAS(lp->plugin, plug_volume) && ZERO_PLUGIN_HAS(lp->plugin, unplug_volume)
                            : ZERO_PLUGIN_HAS(lp->plugin, plug_nic) && ZERO_PLUGIN_HAS(lp->plugin, unplug_nic));
        if (!can) {
                log_info("Refusing to %s: %s instance %s is %s", what, row->mode, row->name, row->state);
                zero_reply_error(req, 409, "wrong_state",
                                 "cannot %s while the %s '%s' is %s: a %s's %s change only while it is stopped", what,
                                 row->mode, row->name, row->state, row->mode, volume ? "volumes" : "NICs");
                return -EBUSY;
        }
        return 0;
}

static void attach(struct zero_request *req, bool volume) {
        struct zero_agent *a = zero_request_agent(req);
        json_t *body = zero_request_body(req);
        struct zero_instance_row row = {};
        struct zero_card_plan plan = {};
        struct zero_error err = {};
        struct zero_op *op = NULL;
        const char *what = volume ? "attach a volume" : "attach a NIC";
        int r;

        if (!json_is_object(body))
                return zero_reply_error(req, 422, "invalid", "a JSON object is expected: %s",
                                        volume ? "{\"name\", \"path\", \"personality\"}" : "{\"network\", \"ip\", \"mac\"}");
        if (zero_api_load_instance(req, &row) < 0)
                return;
        if (check_instance(req, &row, what, volume) < 0)
                goto out;
        r = zero_card_plan_attach(a, &row, volume ? body : NULL, volume ? NULL : body, &plan, &err);
        if (r < 0) {
                zero_reply_zero_error(req, r, &err);
                goto out;
        }
        r = zero_op_new(a, "attach",  &row,
                        volume ? json_pack("{s:s}", "volume", plan.atts[0].volume)
                               : json_pack("{s:s}", "nic", plan.nics[0].id),
                        &op);
        if (r < 0) {
                zero_reply_error(req, 500, "internal", "cannot create the operation: %s", strerror(-r));
                goto out;
        }
        log_info("Attaching %s %s to %s (%s)", volume ? "volume" : "NIC",
                 volume ? plan.atts[0].volume : plan.nics[0].id, row.name, row.state);
        (void) zero_api_record_and_launch(req, NULL, &plan, NULL, op);
out:
        zero_card_plan_done(&plan);
        zero_instance_row_done(&row);
}

static void detach(struct zero_request *req, bool volume) {
        struct zero_agent *a = zero_request_agent(req);
        const char *key = zero_request_param(req, 1);
        struct zero_instance_row row = {};
        struct zero_attachment_row att = {};
        struct zero_nic_row nic = {};
        struct zero_op *op = NULL;
        const char *what = volume ? "detach a volume" : "detach a NIC";
        int r;

        if (zero_api_load_instance(req, &row) < 0)
                return;
        r = volume ? zero_store_attachment_get(a->store, key, &att) : zero_store_nic_get(a->store, key, &nic);
        if (r >= 0 && !streq(strempty(volume ? att.instance_id : nic.instance_id), row.id))
                r = -ENOENT;
        if (r < 0) {
                zero_reply_error(req, r == -ENOENT ? 404 : 503, r == -ENOENT ? "not_found" : "busy",
                                 "'%s' has no %s '%s'", row.name, volume ? "volume" : "NIC", ZERO_QUOTE(key));
                goto out;
        }
        if (volume && streq(att.role, "root")) {
                zero_reply_error(req, 409, "conflict", "'%s' is the root volume of '%s': it cannot be detached", key,
                                 row.name);
                goto out;
        }
        if (check_instance(req, &row, what, volume) < 0)
                goto out;
        r = zero_op_new(a, "detach", &row, json_pack("{s:s}", volume ? "volume" : "nic", key), &op);
        if (r < 0) {
                zero_reply_error(req, 500, "internal", "cannot create the operation: %s", strerror(-r));
                goto out;
        }
        log_info("Detaching %s %s from %s (%s)", volume ? "volume" : "NIC", key, row.name, row.state);
        (void) zero_api_record_and_launch(req, NULL, NULL, NULL, op);
out:
        zero_attachment_row_done(&att);
        zero_nic_row_done(&nic);
        zero_instance_row_done(&row);
}

void zero_api_attach_volume(struct zero_request *req) {
        attach(req, true);
}

void zero_api_detach_volume(struct zero_request *req) {
        detach(req, true);
}

void zero_api_attach_nic(struct zero_request *req) {
        attach(req, false);
}

void zero_api_detach_nic(struct zero_request *req) {
        detach(req, false);
}
