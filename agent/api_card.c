/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The card's API: volumes and networks. Every change is an operation of the core's (the volume
 * and network services decide and record it: volume_service.h, network_service.h). A volume's
 * create and delete answer 202 with it; a resize, a QoS change and a network's create and delete
 * answer as they did when the card's op was synchronous (200, 201, 204, or the error), once their
 * operation ended: the request is parked meanwhile, and zerod's loop serves everyone else.
 */
#include <arpa/inet.h>
#include <string.h>

#include "agent/api.h"
#include "agent/card.h"
#include "agent/card_json.h"
#include "agent/card_spec.h"
#include "agent/network_service.h"
#include "agent/operation.h"
#include "agent/volume_service.h"
#include "common/log.h"
#include "common/text.h"
#include "common/util.h"

/* Replies the error of a failed check; returns r. */
static int reply_failed(struct zero_request *req, int r, const struct zero_error *err) {
        if (r < 0)
                zero_reply_zero_error(req, r, err);
        return r;
}

static int only_fields(struct zero_request *req, json_t *body, const char *const *known) {
        struct zero_error err = {};
        return reply_failed(req, zero_json_only_fields(body, known, &err), &err);
}

/* An optional integer field in [min, max]; *ret untouched when absent. */
static int int_field(struct zero_request *req, json_t *body, const char *key, int64_t min, int64_t max, int64_t *ret) {
        struct zero_error err = {};
        return reply_failed(req, zero_json_int_field(body, key, min, max, ret, &err), &err);
}

/* Replies the volume or network named name, or the error (404, 503). */
static void reply_volume_named(struct zero_request *req, unsigned status, const char *name, bool with_stats) {
        struct zero_error err = {};
        json_t *j = NULL;

        if (zero_volume_json(zero_request_agent(req), name, with_stats, &j, &err) < 0)
                return zero_reply_zero_error(req, -EIO, &err);
        zero_reply_json(req, status, j);
}

static void reply_network_named(struct zero_request *req, unsigned status, const char *name) {
        struct zero_error err = {};
        json_t *j = NULL;

        if (zero_network_json(zero_request_agent(req), name, &j, &err) < 0)
                return zero_reply_zero_error(req, -EIO, &err);
        zero_reply_json(req, status, j);
}

/* {"COLLECTION": [...], "next": NAME | null} and its Link header; takes arr. n is what the store
 * gave for a limit of p->limit + 1: one more than the page means there is a next one, after
 * next_name (the page's last). */
static void reply_page(struct zero_request *req, const char *collection, const struct zero_api_page *p, json_t *arr,
                       const char *next_name) {
        zero_reply_json(req, 200, json_pack("{s:o,s:o}", collection, arr, "next",
                                            next_name ? json_string(next_name) : json_null()));
        zero_api_link_next(req, collection, p, next_name);
}

static const char *vol_state_name(int i) {
        return zero_vol_state_name((enum zero_vol_state) i);
}

void zero_api_list_volumes(struct zero_request *req) {
        static const struct zero_api_page_rules rules = {.state_name = vol_state_name, .n_states = _ZERO_VOL_STATE_MAX};
        struct zero_agent *a = zero_request_agent(req);
        struct zero_volume_full *rows = NULL;
        struct zero_api_page p;
        size_t n = 0;
        json_t *arr;
        int r;

        if (zero_api_page_params(req, &rules, &p) < 0)
                return;
        r = zero_store_volume_list_full(a->store, &(struct zero_store_page){p.after, p.state, p.limit ? p.limit + 1 : 0},
                                        &rows, &n);
        if (r < 0)
                return zero_reply_error(req, 503, "busy", "cannot list volumes: %s", strerror(-r));
        bool more = p.limit && n > p.limit;
        arr = json_array();
        for (size_t i = 0; i < n && (!more || i < p.limit); i++)
                json_array_append_new(arr, zero_volume_to_json(a, &rows[i], false));
        reply_page(req, "volumes", &p, arr, more ? rows[p.limit - 1].vol.name : NULL);
        zero_volume_fulls_free(rows, n);
}

void zero_api_get_volume(struct zero_request *req) {
        reply_volume_named(req, 200, zero_request_param(req, 0), true);
}

void zero_api_post_volume(struct zero_request *req) {
        struct zero_error err = {};
        struct zero_op *op = NULL;
        int r = zero_volume_create(zero_request_agent(req), zero_request_body(req), &op, &err);

        (void) zero_api_reply_op(req, r, op, &err);
}

void zero_api_delete_volume(struct zero_request *req) {
        struct zero_error err = {};
        struct zero_op *op = NULL;
        int r = zero_volume_delete(zero_request_agent(req), zero_request_param(req, 0), &op, &err);

        (void) zero_api_reply_op(req, r, op, &err);
}

/* A change that succeeded: the volume as it is now (200), as when the change was synchronous. */
static void reply_volume(struct zero_request *req, const struct zero_operation_row *op) {
        json_auto_t *params = op->params ? json_loads(op->params, 0, NULL) : NULL;

        reply_volume_named(req, 200, strempty(json_string_value(json_object_get(params, "volume"))), false);
}

static const struct zero_api_answer volume_answer = {reply_volume};

void zero_api_resize_volume(struct zero_request *req) {
        static const char *const known[] = {"size_bytes", NULL};
        json_t *body = zero_request_body(req);
        struct zero_error err = {};
        struct zero_op *op = NULL;
        int64_t size = 0;
        int r;

        if (only_fields(req, body, known) < 0)
                return;
        if ((r = int_field(req, body, "size_bytes", ZERO_VOLUME_SIZE_MIN, ZERO_VOLUME_SIZE_MAX, &size)) <= 0) {
                if (r == 0)
                        zero_reply_error(req, 422, "invalid", "size_bytes is required");
                return;
        }
        r = zero_volume_resize(zero_request_agent(req), zero_request_param(req, 0), size, &op, &err);
        (void) zero_api_answer_when_ended(req, r, op, &err, &volume_answer);
}

void zero_api_put_volume_qos(struct zero_request *req) {
        static const char *const known[] = {"iops", "bps", NULL};
        json_t *body = zero_request_body(req);
        struct zero_error err = {};
        struct zero_op *op = NULL;
        int64_t iops = -1, bps = -1;
        int r;

        if (only_fields(req, body, known) < 0 || int_field(req, body, "iops", 0, 1000000000, &iops) < 0 ||
            int_field(req, body, "bps", 0, INT64_MAX, &bps) < 0)
                return;
        if (iops < 0 && bps < 0)
                return zero_reply_error(req, 422, "invalid", "iops or bps is required (0 lifts a limit)");
        r = zero_volume_set_qos(zero_request_agent(req), zero_request_param(req, 0), iops, bps, &op, &err);
        (void) zero_api_answer_when_ended(req, r, op, &err, &volume_answer);
}

/* --- networks --- */

static const char *net_state_name(int i) {
        return zero_net_state_name((enum zero_net_state) i);
}

void zero_api_list_networks(struct zero_request *req) {
        static const struct zero_api_page_rules rules = {.state_name = net_state_name, .n_states = _ZERO_NET_STATE_MAX};
        struct zero_agent *a = zero_request_agent(req);
        struct zero_network_full *rows = NULL;
        struct zero_api_page p;
        size_t n = 0;
        json_t *arr;
        int r;

        if (zero_api_page_params(req, &rules, &p) < 0)
                return;
        r = zero_store_network_list_full(a->store, &(struct zero_store_page){p.after, p.state, p.limit ? p.limit + 1 : 0},
                                         &rows, &n);
        if (r < 0)
                return zero_reply_error(req, 503, "busy", "cannot list networks: %s", strerror(-r));
        bool more = p.limit && n > p.limit;
        arr = json_array();
        for (size_t i = 0; i < n && (!more || i < p.limit); i++)
                json_array_append_new(arr, zero_network_to_json(&rows[i]));
        reply_page(req, "networks", &p, arr, more ? rows[p.limit - 1].net.name : NULL);
        zero_network_fulls_free(rows, n);
}

void zero_api_get_network(struct zero_request *req) {
        reply_network_named(req, 200, zero_request_param(req, 0));
}

/* A network made: 201 with it, as when the card made it inside the request. */
static void reply_network_made(struct zero_request *req, const struct zero_operation_row *op) {
        json_auto_t *params = op->params ? json_loads(op->params, 0, NULL) : NULL;

        reply_network_named(req, 201, strempty(json_string_value(json_object_get(params, "network"))));
}

static void reply_network_gone(struct zero_request *req, const struct zero_operation_row *op) {
        zero_reply_empty(req, 204);
}

void zero_api_post_network(struct zero_request *req) {
        static const struct zero_api_answer answer = {reply_network_made};
        struct zero_error err = {};
        struct zero_op *op = NULL;
        int r = zero_network_create(zero_request_agent(req), zero_request_body(req), &op, &err);

        (void) zero_api_answer_when_ended(req, r, op, &err, &answer);
}

void zero_api_delete_network(struct zero_request *req) {
        static const struct zero_api_answer answer = {reply_network_gone};
        struct zero_error err = {};
        struct zero_op *op = NULL;
        int r = zero_network_delete(zero_request_agent(req), zero_request_param(req, 0), &op, &err);

        (void) zero_api_answer_when_ended(req, r, op, &err, &answer);
}
