/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The card's API: volumes and networks. A volume's create and delete answer 202 with an operation
 * (the volume service decides and records it: volume_service.h). The rest is one driver call of
 * a few milliseconds (a resize, QoS, a bridge) and answers at once (200, 201, 204).
 */
#include <arpa/inet.h>
#include <string.h>

#include "agent/api.h"
#include "agent/card.h"
#include "agent/card_json.h"
#include "agent/card_spec.h"
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

/* Applies a change to a volume (the core's: volume_service.h), then shows it. */
static void volume_change(struct zero_request *req, struct zero_volume_row *row, bool resize, int64_t new_size) {
        struct zero_error err = {};
        int r = zero_volume_change(zero_request_agent(req), row, resize, new_size, &err);

        if (r < 0)
                return zero_reply_zero_error(req, r, &err);
        zero_reply_json(req, 200, zero_volume_to_json(zero_request_agent(req), row, false));
}

void zero_api_resize_volume(struct zero_request *req) {
        static const char *const known[] = {"size_bytes", NULL};
        json_t *body = zero_request_body(req);
        struct zero_volume_row row = {};
        int64_t size = 0;
        int r;

        if (only_fields(req, body, known) < 0)
                return;
        if ((r = int_field(req, body, "size_bytes", ZERO_VOLUME_SIZE_MIN, ZERO_VOLUME_SIZE_MAX, &size)) <= 0) {
                if (r == 0)
                        zero_reply_error(req, 422, "invalid", "size_bytes is required");
                return;
        }
        if (load_volume(req, &row) < 0)
                return;
        if (size < row.size_bytes)
                zero_reply_error(req, 422, "invalid", "size_bytes: volumes only grow (now %lld bytes)",
                                 (long long) row.size_bytes);
        else
                volume_change(req, &row, true, size);
        zero_volume_row_done(&row);
}

void zero_api_put_volume_qos(struct zero_request *req) {
        static const char *const known[] = {"iops", "bps", NULL};
        json_t *body = zero_request_body(req);
        struct zero_volume_row row = {};
        int64_t iops = -1, bps = -1;

        if (only_fields(req, body, known) < 0 || int_field(req, body, "iops", 0, 1000000000, &iops) < 0 ||
            int_field(req, body, "bps", 0, INT64_MAX, &bps) < 0)
                return;
        if (iops < 0 && bps < 0)
                return zero_reply_error(req, 422, "invalid", "iops or bps is required (0 lifts a limit)");
        if (load_volume(req, &row) < 0)
                return;
        if (iops >= 0)
                row.qos_iops = iops;
        if (bps >= 0)
                row.qos_bps = bps;
        volume_change(req, &row, false, 0);
        zero_volume_row_done(&row);
}

/* --- networks --- */

static int load_network(struct zero_request *req, struct zero_network_row *row) {
        struct zero_agent *a = zero_request_agent(req);
        const char *name = zero_request_param(req, 0);
        int r = zero_store_network_get(a->store, name, row);

        if (r == -ENOENT)
                zero_reply_error(req, 404, "not_found", "no network named '%s'", ZERO_QUOTE(name));
        else if (r < 0)
                zero_reply_error(req, 503, "busy", "cannot read network: %s", strerror(-r));
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

void zero_api_post_network(struct zero_request *req) {
        struct zero_agent *a = zero_request_agent(req);
        struct zero_network_row row = {};
        struct zero_network_spec spec;
        struct zero_error err = {};
        char gwbuf[INET_ADDRSTRLEN], id[33], card_name[ZERO_CARD_NAME_MAX] = "";
        const char *name, *subnet, *bridge;
        int r;

        r = zero_network_spec_parse(zero_request_body(req), &spec, &err);
        if (r >= 0)
                r = zero_network_spec_check(a, &spec, &err);
        if (r < 0)
                return zero_reply_zero_error(req, r, &err);
        name = spec.name;
        subnet = spec.subnet;
        if ((r = zero_random_id(id)) < 0)
                return zero_reply_error(req, 500, "internal", "no random id: %s", strerror(-r));
        row = (struct zero_network_row){.name = strdup(name), .id = strdup(id), .subnet = strdup(subnet),
                                        .gateway = strdup(inet_ntop(AF_INET, &spec.gateway, gwbuf, sizeof(gwbuf))),
                                        .created_at = (int64_t) zero_now_usec()};
        if (!row.name || !row.id || !row.subnet || !row.gateway) {
                zero_network_row_done(&row);
                return zero_reply_error(req, 500, "internal", "out of memory");
        }
        /* The card first, as for everything that makes something exist (card.h): it names what
         * it made, and the row records that name. A crash in between leaves a network the store
         * does not know, which the next sync removes. */
        struct zero_card_network cn = zero_card_network_of(&row);
        r = a->card_driver->ops.network_create(a->card, &cn, card_name, &err);
        if (r < 0) {
                /* What a half-done create made goes too (a delete leaves other networks' alone). */
                (void) a->card_driver->ops.network_delete(a->card, &cn, &(struct zero_error){});
                zero_network_row_done(&row);
                log_warning("Creating network %s failed: %s", name, err.message);
                return zero_reply_zero_error(req, r, &err);
        }
        /* The driver's name for the network, shown as its bridge; the store keeps it unique. A
         * driver that names no networks gets the network's id there, unique too. */
        bridge = memchr(card_name, 0, sizeof(card_name)) && card_name[0] ? card_name : row.id;
        row.bridge = strdup(bridge);
        r = row.bridge ? zero_store_network_insert(a->store, &row) : -ENOMEM;
        if (r < 0) {
                (void) a->card_driver->ops.network_delete(a->card, &cn, &(struct zero_error){});
                zero_network_row_done(&row);
                return zero_reply_error(req, r == -EEXIST ? 409 : 503, r == -EEXIST ? "conflict" : "store_error",
                                        "cannot record network '%s': %s", name, strerror(-r));
        }
        log_info("Created network %s (%s on %s)", name, subnet, bridge);
        zero_agent_event(a, "network.created", NULL, json_pack("{s:s}", "name", name));
        zero_reply_json(req, 201, zero_network_to_json(a, &row));
        zero_network_row_done(&row);
}

void zero_api_delete_network(struct zero_request *req) {
        struct zero_agent *a = zero_request_agent(req);
        struct zero_network_row row = {};
        struct zero_error err = {};
        int r, users;

        if (load_network(req, &row) < 0)
                return;
        users = zero_store_network_in_use(a->store, row.name);
        if (users > 0) {
                zero_reply_error(req, 409, "in_use", "network '%s' has %d NIC(s)", row.name, users);
                goto out;
        }
        struct zero_card_network cn = zero_card_network_of(&row);
        r = a->card_driver->ops.network_delete(a->card, &cn, &err);
        if (r < 0) {
                zero_reply_zero_error(req, r, &err);
                goto out;
        }
        r = zero_store_network_delete(a->store, row.name);
        if (r == -ENOTEMPTY) {
                /* A NIC joined in between: put the network back. */
                char ignored[ZERO_CARD_NAME_MAX];
                (void) a->card_driver->ops.network_create(a->card, &cn, ignored, &err);
                zero_reply_error(req, 409, "in_use", "network '%s' is in use", row.name);
                goto out;
        }
        if (r < 0) {
                zero_reply_error(req, 503, "busy", "cannot delete network: %s", strerror(-r));
                goto out;
        }
        log_info("Deleted network %s", row.name);
        zero_agent_event(a, "network.deleted", NULL, json_pack("{s:s}", "name", row.name));
        zero_reply_empty(req, 204);
out:
        zero_network_row_done(&row);
}
