/* SPDX-License-Identifier: Apache-2.0 */
/* A test-only card driver built for a card ABI version no zerod speaks: zerod must refuse it
 * (io/card_loader.c) and not start. */
#include "zero/card.h"

static const struct zero_card_driver driver = {
        .abi_version = ZERO_CARD_ABI_VERSION + 98,
        .size = sizeof(struct zero_card_driver),
        .name = "future",
};

__attribute__((visibility("default"))) const struct zero_card_driver *zero_card_driver_entry(void);
const struct zero_card_driver *zero_card_driver_entry(void) {
        return &driver;
}
