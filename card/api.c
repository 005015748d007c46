/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The card's management API (docs/api/card.yaml), on common/http.h: one handler per route, each
 * checking the request, asking for its job and answering once the job ended (the request parked
 * meanwhile: a hot-plug takes 100 ms to seconds, a volume's make as long as its mkfs). Objects are
 * PUT by the id their owner (zerod) gave them: a PUT of what exists as described answers 200 with
 * it, so a request repeated after a crash does no harm.
 */
#include <stdio.h>
#include <string.h>

#include "card/card.h"
#include "card/host.h"
#include "card/job.h"
#include "card/store.h"
#include "common/log.h"
#include "common/util.h"

/* How long a request waits for its job: past it, 504 and the job goes on. */
#define ANSWER_TIMEOUT_USEC (300ULL * 1000000ULL)
#define CONSOLE_TAIL_MAX (1024 * 1024)

struct zc *zc_request_card(struct zero_request *req) {
        return zero_http_userdata(zero_request_server(req));
}

/* ---- a request answered once its work ended ---- */

struct zc_answer {
        struct zero_http *http;
        char key[32];
        unsigned ok_status;
        bool empty;
        bool done; /* the work ended: r, result, err */
        bool gone; /* the request was answered without it (timeout, the client left) */
        int r;
        json_t *result;
        struct zero_error err;
};

static void answer_free(struct zc_answer *a) {
        json_decref(a->result);
        free(a);
}

static void on_wake(struct zero_request *req, bool timed_out, const void *userdata) {
        struct zc_answer *a = (struct zc_answer *) userdata;

        if (!a->done) {
                a->gone = true; /* the work's end frees it */
                return zero_reply_error(req, 504, "timeout", "the card's work goes on: ask again later");
        }
        if (a->r < 0)
                zero_reply_zero_error(req, a->r, &a->err);
        else if (a->empty || !a->result)
                zero_reply_empty(req, a->ok_status == 200 && !a->result ? 204 : a->ok_status);
        else
                zero_reply_json(req, a->ok_status, json_incref(a->result));
        answer_free(a);
}

struct zc_answer *zc_api_park(struct zero_request *req, unsigned ok_status, bool empty) {
        static unsigned long n;
        struct zc_answer *a = calloc(1, sizeof(*a));

        if (!a) {
                zero_reply_error(req, 500, "internal", "out of memory");
                return NULL;
        }
        *a = (struct zc_answer){.http = zero_request_server(req), .ok_status = ok_status, .empty = empty};
        snprintf(a->key, sizeof(a->key), "work-%lu", ++n);
        if (zero_request_suspend(req, a->key, ANSWER_TIMEOUT_USEC, on_wake, a) < 0) {
                a->gone = true; /* zc_answer_done() frees it */
                zero_reply_error(req, 503, "busy", "too many requests wait for the card's work: ask again later");
        }
        return a;
}

void zc_answer_done(struct zc_answer *a, int r, json_t *result, const struct zero_error *err) {
        if (a->gone)
                return answer_free(a);
        a->done = true;
        a->r = r;
        a->result = json_incref(result);
        if (err)
                a->err = *err;
        zero_http_wake(a->http, a->key);
}

static void on_job_done(void *userdata, int r, json_t *result, const struct zero_error *err) {
        zc_answer_done(userdata, r, result, err);
}

void zc_api_answer_job(struct zero_request *req, int r, struct zc_job *j, const struct zero_error *err,
                       unsigned ok_status, bool empty) {
        struct zc_answer *a;

        if (r < 0)
                return zero_reply_zero_error(req, r, err);
        a = zc_api_park(req, ok_status, empty);
        if (a && zc_job_wait(j, on_job_done, a) < 0)
                zc_answer_done(a, -ENOMEM, NULL,
                               &(struct zero_error){.code = ZERO_E_INTERNAL, .message = "out of memory"});
}

/* ---- the card, presentations, the host ---- */

static void get_card(struct zero_request *req) {
        struct zc *zc = zc_request_card(req);
        zero_reply_json(req, 200,
                        json_pack("{s:s,s:s,s:s,s:o}", "name", "zero-card", "api", ZC_API_VERSION, "engine",
                                  zc->driver->name, "host", zc_host_json(zc)));
}

static void list_presentations(struct zero_request *req) {
        struct zc *zc = zc_request_card(req);
        json_t *list = json_array(), *rec;
        const char *id;

        json_object_foreach(zc_store_section(zc->store, "presentations"), id, rec)
                json_array_append_new(list, zc_presentation_json(id, rec));
        zero_reply_json(req, 200, json_pack("{s:o}", "presentations", list));
}

static void get_host(struct zero_request *req) {
        zero_reply_json(req, 200, zc_host_json(zc_request_card(req)));
}

static void post_power(struct zero_request *req) {
        json_t *body = zero_request_body(req);
        struct zero_error err = {};
        struct zc_job *j = NULL;
        json_t *t = json_object_get(body, "timeout_s");
        int r;

        if (t && (!json_is_integer(t) || json_integer_value(t) < 1 || json_integer_value(t) > 3600))
                return zero_reply_error(req, 422, "invalid", "timeout_s must be 1 to 3600 seconds");
        r = zc_host_power(zc_request_card(req), json_string_value(json_object_get(body, "action")),
                          t ? (unsigned) json_integer_value(t) : 0, &j, &err);
        zc_api_answer_job(req, r, j, &err, 200, false);
}

static void on_devices(void *userdata, int r, json_t *ids, const struct zero_error *err) {
        json_auto_t *body = r >= 0 ? json_pack("{s:O}", "devices", ids) : NULL;
        zc_answer_done(userdata, r, body, err);
}

static void get_devices(struct zero_request *req) {
        struct zero_error err = {};
        struct zc_answer *a;
        int r;

        if (!zc_host_qmp_up(zc_request_card(req)))
                return zero_reply_error(req, 409, "wrong_state", "the host is off");
        a = zc_api_park(req, 200, false);
        if (!a)
                return;
        r = zc_host_devices(zc_request_card(req), on_devices, a, &err);
        if (r < 0)
                zc_answer_done(a, r, NULL, &err);
}

static void get_console(struct zero_request *req) {
        zc_api_reply_console(req);
}

void zc_api_reply_console(struct zero_request *req) {
        const char *q = zero_request_query(req, "bytes");
        int64_t max = 64 * 1024;
        char *text = NULL;
        size_t len;
        int r;

        if (q && zero_parse_int64(q, 1, CONSOLE_TAIL_MAX, &max) < 0)
                return zero_reply_error(req, 422, "invalid", "bytes must be 1 to %d", CONSOLE_TAIL_MAX);
        r = zc_host_console(zc_request_card(req), (size_t) max, &text, &len);
        if (r < 0)
                return zero_reply_error(req, 500, "internal", "cannot read the host's console: %s", strerror(-r));
        zero_reply_text(req, 200, "text/plain; charset=utf-8", text, len);
}

/* ---- objects: list, get, put, delete ---- */

struct kind {
        const char *section; /* the store's */
        const char *plural;  /* the API's list member */
        const char *what;
        json_t *(*to_json)(struct zc *zc, const char *id, json_t *rec);
        int (*put)(struct zc *zc, const char *id, json_t *body, struct zc_job **ret, struct zero_error *err);
        int (*del)(struct zc *zc, const char *id, struct zc_job **ret, struct zero_error *err);
};

static json_t *network_json(struct zc *zc, const char *id, json_t *rec) {
        return zc_network_json(id, rec);
}

static json_t *image_json(struct zc *zc, const char *id, json_t *rec) {
        return zc_image_json(id, rec);
}

static const struct kind volumes = {"volumes", "volumes", "volume", zc_volume_json, zc_volume_put, zc_volume_delete};
static const struct kind networks = {"networks",   "networks",     "network",
                                     network_json, zc_network_put, zc_network_delete};
static const struct kind nics = {"nics", "nics", "NIC", zc_nic_json, zc_nic_put, zc_nic_delete};
static const struct kind images = {"images", "images", "image", image_json, NULL, NULL};

static void list_kind(struct zero_request *req, const struct kind *k) {
        struct zc *zc = zc_request_card(req);
        json_t *list = json_array(), *rec;
        const char *id;

        json_object_foreach(zc_store_section(zc->store, k->section), id, rec)
                json_array_append_new(list, k->to_json(zc, id, rec));
        zero_reply_json(req, 200, json_pack("{s:o}", k->plural, list));
}

static void get_kind(struct zero_request *req, const struct kind *k) {
        struct zc *zc = zc_request_card(req);
        const char *id = zero_request_param(req, 0);
        json_t *rec = zc_store_get(zc->store, k->section, id);

        if (!rec)
                return zero_reply_error(req, 404, "not_found", "no %s %s on the card", k->what, id);
        zero_reply_json(req, 200, k->to_json(zc, id, rec));
}

static void put_kind(struct zero_request *req, const struct kind *k) {
        struct zc *zc = zc_request_card(req);
        const char *id = zero_request_param(req, 0);
        bool existed = zc_store_get(zc->store, k->section, id);
        struct zero_error err = {};
        struct zc_job *j = NULL;
        int r;

        if (!zero_request_body(req))
                return zero_reply_error(req, 400, "malformed", "PUT %s takes a JSON body", zero_request_url(req));
        r = k->put(zc, id, zero_request_body(req), &j, &err);
        zc_api_answer_job(req, r, j, &err, existed ? 200 : 201, false);
}

static void delete_kind(struct zero_request *req, const struct kind *k) {
        struct zc *zc = zc_request_card(req);
        struct zero_error err = {};
        struct zc_job *j = NULL;
        int r = k->del(zc, zero_request_param(req, 0), &j, &err);

        zc_api_answer_job(req, r, j, &err, 204, true);
}

#define KIND_HANDLERS(name, k)                                                                                         \
        static void list_##name(struct zero_request *req) {                                                            \
                list_kind(req, &k);                                                                                    \
        }                                                                                                              \
        static void get_##name(struct zero_request *req) {                                                             \
                get_kind(req, &k);                                                                                     \
        }
KIND_HANDLERS(volumes, volumes)
KIND_HANDLERS(networks, networks)
KIND_HANDLERS(nics, nics)
KIND_HANDLERS(images, images)

static void put_volume(struct zero_request *req) {
        put_kind(req, &volumes);
}
static void delete_volume(struct zero_request *req) {
        delete_kind(req, &volumes);
}
static void put_network(struct zero_request *req) {
        put_kind(req, &networks);
}
static void delete_network(struct zero_request *req) {
        delete_kind(req, &networks);
}
static void put_nic(struct zero_request *req) {
        put_kind(req, &nics);
}
static void delete_nic(struct zero_request *req) {
        delete_kind(req, &nics);
}

static void get_volume_stats(struct zero_request *req) {
        struct zc *zc = zc_request_card(req);
        const char *id = zero_request_param(req, 0);
        json_t *rec = zc_store_get(zc->store, "volumes", id);
        struct zero_card_volume_stats st = {};
        struct zero_error err = {};
        struct zc_volume_desc d;

        if (!rec)
                return zero_reply_error(req, 404, "not_found", "no volume %s on the card", id);
        zc_volume_desc(zc, id, rec, &d);
        if (zc->driver->ops.volume_stats(zc->card, &d.v, &st, &err) < 0)
                return zero_reply_zero_error(req, -EIO, &err);
        zero_reply_json(req, 200,
                        json_pack("{s:I,s:I,s:I,s:I,s:I,s:b}", "read_bytes", (json_int_t) st.read_bytes, "write_bytes",
                                  (json_int_t) st.write_bytes, "read_ops", (json_int_t) st.read_ops, "write_ops",
                                  (json_int_t) st.write_ops, "allocated_bytes", (json_int_t) st.allocated_bytes,
                                  "exported", st.exported));
}

static void resize_volume(struct zero_request *req) {
        struct zero_error err = {};
        struct zc_job *j = NULL;
        int r = zc_volume_resize(zc_request_card(req), zero_request_param(req, 0), zero_request_body(req), &j, &err);

        zc_api_answer_job(req, r, j, &err, 200, false);
}

static void put_volume_qos(struct zero_request *req) {
        struct zero_error err = {};
        struct zc_job *j = NULL;
        int r = zc_volume_qos(zc_request_card(req), zero_request_param(req, 0), zero_request_body(req), &j, &err);

        zc_api_answer_job(req, r, j, &err, 200, false);
}

static void present(struct zero_request *req, const char *kind) {
        struct zero_error err = {};
        struct zc_job *j = NULL;
        int r = zc_present(zc_request_card(req), kind, zero_request_param(req, 0), zero_request_body(req), false, &j,
                           &err);

        zc_api_answer_job(req, r, j, &err, 200, false);
}

static void withdraw(struct zero_request *req, const char *kind) {
        struct zero_error err = {};
        struct zc_job *j = NULL;
        int r = zc_withdraw(zc_request_card(req), kind, zero_request_param(req, 0), &j, &err);

        zc_api_answer_job(req, r, j, &err, 204, true);
}

static void present_volume(struct zero_request *req) {
        present(req, "volume");
}
static void withdraw_volume(struct zero_request *req) {
        withdraw(req, "volume");
}
static void present_nic(struct zero_request *req) {
        present(req, "nic");
}
static void withdraw_nic(struct zero_request *req) {
        withdraw(req, "nic");
}

#define J ZERO_BODY_JSON
const struct zero_route zc_api_routes[] = {
        {"GET", "/v1/card", get_card, 0, NULL, false},
        {"GET", "/v1/volumes", list_volumes, 0, NULL, false},
        {"GET", "/v1/volumes/{}", get_volumes, 0, NULL, false},
        {"PUT", "/v1/volumes/{}", put_volume, J, NULL, false},
        {"DELETE", "/v1/volumes/{}", delete_volume, 0, NULL, false},
        {"GET", "/v1/volumes/{}/stats", get_volume_stats, 0, NULL, false},
        {"POST", "/v1/volumes/{}/resize", resize_volume, J, NULL, false},
        {"PUT", "/v1/volumes/{}/qos", put_volume_qos, J, NULL, false},
        {"PUT", "/v1/volumes/{}/presentation", present_volume, J, NULL, false},
        {"DELETE", "/v1/volumes/{}/presentation", withdraw_volume, 0, NULL, false},
        {"GET", "/v1/images", list_images, 0, NULL, false},
        {"GET", "/v1/images/{}", get_images, 0, NULL, false},
        {"PUT", "/v1/images/{}", zc_api_put_image, ZERO_BODY_UPLOAD, &zc_image_upload, false},
        {"GET", "/v1/networks", list_networks, 0, NULL, false},
        {"GET", "/v1/networks/{}", get_networks, 0, NULL, false},
        {"PUT", "/v1/networks/{}", put_network, J, NULL, false},
        {"DELETE", "/v1/networks/{}", delete_network, 0, NULL, false},
        {"GET", "/v1/nics", list_nics, 0, NULL, false},
        {"GET", "/v1/nics/{}", get_nics, 0, NULL, false},
        {"PUT", "/v1/nics/{}", put_nic, J, NULL, false},
        {"DELETE", "/v1/nics/{}", delete_nic, 0, NULL, false},
        {"PUT", "/v1/nics/{}/presentation", present_nic, J, NULL, false},
        {"DELETE", "/v1/nics/{}/presentation", withdraw_nic, 0, NULL, false},
        {"GET", "/v1/presentations", list_presentations, 0, NULL, false},
        {"GET", "/v1/host", get_host, 0, NULL, true},
        {"POST", "/v1/host/power", post_power, J, NULL, true},
        {"GET", "/v1/host/console", get_console, 0, NULL, true},
        {"GET", "/v1/host/devices", get_devices, 0, NULL, true},
        {"POST", "/v1/host/handover", zc_api_handover, J, NULL, false},
        {"GET", "/v1/host/tenant", zc_api_get_tenant, 0, NULL, false},
        {"GET", "/v1/node", zc_api_node, 0, NULL, true},
        {"GET", "/v1/instances/{}", zc_api_instance, 0, NULL, true},
        {"GET", "/v1/instances/{}/console", zc_api_instance_console, 0, NULL, true},
        {"POST", "/v1/instances/{}/stop", zc_api_instance_stop, J, NULL, true},
        {"POST", "/v1/instances/{}/switch", zc_api_instance_switch, J, NULL, true},
        {"GET", "/v1/operations/{}", zc_api_operation, 0, NULL, true},
        {NULL, NULL, NULL, 0, NULL, false},
};
