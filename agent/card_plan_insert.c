/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A card plan (card_plan.h) recorded: the new root volume, the attachments and the NICs inserted
 * inside the instance's own transaction, a NIC without a requested address given the lowest free
 * one of its network.
 */
#include <arpa/inet.h>

#include "agent/card_plan.h"
#include "common/log.h"
#include "common/netaddr.h"

int zero_card_plan_insert(struct zero_agent *a, struct zero_card_plan *p, struct zero_error *err) {
        int r;

        if (p->root.name) {
                r = zero_store_volume_insert(a->store, &p->root);
                if (r == -EEXIST)
                        return zero_error_set(err, r, ZERO_E_CONFLICT, "a volume named '%s' exists already", p->root.name);
                if (r < 0)
                        return zero_error_set(err, r, ZERO_E_UNAVAILABLE, "cannot record the root volume");
        }
        for (size_t i = 0; i < p->n_atts; i++) {
                r = zero_store_attachment_insert(a->store, &p->atts[i]);
                if (r == -EEXIST)
                        return zero_error_set(err, r, ZERO_E_CONFLICT, "volume '%s' is attached to another instance",
                                              p->atts[i].volume);
                if (r < 0)
                        return zero_error_set(err, r, ZERO_E_INVALID, "cannot attach volume '%s'", p->atts[i].volume);
        }
        for (size_t i = 0; i < p->n_nics; i++) {
                struct zero_nic_row *n = &p->nics[i];

                if (!n->ip) {
                        struct zero_network_row net = {};
                        struct zero_ipv4_net sub;
                        struct in_addr host;
                        char buf[INET_ADDRSTRLEN];

                        r = zero_store_nic_allocate_ip(a->store, n->network, p->nic_n_hosts[i], FIRST_NIC_HOST_INDEX,
                                                       &n->host_index);
                        if (r == -ENOSPC)
                                return zero_error_set(err, r, ZERO_E_CONFLICT, "network '%s' has no free address",
                                                      n->network);
                        if (r >= 0)
                                r = zero_store_network_get(a->store, n->network, &net);
                        if (r >= 0 && (r = zero_ipv4_net_parse(net.subnet, &sub)) >= 0)
                                r = zero_ipv4_net_host(&sub, (uint64_t) n->host_index, &host);
                        zero_network_row_done(&net);
                        if (r < 0)
                                return zero_error_set(err, r, ZERO_E_UNAVAILABLE, "cannot allocate an address");
                        n->ip = strdup(inet_ntop(AF_INET, &host, buf, sizeof(buf)));
                        if (!n->ip)
                                return -ENOMEM;
                }
                r = zero_store_nic_insert(a->store, n);
                if (r == -EEXIST)
                        return zero_error_set(err, r, ZERO_E_CONFLICT, "nics[%zu]: address %s or MAC %s is taken", i,
                                              n->ip, n->mac);
                if (r < 0)
                        return zero_error_set(err, r, ZERO_E_UNAVAILABLE, "cannot record NIC %zu", i);
        }
        return 0;
}
