/* SPDX-License-Identifier: Apache-2.0 */
/* The services table handed to plugins: all they may use of the agent. */
#include <stdarg.h>
#include <stdio.h>

#include "agent/agent.h"
#include "agent/card.h"
#include "agent/services.h"
#include "common/log.h"

/* config_get has no context argument: one agent per process. */
static const struct zero_config *services_config;

static void svc_log(struct zero_plugin_ctx *ctx, int priority, const char *fmt, ...) {
        char buf[1024];
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(buf, sizeof(buf), fmt, ap);
        va_end(ap);
        if (ctx && ctx->inst)
                log_full_errno(priority, 0, "%s: %s", ctx->inst->name, buf);
        else
                log_full_errno(priority, 0, "%s", buf);
}

static const char *svc_config_get(const char *section, const char *key) {
        if (!services_config)
                return NULL;
        if (streq(section, "agent") && streq(key, "run_dir"))
                return services_config->run_dir;
        if (streq(section, "agent") && streq(key, "state_dir"))
                return services_config->state_dir;
        return zero_config_get(services_config, section, key);
}

static int svc_shim_spawn(struct zero_plugin_ctx *ctx, const struct zero_shim_args *args, struct zero_error *err) {
        if (!ctx || !ctx->inst || !args || !args->argv || !args->argv[0])
                return zero_error_set(err, -EINVAL, 500, "internal", "shim_spawn: no instance or no command");
        return zero_inst_spawn_shim(ctx->inst, args, err);
}

static int svc_shim_signal(struct zero_plugin_ctx *ctx, int sig, struct zero_error *err) {
        if (!ctx || !ctx->inst)
                return zero_error_set(err, -EINVAL, 500, "internal", "shim_signal: no instance");
        return zero_inst_signal(ctx->inst, sig, err);
}

void zero_services_init(struct zero_agent *a) {
        services_config = a->config;
        a->services = (struct zero_plugin_services){
                .abi_version = ZERO_PLUGIN_ABI_VERSION,
                .size = sizeof(struct zero_plugin_services),
                .log = svc_log,
                .config_get = svc_config_get,
                .shim_spawn = svc_shim_spawn,
                .shim_signal = svc_shim_signal,
                .volume_export = zero_card_svc_volume_export,
                .volume_unexport = zero_card_svc_volume_unexport,
                .nic_attach = zero_card_svc_nic_attach,
                .nic_detach = zero_card_svc_nic_detach,
        };
}
