/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The card's API for the tenant (tenant.c): the hand-over the host's zerod asks for, how the last
 * tenant ended (what zerod asks once it is back), and, while a tenant holds the host, the node as
 * zerod's API would show it (GET /v1/node, /v1/instances/NAME, its console: the host's serial
 * console), its stop and its switch to another mode, on the operator's socket: the host's zerod is
 * gone meanwhile.
 */
#include <string.h>

#include "card/card.h"
#include "card/host.h"
#include "card/store.h"
#include "common/util.h"

static const char *str(json_t *rec, const char *key) {
        return json_string_value(json_object_get(rec, key));
}

void zc_api_handover(struct zero_request *req) {
        struct zero_error err = {};
        struct zc_job *j = NULL;
        int r = zc_tenant_handover(zc_request_card(req), zero_request_body(req), &j, &err);

        zc_api_answer_job(req, r, j, &err, 200, false);
}

void zc_api_get_tenant(struct zero_request *req) {
        zero_reply_json(req, 200, zc_tenant_json(zc_request_card(req)));
}

/* The tenant named NAME, or a reply (NULL). */
static json_t *tenant_named(struct zero_request *req) {
        json_t *t = zc_tenant(zc_request_card(req));
        const char *name = zero_request_param(req, 0);

        if (!t) {
                zero_reply_error(req, 409, "wrong_state",
                                 "no tenant holds the host: the host's zerod answers for the node");
                return NULL;
        }
        if (name && !streq(name, strempty(str(t, "name")))) {
                zero_reply_error(req, 404, "not_found", "the host is bms instance %s's: no instance %s runs",
                                 strempty(str(t, "name")), name);
                return NULL;
        }
        return t;
}

static json_t *instance_json(json_t *t) {
        const char *state = str(t, "state");

        return json_pack("{s:s,s:s,s:s,s:s,s:O,s:O,s:I,s:s}", "id", strempty(str(t, "instance")), "name",
                         strempty(str(t, "name")), "mode", "bms", "state",
                         streq(strempty(state), "taking_back") ? "stopping" : "running", "volumes",
                         json_object_get(t, "volumes"), "nics", json_object_get(t, "nics"), "since",
                         json_integer_value(json_object_get(t, "since")), "answered_by", "card");
}

void zc_api_node(struct zero_request *req) {
        json_t *t = tenant_named(req);

        if (t)
                zero_reply_json(req, 200,
                                json_pack("{s:s,s:s,s:o,s:s}", "mode", "bms", "held_by", strempty(str(t, "name")),
                                          "instance", instance_json(t), "answered_by", "card"));
}

void zc_api_instance(struct zero_request *req) {
        json_t *t = tenant_named(req);

        if (t)
                zero_reply_json(req, 200, instance_json(t));
}

void zc_api_instance_console(struct zero_request *req) {
        if (tenant_named(req))
                zc_api_reply_console(req);
}

bool zc_api_is_tenant_route(const struct zero_route *route) {
        return route && (route->fn == zc_api_node || route->fn == zc_api_instance ||
                         route->fn == zc_api_instance_console || route->fn == zc_api_instance_stop ||
                         route->fn == zc_api_instance_switch || route->fn == zc_api_operation);
}

/* A stop or switch asked of the card. At the orchestrator's address (ZERO_URL) it is zerod's API:
 * 202 with the operation and its Location, as zerod answers every verb. On the operator's socket
 * it is the card's: answered once its job ended (the take-back's record, which names the
 * operation too), as every call of the card's API is. */
static void answer_operation(struct zero_request *req, int r, json_t *op, struct zc_job *j,
                             const struct zero_error *err) {
        _cleanup_free_ char *location = NULL;

        if (r < 0)
                return zero_reply_zero_error(req, r, err);
        if (zero_request_listener(req) != ZC_LISTENER_ORCHESTRATOR) {
                json_decref(op);
                return zc_api_answer_job(req, 0, j, NULL, 200, false);
        }
        location = zero_strdup_printf("/v1/operations/%s", strempty(str(op, "id")));
        if (location)
                zero_reply_header(req, "Location", location);
        zero_reply_json(req, 202, op);
}

void zc_api_instance_stop(struct zero_request *req) {
        struct zero_error err = {};
        struct zc_job *j = NULL;
        json_t *op = NULL;
        int r;

        if (!tenant_named(req))
                return;
        r = zc_tenant_stop(zc_request_card(req), zero_request_body(req), NULL, zero_request_actor(req), &op, &j, &err);
        answer_operation(req, r, op, j, &err);
}

/* GET /v1/operations/ID: the card's own (a stop's or switch's), the hand-over's while the tenant
 * runs; zerod's others are zerod's (404 here). ?wait is not waited for: the answer comes at once. */
void zc_api_operation(struct zero_request *req) {
        struct zc *zc = zc_request_card(req);
        const char *id = zero_request_param(req, 0);
        json_t *op = zc_tenant_operation_json(zc, id);

        if (op)
                return zero_reply_json(req, 200, op);
        if (!zc_tenant(zc))
                return zero_reply_error(req, 409, "wrong_state",
                                        "no tenant holds the host: the host's zerod answers for the node");
        zero_reply_error(req, 404, "not_found", "no operation %s on the card: the host's zerod has its others", id);
}

/* A mode's name as zerod's plugins have them: a short lowercase word. */
static bool mode_name_ok(const char *m) {
        size_t n = m ? strlen(m) : 0;

        if (n == 0 || n > 32)
                return false;
        for (size_t i = 0; i < n; i++)
                if (!((m[i] >= 'a' && m[i] <= 'z') || (m[i] >= '0' && m[i] <= '9') || m[i] == '_' || m[i] == '-'))
                        return false;
        return true;
}

/* POST /v1/instances/NAME/switch {"mode", "timeout_s"?, "force"?}: the tenant stopped as by its
 * stop, and the mode recorded for the host's zerod, which switches the instance to it once it is
 * back (what mode runs where is zerod's to say: a mode it lacks fails its switch there, and the
 * instance stays a stopped bms one). Answered as the stop is (answer_operation). */
void zc_api_instance_switch(struct zero_request *req) {
        const char *mode = json_string_value(json_object_get(zero_request_body(req), "mode"));
        struct zero_error err = {};
        struct zc_job *j = NULL;
        json_t *op = NULL;
        int r;

        if (!tenant_named(req))
                return;
        if (!mode_name_ok(mode))
                return zero_reply_error(req, 422, "invalid", "mode: the mode to switch to (\"container\", \"vm\") is required");
        if (streq(mode, "bms"))
                return zero_reply_error(req, 409, "wrong_state", "'%s' is a bms instance already",
                                        strempty(str(zc_tenant(zc_request_card(req)), "name")));
        r = zc_tenant_stop(zc_request_card(req), zero_request_body(req), mode, zero_request_actor(req), &op, &j, &err);
        answer_operation(req, r, op, j, &err);
}
