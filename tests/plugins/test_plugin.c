/* SPDX-License-Identifier: Apache-2.0 */
/* A test-only runtime plugin (mode "test"): proves the loader accepts a well-formed plugin and
 * hands it a usable services table. */
#include <string.h>

#include "zero/plugin.h"

static const struct zero_plugin_services *services;

static int t_init(const struct zero_plugin_services *svc, struct zero_error *err) {
        if (svc->abi_version != ZERO_PLUGIN_ABI_VERSION || svc->size < sizeof(*svc) || !svc->log || !svc->config_get)
                return zero_error_set(err, -EPROTO, ZERO_E_INTERNAL, "bad services table");
        services = svc;
        return 0;
}

static int t_probe(struct zero_probe *ret) {
        const char *v = services->config_get("test", "reason");
        ret->available = true;
        snprintf(ret->runtime, sizeof(ret->runtime), "test-runtime 1");
        snprintf(ret->reason, sizeof(ret->reason), "%s", v ? v : "");
        return 0;
}

static int t_nop(struct zero_plugin_ctx *ctx, const struct zero_instance_info *info, struct zero_error *err) {
        return 0;
}

static int t_kill(struct zero_plugin_ctx *ctx, const struct zero_instance_info *info, int sig, struct zero_error *err) {
        return services->shim_signal(ctx, sig, err);
}

static const struct zero_plugin plugin = {
        .abi_version = ZERO_PLUGIN_ABI_VERSION,
        .size = sizeof(struct zero_plugin),
        .name = "test",
        .mode = "test",
        .ops = {.init = t_init, .probe = t_probe, .prepare = t_nop, .start = t_nop, .stop = t_nop, .kill = t_kill,
                .cleanup = t_nop},
};

__attribute__((visibility("default"))) const struct zero_plugin *zero_plugin_entry(void);
const struct zero_plugin *zero_plugin_entry(void) {
        return &plugin;
}
