/* SPDX-License-Identifier: Apache-2.0 */
/* Test-only plugins built for a newer minor of this major (plugin.h's version rules), with a
 * larger struct, as a plugin of a later minor has: NEEDS_NEWER unset, it needs nothing newer and
 * is loaded; set, it needs the next minor and is refused. */
#include "zero/plugin.h"

/* A struct zero_plugin of a later minor: ops appended past the ones this agent knows. */
struct later_plugin {
        struct zero_plugin base;
        void *later_ops[4];
};

static int l_probe(struct zero_probe *ret) {
        ret->available = true;
        return 0;
}

static int l_nop(struct zero_plugin_ctx *ctx, const struct zero_instance_info *info, struct zero_error *err) {
        return 0;
}

static int l_kill(struct zero_plugin_ctx *ctx, const struct zero_instance_info *info, int sig, struct zero_error *err) {
        return 0;
}

static const struct later_plugin plugin = {
        .base = {
                .abi_version = ZERO_PLUGIN_ABI_MAKE(ZERO_PLUGIN_ABI_MAJOR, ZERO_PLUGIN_ABI_MINOR + 1),
                .size = sizeof(struct later_plugin),
#ifdef NEEDS_NEWER
                .name = "needs-newer",
                .mode = "needs-newer",
                .abi_minor_needed = ZERO_PLUGIN_ABI_MINOR + 1,
#else
                .name = "newer",
                .mode = "newer",
#endif
                .ops = {.probe = l_probe, .prepare = l_nop, .start = l_nop, .stop = l_nop, .kill = l_kill,
                        .cleanup = l_nop},
        },
};

__attribute__((visibility("default"))) const struct zero_plugin *zero_plugin_entry(void);
const struct zero_plugin *zero_plugin_entry(void) {
        return &plugin.base;
}
