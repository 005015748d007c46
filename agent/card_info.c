/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What plugins are told of an instance's card part (zero_instance_info's volumes and NICs), built
 * from its rows each time an op is called.
 */
#include "agent/card.h"
#include "agent/card_info.h"
#include "common/netaddr.h"

void zero_card_info_done(struct zero_card_info *ci) {
        for (size_t i = 0; i < ci->n_atts; i++)
                zero_volume_row_done(&ci->vols[i]);
        for (size_t i = 0; i < ci->n_nics; i++)
                zero_network_row_done(&ci->nets[i]);
        free(ci->vols);
        free(ci->nets);
        free(ci->volumes);
        free(ci->nics);
        zero_attachment_rows_free(ci->atts, ci->n_atts);
        zero_nic_rows_free(ci->nic_rows, ci->n_nics);
        *ci = (struct zero_card_info){};
}

int zero_card_info_build(struct zero_agent *a, const char *instance_id, struct zero_card_info *ret) {
        struct zero_card_info ci = {};
        int r;

        *ret = ci;
        r = zero_store_attachment_list_for_instance(a->store, instance_id, &ci.atts, &ci.n_atts);
        if (r >= 0)
                r = zero_store_nic_list_for_instance(a->store, instance_id, &ci.nic_rows, &ci.n_nics);
        if (r < 0)
                goto fail;
        ci.vols = calloc(ci.n_atts + 1, sizeof(*ci.vols));
        ci.volumes = calloc(ci.n_atts + 1, sizeof(*ci.volumes));
        ci.nets = calloc(ci.n_nics + 1, sizeof(*ci.nets));
        ci.nics = calloc(ci.n_nics + 1, sizeof(*ci.nics));
        if (!ci.vols || !ci.volumes || !ci.nets || !ci.nics) {
                r = -ENOMEM;
                goto fail;
        }
        for (size_t i = 0; i < ci.n_atts; i++) {
                r = zero_store_volume_get(a->store, ci.atts[i].volume, &ci.vols[i]);
                if (r < 0)
                        goto fail;
                ci.volumes[i] = (struct zero_volume_info){sizeof(struct zero_volume_info), ci.vols[i].name, ci.vols[i].id,
                                                          ci.atts[i].role, ci.atts[i].path, ci.atts[i].personality,
                                                          (uint64_t) ci.vols[i].size_bytes};
        }
        for (size_t i = 0; i < ci.n_nics; i++) {
                struct zero_nic_row *n = &ci.nic_rows[i];
                struct zero_ipv4_net sub = {};

                r = zero_store_network_get(a->store, n->network, &ci.nets[i]);
                if (r >= 0)
                        r = zero_ipv4_net_parse(ci.nets[i].subnet, &sub);
                if (r < 0)
                        goto fail;
                ci.nics[i] = (struct zero_nic_info){sizeof(struct zero_nic_info), n->id, n->network,
                                                    zero_card_nic_ifname(n->idx),
                                                    n->mac, n->ip, sub.prefixlen, ci.nets[i].gateway, ci.nets[i].bridge};
        }
        *ret = ci;
        return 0;
fail:
        zero_card_info_done(&ci);
        return r;
}
