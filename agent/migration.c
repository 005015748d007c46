/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Live migration, decided in the core (migration.h): the source's request checked and recorded,
 * the description of an instance that one agent sends the other, the target's record of it, and
 * the target's switchover.
 */
#include "agent/migration.h"

#include <string.h>
#include <unistd.h>

#include "agent/card.h"
#include "agent/instance_service.h"
#include "agent/node_owner.h"
#include "agent/operation.h"
#include "agent/plugin_loader.h"
#include "agent/volume_service.h"
#include "common/log.h"
#include "common/netaddr.h"
#include "common/text.h"
#include "common/util.h"

#define TOKEN_MAX 4096

static bool is_hex32(const char *s) {
        return s && strlen(s) == 32 && strspn(s, "0123456789abcdef") == 32;
}

/* An integer member in [min, max], or its default when absent: 0, or -EINVAL with err. */
static int int_member(json_t *body, const char *key, int64_t min, int64_t max, int64_t def, int64_t *ret,
                      struct zero_error *err) {
        json_t *v = json_object_get(body, key);

        if (!v) {
                *ret = def;
                return 0;
        }
        if (!json_is_integer(v) || json_integer_value(v) < min || json_integer_value(v) > max)
                return zero_error_set(err, -EINVAL, ZERO_E_INVALID, "%s: expected an integer from %lld to %lld", key,
                                      (long long) min, (long long) max);
        *ret = json_integer_value(v);
        return 0;
}

/* [migration] key as an integer in [min, max], or def. */
static int64_t config_int(struct zero_agent *a, const char *key, int64_t min, int64_t max, int64_t def) {
        const char *s = zero_config_get(a->config, "migration", key);
        int64_t v;

        if (!s || zero_parse_int64(s, min, max, &v) < 0) {
                if (s)
                        log_warning("[migration] %s=%s: expected %lld..%lld; using %lld", key, s, (long long) min,
                                    (long long) max, (long long) def);
                return def;
        }
        return v;
}

char *zero_migration_url_host(const char *url) {
        const char *h = url && strncmp(url, "https://", 8) == 0 ? url + 8 : url && strncmp(url, "http://", 7) == 0 ? url + 7 : NULL;
        const char *end;

        if (!h || !*h)
                return NULL;
        if (*h == '[') { /* an IPv6 address */
                end = strchr(h, ']');
                return end ? strndup(h + 1, (size_t) (end - h - 1)) : NULL;
        }
        end = h + strcspn(h, ":/");
        return end > h ? strndup(h, (size_t) (end - h)) : NULL;
}

/* --- the source's request --- */

static bool plugin_migrates(const struct zero_plugin *p) {
        return ZERO_PLUGIN_HAS(p, migrate_out) && ZERO_PLUGIN_HAS(p, migrate_in);
}

int zero_instance_migrate(struct zero_agent *a, const char *name, json_t *body, struct zero_op **ret_op,
                          struct zero_error *err) {
        const struct zero_loaded_plugin *lp;
        struct zero_instance_row row = {};
        _cleanup_free_ char *host = NULL;
        const char *target, *token, *key;
        int64_t downtime, bandwidth, timeout;
        json_t *v, *params;
        int r;

        json_object_foreach(body, key, v)
                if (!streq(key, "target") && !streq(key, "token") && !streq(key, "downtime_ms") &&
                    !streq(key, "bandwidth") && !streq(key, "timeout_s"))
                        return zero_error_set(err, -EINVAL, ZERO_E_INVALID,
                                              "'%s': expected target, token, downtime_ms, bandwidth or timeout_s",
                                              ZERO_QUOTE(key));
        target = json_string_value(json_object_get(body, "target"));
        token = json_string_value(json_object_get(body, "token"));
        if (!target || !zero_peer_url_valid(target) || !(host = zero_migration_url_host(target)))
                return zero_error_set(err, -EINVAL, ZERO_E_INVALID,
                                      "target: the other node's API is required, https://HOST[:PORT]");
        if ((json_object_get(body, "token") && (!token || !*token || strlen(token) > TOKEN_MAX ||
                                                 strpbrk(token, "\r\n"))))
                return zero_error_set(err, -EINVAL, ZERO_E_INVALID, "token: expected a bearer token (one line)");
        if ((r = int_member(body, "downtime_ms", ZERO_MIGRATE_DOWNTIME_MS_MIN, ZERO_MIGRATE_DOWNTIME_MS_MAX,
                            config_int(a, "downtime_ms", ZERO_MIGRATE_DOWNTIME_MS_MIN, ZERO_MIGRATE_DOWNTIME_MS_MAX,
                                       ZERO_MIGRATE_DOWNTIME_MS_DEFAULT),
                            &downtime, err)) < 0 ||
            (r = int_member(body, "bandwidth", ZERO_MIGRATE_BANDWIDTH_MIN, ZERO_MIGRATE_BANDWIDTH_MAX,
                            config_int(a, "bandwidth", ZERO_MIGRATE_BANDWIDTH_MIN, ZERO_MIGRATE_BANDWIDTH_MAX,
                                       ZERO_MIGRATE_BANDWIDTH_DEFAULT),
                            &bandwidth, err)) < 0 ||
            (r = int_member(body, "timeout_s", 1, ZERO_MIGRATE_TIMEOUT_S_MAX,
                            config_int(a, "timeout_s", 1, ZERO_MIGRATE_TIMEOUT_S_MAX, ZERO_MIGRATE_TIMEOUT_S_DEFAULT),
                            &timeout, err)) < 0)
                return r;
        r = zero_instance_load(a, name, &row, err);
        if (r < 0)
                return r;
        lp = zero_plugins_find(a->plugins, row.mode);
        if (!lp || !plugin_migrates(lp->plugin))
                r = zero_error_set(err, -EOPNOTSUPP, ZERO_E_INVALID, "a %s instance cannot migrate: its plugin has no "
                                   "migrate_out and migrate_in", row.mode);
        else if (!ZERO_CARD_HAS(a->card_driver, volume_release) || !ZERO_CARD_HAS(a->card_driver, volume_take))
                r = zero_error_set(err, -EOPNOTSUPP, ZERO_E_INVALID,
                                   "the card driver %s cannot hand volumes over to another node", a->card_driver->name);
        zero_instance_row_done(&row);
        if (r < 0)
                return r;
        /* force: once switched over, the source's QEMU (paused, its guest gone) is quit at once. */
        params = json_pack("{s:s,s:s?,s:I,s:I,s:I,s:s,s:b,s:I}", "target", target, "token", token, "downtime_ms",
                           (json_int_t) downtime, "bandwidth", (json_int_t) bandwidth, "timeout_s", (json_int_t) timeout,
                           "listen", host, "force", 1, "deadline_us",
                           (json_int_t) (zero_now_usec() + (uint64_t) timeout * USEC_PER_SEC));
        if (!params)
                return zero_error_set(err, -ENOMEM, ZERO_E_INTERNAL, "out of memory");
        log_info("Migrating %s to %s (downtime %lld ms, bandwidth %lld B/s)", name, target, (long long) downtime,
                 (long long) bandwidth);
        return zero_instance_act(a, name, "migrate", params, ret_op, err);
}

int zero_migration_peer(struct zero_op *op, struct zero_peer_target *ret, char **ret_token, struct zero_error *err) {
        const struct zero_config *c = op->agent->config;
        const char *token = json_string_value(json_object_get(op->params, "token"));
        const char *file = zero_config_get(c, "migration", "token_file");
        char *read = NULL;
        size_t len;
        int r;

        *ret_token = NULL;
        if (!token)
                token = zero_config_get(c, "migration", "token");
        if (!token && file) {
                r = zero_read_file(file, TOKEN_MAX, &read, &len);
                if (r < 0)
                        return zero_error_set(err, r, ZERO_E_INVALID, "[migration] token_file=%s: %s", file, strerror(-r));
                read[strcspn(read, "\r\n")] = '\0';
                token = *ret_token = read;
        }
        *ret = (struct zero_peer_target){
                .url = json_string_value(json_object_get(op->params, "target")),
                .token = token && *token ? token : NULL,
                .ca_file = zero_config_get(c, "migration", "ca_file"),
        };
        return 0;
}

/* --- the description the source sends --- */

int zero_migration_describe(struct zero_agent *a, const struct zero_instance_row *row, const char *listen,
                            const char *source_op, int64_t timeout_s, json_t **ret, struct zero_error *err) {
        struct zero_attachment_row *atts = NULL;
        struct zero_nic_row *nics = NULL;
        size_t n_atts = 0, n_nics = 0;
        json_auto_t *vols = json_array(), *ns = json_array(), *spec = NULL;
        int r;

        spec = json_loads(row->spec ? row->spec : "{}", 0, NULL);
        r = vols && ns && spec ? 0 : -ENOMEM;
        if (r >= 0)
                r = zero_store_attachment_list_for_instance(a->store, row->id, &atts, &n_atts);
        if (r >= 0)
                r = zero_store_nic_list_for_instance(a->store, row->id, &nics, &n_nics);
        for (size_t i = 0; r >= 0 && i < n_atts; i++) {
                struct zero_volume_row v = {};

                r = zero_store_volume_get(a->store, atts[i].volume, &v);
                if (r >= 0 && json_array_append_new(
                                      vols, json_pack("{s:s,s:s,s:I,s:s?,s:s,s:s,s:I,s:I,s:b,s:s,s:s?,s:s,s:I}", "name",
                                                      v.name, "id", v.id, "size_bytes", (json_int_t) v.size_bytes,
                                                      "image", v.image, "locator", v.locator, "format", strempty(v.format),
                                                      "qos_iops", (json_int_t) v.qos_iops, "qos_bps",
                                                      (json_int_t) v.qos_bps, "owned",
                                                      v.owner_instance && streq(v.owner_instance, row->id), "role",
                                                      atts[i].role, "path", atts[i].path, "personality",
                                                      atts[i].personality, "idx", (json_int_t) atts[i].idx)) < 0)
                        r = -ENOMEM;
                zero_volume_row_done(&v);
        }
        for (size_t i = 0; r >= 0 && i < n_nics; i++) {
                struct zero_network_row net = {};

                r = zero_store_network_get(a->store, nics[i].network, &net);
                if (r >= 0 && json_array_append_new(ns, json_pack("{s:s,s:s,s:s,s:s,s:s,s:I,s:I}", "id", nics[i].id,
                                                                  "network", net.name, "subnet", net.subnet, "mac",
                                                                  nics[i].mac, "ip", nics[i].ip, "host_index",
                                                                  (json_int_t) nics[i].host_index, "idx",
                                                                  (json_int_t) nics[i].idx)) < 0)
                        r = -ENOMEM;
                zero_network_row_done(&net);
        }
        zero_attachment_rows_free(atts, n_atts);
        zero_nic_rows_free(nics, n_nics);
        if (r < 0)
                return zero_error_set(err, r, ZERO_E_UNAVAILABLE, "cannot describe %s: %s", row->name, strerror(-r));
        *ret = json_pack("{s:{s:s,s:s,s:s,s:s,s:I,s:I,s:O,s:I},s:O,s:O,s:s,s:{s:s,s:s},s:I}", "instance", "id", row->id,
                         "name", row->name, "mode", row->mode, "image", row->image, "cpus", (json_int_t) row->cpus,
                         "memory_mib", (json_int_t) row->memory_mib, "spec", spec, "created_at",
                         (json_int_t) row->created_at, "volumes", vols, "nics", ns, "listen", listen, "source", "node",
                         a->config->node_name, "operation", source_op, "timeout_s", (json_int_t) timeout_s);
        return *ret ? 0 : zero_error_set(err, -ENOMEM, ZERO_E_INTERNAL, "out of memory");
}

/* --- the target's record --- */

/* What the target makes of one described volume: its row and its attachment. */
static int incoming_volume(struct zero_agent *a, const char *instance_id, json_t *d, int64_t now,
                           struct zero_error *err) {
        const char *name = json_string_value(json_object_get(d, "name")), *id = json_string_value(json_object_get(d, "id"));
        const char *locator = json_string_value(json_object_get(d, "locator"));
        const char *image = json_string_value(json_object_get(d, "image"));
        const char *role = json_string_value(json_object_get(d, "role"));
        const char *personality = json_string_value(json_object_get(d, "personality"));
        json_t *size = json_object_get(d, "size_bytes");
        struct zero_volume_row v = {
                .name = (char *) name,
                .id = (char *) id,
                .size_bytes = json_integer_value(size),
                .image = (char *) image,
                .locator = (char *) locator,
                .format = (char *) json_string_value(json_object_get(d, "format")),
                .state = (char *) zero_vol_state_name(ZERO_VOL_READY),
                .qos_iops = json_integer_value(json_object_get(d, "qos_iops")),
                .qos_bps = json_integer_value(json_object_get(d, "qos_bps")),
                .owner_instance = json_is_true(json_object_get(d, "owned")) ? (char *) instance_id : NULL,
                .created_at = now,
                .updated_at = now,
        };
        struct zero_attachment_row att = {
                .volume = (char *) name,
                .instance_id = (char *) instance_id,
                .role = (char *) role,
                .path = (char *) json_string_value(json_object_get(d, "path")),
                .personality = (char *) personality,
                .idx = json_integer_value(json_object_get(d, "idx")),
        };
        int r;

        if (!zero_name_is_valid(name) || !is_hex32(id) || !locator || !*locator || !json_is_integer(size) ||
            json_integer_value(size) <= 0 || !role || (!streq(role, "root") && !streq(role, "data")) || !personality)
                return zero_error_set(err, -EINVAL, ZERO_E_INVALID, "a volume of the description is incomplete");
        /* The card here must find it where the source's left it (shared storage). */
        r = zero_card_volume_validate(a, &v, 0, err);
        if (r < 0)
                return r;
        r = zero_store_volume_insert(a->store, &v);
        if (r == -EEXIST)
                return zero_error_set(err, r, ZERO_E_CONFLICT, "a volume named '%s' or with id %s exists here already",
                                      name, id);
        if (r == -ENOENT)
                return zero_error_set(err, r, ZERO_E_INVALID, "volume %s was made from image '%s', which this node has not",
                                      name, strempty(image));
        if (r >= 0)
                r = zero_store_attachment_insert(a->store, &att);
        return r < 0 ? zero_error_store(err, r, "recording a volume") : 0;
}

/* One described NIC: the same network here (by name, with the same subnet), its MAC and address. */
static int incoming_nic(struct zero_agent *a, const char *instance_id, json_t *d, int64_t now, struct zero_error *err) {
        const char *network = json_string_value(json_object_get(d, "network"));
        const char *subnet = json_string_value(json_object_get(d, "subnet"));
        struct zero_network_row net = {};
        struct zero_nic_row nic = {
                .id = (char *) json_string_value(json_object_get(d, "id")),
                .network = (char *) network,
                .instance_id = (char *) instance_id,
                .mac = (char *) json_string_value(json_object_get(d, "mac")),
                .ip = (char *) json_string_value(json_object_get(d, "ip")),
                .host_index = json_integer_value(json_object_get(d, "host_index")),
                .idx = json_integer_value(json_object_get(d, "idx")),
                .created_at = now,
        };
        int r;

        if (!is_hex32(nic.id) || !network || !subnet || !nic.mac || !nic.ip || nic.host_index <= 0 || nic.idx < 0 ||
            nic.idx >= ZERO_CARD_NICS_MAX)
                return zero_error_set(err, -EINVAL, ZERO_E_INVALID, "a NIC of the description is incomplete");
        r = zero_store_network_get(a->store, network, &net);
        if (r == -ENOENT)
                return zero_error_set(err, r, ZERO_E_INVALID, "no network '%s' here: the NIC's network must exist on "
                                      "both nodes, joined", ZERO_QUOTE(network));
        if (r < 0)
                return zero_error_store(err, r, "reading a network");
        if (!streq(net.subnet, subnet))
                r = zero_error_set(err, -EINVAL, ZERO_E_INVALID, "network %s is %s here, %s on the source", network,
                                   net.subnet, subnet);
        zero_network_row_done(&net);
        if (r < 0)
                return r;
        r = zero_store_nic_insert(a->store, &nic);
        if (r == -EEXIST)
                return zero_error_set(err, r, ZERO_E_CONFLICT, "NIC %s (%s, %s) clashes with one here: its id, MAC or "
                                      "address is taken on network %s", nic.id, nic.mac, nic.ip, network);
        return r < 0 ? zero_error_store(err, r, "recording a NIC") : 0;
}

/* The same request again (the source's step run again after a crash): the operation it made. */
static struct zero_op *incoming_again(struct zero_agent *a, const char *id, const char *source_op) {
        struct zero_operation_row running = {};
        struct zero_op *op = NULL;

        if (zero_store_operation_running_for(a->store, id, &running) >= 0 && streq(running.kind, "migrate_in")) {
                op = zero_op_find(a, running.id);
                if (op && !streq(strempty(json_string_value(
                                          json_object_get(json_object_get(op->params, "source"), "operation"))),
                                 source_op))
                        op = NULL;
        }
        zero_operation_row_done(&running);
        return op;
}

int zero_migration_incoming(struct zero_agent *a, json_t *body, struct zero_op **ret_op, struct zero_error *err) {
        json_t *inst = json_object_get(body, "instance"), *vols = json_object_get(body, "volumes");
        json_t *nics = json_object_get(body, "nics"), *src = json_object_get(body, "source");
        json_t *spec = json_object_get(inst, "spec"), *d;
        const char *listen = json_string_value(json_object_get(body, "listen"));
        const char *cfg_listen = zero_config_get(a->config, "migration", "address");
        const char *source_op = json_string_value(json_object_get(src, "operation"));
        const struct zero_loaded_plugin *lp;
        int64_t now = (int64_t) zero_now_usec(), timeout;
        _cleanup_free_ char *spec_text = NULL;
        struct zero_image_row image = {};
        struct zero_instance_row row = {
                .id = (char *) json_string_value(json_object_get(inst, "id")),
                .name = (char *) json_string_value(json_object_get(inst, "name")),
                .mode = (char *) json_string_value(json_object_get(inst, "mode")),
                .state = (char *) zero_inst_state_name(ZERO_INST_INCOMING),
                .image = (char *) json_string_value(json_object_get(inst, "image")),
                .cpus = json_integer_value(json_object_get(inst, "cpus")),
                .memory_mib = json_integer_value(json_object_get(inst, "memory_mib")),
                .created_at = json_integer_value(json_object_get(inst, "created_at")),
                .updated_at = now,
        };
        struct zero_op *op = NULL;
        size_t i;
        int r;

        if (cfg_listen && *cfg_listen)
                listen = cfg_listen;
        if (!zero_name_is_valid(row.name) || !is_hex32(row.id) || !row.mode || !row.image || row.cpus <= 0 ||
            row.memory_mib <= 0 || !json_is_object(spec) || !json_is_array(json_object_get(spec, "command")) ||
            !json_is_array(vols) || !json_is_array(nics) || json_array_size(nics) > ZERO_CARD_NICS_MAX || !source_op ||
            !listen || !*listen || strpbrk(listen, " ,/") || strlen(listen) > 255)
                return zero_error_set(err, -EINVAL, ZERO_E_INVALID, "not the description of a migrating instance");
        if ((r = int_member(body, "timeout_s", 1, ZERO_MIGRATE_TIMEOUT_S_MAX, ZERO_MIGRATE_TIMEOUT_S_DEFAULT, &timeout,
                            err)) < 0)
                return r;
        op = incoming_again(a, row.id, source_op);
        if (op) {
                *ret_op = op;
                return 0;
        }
        lp = zero_plugins_find(a->plugins, row.mode);
        if (!lp || !lp->probe.available || !plugin_migrates(lp->plugin))
                return zero_error_set(err, -EOPNOTSUPP, ZERO_E_INVALID, "mode '%s' cannot receive a migration here%s%s",
                                      ZERO_QUOTE(row.mode), lp && !lp->probe.available ? ": " : "",
                                      lp && !lp->probe.available ? lp->probe.reason : "");
        r = zero_store_image_get(a->store, row.image, &image);
        zero_image_row_done(&image);
        if (r == -ENOENT)
                return zero_error_set(err, r, ZERO_E_INVALID, "image '%s' is not here: import it on this node first",
                                      ZERO_QUOTE(row.image));
        if (r >= 0)
                r = zero_instance_admit(a, &row, err);
        /* Not onto a node a bms instance owns (node_owner.h); an incoming VM is never exclusive. */
        if (r >= 0)
                r = zero_node_owner_check(a, NULL, row.name, row.mode, false, err);
        if (r < 0)
                return r;
        spec_text = json_dumps(spec, JSON_COMPACT);
        row.spec = spec_text;
        r = zero_op_new(a, "migrate_in", &row,
                        json_pack("{s:b,s:s,s:O,s:I,s:I}", "incoming", 1, "listen", listen, "source", src, "timeout_s",
                                  (json_int_t) timeout, "deadline_us",
                                  (json_int_t) (zero_now_usec() + (uint64_t) timeout * USEC_PER_SEC)),
                        &op);
        if (r < 0 || !spec_text)
                return zero_error_set(err, r < 0 ? r : -ENOMEM, ZERO_E_INTERNAL, "cannot make the operation");
        /* One transaction: the instance, its volumes, attachments and NICs, and the operation. */
        r = zero_store_begin(a->store);
        if (r >= 0)
                r = zero_store_instance_insert(a->store, &row);
        if (r == -EEXIST) {
                zero_error_set(err, r, ZERO_E_CONFLICT, "an instance named '%s' or with id %s exists here already",
                               row.name, row.id);
                r = -EALREADY; /* not the name conflict zero_op_commit_and_launch() says */
        }
        json_array_foreach(vols, i, d) {
                if (r >= 0)
                        r = incoming_volume(a, row.id, d, now, err);
        }
        json_array_foreach(nics, i, d) {
                if (r >= 0)
                        r = incoming_nic(a, row.id, d, now, err);
        }
        if (r < 0) {
                (void) zero_store_rollback(a->store);
                zero_op_free(op);
                return r == -EALREADY ? -EEXIST : r;
        }
        log_info("Receiving %s from %s (its operation %s), listening at %s", row.name,
                 strempty(json_string_value(json_object_get(src, "node"))), source_op, listen);
        r = zero_op_commit_and_launch(a, r, op, NULL, NULL, row.image, err);
        if (r >= 0)
                *ret_op = op;
        return r;
}

bool zero_migration_taken(const struct zero_operation_row *row) {
        return zero_op_row_reached(row, ZERO_MIGRATION_TAKEN_STEP);
}

int zero_migration_switchover(struct zero_agent *a, const char *op_id, struct zero_error *err) {
        struct zero_op *op = zero_op_find(a, op_id);

        if (!op || !streq(op->row.kind, "migrate_in") || op->undoing)
                return zero_error_set(err, -ENOENT, op ? ZERO_E_WRONG_STATE : ZERO_E_NOT_FOUND,
                                      "operation %s is no incoming migration under way", op_id);
        if (json_is_true(json_object_get(op->params, "taking")))
                return 0; /* asked before: the answer comes once it took them */
        if (!(op->wait & ZERO_OP_WAIT_PEER))
                return zero_error_set(err, -EBUSY, ZERO_E_WRONG_STATE, "incoming migration %s is at step %s, not "
                                      "waiting for the switchover", op_id, op->row.step_name);
        if (json_object_set_new(op->params, "taking", json_true()) < 0 || zero_op_save(op) < 0)
                return zero_error_set(err, -ENOMEM, ZERO_E_UNAVAILABLE, "cannot record the switchover");
        log_info("Migration of %s: the source released its volumes, taking them", strempty(op->row.instance_name));
        /* At once, not from a defer: the source's guest is paused until this is done. */
        zero_op_continue(op, 0);
        return 0;
}

int zero_migration_forget(struct zero_op *op) {
        struct zero_agent *a = op->agent;
        struct zero_attachment_row *atts = NULL;
        struct zero_inst *inst = NULL;
        struct zero_instance_row row = {};
        size_t n = 0;
        int r;

        r = op->row.instance_id ? zero_store_instance_get_by_id(a->store, op->row.instance_id, &row) : -ENOENT;
        if (r == -ENOENT)
                return 0; /* forgotten before a crash */
        if (r < 0)
                return zero_error_store(&op->err, r, "reading the instance");
        r = zero_inst_get(a, row.id, row.name, &inst);
        if (r < 0) {
                zero_instance_row_done(&row);
                return zero_error_set(&op->err, r, ZERO_E_INTERNAL, "out of memory");
        }
        /* The files first, in a child, as a delete removes them (instance_ops.c). */
        if (access(inst->run_dir, F_OK) == 0 || access(inst->state_dir, F_OK) == 0) {
                char *argv[] = {"rm", "-rf", "--one-file-system", "--", inst->run_dir, inst->state_dir, NULL};
                zero_instance_row_done(&row);
                return zero_op_wait_child(op, argv, "removing the instance's files", ZERO_OP_THEN_RERUN);
        }
        /* One transaction: the instance (its NICs and attachments go with it) and its volumes'
         * rows; their files stay where they are, the other node's now (or never this one's). */
        r = zero_store_attachment_list_for_instance(a->store, row.id, &atts, &n);
        if (r >= 0)
                r = zero_store_begin(a->store);
        if (r >= 0)
                r = zero_store_instance_delete(a->store, row.id);
        for (size_t i = 0; r >= 0 && i < n; i++) {
                r = zero_store_volume_delete(a->store, atts[i].volume);
                if (r == -ENOENT)
                        r = 0;
        }
        if (r >= 0)
                r = zero_store_commit(a->store);
        if (r < 0)
                (void) zero_store_rollback(a->store);
        zero_attachment_rows_free(atts, n);
        if (r >= 0) {
                log_info("Forgot %s here: it belongs to the other node", row.name);
                zero_inst_free(a, inst);
        }
        zero_instance_row_done(&row);
        return r < 0 ? zero_error_store(&op->err, r, "forgetting the instance") : 0;
}
