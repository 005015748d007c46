/* SPDX-License-Identifier: Apache-2.0 */
/*
 * How the API shows the card's rows: a volume (with the driver's stats when asked), a network,
 * and an instance's root volume, volumes and NICs. Each from what one joined read of the store
 * gave (store.h, "the API's reads"), never a query per row.
 */
#include "agent/card.h"
#include "agent/card_info.h"
#include "agent/card_json.h"
#include "agent/network_service.h"
#include "common/text.h"
#include "common/util.h"

static json_t *export_json(const char *kind, const char *path) {
        return kind ? json_pack("{s:s,s:s}", "kind", kind, "path", strempty(path)) : json_null();
}

static json_t *string_or_null(const char *s) {
        return s ? json_string(s) : json_null();
}

static void add_stats(struct zero_agent *a, const struct zero_volume_row *row, json_t *j) {
        struct zero_card_volume_stats st = {};
        struct zero_error err = {};
        struct zero_card_vol cv;

        if (zero_card_vol_init(a, row, &cv) < 0)
                return;
        if (a->card_driver->ops.volume_stats(a->card, &cv.v, &st, &err) >= 0)
                json_object_set_new(j, "stats",
                                    json_pack("{s:I,s:I,s:I,s:I,s:I}", "read_bytes", (json_int_t) st.read_bytes,
                                              "write_bytes", (json_int_t) st.write_bytes, "read_ops",
                                              (json_int_t) st.read_ops, "write_ops", (json_int_t) st.write_ops,
                                              "allocated_bytes", (json_int_t) st.allocated_bytes));
        zero_card_vol_done(&cv);
}

json_t *zero_volume_to_json(struct zero_agent *a, const struct zero_volume_full *f, bool with_stats) {
        const struct zero_volume_row *row = &f->vol;
        bool attached = f->att.volume != NULL;
        json_t *j;

        j = json_pack("{s:s,s:s,s:I,s:o,s:s,s:s,s:{s:I,s:I},s:o,s:o,s:o,s:o}", "name", row->name, "id", row->id,
                      "size_bytes", (json_int_t) row->size_bytes, "image", string_or_null(row->image), "format",
                      row->format, "state", row->state, "qos", "iops", (json_int_t) row->qos_iops, "bps",
                      (json_int_t) row->qos_bps, "attached_to", string_or_null(attached ? f->attached_to : NULL),
                      "owner", string_or_null(f->owner), "export",
                      attached ? export_json(f->att.export_kind, f->att.export_path) : json_null(), "created_at",
                      zero_time_json(row->created_at));
        if (j && with_stats)
                add_stats(a, row, j);
        return j;
}

int zero_volume_json(struct zero_agent *a, const char *name, bool with_stats, json_t **ret, struct zero_error *err) {
        struct zero_volume_full f = {};
        int r = zero_store_volume_get_full(a->store, name, &f);

        if (r == -ENOENT)
                return zero_error_set(err, r, ZERO_E_NOT_FOUND, "no volume named '%s'", ZERO_QUOTE(name));
        if (r < 0)
                return zero_error_set(err, r, ZERO_E_UNAVAILABLE, "cannot read volume: %s", strerror(-r));
        *ret = zero_volume_to_json(a, &f, with_stats);
        zero_volume_full_done(&f);
        return *ret ? 0 : zero_error_set(err, -ENOMEM, ZERO_E_INTERNAL, "out of memory");
}

json_t *zero_network_to_json(const struct zero_network_full *f) {
        const struct zero_network_row *row = &f->net;

        return json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:I,s:o}", "name", row->name, "id", row->id, "subnet", row->subnet,
                         "gateway", row->gateway, "bridge", row->bridge, "state",
                         zero_net_state_name(zero_net_state_of(row)), "nics", (json_int_t) f->nics, "created_at",
                         zero_time_json(row->created_at));
}

int zero_network_json(struct zero_agent *a, const char *name, json_t **ret, struct zero_error *err) {
        struct zero_network_full f = {};
        int r = zero_store_network_get_full(a->store, name, &f);

        if (r == -ENOENT)
                return zero_error_set(err, r, ZERO_E_NOT_FOUND, "no network named '%s'", ZERO_QUOTE(name));
        if (r < 0)
                return zero_error_set(err, r, ZERO_E_UNAVAILABLE, "cannot read network: %s", strerror(-r));
        *ret = zero_network_to_json(&f);
        zero_network_full_done(&f);
        return *ret ? 0 : zero_error_set(err, -ENOMEM, ZERO_E_INTERNAL, "out of memory");
}

void zero_card_instance_json(const struct zero_instance_full *f, json_t *j) {
        json_t *vols = json_array(), *nics = json_array();
        const char *root = NULL;

        for (size_t i = 0; i < f->n_atts; i++) {
                const struct zero_attachment_row *at = &f->atts[i];
                if (streq(at->role, "root"))
                        root = at->volume;
                json_array_append_new(vols, json_pack("{s:s,s:s,s:s?,s:s,s:o}", "name", at->volume, "role", at->role,
                                                      "path", at->path, "personality", at->personality, "export",
                                                      export_json(at->export_kind, at->export_path)));
        }
        for (size_t i = 0; i < f->n_nics; i++) {
                const struct zero_nic_row *n = &f->nics[i];
                json_array_append_new(nics, json_pack("{s:s,s:s,s:s,s:s,s:s}", "id", n->id, "network", n->network,
                                                      "ifname", zero_card_nic_ifname(n->idx), "mac", n->mac, "ip",
                                                      n->ip));
        }
        json_object_set_new(j, "root_volume", string_or_null(root));
        json_object_set_new(j, "volumes", vols);
        json_object_set_new(j, "nics", nics);
}
