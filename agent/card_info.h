/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/* What plugins get in zero_instance_info: the instance's volumes and NICs (card_info.c). */
#include "agent/agent.h"

struct zero_card_info {
        struct zero_volume_info *volumes;
        size_t n_volumes;
        struct zero_nic_info *nics;
        size_t n_nics;
        struct zero_attachment_row *atts;
        size_t n_atts;
        struct zero_volume_row *vols; /* per attachment */
        struct zero_nic_row *nic_rows;
        struct zero_network_row *nets; /* per NIC */
};
int zero_card_info_build(struct zero_agent *a, const char *instance_id, struct zero_card_info *ret);
void zero_card_info_done(struct zero_card_info *ci);
