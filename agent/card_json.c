/* SPDX-License-Identifier: Apache-2.0 */
/*
 * How the API shows the card's rows: a volume (with the driver's stats when asked), a network,
 * and an instance's root volume, volumes and NICs.
 */
#include "agent/card.h"
#include "agent/card_info.h"
#include "agent/card_json.h"
#include "agent/network_service.h"
#include "common/util.h"

static json_t *instance_name_json(struct zero_agent *a, const char *id) {
        struct zero_instance_row row = {};
        json_t *j;

        if (!id || zero_store_instance_get_by_id(a->store, id, &row) < 0)
                return json_null();
        j = json_string(row.name);
        zero_instance_row_done(&row);
        return j;
}

static json_t *export_json(const char *kind, const char *path) {
        return kind ? json_pack("{s:s,s:s}", "kind", kind, "path", strempty(path)) : json_null();
}

json_t *zero_volume_to_json(struct zero_agent *a, const struct zero_volume_row *row, bool with_stats) {
        struct zero_attachment_row att = {};
        bool attached = zero_store_attachment_get(a->store, row->name, &att) >= 0;
        json_t *j;

        j = json_pack("{s:s,s:s,s:I,s:s?,s:s,s:s,s:{s:I,s:I},s:o,s:o,s:o,s:o}", "name", row->name, "id", row->id,
                      "size_bytes", (json_int_t) row->size_bytes, "image", row->image, "format", row->format, "state",
                      row->state, "qos", "iops", (json_int_t) row->qos_iops, "bps", (json_int_t) row->qos_bps,
                      "attached_to", attached ? instance_name_json(a, att.instance_id) : json_null(), "owner",
                      instance_name_json(a, row->owner_instance), "export",
                      attached ? export_json(att.export_kind, att.export_path) : json_null(), "created_at",
                      zero_time_json(row->created_at));
        if (j && !row->image)
                json_object_set_new(j, "image", json_null());
        if (j && with_stats) {
                struct zero_card_volume_stats st = {};
                struct zero_error err = {};
                struct zero_card_vol cv;

                if (zero_card_vol_init(a, row, &cv) >= 0) {
                        if (a->card_driver->ops.volume_stats(a->card, &cv.v, &st, &err) >= 0)
                                json_object_set_new(j, "stats",
                                                    json_pack("{s:I,s:I,s:I,s:I,s:I}", "read_bytes",
                                                              (json_int_t) st.read_bytes, "write_bytes",
                                                              (json_int_t) st.write_bytes, "read_ops",
                                                              (json_int_t) st.read_ops, "write_ops",
                                                              (json_int_t) st.write_ops, "allocated_bytes",
                                                              (json_int_t) st.allocated_bytes));
                        zero_card_vol_done(&cv);
                }
        }
        zero_attachment_row_done(&att);
        return j;
}

json_t *zero_network_to_json(struct zero_agent *a, const struct zero_network_row *row) {
        int users = zero_store_network_in_use(a->store, row->name);

        return json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:i,s:o}", "name", row->name, "id", row->id, "subnet", row->subnet,
                         "gateway", row->gateway, "bridge", row->bridge, "state",
                         zero_net_state_name(zero_net_state_of(row)), "nics", users > 0 ? users : 0, "created_at",
                         zero_time_json(row->created_at));
}

void zero_card_instance_json(struct zero_agent *a, const char *instance_id, json_t *j) {
        struct zero_card_info ci;
        json_t *vols = json_array(), *nics = json_array();
        const char *root = NULL;

        if (zero_card_info_build(a, instance_id, &ci) >= 0) {
                for (size_t i = 0; i < ci.n_atts; i++) {
                        if (streq(ci.atts[i].role, "root"))
                                root = ci.atts[i].volume;
                        json_array_append_new(vols, json_pack("{s:s,s:s,s:s?,s:s,s:o}", "name", ci.atts[i].volume, "role",
                                                              ci.atts[i].role, "path", ci.atts[i].path, "personality",
                                                              ci.atts[i].personality, "export",
                                                              export_json(ci.atts[i].export_kind, ci.atts[i].export_path)));
                }
                for (size_t i = 0; i < ci.n_nics; i++)
                        json_array_append_new(nics, json_pack("{s:s,s:s,s:s,s:s,s:s}", "id", ci.nics[i].id, "network",
                                                              ci.nics[i].network, "ifname", ci.nics[i].ifname, "mac",
                                                              ci.nics[i].mac, "ip", ci.nics[i].ip));
                json_object_set_new(j, "root_volume", root ? json_string(root) : json_null());
                zero_card_info_done(&ci);
        } else
                json_object_set_new(j, "root_volume", json_null());
        json_object_set_new(j, "volumes", vols);
        json_object_set_new(j, "nics", nics);
}
