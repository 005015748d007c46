/* SPDX-License-Identifier: Apache-2.0 */
/* A test-only plugin built for an ABI version no zerod speaks: the loader must refuse it. */
#include "zero/plugin.h"

static const struct zero_plugin plugin = {
        .abi_version = ZERO_PLUGIN_ABI_VERSION + 98,
        .size = sizeof(struct zero_plugin),
        .name = "future",
        .mode = "future",
};

__attribute__((visibility("default"))) const struct zero_plugin *zero_plugin_entry(void);
const struct zero_plugin *zero_plugin_entry(void) {
        return &plugin;
}
