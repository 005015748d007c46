/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The card ABI's names for export and NIC kinds, as the API, the store and zeroctl spell them.
 * Shared by every card driver and the agent; the strings are part of the API: never rename one.
 */
#include "zero/card.h"

#include <string.h>

static const char *const export_kinds[_ZERO_CARD_EXPORT_MAX] = {
        [ZERO_CARD_EXPORT_VHOST_USER_BLK] = "vhost-user-blk",
        [ZERO_CARD_EXPORT_NBD] = "nbd",
        [ZERO_CARD_EXPORT_HOST_BLOCK] = "host-block",
};

static const char *const nic_kinds[_ZERO_CARD_NIC_MAX] = {
        [ZERO_CARD_NIC_VETH] = "veth",
        [ZERO_CARD_NIC_TAP] = "tap",
};

/* Index 0 (NONE) has no name on purpose: it is never a valid request. */
static int lookup(const char *const *table, int n, const char *s) {
        if (!s)
                return 0;
        for (int i = 1; i < n; i++)
                if (table[i] && strcmp(table[i], s) == 0)
                        return i;
        return 0;
}

const char *zero_card_export_kind_to_string(enum zero_card_export_kind k) {
        if ((int) k <= 0 || k >= _ZERO_CARD_EXPORT_MAX)
                return NULL;
        return export_kinds[k];
}

enum zero_card_export_kind zero_card_export_kind_from_string(const char *s) {
        return (enum zero_card_export_kind) lookup(export_kinds, _ZERO_CARD_EXPORT_MAX, s);
}

const char *zero_card_nic_kind_to_string(enum zero_card_nic_kind k) {
        if ((int) k <= 0 || k >= _ZERO_CARD_NIC_MAX)
                return NULL;
        return nic_kinds[k];
}

enum zero_card_nic_kind zero_card_nic_kind_from_string(const char *s) {
        return (enum zero_card_nic_kind) lookup(nic_kinds, _ZERO_CARD_NIC_MAX, s);
}
