/* SPDX-License-Identifier: Apache-2.0 */
/* A test-only card driver as one built for card ABI 3 reads to the loader: abi_version 3, the
 * struct of that version (its ops synchronous but for the volume jobs). zerod must refuse it with a
 * line naming both versions (io/card_loader.c), not call an op of the wrong shape. */
#include "zero/card.h"

static const struct zero_card_driver driver = {
        .abi_version = 3,
        .size = sizeof(struct zero_card_driver),
        .name = "abi3",
};

__attribute__((visibility("default"))) const struct zero_card_driver *zero_card_driver_entry(void);
const struct zero_card_driver *zero_card_driver_entry(void) {
        return &driver;
}
