/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/*
 * The card part of a create request (root volume, data volumes, NICs) or of an attach, as a
 * plan: validated before anything is stored (invalid / conflict with a reason; card_plan.c),
 * inserted inside the instance's own transaction (card_plan_insert.c).
 */
#include <jansson.h>

#include "agent/agent.h"

/* The first host index a NIC gets in its network's subnet: 1 is the gateway. */
#define FIRST_NIC_HOST_INDEX 2

struct zero_card_plan {
        struct zero_volume_row root; /* a new root volume, root.name NULL when an existing one is used */
        struct zero_attachment_row *atts;
        size_t n_atts;
        struct zero_nic_row *nics;
        size_t n_nics;
        int64_t *nic_n_hosts; /* per NIC: the subnet's host count, for the allocation */
};
int zero_card_plan_build(struct zero_agent *a, json_t *body, const struct zero_instance_row *inst,
                         struct zero_card_plan *ret, struct zero_error *err);
/* The plan of one volume ({"name", "path", "personality"}) or one NIC ({"network", "ip", "mac"})
 * added to an existing instance: the same checks as at create, the next idx. */
int zero_card_plan_attach(struct zero_agent *a, const struct zero_instance_row *inst, json_t *volume, json_t *nic,
                          struct zero_card_plan *ret, struct zero_error *err);
/* Inside zero_store_begin()/commit(), after the instance row. */
int zero_card_plan_insert(struct zero_agent *a, struct zero_card_plan *plan, struct zero_error *err);
void zero_card_plan_done(struct zero_card_plan *plan);
