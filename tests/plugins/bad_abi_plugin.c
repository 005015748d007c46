/* SPDX-License-Identifier: Apache-2.0 */
/* A test-only plugin built for another major of the ABI (plugin.h): the loader must refuse it. */
#include "zero/plugin.h"

static const struct zero_plugin plugin = {
        .abi_version = ZERO_PLUGIN_ABI_MAKE(ZERO_PLUGIN_ABI_MAJOR + 98, 0),
        .size = sizeof(struct zero_plugin),
        .name = "future",
        .mode = "future",
};

__attribute__((visibility("default"))) const struct zero_plugin *zero_plugin_entry(void);
const struct zero_plugin *zero_plugin_entry(void) {
        return &plugin;
}
