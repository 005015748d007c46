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

static int load_volume(struct zero_request *req, struct zero_volume_row *row) {
        struct zero_error err = {};
        int r = zero_volume_load(zero_request_agent(req), zero_request_param(req, 0), row, &err);

        if (r < 0)
                zero_reply_zero_error(req, r, &err);
        return r;
}

void zero_api_list_volumes(struct zero_request *req) {
        struct zero_agent *a = zero_request_agent(req);
        struct zero_volume_row *rows = NULL;
        size_t n = 0;
        json_t *arr;
        int r = zero_store_volume_list(a->store, &rows, &n);

        if (r < 0)
                return zero_reply_error(req, 503, "busy", "cannot list volumes: %s", strerror(-r));
        arr = json_array();
        for (size_t i = 0; i < n; i++)
                json_array_append_new(arr, zero_volume_to_json(a, &rows[i], false));
        zero_volume_rows_free(rows, n);
        zero_reply_json(req, 200, json_pack("{s:o}", "volumes", arr));
}

void zero_api_get_volume(struct zero_request *req) {
        struct zero_volume_row row = {};

        if (load_volume(req, &row) < 0)
                return;
        zero_reply_json(req, 200, zero_volume_to_json(zero_request_agent(req), &row, true));
        zero_volume_row_done(&row);
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
        struct zero_agent *a = zero_request_agent(req);
        json_auto_t *params = op->params ? json_loads(op->params, 0, NULL) : NULL;
        const char *name = json_string_value(json_object_get(params, "volume"));
        struct zero_volume_row row = {};
        struct zero_error err = {};
        int r = zero_volume_load(a, strempty(name), &row, &err);

        if (r < 0)
                return zero_reply_zero_error(req, r, &err);
        zero_reply_json(req, 200, zero_volume_to_json(a, &row, false));
        zero_volume_row_done(&row);
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

static int load_network(struct zero_request *req, struct zero_network_row *row) {
        struct zero_error err = {};
        int r = zero_network_load(zero_request_agent(req), zero_request_param(req, 0), row, &err);

        if (r < 0)
                zero_reply_zero_error(req, r, &err);
        return r;
}

void zero_api_list_networks(struct zero_request *req) {
        struct zero_agent *a = zero_request_agent(req);
        struct zero_network_row *rows = NULL;
        size_t n = 0;
        json_t *arr;
        int r = zero_store_network_list(a->store, &rows, &n);

        if (r < 0)
                return zero_reply_error(req, 503, "busy", "cannot list networks: %s", strerror(-r));
        arr = json_array();
        for (size_t i = 0; i < n; i++)
                json_array_append_new(arr, zero_network_to_json(a, &rows[i]));
        zero_network_rows_free(rows, n);
        zero_reply_json(req, 200, json_pack("{s:o}", "networks", arr));
}

void zero_api_get_network(struct zero_request *req) {
        struct zero_network_row row = {};

        if (load_network(req, &row) < 0)
                return;
        zero_reply_json(req, 200, zero_network_to_json(zero_request_agent(req), &row));
        zero_network_row_done(&row);
}

/* A network made: 201 with it, as when the card made it inside the request. */
static void reply_network_made(struct zero_request *req, const struct zero_operation_row *op) {
        struct zero_agent *a = zero_request_agent(req);
        json_auto_t *params = op->params ? json_loads(op->params, 0, NULL) : NULL;
        const char *name = json_string_value(json_object_get(params, "network"));
        struct zero_network_row row = {};
        struct zero_error err = {};
        int r = zero_network_load(a, strempty(name), &row, &err);

        if (r < 0)
                return zero_reply_zero_error(req, r, &err);
        zero_reply_json(req, 201, zero_network_to_json(a, &row));
        zero_network_row_done(&row);
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
