/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Volumes, networks and NICs on the card: the jobs that make, change and remove them, each "record
 * first, then the engine, then the record's new state" (store.h): a job resumed after a crash finds
 * a record in "creating" or "deleting" and does the engine's idempotent op again. The engine's ops
 * are card ABI 4's, answered from the loop (engine.c).
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "card/card.h"
#include "card/job.h"
#include "card/store.h"
#include "common/log.h"
#include "common/netaddr.h"
#include "common/util.h"

#define MIB (1024ULL * 1024ULL)
#define VOLUME_SIZE_MAX (1ULL << 50) /* 1 PiB, as zerod's */

static const char *str(json_t *rec, const char *key) {
        return json_string_value(json_object_get(rec, key));
}

static uint64_t u64(json_t *rec, const char *key) {
        json_int_t v = json_integer_value(json_object_get(rec, key));
        return v > 0 ? (uint64_t) v : 0;
}

static bool state_is(json_t *rec, const char *state) {
        return rec && streq(strempty(str(rec, "state")), state);
}

/* The engine's answer to a job's step. */
static void on_engine_done(void *userdata, int r, const struct zero_card_result *res, const struct zero_error *err) {
        struct zc_job *j = userdata;

        if (r >= 0)
                snprintf(j->text, sizeof(j->text), "%s", res->text);
        zc_job_next(j, r, err);
}

/* An optional unsigned integer of a body: def when absent; -EINVAL (err) for anything else. */
static int body_u64(json_t *body, const char *key, uint64_t def, uint64_t *ret, struct zero_error *err) {
        json_t *v = json_object_get(body, key);

        *ret = def;
        if (!v || json_is_null(v))
                return 0;
        if (!json_is_integer(v) || json_integer_value(v) < 0)
                return zero_error_set(err, -EINVAL, ZERO_E_INVALID, "%s must be a non-negative integer", key);
        *ret = (uint64_t) json_integer_value(v);
        return 0;
}

static int check_id(const char *what, const char *id, struct zero_error *err) {
        if (!zero_hex_id_is_valid(id))
                return zero_error_set(err, -EINVAL, ZERO_E_INVALID, "%s id '%s' is not 32 hex digits", what,
                                      strempty(id));
        return 0;
}

static bool is_sha256(const char *s) {
        return s && strlen(s) == 64 && strspn(s, "0123456789abcdef") == 64;
}

/* ---- volumes ---- */

json_t *zc_volume_json(struct zc *zc, const char *id, json_t *rec) {
        json_t *pres = zc_store_get(zc->store, "presentations", id);
        return json_pack("{s:s,s:I,s:o,s:I,s:I,s:s,s:s,s:o}", "id", id, "size_bytes",
                         (json_int_t) u64(rec, "size_bytes"), "source",
                         str(rec, "source") ? json_string(str(rec, "source")) : json_null(), "qos_iops",
                         (json_int_t) u64(rec, "qos_iops"), "qos_bps", (json_int_t) u64(rec, "qos_bps"), "state",
                         strempty(str(rec, "state")), "format", strempty(str(rec, "format")), "presentation",
                         pres ? zc_presentation_json(id, pres) : json_null());
}

static int vol_record(struct zc_job *j) {
        struct zc *zc = j->zc;
        json_t *rec = zc_store_get(zc->store, "volumes", j->id);
        uint64_t size, iops, bps;
        const char *source;
        struct zc_volume_desc d;
        struct zero_card_placement p = {};
        int r;

        if (!j->args) { /* resumed: the record says what */
                if (!rec)
                        return zero_error_set(&j->err, -ENOENT, ZERO_E_NOT_FOUND, "no volume %s", j->id);
                return 1;
        }
        size = u64(j->args, "size_bytes");
        source = str(j->args, "source");
        iops = u64(j->args, "qos_iops");
        bps = u64(j->args, "qos_bps");
        if (rec) {
                if (state_is(rec, "deleting"))
                        return zero_error_set(&j->err, -EBUSY, ZERO_E_WRONG_STATE, "volume %s is being deleted", j->id);
                if (u64(rec, "size_bytes") != size || !streq(strempty(str(rec, "source")), strempty(source)))
                        return zero_error_set(&j->err, -EEXIST, ZERO_E_CONFLICT,
                                              "volume %s exists with another size or source", j->id);
                return 1;
        }
        rec = json_pack("{s:s,s:I,s:o,s:I,s:I}", "state", "creating", "size_bytes", (json_int_t) size, "source",
                        source ? json_string(source) : json_null(), "qos_iops", (json_int_t) iops, "qos_bps",
                        (json_int_t) bps);
        if (!rec)
                return -ENOMEM;
        zc_volume_desc(zc, j->id, rec, &d);
        d.v.locator = NULL;
        r = zc->driver->ops.volume_place(zc->card, &d.v, &p, &j->err);
        d.v.locator = p.locator;
        if (r >= 0)
                r = zc->driver->ops.volume_validate(zc->card, &d.v, 0, &j->err);
        if (r < 0) {
                json_decref(rec);
                return r;
        }
        json_object_set_new(rec, "locator", json_string(p.locator));
        json_object_set_new(rec, "format", json_string(p.format));
        return zc_step_next(zc_store_put(zc->store, "volumes", j->id, rec, &j->err));
}

static int vol_make(struct zc_job *j) {
        struct zc *zc = j->zc;
        json_t *rec = zc_store_get(zc->store, "volumes", j->id);
        struct zc_volume_desc d;
        int r;

        if (!state_is(rec, "creating"))
                return 1;
        zc_volume_desc(zc, j->id, rec, &d);
        r = zc->driver->ops.volume_create(zc->card, &d.v, on_engine_done, j, &j->err);
        return r < 0 ? r : 0;
}

static int vol_ready(struct zc_job *j) {
        struct zc *zc = j->zc;
        json_t *rec = zc_store_get(zc->store, "volumes", j->id);
        int r = 0;

        if (state_is(rec, "creating"))
                r = zc_store_set(zc->store, "volumes", j->id, "state", json_string("ready"), &j->err);
        if (r < 0)
                return r;
        zc_job_result(j, zc_volume_json(zc, j->id, rec));
        return 1;
}

static const zc_step_fn volume_create_steps[] = {vol_record, vol_make, vol_ready, NULL};

int zc_volume_put(struct zc *zc, const char *id, json_t *body, struct zc_job **ret, struct zero_error *err) {
        char object[48];
        uint64_t size, iops, bps;
        json_t *src = json_object_get(body, "source");
        int r;

        if ((r = check_id("volume", id, err)) < 0 || (r = body_u64(body, "size_bytes", 0, &size, err)) < 0 ||
            (r = body_u64(body, "qos_iops", 0, &iops, err)) < 0 || (r = body_u64(body, "qos_bps", 0, &bps, err)) < 0)
                return r;
        if (size < MIB || size > VOLUME_SIZE_MAX || size % 512)
                return zero_error_set(err, -EINVAL, ZERO_E_INVALID,
                                      "size_bytes must be 1 MiB to 1 PiB, a multiple of 512");
        if (src && !json_is_null(src)) {
                if (!is_sha256(json_string_value(src)))
                        return zero_error_set(err, -EINVAL, ZERO_E_INVALID,
                                              "source must be an image's SHA-256 (64 lowercase hex digits)");
                if (!zc_store_get(zc->store, "images", json_string_value(src)))
                        return zero_error_set(err, -ENOENT, ZERO_E_INVALID,
                                              "no image %s on the card: upload it first (PUT /v1/images/%s)",
                                              json_string_value(src), json_string_value(src));
        }
        snprintf(object, sizeof(object), "volume:%s", id);
        return zc_job_submit(zc, object, id, "create", volume_create_steps,
                             json_pack("{s:I,s:o,s:I,s:I}", "size_bytes", (json_int_t) size, "source",
                                       src && !json_is_null(src) ? json_incref(src) : json_null(), "qos_iops",
                                       (json_int_t) iops, "qos_bps", (json_int_t) bps),
                             ret);
}

static int vol_mark_deleting(struct zc_job *j) {
        json_t *rec = zc_store_get(j->zc->store, "volumes", j->id);

        if (!rec)
                return 1; /* gone: the later steps find nothing */
        if (streq(j->id, strempty(json_string_value(zc_store_host(j->zc->store, "state_volume")))))
                return zero_error_set(&j->err, -EPERM, ZERO_E_FORBIDDEN,
                                      "volume %s is the host's state volume: the card keeps it", j->id);
        return zc_step_next(zc_store_set(j->zc->store, "volumes", j->id, "state", json_string("deleting"), &j->err));
}

static int vol_remove(struct zc_job *j) {
        struct zc *zc = j->zc;
        json_t *rec = zc_store_get(zc->store, "volumes", j->id);
        struct zc_volume_desc d;
        int r;

        if (!rec)
                return 1;
        zc_volume_desc(zc, j->id, rec, &d);
        r = zc->driver->ops.volume_delete(zc->card, &d.v, on_engine_done, j, &j->err);
        return r < 0 ? r : 0;
}

static int vol_forget(struct zc_job *j) {
        return zc_step_next(zc_store_remove(j->zc->store, "volumes", j->id, &j->err));
}

/* A delete withdraws the volume first (present.c's steps), as card.h's volume_delete unexports. */
static const zc_step_fn volume_delete_steps[] = {vol_mark_deleting, zc_pres_withdraw_begin,
                                                 zc_pres_unplug,    zc_pres_unexport,
                                                 zc_pres_forget,    vol_remove,
                                                 vol_forget,        NULL};

int zc_volume_delete(struct zc *zc, const char *id, struct zc_job **ret, struct zero_error *err) {
        char object[48];
        int r = check_id("volume", id, err);

        if (r < 0)
                return r;
        snprintf(object, sizeof(object), "volume:%s", id);
        return zc_job_submit(zc, object, id, "delete", volume_delete_steps, NULL, ret);
}

static int vol_exists(struct zc_job *j) {
        json_t *rec = zc_store_get(j->zc->store, "volumes", j->id);

        if (!state_is(rec, "ready"))
                return zero_error_set(&j->err, -ENOENT, rec ? ZERO_E_WRONG_STATE : ZERO_E_NOT_FOUND,
                                      rec ? "volume %s is not ready" : "no volume %s", j->id);
        return 1;
}

static int vol_resize(struct zc_job *j) {
        struct zc *zc = j->zc;
        struct zc_volume_desc d;
        uint64_t size = u64(j->args, "size_bytes");
        int r;

        zc_volume_desc(zc, j->id, zc_store_get(zc->store, "volumes", j->id), &d);
        if (size < d.v.size_bytes)
                return zero_error_set(&j->err, -EINVAL, ZERO_E_INVALID, "volume %s cannot shrink (%llu to %llu bytes)",
                                      j->id, (unsigned long long) d.v.size_bytes, (unsigned long long) size);
        r = zc->driver->ops.volume_validate(zc->card, &d.v, size, &j->err);
        if (r >= 0)
                r = zc->driver->ops.volume_resize(zc->card, &d.v, size, on_engine_done, j, &j->err);
        return r < 0 ? r : 0;
}

static int vol_resized(struct zc_job *j) {
        struct zc *zc = j->zc;
        int r = zc_store_set(zc->store, "volumes", j->id, "size_bytes",
                             json_integer((json_int_t) u64(j->args, "size_bytes")), &j->err);

        if (r < 0)
                return r;
        zc_job_result(j, zc_volume_json(zc, j->id, zc_store_get(zc->store, "volumes", j->id)));
        return 1;
}

static const zc_step_fn volume_resize_steps[] = {vol_exists, vol_resize, vol_resized, NULL};

int zc_volume_resize(struct zc *zc, const char *id, json_t *body, struct zc_job **ret, struct zero_error *err) {
        char object[48];
        uint64_t size;
        int r;

        if ((r = check_id("volume", id, err)) < 0 || (r = body_u64(body, "size_bytes", 0, &size, err)) < 0)
                return r;
        if (size < MIB || size > VOLUME_SIZE_MAX || size % 512)
                return zero_error_set(err, -EINVAL, ZERO_E_INVALID,
                                      "size_bytes must be 1 MiB to 1 PiB, a multiple of 512");
        snprintf(object, sizeof(object), "volume:%s", id);
        return zc_job_submit(zc, object, id, "resize", volume_resize_steps,
                             json_pack("{s:I}", "size_bytes", (json_int_t) size), ret);
}

static int vol_set_qos(struct zc_job *j) {
        struct zc *zc = j->zc;
        struct zc_volume_desc d;
        int r;

        zc_volume_desc(zc, j->id, zc_store_get(zc->store, "volumes", j->id), &d);
        d.v.qos_iops = u64(j->args, "qos_iops");
        d.v.qos_bps = u64(j->args, "qos_bps");
        r = zc->driver->ops.volume_set_qos(zc->card, &d.v, on_engine_done, j, &j->err);
        return r < 0 ? r : 0;
}

static int vol_qos_recorded(struct zc_job *j) {
        struct zc *zc = j->zc;
        int r = zc_store_set(zc->store, "volumes", j->id, "qos_iops",
                             json_integer((json_int_t) u64(j->args, "qos_iops")), &j->err);

        if (r >= 0)
                r = zc_store_set(zc->store, "volumes", j->id, "qos_bps",
                                 json_integer((json_int_t) u64(j->args, "qos_bps")), &j->err);
        if (r < 0)
                return r;
        zc_job_result(j, zc_volume_json(zc, j->id, zc_store_get(zc->store, "volumes", j->id)));
        return 1;
}

static const zc_step_fn volume_qos_steps[] = {vol_exists, vol_set_qos, vol_qos_recorded, NULL};

int zc_volume_qos(struct zc *zc, const char *id, json_t *body, struct zc_job **ret, struct zero_error *err) {
        char object[48];
        uint64_t iops, bps;
        int r;

        if ((r = check_id("volume", id, err)) < 0 || (r = body_u64(body, "iops", 0, &iops, err)) < 0 ||
            (r = body_u64(body, "bps", 0, &bps, err)) < 0)
                return r;
        snprintf(object, sizeof(object), "volume:%s", id);
        return zc_job_submit(zc, object, id, "QoS change", volume_qos_steps,
                             json_pack("{s:I,s:I}", "qos_iops", (json_int_t) iops, "qos_bps", (json_int_t) bps), ret);
}

/* ---- networks ---- */

json_t *zc_network_json(const char *id, json_t *rec) {
        return json_pack("{s:s,s:s,s:s,s:s,s:s,s:s}", "id", id, "name", strempty(str(rec, "name")), "subnet",
                         strempty(str(rec, "subnet")), "gateway", strempty(str(rec, "gateway")), "bridge",
                         strempty(str(rec, "bridge")), "state", strempty(str(rec, "state")));
}

static int net_record(struct zc_job *j) {
        json_t *rec = zc_store_get(j->zc->store, "networks", j->id);

        if (!j->args)
                return rec ? 1 : zero_error_set(&j->err, -ENOENT, ZERO_E_NOT_FOUND, "no network %s", j->id);
        if (rec) {
                if (state_is(rec, "deleting"))
                        return zero_error_set(&j->err, -EBUSY, ZERO_E_WRONG_STATE, "network %s is being deleted",
                                              j->id);
                if (!json_equal(json_object_get(rec, "subnet"), json_object_get(j->args, "subnet")) ||
                    !json_equal(json_object_get(rec, "name"), json_object_get(j->args, "name")))
                        return zero_error_set(&j->err, -EEXIST, ZERO_E_CONFLICT,
                                              "network %s exists with another name or subnet", j->id);
                return 1;
        }
        rec = json_deep_copy(j->args);
        if (!rec || json_object_set_new(rec, "state", json_string("creating")) < 0)
                return -ENOMEM;
        return zc_step_next(zc_store_put(j->zc->store, "networks", j->id, rec, &j->err));
}

static int net_make(struct zc_job *j) {
        struct zc *zc = j->zc;
        json_t *rec = zc_store_get(zc->store, "networks", j->id);
        struct zero_card_network n;
        int r;

        if (!state_is(rec, "creating"))
                return 1;
        zc_network_desc(j->id, rec, &n);
        r = zc->driver->ops.network_create(zc->card, &n, on_engine_done, j, &j->err);
        return r < 0 ? r : 0;
}

static int net_ready(struct zc_job *j) {
        struct zc *zc = j->zc;
        json_t *rec = zc_store_get(zc->store, "networks", j->id);
        int r = 0;

        if (state_is(rec, "creating")) {
                if (j->text[0])
                        r = zc_store_set(zc->store, "networks", j->id, "bridge", json_string(j->text), &j->err);
                if (r >= 0)
                        r = zc_store_set(zc->store, "networks", j->id, "state", json_string("ready"), &j->err);
        }
        if (r < 0)
                return r;
        zc_job_result(j, zc_network_json(j->id, rec));
        return 1;
}

static const zc_step_fn network_create_steps[] = {net_record, net_make, net_ready, NULL};

int zc_network_put(struct zc *zc, const char *id, json_t *body, struct zc_job **ret, struct zero_error *err) {
        const char *name = str(body, "name"), *subnet = str(body, "subnet"), *gw = str(body, "gateway");
        struct zero_ipv4_net net;
        struct in_addr g;
        char object[48];
        int r = check_id("network", id, err);

        if (r < 0)
                return r;
        if (!zero_name_is_valid(name))
                return zero_error_set(err, -EINVAL, ZERO_E_INVALID, "name must be [a-z0-9][a-z0-9-]{0,62}");
        if (!subnet || zero_ipv4_net_parse(subnet, &net) < 0)
                return zero_error_set(err, -EINVAL, ZERO_E_INVALID, "subnet must be an IPv4 subnet A.B.C.D/N");
        if (!gw || inet_pton(AF_INET, gw, &g) != 1 || !zero_ipv4_net_contains(&net, g))
                return zero_error_set(err, -EINVAL, ZERO_E_INVALID, "gateway must be an address in the subnet");
        snprintf(object, sizeof(object), "network:%s", id);
        return zc_job_submit(zc, object, id, "create", network_create_steps,
                             json_pack("{s:s,s:s,s:s}", "name", name, "subnet", subnet, "gateway", gw), ret);
}

static int net_mark_deleting(struct zc_job *j) {
        struct zc *zc = j->zc;
        json_t *nic;
        const char *id;

        if (!zc_store_get(zc->store, "networks", j->id))
                return 1;
        json_object_foreach(zc_store_section(zc->store, "nics"), id, nic) {
                if (streq(strempty(str(nic, "network")), j->id))
                        return zero_error_set(&j->err, -EBUSY, ZERO_E_IN_USE, "network %s has NIC %s", j->id, id);
        }
        return zc_step_next(zc_store_set(zc->store, "networks", j->id, "state", json_string("deleting"), &j->err));
}

static int net_remove(struct zc_job *j) {
        struct zc *zc = j->zc;
        json_t *rec = zc_store_get(zc->store, "networks", j->id);
        struct zero_card_network n;
        int r;

        if (!rec)
                return 1;
        zc_network_desc(j->id, rec, &n);
        r = zc->driver->ops.network_delete(zc->card, &n, on_engine_done, j, &j->err);
        return r < 0 ? r : 0;
}

static int net_forget(struct zc_job *j) {
        return zc_step_next(zc_store_remove(j->zc->store, "networks", j->id, &j->err));
}

static const zc_step_fn network_delete_steps[] = {net_mark_deleting, net_remove, net_forget, NULL};

int zc_network_delete(struct zc *zc, const char *id, struct zc_job **ret, struct zero_error *err) {
        char object[48];
        int r = check_id("network", id, err);

        if (r < 0)
                return r;
        snprintf(object, sizeof(object), "network:%s", id);
        return zc_job_submit(zc, object, id, "delete", network_delete_steps, NULL, ret);
}

/* ---- NICs: a tap on the network's bridge, which a presentation plugs into the host ---- */

json_t *zc_nic_json(struct zc *zc, const char *id, json_t *rec) {
        json_t *pres = zc_store_get(zc->store, "presentations", id);
        return json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:o}", "id", id, "network", strempty(str(rec, "network")), "mac",
                         strempty(str(rec, "mac")), "ip", strempty(str(rec, "ip")), "tap", strempty(str(rec, "tap")),
                         "state", strempty(str(rec, "state")), "presentation",
                         pres ? zc_presentation_json(id, pres) : json_null());
}

static int nic_record(struct zc_job *j) {
        json_t *rec = zc_store_get(j->zc->store, "nics", j->id);

        if (!j->args)
                return rec ? 1 : zero_error_set(&j->err, -ENOENT, ZERO_E_NOT_FOUND, "no NIC %s", j->id);
        if (rec) {
                if (state_is(rec, "deleting"))
                        return zero_error_set(&j->err, -EBUSY, ZERO_E_WRONG_STATE, "NIC %s is being deleted", j->id);
                if (!json_equal(json_object_get(rec, "mac"), json_object_get(j->args, "mac")) ||
                    !json_equal(json_object_get(rec, "network"), json_object_get(j->args, "network")))
                        return zero_error_set(&j->err, -EEXIST, ZERO_E_CONFLICT,
                                              "NIC %s exists with another MAC or network", j->id);
                return 1;
        }
        if (!state_is(zc_store_get(j->zc->store, "networks", str(j->args, "network")), "ready"))
                return zero_error_set(&j->err, -ENOENT, ZERO_E_INVALID, "no network %s ready on the card",
                                      strempty(str(j->args, "network")));
        rec = json_deep_copy(j->args);
        if (!rec || json_object_set_new(rec, "state", json_string("creating")) < 0)
                return -ENOMEM;
        return zc_step_next(zc_store_put(j->zc->store, "nics", j->id, rec, &j->err));
}

static int nic_make(struct zc_job *j) {
        struct zc *zc = j->zc;
        json_t *rec = zc_store_get(zc->store, "nics", j->id);
        struct zc_nic_desc d;
        int r;

        if (!state_is(rec, "creating"))
                return 1;
        r = zc_nic_desc(zc, j->id, rec, &d, &j->err);
        if (r >= 0)
                r = zc->driver->ops.nic_attach(zc->card, &d.nic, ZERO_CARD_NIC_TAP, NULL, on_engine_done, j, &j->err);
        return r < 0 ? r : 0;
}

static int nic_ready(struct zc_job *j) {
        struct zc *zc = j->zc;
        json_t *rec = zc_store_get(zc->store, "nics", j->id);
        int r = 0;

        if (state_is(rec, "creating")) {
                r = zc_store_set(zc->store, "nics", j->id, "tap", json_string(j->text), &j->err);
                if (r >= 0)
                        r = zc_store_set(zc->store, "nics", j->id, "state", json_string("ready"), &j->err);
        }
        if (r < 0)
                return r;
        zc_job_result(j, zc_nic_json(zc, j->id, rec));
        return 1;
}

static const zc_step_fn nic_create_steps[] = {nic_record, nic_make, nic_ready, NULL};

int zc_nic_put(struct zc *zc, const char *id, json_t *body, struct zc_job **ret, struct zero_error *err) {
        const char *net = str(body, "network"), *mac = str(body, "mac"), *ip = str(body, "ip");
        uint8_t m[ZERO_MAC_LEN];
        struct in_addr a;
        char object[48];
        int r = check_id("NIC", id, err);

        if (r < 0 || (r = check_id("network", net, err)) < 0)
                return r;
        if (!mac || zero_mac_parse(mac, m) < 0)
                return zero_error_set(err, -EINVAL, ZERO_E_INVALID, "mac must be aa:bb:cc:dd:ee:ff");
        if (!ip || inet_pton(AF_INET, ip, &a) != 1)
                return zero_error_set(err, -EINVAL, ZERO_E_INVALID, "ip must be an IPv4 address");
        snprintf(object, sizeof(object), "nic:%s", id);
        return zc_job_submit(zc, object, id, "create", nic_create_steps,
                             json_pack("{s:s,s:s,s:s}", "network", net, "mac", mac, "ip", ip), ret);
}

static int nic_mark_deleting(struct zc_job *j) {
        if (!zc_store_get(j->zc->store, "nics", j->id))
                return 1;
        return zc_step_next(zc_store_set(j->zc->store, "nics", j->id, "state", json_string("deleting"), &j->err));
}

static int nic_remove(struct zc_job *j) {
        struct zc *zc = j->zc;
        json_t *rec = zc_store_get(zc->store, "nics", j->id);
        struct zc_nic_desc d;
        int r;

        if (!rec)
                return 1;
        if (zc_nic_desc(zc, j->id, rec, &d, &j->err) < 0)
                return 1; /* its network is gone, and its tap with it */
        r = zc->driver->ops.nic_detach(zc->card, &d.nic, on_engine_done, j, &j->err);
        return r < 0 ? r : 0;
}

static int nic_forget(struct zc_job *j) {
        return zc_step_next(zc_store_remove(j->zc->store, "nics", j->id, &j->err));
}

static const zc_step_fn nic_delete_steps[] = {nic_mark_deleting, zc_pres_withdraw_begin,
                                              zc_pres_unplug,    zc_pres_unexport,
                                              zc_pres_forget,    nic_remove,
                                              nic_forget,        NULL};

int zc_nic_delete(struct zc *zc, const char *id, struct zc_job **ret, struct zero_error *err) {
        char object[48];
        int r = check_id("NIC", id, err);

        if (r < 0)
                return r;
        snprintf(object, sizeof(object), "nic:%s", id);
        return zc_job_submit(zc, object, id, "delete", nic_delete_steps, NULL, ret);
}

/* ---- at the card's start ---- */

void zc_objects_resume(struct zc *zc) {
        static const struct {
                const char *section, *prefix, *state, *what;
                const zc_step_fn *steps;
        } kinds[] = {
                {"networks", "network", "creating", "create", network_create_steps},
                {"networks", "network", "deleting", "delete", network_delete_steps},
                {"volumes", "volume", "creating", "create", volume_create_steps},
                {"volumes", "volume", "deleting", "delete", volume_delete_steps},
                {"nics", "nic", "creating", "create", nic_create_steps},
                {"nics", "nic", "deleting", "delete", nic_delete_steps},
        };
        json_t *rec;
        const char *id;

        for (size_t k = 0; k < ELEMENTSOF(kinds); k++)
                json_object_foreach(zc_store_section(zc->store, kinds[k].section), id, rec) {
                        char object[48];
                        if (!state_is(rec, kinds[k].state))
                                continue;
                        snprintf(object, sizeof(object), "%s:%s", kinds[k].prefix, id);
                        log_info("Resuming the %s of %s", kinds[k].what, object);
                        (void) zc_job_submit(zc, object, id, kinds[k].what, kinds[k].steps, NULL, NULL);
                }
        zc_present_resume(zc);
}
