/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The HTTP API v1: one route table, one handler per route. Handlers validate everything before
 * they change anything; long actions become operations answered with 202 and a Location.
 */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "agent/agent.h"
#include "agent/api.h"
#include "agent/durable.h"
#include "agent/http.h"
#include "agent/instance_service.h"
#include "agent/operation.h"
#include "common/log.h"
#include "common/text.h"
#include "common/util.h"

#define WAIT_MAX_S 300

void zero_api_store_error(struct zero_request *req, int r, const char *what) {
        struct zero_error err = {};

        zero_reply_zero_error(req, zero_error_store(&err, r, what), &err);
}

static void reply_accepted(struct zero_request *req, const struct zero_operation_row *row);

static void on_durable_wake(struct zero_request *req, bool timed_out, const void *userdata) {
        if (timed_out)
                log_warning("%s: the operation's row was not synced in %d s: answered all the same",
                            zero_request_wake_key(req), WAIT_MAX_S);
}

/* The 202 is made now and sent once the operation is durable (operation.h): parked until then,
 * or, with no room to park it, after a sync on the loop. */
static void reply_accepted_durable(struct zero_request *req, struct zero_op *op) {
        char key[ZERO_OP_WAKE_KEY_MAX];

        reply_accepted(req, &op->row);
        if (zero_op_durable(op))
                return;
        zero_op_durable_key(key, op->row.id);
        if (zero_request_suspend(req, key, (uint64_t) WAIT_MAX_S * USEC_PER_SEC, on_durable_wake, NULL) < 0)
                zero_durable_flush(zero_request_agent(req)->durable);
}

int zero_api_reply_op(struct zero_request *req, int r, struct zero_op *op, const struct zero_error *err) {
        if (r < 0) {
                zero_reply_zero_error(req, r, err);
                return r;
        }
        reply_accepted_durable(req, op);
        return 0;
}

/* --- instances --- */

int zero_api_load_instance(struct zero_request *req, struct zero_instance_row *row) {
        struct zero_error err = {};
        int r = zero_instance_load(zero_request_agent(req), zero_request_param(req, 0), row, &err);

        if (r < 0)
                zero_reply_zero_error(req, r, &err);
        return r;
}

json_t *zero_api_require_body(struct zero_request *req, const char *shape) {
        json_t *body = zero_request_body(req);

        if (!body)
                zero_reply_error(req, 400, "malformed", "a JSON body is required%s%s", shape ? ": " : "",
                                 strempty(shape));
        return body;
}

void zero_api_post_op(struct zero_request *req, zero_api_body_core_fn core) {
        json_t *body = zero_api_require_body(req, NULL);
        struct zero_error err = {};
        struct zero_op *op = NULL;
        int r;

        if (!body)
                return;
        r = core(zero_request_agent(req), body, &op, &err);
        (void) zero_api_reply_op(req, r, op, &err);
}

static void post_instance(struct zero_request *req) {
        zero_api_post_op(req, zero_instance_create);
}

/* start, stop, restart, delete: the core decides (instance_service.h); takes params. */
static void instance_action(struct zero_request *req, const char *kind, json_t *params) {
        struct zero_error err = {};
        struct zero_op *op = NULL;
        int r = zero_instance_act(zero_request_agent(req), zero_request_param(req, 0), kind, params, &op, &err);

        (void) zero_api_reply_op(req, r, op, &err);
}

/* Reads optional {"timeout_s": N, "force": bool} (stop, delete) from the body or the query. */
static int stop_params(struct zero_request *req, const char *extra, json_t **ret) {
        json_t *body = zero_request_body(req), *p = json_object(), *v;
        const char *q;
        const char *key;

        if (body)
                json_object_foreach(body, key, v) {
                        if (streq(key, "timeout_s") && json_is_integer(v) && json_integer_value(v) >= 0 &&
                            json_integer_value(v) <= 3600)
                                json_object_set(p, key, v);
                        else if (streq(key, "force") && json_is_boolean(v))
                                json_object_set(p, key, v);
                        else if (extra && (streq(key, extra) || (streq(extra, "mode") && streq(key, "evict"))) &&
                                 json_is_string(v))
                                continue; /* the caller's (a switch's: its mode and evict) */
                        else {
                                json_decref(p);
                                zero_reply_error(req, 422, "invalid",
                                                 "'%s': expected timeout_s (0..3600) or force (true/false)%s%s", ZERO_QUOTE(key),
                                                 extra ? " or " : "", extra ? (streq(extra, "mode") ? "mode, evict" : extra) : "");
                                return -EINVAL;
                        }
                }
        if ((q = zero_request_query(req, "force")))
                json_object_set_new(p, "force", json_boolean(streq(q, "true") || streq(q, "1")));
        if ((q = zero_request_query(req, "timeout_s"))) {
                int64_t t;
                if (zero_parse_int64(q, 0, 3600, &t) < 0) {
                        json_decref(p);
                        zero_reply_error(req, 422, "invalid", "timeout_s: expected 0..3600");
                        return -EINVAL;
                }
                json_object_set_new(p, "timeout_s", json_integer(t));
        }
        *ret = p;
        return 0;
}

/* POST /v1/instances/{name}/start [{"evict": "stop"}]: the core checks the value (node_owner.h). */
static void start_instance(struct zero_request *req) {
        json_t *body = zero_request_body(req), *v;
        const char *key;

        json_object_foreach(body, key, v) {
                if (!streq(key, "evict"))
                        return zero_reply_error(req, 422, "invalid", "'%s': expected evict (\"stop\")", ZERO_QUOTE(key));
        }
        v = json_object_get(body, "evict");
        instance_action(req, "start", v ? json_pack("{s:O}", "evict", v) : NULL);
}

static void stop_instance(struct zero_request *req) {
        json_t *p;
        if (stop_params(req, NULL, &p) >= 0)
                instance_action(req, "stop", p);
}

/* POST /v1/instances/{name}/switch {"mode", "timeout_s", "force", "evict"}: the same instance in
 * another mode, with its volumes and NICs; running before, running after. "evict": "stop" as a
 * start's, for a mode that needs the node to itself (node_owner.h). */
static void switch_instance(struct zero_request *req) {
        struct zero_agent *a = zero_request_agent(req);
        const char *name = zero_request_param(req, 0);
        const char *mode = json_string_value(json_object_get(zero_request_body(req), "mode"));
        struct zero_error err = {};
        struct zero_op *op = NULL;
        json_t *p = NULL;
        int r;

        if (!mode)
                return zero_reply_error(req, 422, "invalid", "mode: \"vm\", \"container\" or \"bms\" is required");
        r = zero_instance_switch_check(a, name, mode, &err);
        if (r < 0)
                return zero_reply_zero_error(req, r, &err);
        if (stop_params(req, "mode", &p) < 0)
                return;
        if (json_object_get(zero_request_body(req), "evict"))
                json_object_set(p, "evict", json_object_get(zero_request_body(req), "evict"));
        r = zero_instance_switch(a, name, mode, p, &op, &err);
        (void) zero_api_reply_op(req, r, op, &err);
}

static void restart_instance(struct zero_request *req) {
        json_t *p;
        if (stop_params(req, NULL, &p) >= 0)
                instance_action(req, "restart", p);
}

static void delete_instance(struct zero_request *req) {
        const char *q = zero_request_query(req, "delete_volumes");
        json_t *p;

        if (q && !streq(q, "true") && !streq(q, "false") && !streq(q, "1") && !streq(q, "0"))
                return zero_reply_error(req, 422, "invalid", "delete_volumes: expected true or false");
        if (stop_params(req, NULL, &p) < 0)
                return;
        /* The root volume made from the image goes with the instance unless told otherwise;
         * volumes it was given are never deleted with it. */
        json_object_set_new(p, "delete_volumes", json_boolean(!q || streq(q, "true") || streq(q, "1")));
        instance_action(req, "delete", p);
}

/* --- operations --- */

void zero_api_reply_operation(struct zero_request *req, const char *id) {
        struct zero_agent *a = zero_request_agent(req);
        struct zero_operation_row row = {};
        int r = zero_store_operation_get(a->store, id, &row);

        if (r == -ENOENT)
                return zero_reply_error(req, 404, "not_found", "no operation '%s'", ZERO_QUOTE(id));
        if (r < 0)
                return zero_api_store_error(req, r, "reading operation");
        json_t *j = zero_op_row_to_json(&row);
        json_t *progress = zero_op_progress_json(a, id);
        /* What the step under way reports (a migration's RAM sent, dirty rate, expected downtime). */
        if (j && progress)
                json_object_set(j, "progress", progress);
        json_decref(progress);
        zero_reply_json(req, 200, j);
        zero_operation_row_done(&row);
}

/* Whether a long-poll on the operation of row has what it waits for: the end, or with ?step=
 * that step (or a later one). */
static bool operation_wait_over(struct zero_request *req, const struct zero_operation_row *row) {
        const char *step = zero_request_query(req, "step");

        return zero_op_status_from_name(row->status) != ZERO_OP_RUNNING || (step && zero_op_row_reached(row, step));
}

/* The end of the operation, or the step a ?step= long-poll waits for (its key ID@STEP): either
 * way the wait is over, and the operation as it stands is the answer. */
static void on_operation_wake(struct zero_request *req, bool timed_out, const void *userdata) {
        zero_api_reply_operation(req, zero_request_param(req, 0));
}

/* Too many requests parked: the caller retries, or polls. */
static void reply_too_many_parked(struct zero_request *req) {
        zero_reply_error(req, 503, "busy", "too many requests are waiting already (at most %lld): retry, or poll without wait",
                         (long long) zero_request_agent(req)->config->max_parked);
        zero_reply_header(req, "Retry-After", "1");
}

/* 202 with the operation and its Location. */
static void reply_accepted(struct zero_request *req, const struct zero_operation_row *row) {
        char loc[64];

        snprintf(loc, sizeof(loc), "/v1/operations/%s", row->id);
        zero_reply_json(req, 202, zero_op_row_to_json(row));
        zero_reply_header(req, "Location", loc);
}

static void on_answer_wake(struct zero_request *req, bool timed_out, const void *userdata) {
        const struct zero_api_answer *answer = userdata;
        struct zero_agent *a = zero_request_agent(req);
        struct zero_operation_row row = {};
        struct zero_error err = {};
        int r = zero_store_operation_get(a->store, zero_request_wake_key(req), &row);

        if (r < 0)
                zero_api_store_error(req, r, "reading the operation");
        else if (zero_op_status_from_name(row.status) == ZERO_OP_RUNNING)
                reply_accepted(req, &row); /* past the wait: it goes on, and says how it went there */
        else if (zero_op_status_from_name(row.status) == ZERO_OP_FAILED) {
                err.code = zero_errc_from_name(row.error_code);
                snprintf(err.message, sizeof(err.message), "%s", strempty(row.error_message));
                zero_reply_zero_error(req, -EIO, &err);
        } else
                answer->succeeded(req, &row);
        zero_operation_row_done(&row);
}

int zero_api_answer_when_ended(struct zero_request *req, int r, struct zero_op *op, const struct zero_error *err,
                               const struct zero_api_answer *answer) {
        if (r < 0) {
                zero_reply_zero_error(req, r, err);
                return r;
        }
        /* The operation runs from a defer once durable: it cannot have ended yet. */
        r = zero_request_suspend(req, op->row.id, (uint64_t) WAIT_MAX_S * USEC_PER_SEC, on_answer_wake, answer);
        if (r < 0)
                reply_accepted_durable(req, op); /* it runs anyway: the caller follows its Location */
        return 0;
}

static void get_operation(struct zero_request *req) {
        struct zero_agent *a = zero_request_agent(req);
        const char *id = zero_request_param(req, 0);
        const char *q = zero_request_query(req, "wait");
        const char *step = zero_request_query(req, "step");
        struct zero_operation_row row = {};
        int64_t wait = 0;
        int r;

        if (q && zero_parse_int64(q, 0, WAIT_MAX_S, &wait) < 0)
                return zero_reply_error(req, 422, "invalid", "wait: expected 0..%d seconds", WAIT_MAX_S);
        r = zero_store_operation_get(a->store, id, &row);
        if (r >= 0 && step && !zero_op_kind_has_step(row.kind, step)) {
                zero_operation_row_done(&row);
                return zero_reply_error(req, 422, "invalid", "step: %s has no step %s", row.kind, ZERO_QUOTE(step));
        }
        if (r >= 0 && wait > 0 && !operation_wait_over(req, &row)) {
                char key[ZERO_OP_WAKE_KEY_MAX];

                zero_operation_row_done(&row);
                /* Woken by the end (key: the id), or by the step (ID@STEP: operation.c publishes it
                 * for every step reached, and for all of them at the end). */
                if (step)
                        snprintf(key, sizeof(key), "%s@%s", id, step);
                else
                        snprintf(key, sizeof(key), "%s", id);
                r = zero_request_suspend(req, key, (uint64_t) wait * USEC_PER_SEC, on_operation_wake, NULL);
                if (r >= 0)
                        return;
                if (r == -EBUSY)
                        return reply_too_many_parked(req);
        }
        zero_operation_row_done(&row);
        zero_api_reply_operation(req, id);
}

/* GET /v1/operations?limit=&after=ID&status=&instance=NAME: the operations in the order they
 * were made, 100 a page unless asked (they are kept: the list only grows). */
static const char *op_status_name(int i) {
        return zero_op_status_name((enum zero_op_status) i);
}

static void list_operations(struct zero_request *req) {
        static const struct zero_api_page_rules rules = {
                .state_name = op_status_name, .n_states = _ZERO_OP_STATUS_MAX, .state_key = "status", .default_limit = 100};
        struct zero_agent *a = zero_request_agent(req);
        const char *instance = zero_request_query(req, "instance");
        struct zero_operation_row *rows = NULL;
        struct zero_api_page p;
        size_t n = 0;
        json_t *arr;
        int r;

        if (zero_api_page_params(req, &rules, &p) < 0)
                return;
        if (instance && !zero_name_is_valid(instance))
                return zero_reply_error(req, 422, "invalid", "instance: expected an instance's name");
        p.instance = instance;
        r = zero_store_operation_list_page(a->store, p.after, p.state, instance, p.limit + 1, &rows, &n);
        if (r == -ENOENT)
                return zero_reply_error(req, 422, "invalid", "after: no operation '%s'", ZERO_QUOTE(p.after));
        if (r < 0)
                return zero_api_store_error(req, r, "listing operations");
        bool more = n > p.limit;
        arr = json_array();
        for (size_t i = 0; i < n && i < p.limit; i++)
                json_array_append_new(arr, zero_op_row_to_json(&rows[i]));
        zero_reply_json(req, 200, json_pack("{s:o,s:o}", "operations", arr, "next",
                                            more ? json_string(rows[p.limit - 1].id) : json_null()));
        zero_api_link_next(req, "operations", &p, more ? rows[p.limit - 1].id : NULL);
        zero_operation_rows_free(rows, n);
}

/* GETs take no body; everything else may take a JSON one. */
#define ROUTE_GET(p, f) {.method = "GET", .pattern = (p), .fn = (f)}
#define ROUTE_JSON(m, p, f) {.method = (m), .pattern = (p), .fn = (f), .body = ZERO_BODY_JSON}

const struct zero_route zero_api_routes[] = {
        ROUTE_GET("/v1/node", zero_api_get_node),
        ROUTE_GET("/v1/images", zero_api_list_images),
        {.method = "POST", .pattern = "/v1/images", .fn = zero_api_post_image, .body = ZERO_BODY_JSON | ZERO_BODY_UPLOAD,
         .upload = &zero_api_image_upload},
        ROUTE_GET("/v1/images/{}", zero_api_get_image),
        ROUTE_JSON("DELETE", "/v1/images/{}", zero_api_delete_image),
        ROUTE_GET("/v1/instances", zero_api_list_instances),
        ROUTE_JSON("POST", "/v1/instances", post_instance),
        ROUTE_GET("/v1/instances/{}", zero_api_get_instance),
        ROUTE_JSON("DELETE", "/v1/instances/{}", delete_instance),
        ROUTE_JSON("POST", "/v1/instances/{}/start", start_instance),
        ROUTE_JSON("POST", "/v1/instances/{}/stop", stop_instance),
        ROUTE_JSON("POST", "/v1/instances/{}/restart", restart_instance),
        ROUTE_JSON("POST", "/v1/instances/{}/switch", switch_instance),
        ROUTE_GET("/v1/instances/{}/console", zero_api_get_console),
        ROUTE_GET("/v1/instances/{}/attestation", zero_api_get_attestation),
        ROUTE_JSON("POST", "/v1/instances/{}/console", zero_api_attach_console),
        ROUTE_JSON("POST", "/v1/instances/{}/exec", zero_api_exec_instance),
        ROUTE_JSON("POST", "/v1/instances/{}/volumes", zero_api_attach_volume),
        ROUTE_JSON("DELETE", "/v1/instances/{}/volumes/{}", zero_api_detach_volume),
        ROUTE_JSON("POST", "/v1/instances/{}/nics", zero_api_attach_nic),
        ROUTE_JSON("DELETE", "/v1/instances/{}/nics/{}", zero_api_detach_nic),
        ROUTE_GET("/v1/operations", list_operations),
        ROUTE_GET("/v1/operations/{}", get_operation),
        ROUTE_JSON("DELETE", "/v1/operations/{}", zero_api_cancel_operation),
        ROUTE_JSON("POST", "/v1/instances/{}/migrate", zero_api_migrate_instance),
        ROUTE_JSON("POST", "/v1/migrations", zero_api_post_migration),
        ROUTE_JSON("POST", "/v1/migrations/{}/switchover", zero_api_migration_switchover),
        ROUTE_GET("/v1/events", zero_api_list_events),
        ROUTE_GET("/v1/volumes", zero_api_list_volumes),
        ROUTE_JSON("POST", "/v1/volumes", zero_api_post_volume),
        ROUTE_GET("/v1/volumes/{}", zero_api_get_volume),
        ROUTE_JSON("DELETE", "/v1/volumes/{}", zero_api_delete_volume),
        ROUTE_JSON("POST", "/v1/volumes/{}/resize", zero_api_resize_volume),
        ROUTE_JSON("PUT", "/v1/volumes/{}/qos", zero_api_put_volume_qos),
        ROUTE_GET("/v1/networks", zero_api_list_networks),
        ROUTE_JSON("POST", "/v1/networks", zero_api_post_network),
        ROUTE_GET("/v1/networks/{}", zero_api_get_network),
        ROUTE_JSON("DELETE", "/v1/networks/{}", zero_api_delete_network),
        ROUTE_GET("/metrics", zero_api_get_metrics),
        {.method = "GET", .pattern = "/v1/tokens", .fn = zero_api_list_tokens, .admin = true},
        ROUTE_JSON("POST", "/v1/tokens", zero_api_post_token),
        ROUTE_JSON("DELETE", "/v1/tokens/{}", zero_api_delete_token),
        {},
};
