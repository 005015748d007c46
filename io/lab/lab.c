/* SPDX-License-Identifier: Apache-2.0 */
/* lab, the card driver of the lab's host: card ABI 4 over the card's API (lab.h). */
#include <curl/curl.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "common/netaddr.h"
#include "common/util.h"
#include "io/lab/lab.h"

#define MIB (1024ULL * 1024ULL)
#define VOLUME_SIZE_MAX (1ULL << 50)
#define DEVICE_TIMEOUT_S_DEFAULT 10
#define DEVICE_POLL_USEC (20ULL * 1000ULL)
#define OPEN_TIMEOUT_USEC (10ULL * 1000000ULL)
#define SYNC_CALL_TIMEOUT_USEC (60ULL * 1000000ULL)
#define STATS_EVERY_USEC (1ULL * 1000000ULL)
#define TOKEN_FILE_MAX 4096
#define LOCATOR_PREFIX "lab:"

static int refuse(struct zero_error *err, const char *fmt, const char *what) {
        return zero_error_set(err, -EOPNOTSUPP, ZERO_E_INVALID, fmt, what);
}

static int set_path(struct lab_op *op, const char *kind, const char *id) {
        if (!zero_hex_id_is_valid(id))
                return zero_error_set(&op->err, -EINVAL, ZERO_E_INVALID, "lab: %s id '%s' is not 32 hex digits", kind,
                                      strempty(id));
        snprintf(op->id, sizeof(op->id), "%s", id);
        snprintf(op->path, sizeof(op->path), "/v1/%s/%s", kind, id);
        return 0;
}

/* An op for object kind/id, or -errno at once (err filled; nothing started). */
static int new_op(struct zero_card *c, const char *kind, const char *id, struct lab_op **ret, struct zero_error *err) {
        struct lab_op *op = lab_op_new(c);
        int r;

        if (!op)
                return zero_error_default(err, -ENOMEM, "lab");
        r = set_path(op, kind, id);
        if (r < 0) {
                *err = op->err;
                free(op);
                return r;
        }
        *ret = op;
        return 0;
}

/* ---- steps ---- */

static int send_put(struct lab_op *op) {
        return lab_op_send(op, "PUT", NULL, 0);
}

static int send_delete(struct lab_op *op) {
        op->ok_if_missing = true;
        return lab_op_send(op, "DELETE", NULL, 0);
}

static int send_post_resize(struct lab_op *op) {
        return lab_op_send(op, "POST", "/resize", 0);
}

static int send_put_qos(struct lab_op *op) {
        return lab_op_send(op, "PUT", "/qos", 0);
}

static int send_present(struct lab_op *op) {
        return lab_op_send(op, "PUT", "/presentation", 0);
}

static int send_withdraw(struct lab_op *op) {
        json_decref(op->body);
        op->body = NULL;
        op->ok_if_missing = true;
        return lab_op_send(op, "DELETE", "/presentation", 0);
}

/* The volume's PUT, once its source is on the card. */
static int volume_put(struct lab_op *op) {
        json_object_set_new(op->body, "source", op->sha256[0] ? json_string(op->sha256) : json_null());
        return lab_op_send(op, "PUT", NULL, 0);
}

static int device_deadline(struct lab_op *op) {
        op->deadline = zero_monotonic_usec() + op->card->device_timeout_usec;
        return 1;
}

/* The presented disk, looked for every DEVICE_POLL_USEC until the deadline. */
static int wait_block(struct lab_op *op) {
        if (lab_block_find(op->serial, op->res.text) >= 0)
                return 1;
        if (zero_monotonic_usec() > op->deadline)
                return zero_error_set(&op->err, -ETIMEDOUT, ZERO_E_TIMEOUT,
                                      "lab: the card presented volume %s, but no disk with serial %s appeared in the "
                                      "host within %llu s",
                                      op->id, op->serial, op->card->device_timeout_usec / USEC_PER_SEC);
        lab_op_again(op, DEVICE_POLL_USEC);
        return 0;
}

/* The withdrawn disk gone from the host (the card waited for the guest's release already). */
static int wait_block_gone(struct lab_op *op) {
        char path[ZERO_CARD_PATH_MAX];

        if (lab_block_find(op->serial, path) < 0)
                return 1;
        if (zero_monotonic_usec() > op->deadline)
                return zero_error_set(&op->err, -ETIMEDOUT, ZERO_E_TIMEOUT,
                                      "lab: the card withdrew volume %s, but %s is still in the host", op->id, path);
        lab_op_again(op, DEVICE_POLL_USEC);
        return 0;
}

/* The presented NIC moved into its namespace and configured once it appeared. */
static int nic_settle(struct lab_op *op) {
        int r = lab_nic_settle(op->card->nl, op->mac, op->netns, op->ifname, op->addr, op->gateway, &op->err);

        if (r >= 0)
                return 1;
        if (r != -ENODEV)
                return r;
        if (zero_monotonic_usec() > op->deadline)
                return zero_error_set(&op->err, -ETIMEDOUT, ZERO_E_TIMEOUT,
                                      "lab: the card presented NIC %s, but no netdev with MAC %s appeared in the host "
                                      "within %llu s",
                                      op->id, op->mac, op->card->device_timeout_usec / USEC_PER_SEC);
        lab_op_again(op, DEVICE_POLL_USEC);
        return 0;
}

static int nic_present(struct lab_op *op) {
        json_decref(op->body);
        op->body = json_object();
        return lab_op_send(op, "PUT", "/presentation", 0);
}

static const lab_step_fn volume_create_steps[] = {lab_source_hash, lab_source_check, lab_source_upload, volume_put,
                                                  NULL};
static const lab_step_fn delete_steps[] = {send_delete, NULL};
static const lab_step_fn put_steps[] = {send_put, NULL};
static const lab_step_fn resize_steps[] = {send_post_resize, NULL};
static const lab_step_fn qos_steps[] = {send_put_qos, NULL};
static const lab_step_fn export_steps[] = {send_present, device_deadline, wait_block, NULL};
static const lab_step_fn unexport_steps[] = {send_withdraw, device_deadline, wait_block_gone, NULL};
static const lab_step_fn nic_attach_steps[] = {send_put, nic_present, device_deadline, nic_settle, NULL};

/* ---- the ops ---- */

static json_t *volume_body(const struct zero_card_volume *v) {
        return json_pack("{s:I,s:I,s:I}", "size_bytes", (json_int_t) v->size_bytes, "qos_iops",
                         (json_int_t) v->qos_iops, "qos_bps", (json_int_t) v->qos_bps);
}

static int card_volume_place(struct zero_card *c, const struct zero_card_volume *v, struct zero_card_placement *ret,
                             struct zero_error *err) {
        if (!v || !zero_hex_id_is_valid(v->id))
                return zero_error_set(err, -EINVAL, ZERO_E_INVALID, "lab: a volume's id is 32 hex digits");
        *ret = (struct zero_card_placement){};
        /* The card keeps the volume under its id: the locator is that, and the format the card's. */
        snprintf(ret->locator, sizeof(ret->locator), LOCATOR_PREFIX "%s", v->id);
        snprintf(ret->format, sizeof(ret->format), "card");
        return 0;
}

static int card_volume_validate(struct zero_card *c, const struct zero_card_volume *v, uint64_t size,
                                struct zero_error *err) {
        uint64_t s = size ?: v->size_bytes;

        if (s < MIB || s > VOLUME_SIZE_MAX || s % 512)
                return zero_error_set(err, -EINVAL, ZERO_E_INVALID,
                                      "lab: a volume is 1 MiB to 1 PiB, a multiple of 512 bytes");
        return 0;
}

static int card_volume_create(struct zero_card *c, const struct zero_card_volume *v, zero_card_done_fn done,
                              void *userdata, struct zero_error *err) {
        struct lab_op *op;
        int r = new_op(c, "volumes", v->id, &op, err);

        if (r < 0)
                return r;
        if (v->source && strlen(v->source) >= sizeof(op->source)) {
                free(op);
                return zero_error_set(err, -ENAMETOOLONG, ZERO_E_INVALID, "lab: the source's path is too long");
        }
        snprintf(op->source, sizeof(op->source), "%s", strempty(v->source));
        op->body = volume_body(v);
        return lab_op_start(c, op, volume_create_steps, done, userdata, err);
}

static int simple_op(struct zero_card *c, const char *kind, const char *id, json_t *body, const lab_step_fn *steps,
                     zero_card_done_fn done, void *userdata, struct zero_error *err) {
        struct lab_op *op;
        int r = new_op(c, kind, id, &op, err);

        if (r < 0) {
                json_decref(body);
                return r;
        }
        op->body = body;
        return lab_op_start(c, op, steps, done, userdata, err);
}

static int card_volume_delete(struct zero_card *c, const struct zero_card_volume *v, zero_card_done_fn done,
                              void *userdata, struct zero_error *err) {
        return simple_op(c, "volumes", v->id, NULL, delete_steps, done, userdata, err);
}

static int card_volume_resize(struct zero_card *c, const struct zero_card_volume *v, uint64_t new_size,
                              zero_card_done_fn done, void *userdata, struct zero_error *err) {
        return simple_op(c, "volumes", v->id, json_pack("{s:I}", "size_bytes", (json_int_t) new_size), resize_steps,
                         done, userdata, err);
}

static int card_volume_set_qos(struct zero_card *c, const struct zero_card_volume *v, zero_card_done_fn done,
                               void *userdata, struct zero_error *err) {
        return simple_op(c, "volumes", v->id,
                         json_pack("{s:I,s:I}", "iops", (json_int_t) v->qos_iops, "bps", (json_int_t) v->qos_bps),
                         qos_steps, done, userdata, err);
}

static int card_volume_export(struct zero_card *c, const struct zero_card_volume *v, enum zero_card_export_kind kind,
                              zero_card_done_fn done, void *userdata, struct zero_error *err) {
        struct lab_op *op;
        int r;

        if (kind != ZERO_CARD_EXPORT_HOST_BLOCK)
                return refuse(err,
                              "lab: the lab's card presents volumes to the host as block devices only, not as %s: "
                              "no VMs in the lab (no nested accelerator)",
                              strempty(zero_card_export_kind_to_string(kind)));
        r = new_op(c, "volumes", v->id, &op, err);
        if (r < 0)
                return r;
        snprintf(op->serial, sizeof(op->serial), "%.*s", LAB_SERIAL_MAX, v->id);
        op->body = json_pack("{s:s}", "personality", c->personality);
        return lab_op_start(c, op, export_steps, done, userdata, err);
}

static int card_volume_unexport(struct zero_card *c, const struct zero_card_volume *v, zero_card_done_fn done,
                                void *userdata, struct zero_error *err) {
        struct lab_op *op;
        int r = new_op(c, "volumes", v->id, &op, err);

        if (r < 0)
                return r;
        snprintf(op->serial, sizeof(op->serial), "%.*s", LAB_SERIAL_MAX, v->id);
        return lab_op_start(c, op, unexport_steps, done, userdata, err);
}

static json_t *network_body(const struct zero_card_network *n) {
        return json_pack("{s:s,s:s,s:s}", "name", strempty(n->name), "subnet", strempty(n->subnet), "gateway",
                         strempty(n->gateway));
}

static int card_network_create(struct zero_card *c, const struct zero_card_network *n, zero_card_done_fn done,
                               void *userdata, struct zero_error *err) {
        return simple_op(c, "networks", n->id, network_body(n), put_steps, done, userdata, err);
}

static int card_network_delete(struct zero_card *c, const struct zero_card_network *n, zero_card_done_fn done,
                               void *userdata, struct zero_error *err) {
        return simple_op(c, "networks", n->id, NULL, delete_steps, done, userdata, err);
}

/* What a NIC's settling needs: its MAC, name, address with the subnet's prefix, gateway. */
static int nic_fill(struct lab_op *op, const struct zero_card_nic *nic, const char *netns_path,
                    struct zero_error *err) {
        struct zero_ipv4_net net;

        if (!nic->network || !nic->mac || !nic->ip || !nic->ifname ||
            zero_ipv4_net_parse(strempty(nic->network->subnet), &net) < 0)
                return zero_error_set(err, -EINVAL, ZERO_E_INVALID, "lab: NIC %s lacks its MAC, address or network",
                                      nic->id);
        if (!netns_path || strlen(netns_path) >= sizeof(op->netns))
                return zero_error_set(err, -EINVAL, ZERO_E_INVALID, "lab: NIC %s needs a network namespace", nic->id);
        snprintf(op->mac, sizeof(op->mac), "%s", nic->mac);
        snprintf(op->ifname, sizeof(op->ifname), "%s", nic->ifname);
        snprintf(op->addr, sizeof(op->addr), "%s/%u", nic->ip, net.prefixlen);
        snprintf(op->gateway, sizeof(op->gateway), "%s", strempty(nic->network->gateway));
        snprintf(op->netns, sizeof(op->netns), "%s", netns_path);
        op->body = json_pack("{s:s,s:s,s:s}", "network", nic->network->id, "mac", nic->mac, "ip", nic->ip);
        return op->body ? 0 : -ENOMEM;
}

static int card_nic_attach(struct zero_card *c, const struct zero_card_nic *nic, enum zero_card_nic_kind kind,
                           const char *netns_path, zero_card_done_fn done, void *userdata, struct zero_error *err) {
        struct lab_op *op;
        int r;

        if (kind != ZERO_CARD_NIC_VETH)
                return refuse(err,
                              "lab: the lab's card presents NICs to the host's containers only, not as %s: no VMs "
                              "in the lab (no nested accelerator)",
                              strempty(zero_card_nic_kind_to_string(kind)));
        r = new_op(c, "nics", nic->id, &op, err);
        if (r < 0)
                return r;
        r = nic_fill(op, nic, netns_path, err);
        if (r < 0) {
                json_decref(op->body);
                free(op);
                return r;
        }
        return lab_op_start(c, op, nic_attach_steps, done, userdata, err);
}

static int card_nic_detach(struct zero_card *c, const struct zero_card_nic *nic, zero_card_done_fn done, void *userdata,
                           struct zero_error *err) {
        /* The card withdraws the NIC and removes its tap: the netdev leaves the host with it. */
        return simple_op(c, "nics", nic->id, NULL, delete_steps, done, userdata, err);
}

/* ---- stats: the last the card gave, refreshed from the loop (never waited for) ---- */

struct lab_stats {
        char id[33];
        struct zero_card_volume_stats st;
        bool have;
        uint64_t asked; /* when the last refresh was asked for */
        struct lab_request *req;
        struct zero_card *card;
        struct lab_stats *next;
};

static void on_stats(void *userdata, int r, long status, json_t *body, const struct zero_error *err) {
        struct lab_stats *s = userdata;

        s->req = NULL;
        if (r < 0)
                return;
        s->st = (struct zero_card_volume_stats){
                .read_bytes = (uint64_t) json_integer_value(json_object_get(body, "read_bytes")),
                .write_bytes = (uint64_t) json_integer_value(json_object_get(body, "write_bytes")),
                .read_ops = (uint64_t) json_integer_value(json_object_get(body, "read_ops")),
                .write_ops = (uint64_t) json_integer_value(json_object_get(body, "write_ops")),
                .allocated_bytes = (uint64_t) json_integer_value(json_object_get(body, "allocated_bytes")),
                .exported = json_is_true(json_object_get(body, "exported"))};
        s->have = true;
}

static int card_volume_stats(struct zero_card *c, const struct zero_card_volume *v, struct zero_card_volume_stats *ret,
                             struct zero_error *err) {
        struct lab_stats *s;
        _cleanup_free_ char *path = zero_strdup_printf("/v1/volumes/%s/stats", v->id);

        for (s = c->stats; s && !streq(s->id, v->id); s = s->next)
                ;
        if (!s && (s = calloc(1, sizeof(*s)))) {
                snprintf(s->id, sizeof(s->id), "%s", v->id);
                s->card = c;
                s->next = c->stats;
                c->stats = s;
        }
        if (s && path && !s->req && zero_monotonic_usec() - s->asked > STATS_EVERY_USEC) {
                s->asked = zero_monotonic_usec();
                (void) lab_client_request(c->client, "GET", path, NULL, NULL, 0, on_stats, s, &s->req);
        }
        if (!s || !s->have)
                return zero_error_set(err, -EAGAIN, ZERO_E_UNAVAILABLE, "lab: the card's stats are under way");
        *ret = s->st;
        return 0;
}

static void stats_free(struct zero_card *c) {
        while (c->stats) {
                struct lab_stats *s = c->stats;
                c->stats = s->next;
                lab_request_cancel(s->req);
                free(s);
        }
}

/* ---- open, close ---- */

static void card_close(struct zero_card *c) {
        if (!c)
                return;
        lab_ops_drop(c); /* their done is not called (card.h) */
        stats_free(c);
        lab_sources_free(c);
        c->client = lab_client_free(c->client);
        c->nl = zero_nl_close(c->nl);
        free(c->personality);
        free(c);
}
DEFINE_TRIVIAL_CLEANUP_FUNC(struct zero_card *, card_close)

static const char *cfg(const struct zero_card_env *env, const char *key, const char *def) {
        const char *v = env->config_get ? env->config_get(env->userdata, "card", key) : NULL;
        return v && *v ? v : def;
}

static int card_open(const struct zero_card_env *env, struct zero_card **ret, struct zero_error *err) {
        _cleanup_(card_closep) struct zero_card *c = NULL;
        _cleanup_free_ char *token = NULL;
        const char *url, *token_file, *personality, *timeout;
        json_t *body = NULL;
        int64_t t = DEVICE_TIMEOUT_S_DEFAULT;
        size_t len;
        int r;

        if (!env || env->size < sizeof(*env) || !ret || !env->event)
                return zero_error_set(err, -EINVAL, ZERO_E_INTERNAL, "lab: no environment");
        url = cfg(env, "url", "http://10.0.2.100:80");
        token_file = cfg(env, "token_file", "/run/zero-host/card-token");
        personality = cfg(env, "personality", "virtio-blk");
        timeout = cfg(env, "device_timeout_s", NULL);
        if (!streq(personality, "virtio-blk") && !streq(personality, "virtio-scsi") && !streq(personality, "nvme"))
                return zero_error_set(err, -EINVAL, ZERO_E_INVALID,
                                      "[card] personality=%s: expected virtio-blk, virtio-scsi or nvme", personality);
        if (timeout && zero_parse_int64(timeout, 1, 600, &t) < 0)
                return zero_error_set(err, -EINVAL, ZERO_E_INVALID, "[card] device_timeout_s=%s: expected 1..600",
                                      timeout);
        r = zero_read_file(token_file, TOKEN_FILE_MAX, &token, &len);
        if (r < 0)
                return zero_error_set(err, r, ZERO_E_INVALID, "lab: the card's token ([card] token_file=%s): %s",
                                      token_file, strerror(-r));
        token[strcspn(token, "\r\n")] = '\0';
        if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
                return zero_error_set(err, -EIO, ZERO_E_INTERNAL, "lab: libcurl does not start");
        c = calloc(1, sizeof(*c));
        if (!c)
                return zero_error_default(err, -ENOMEM, "lab");
        c->event = env->event;
        c->device_timeout_usec = (uint64_t) t * USEC_PER_SEC;
        c->personality = strdup(personality);
        if (!c->personality)
                return zero_error_default(err, -ENOMEM, "lab");
        r = lab_client_new(env->event, url, cfg(env, "unix_socket", NULL), token, &c->client);
        explicit_bzero(token, len);
        if (r < 0)
                return zero_error_default(err, r, "lab: the card's client");
        r = zero_nl_open(&c->nl);
        if (r < 0)
                return zero_error_set(err, r, ZERO_E_INTERNAL, "lab: cannot open rtnetlink: %s", strerror(-r));
        /* zerod's start: the card must answer, or the node has no disks. Bounded. */
        r = lab_client_call(c->client, "GET", "/v1/card", NULL, OPEN_TIMEOUT_USEC, NULL, &body, err);
        json_decref(body);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(c);
        return 0;
}

/* ---- sync: at zerod's start, the card's view made the store's (card.h) ---- */

/* A blocking wait for the presented device (sync only: nothing is served yet), bounded. */
static int wait_sync(struct zero_card *c, int (*probe)(void *arg), void *arg) {
        uint64_t deadline = zero_monotonic_usec() + c->device_timeout_usec;
        int r;

        while ((r = probe(arg)) == -ENODEV && zero_monotonic_usec() < deadline)
                nanosleep(&(struct timespec){.tv_nsec = (long) (DEVICE_POLL_USEC * 1000)}, NULL);
        return r;
}

struct block_probe {
        const char *serial;
        char *path;
};

static int probe_block(void *arg) {
        struct block_probe *p = arg;
        return lab_block_find(p->serial, p->path);
}

struct nic_probe {
        struct zero_card *c;
        struct lab_op op;
        struct zero_error *err;
};

static int probe_nic(void *arg) {
        struct nic_probe *p = arg;
        return lab_nic_settle(p->c->nl, p->op.mac, p->op.netns, p->op.ifname, p->op.addr, p->op.gateway, p->err);
}

static bool listed(json_t *list, const char *member, const char *id) {
        size_t i;
        json_t *e;

        json_array_foreach(json_object_get(list, member), i, e) {
                if (streq(strempty(json_string_value(json_object_get(e, "id"))), id))
                        return true;
        }
        return false;
}

static int sync_call(struct zero_card *c, const char *method, const char *path, json_t *body, bool ok_if_missing,
                     json_t **ret, struct zero_error *err) {
        int r = lab_client_call(c->client, method, path, body, SYNC_CALL_TIMEOUT_USEC, NULL, ret, err);
        return r == -ENOENT && ok_if_missing ? 0 : r;
}

static int card_sync(struct zero_card *c, const struct zero_card_network *networks, size_t n_networks,
                     struct zero_card_want_export *exports, size_t n_exports, struct zero_card_want_nic *nics,
                     size_t n_nics, struct zero_error *err) {
        json_auto_t *card_nets = NULL, *card_pres = NULL, *card_nics = NULL;
        char path[160];
        size_t i;
        json_t *e;
        int bad = 0, r;

        if ((r = sync_call(c, "GET", "/v1/networks", NULL, false, &card_nets, err)) < 0 ||
            (r = sync_call(c, "GET", "/v1/presentations", NULL, false, &card_pres, err)) < 0 ||
            (r = sync_call(c, "GET", "/v1/nics", NULL, false, &card_nics, err)) < 0)
                return r;
        for (i = 0; i < n_networks; i++) {
                snprintf(path, sizeof(path), "/v1/networks/%s", networks[i].id);
                bad += sync_call(c, "PUT", path, network_body(&networks[i]), false, NULL, err) < 0;
        }
        for (i = 0; i < n_exports; i++) {
                struct zero_card_want_export *w = &exports[i];
                struct block_probe p = {.path = w->path};
                char serial[LAB_SERIAL_MAX + 1];

                if (w->kind != ZERO_CARD_EXPORT_HOST_BLOCK) {
                        bad += refuse(err, "lab: no %s exports in the lab", zero_card_export_kind_to_string(w->kind)) <
                               0;
                        continue;
                }
                snprintf(serial, sizeof(serial), "%.*s", LAB_SERIAL_MAX, w->volume->id);
                p.serial = serial;
                w->recreated = !listed(card_pres, "presentations", w->volume->id);
                snprintf(path, sizeof(path), "/v1/volumes/%s/presentation", w->volume->id);
                r = sync_call(c, "PUT", path, json_pack("{s:s}", "personality", c->personality), false, NULL, err);
                if (r >= 0 && (r = wait_sync(c, probe_block, &p)) < 0)
                        zero_error_set(err, r, ZERO_E_TIMEOUT, "lab: no disk with serial %s in the host", serial);
                bad += r < 0;
        }
        /* Presentations of volumes the store has no export for: a crash between the card and
         * the row. The card's own (its state volume) are not the driver's. */
        json_array_foreach(json_object_get(card_pres, "presentations"), i, e) {
                const char *id = json_string_value(json_object_get(e, "id"));
                bool wanted = false;

                if (!id || json_is_true(json_object_get(e, "system")) ||
                    !streq(strempty(json_string_value(json_object_get(e, "kind"))), "volume"))
                        continue;
                for (size_t k = 0; k < n_exports && !wanted; k++)
                        wanted = streq(exports[k].volume->id, id);
                if (wanted)
                        continue;
                snprintf(path, sizeof(path), "/v1/volumes/%s/presentation", id);
                bad += sync_call(c, "DELETE", path, NULL, true, NULL, err) < 0;
        }
        for (i = 0; i < n_nics; i++) {
                struct zero_card_want_nic *w = &nics[i];
                struct nic_probe p = {.c = c, .op = {.card = c}, .err = err};

                if (w->kind != ZERO_CARD_NIC_VETH || nic_fill(&p.op, w->nic, w->netns_path, err) < 0) {
                        bad++;
                        continue;
                }
                w->recreated = !listed(card_nics, "nics", w->nic->id);
                snprintf(path, sizeof(path), "/v1/nics/%s", w->nic->id);
                r = sync_call(c, "PUT", path, json_incref(p.op.body), false, NULL, err);
                snprintf(path, sizeof(path), "/v1/nics/%s/presentation", w->nic->id);
                if (r >= 0)
                        r = sync_call(c, "PUT", path, json_object(), false, NULL, err);
                if (r >= 0)
                        r = wait_sync(c, probe_nic, &p);
                json_decref(p.op.body);
                bad += r < 0;
        }
        json_array_foreach(json_object_get(card_nics, "nics"), i, e) {
                const char *id = json_string_value(json_object_get(e, "id"));
                bool wanted = false;

                for (size_t k = 0; id && k < n_nics && !wanted; k++)
                        wanted = streq(nics[k].nic->id, id);
                if (!id || wanted)
                        continue;
                snprintf(path, sizeof(path), "/v1/nics/%s", id);
                bad += sync_call(c, "DELETE", path, NULL, true, NULL, err) < 0;
        }
        json_array_foreach(json_object_get(card_nets, "networks"), i, e) {
                const char *id = json_string_value(json_object_get(e, "id"));
                bool wanted = false;

                for (size_t k = 0; id && k < n_networks && !wanted; k++)
                        wanted = streq(networks[k].id, id);
                if (!id || wanted)
                        continue;
                snprintf(path, sizeof(path), "/v1/networks/%s", id);
                bad += sync_call(c, "DELETE", path, NULL, true, NULL, err) < 0;
        }
        return bad;
}

/* zero-card runs outside the host (the lab's VM): a kexec or a reset of the host leaves its
 * volumes, NICs and API as they are. */
static uint64_t card_capabilities(struct zero_card *c) {
        (void) c;
        return ZERO_CARD_CAP_OUTLIVES_HOST;
}

/* ---- the host handed to a tenant ---- */

static void on_tenant_answer(void *userdata, int r, long status, json_t *body, const struct zero_error *err) {
        struct lab_op *op = userdata;
        json_t *t = json_object_get(body, "tenant"), *last = json_object_get(body, "last");

        op->req = NULL;
        if (r >= 0 && streq(op->path, "/v1/host/tenant")) {
                if (streq(strempty(json_string_value(json_object_get(t, "operation"))), op->id))
                        snprintf(op->res.text, sizeof(op->res.text), "running");
                else if (streq(strempty(json_string_value(json_object_get(last, "operation"))), op->id)) {
                        const char *sw = json_string_value(json_object_get(last, "switch"));
                        json_t *tb = json_object_get(last, "take_back");
                        const char *tb_id = json_string_value(json_object_get(tb, "operation"));
                        char times[128] = "";

                        /* "op ID CREATED OFF ENDED": the stop's or switch's operation (card.h) */
                        if (tb_id && zero_hex_id_is_valid(tb_id))
                                snprintf(times, sizeof(times), " op %s %lld %lld %lld", tb_id,
                                         (long long) json_integer_value(json_object_get(tb, "created_us")),
                                         (long long) json_integer_value(json_object_get(tb, "off_us")),
                                         (long long) json_integer_value(json_object_get(tb, "ended_us")));
                        /* "switch MODE": the operator asked the card for a switch (card.h) */
                        snprintf(op->res.text, sizeof(op->res.text), "ended %lld%s%s%s",
                                 (long long) json_integer_value(json_object_get(last, "exit_code")),
                                 sw ? " switch " : "", sw ? sw : "", times);
                } else
                        snprintf(op->res.text, sizeof(op->res.text), "none");
        }
        lab_op_next(op, r, err);
}

static int tenant_send(struct lab_op *op) {
        int r = lab_client_request(op->card->client, op->body ? "POST" : "GET", op->path, json_incref(op->body), NULL,
                                   0, on_tenant_answer, op, &op->req);

        if (r < 0)
                return zero_error_set(&op->err, r, ZERO_E_INTERNAL, "lab: cannot ask the card: %s", strerror(-r));
        return 0;
}

static const lab_step_fn tenant_steps[] = {tenant_send, NULL};

static int tenant_op(struct zero_card *c, const char *path, const char *operation, json_t *body,
                     zero_card_done_fn done, void *userdata, struct zero_error *err) {
        struct lab_op *op = lab_op_new(c);

        if (!op) {
                json_decref(body);
                return zero_error_default(err, -ENOMEM, "lab");
        }
        snprintf(op->path, sizeof(op->path), "%s", path);
        snprintf(op->id, sizeof(op->id), "%s", strempty(operation));
        op->body = body;
        return lab_op_start(c, op, tenant_steps, done, userdata, err);
}

static int card_tenant_handover(struct zero_card *c, const struct zero_card_tenant *t, zero_card_done_fn done,
                                void *userdata, struct zero_error *err) {
        json_t *body, *vols = json_array(), *nics = json_array();

        if (!t || !t->operation || !t->instance || !t->name) {
                json_decref(vols);
                json_decref(nics);
                return zero_error_set(err, -EINVAL, ZERO_E_INTERNAL, "lab: a hand-over without its tenant");
        }
        for (size_t i = 0; i < t->n_volumes; i++)
                json_array_append_new(vols, json_string(t->volumes[i]));
        for (size_t i = 0; i < t->n_nics; i++)
                json_array_append_new(nics, json_string(t->nics[i]));
        body = json_pack("{s:s,s:s,s:s,s:o,s:o}", "operation", t->operation, "instance", t->instance, "name", t->name,
                         "volumes", vols, "nics", nics);
        if (!body)
                return zero_error_default(err, -ENOMEM, "lab");
        return tenant_op(c, "/v1/host/handover", t->operation, body, done, userdata, err);
}

static int card_tenant_status(struct zero_card *c, const char *operation, zero_card_done_fn done, void *userdata,
                              struct zero_error *err) {
        if (!operation || strlen(operation) >= sizeof(((struct lab_op *) 0)->id))
                return zero_error_set(err, -EINVAL, ZERO_E_INTERNAL, "lab: no operation to ask about");
        return tenant_op(c, "/v1/host/tenant", operation, NULL, done, userdata, err);
}

static const struct zero_card_driver driver = {
        .abi_version = ZERO_CARD_ABI_VERSION,
        .size = sizeof(struct zero_card_driver),
        .name = "lab",
        .ops =
                {
                        .open = card_open,
                        .close = card_close,
                        .volume_place = card_volume_place,
                        .volume_validate = card_volume_validate,
                        .volume_stats = card_volume_stats,
                        .sync = card_sync,
                        .volume_create = card_volume_create,
                        .volume_delete = card_volume_delete,
                        .volume_resize = card_volume_resize,
                        .volume_set_qos = card_volume_set_qos,
                        .volume_export = card_volume_export,
                        .volume_unexport = card_volume_unexport,
                        .network_create = card_network_create,
                        .network_delete = card_network_delete,
                        .nic_attach = card_nic_attach,
                        .nic_detach = card_nic_detach,
                        .capabilities = card_capabilities,
                        .tenant_handover = card_tenant_handover,
                        .tenant_status = card_tenant_status,
                },
};

__attribute__((visibility("default"))) const struct zero_card_driver *zero_card_driver_entry(void) {
        return &driver;
}
