/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The names the softcard gives its links, derived from its networks and NICs (the kernel allows
 * IFNAMSIZ-1 = 15 bytes):
 *   zb-<network>           bridge of a network whose name has at most 12 characters
 *   zb-<6 chars>_<5 hex>   bridge of a longer name: its first 6 characters and 20 bits of a
 *                          hash of the whole name. '_' is not allowed in Zero names, so the two
 *                          forms never collide with each other; two long names collide only if
 *                          they share 6 characters and the hash (net.c tells them apart by the
 *                          bridge's MAC, derived from the network's id)
 *   zv-<12 hex>            host end of a container NIC's veth (first 12 hex digits of the NIC id)
 *   zp-<12 hex>            its container end while still in the host namespace; moved into the
 *                          container and renamed eth0.. in the same request
 *   zt-<12 hex>            tap of a VM NIC
 * The sync finds leftovers by these prefixes (zero_nl_link_list(nl, "zv-") and the like).
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "common/netaddr.h"
#include "common/util.h"
#include "io/softcard/softcard.h"

int softcard_ifname_bridge(const char *network, char ret[static ZERO_IFNAMSIZ]) {
        if (!zero_name_is_valid(network))
                return -EINVAL;
        if (strlen(network) <= ZERO_IFNAMSIZ - 1 - 3)
                snprintf(ret, ZERO_IFNAMSIZ, SOFTCARD_IFNAME_BRIDGE "-%s", network);
        else
                snprintf(ret, ZERO_IFNAMSIZ, SOFTCARD_IFNAME_BRIDGE "-%.6s_%05x", network,
                         (unsigned) (zero_name_hash64(network) & 0xfffff));
        return 0;
}

int softcard_ifname_nic(const char *prefix, const char *nic_id, char ret[static ZERO_IFNAMSIZ]) {
        if (!prefix || strlen(prefix) != 2 || !zero_hex_id_is_valid(nic_id))
                return -EINVAL;
        snprintf(ret, ZERO_IFNAMSIZ, "%s-%.12s", prefix, nic_id);
        for (char *p = ret; *p; p++)
                *p = (char) tolower((unsigned char) *p);
        return 0;
}
