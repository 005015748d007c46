/* SPDX-License-Identifier: Apache-2.0 */
/* The services table handed to plugins: all they may use of the agent. */
#include <assert.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>

#include "agent/agent.h"
#include "agent/card.h"
#include "agent/netns.h"
#include "agent/operation.h"
#include "agent/plugin_loader.h"
#include "agent/services.h"
#include "common/log.h"
#include "common/util.h"

/* config_get and card_capabilities have no context argument: one agent per process. */
static const struct zero_config *services_config;
static const struct zero_agent *services_agent;

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
                return zero_error_set(err, -EINVAL, ZERO_E_INTERNAL, "shim_spawn: no instance or no command");
        return zero_inst_spawn_shim(ctx->inst, args, err);
}

static int svc_shim_signal(struct zero_plugin_ctx *ctx, int sig, struct zero_error *err) {
        if (!ctx || !ctx->inst)
                return zero_error_set(err, -EINVAL, ZERO_E_INTERNAL, "shim_signal: no instance");
        return zero_inst_signal(ctx->inst, sig, err);
}

static void svc_done(struct zero_plugin_ctx *ctx, int r, const struct zero_error *err) {
        struct zero_inst *inst = ctx ? ctx->inst : NULL;
        struct zero_error e = {};

        if (!inst)
                return;
        if (r < 0 && (!err || !err->message[0]))
                zero_error_set(&e, r, ZERO_E_RUNTIME, "%s", strerror(-r));
        else if (r < 0)
                e = *err;
        if (zero_op_answer(inst->agent, inst->id, ZERO_OP_WAIT_PLUGIN, r, &e))
                return;
        /* The instance's exit answered the operation first, or the work was a cleanup of no
         * operation's that asked to be called again. */
        log_debug("%s: plugin finished work no operation waits for (%d)", inst->name, r);
        zero_inst_cleanup_again(inst, r, &e);
}

static void svc_notify(struct zero_plugin_ctx *ctx, const char *event, const char *state, const char *reason) {
        struct zero_inst *inst = ctx ? ctx->inst : NULL;
        struct zero_agent *a = inst ? inst->agent : NULL;
        struct zero_instance_row row = {};
        _cleanup_free_ char *type = NULL;

        if (!a || !event)
                return;
        type = zero_strdup_printf("instance.%s", event);
        if (type)
                zero_agent_event(a, type, inst->name, reason ? json_pack("{s:s}", "reason", reason) : NULL);
        if (!state || zero_store_instance_get_by_id(a->store, inst->id, &row) < 0)
                return;
        /* Only between running and paused: starting, stopping and the rest belong to operations. */
        if (zero_inst_state_runtime_may_set(zero_inst_state_of(&row), zero_inst_state_from_name(state))) {
                log_info("Instance %s is %s (%s)", inst->name, state, strempty(reason));
                (void) zero_inst_set_state(a, &row, zero_inst_state_from_name(state));
        }
        zero_instance_row_done(&row);
}

_Static_assert(ZERO_PLUGINS_MAX <= ZERO_INST_PLUGIN_CTX_MAX, "a ctx per loadable plugin in struct zero_inst");

struct zero_plugin_ctx *zero_services_ctx(struct zero_inst *inst, const struct zero_loaded_plugin *lp) {
        const struct zero_plugin_set *s = inst->agent->plugins;

        assert(s && lp >= s->items && lp < s->items + s->n);
        return &inst->pctx[lp - s->items];
}

void zero_services_ctx_init(struct zero_inst *inst) {
        for (size_t i = 0; i < ZERO_INST_PLUGIN_CTX_MAX; i++)
                inst->pctx[i] = (struct zero_plugin_ctx){inst->agent, inst, NULL};
}

void zero_services_release(struct zero_inst *inst) {
        const struct zero_plugin_set *s = inst->agent ? inst->agent->plugins : NULL;

        for (size_t i = 0; s && i < s->n; i++) {
                const struct zero_plugin *p = s->items[i].plugin;
                if (ZERO_PLUGIN_HAS(p, release))
                        p->ops.release(&inst->pctx[i]);
                if (inst->pctx[i].data)
                        log_warning("%s: plugin %s kept its data past release()", inst->name, p->name);
                inst->pctx[i].data = NULL;
        }
}

/* What a migration's runtime reports (plugin.h, 4.3) becomes the progress of the instance's
 * operation (GET /v1/operations/{id}); the step that waits reads what it needs from there (the
 * target's address once it listens). */
static void svc_migrate_progress(struct zero_plugin_ctx *ctx, const struct zero_migrate_stats *st) {
        struct zero_inst *inst = ctx ? ctx->inst : NULL;
        struct zero_op *op = inst ? zero_op_of_instance(inst->agent, inst->id) : NULL;
        json_t *j;

        if (!op || !st || st->size < offsetof(struct zero_migrate_stats, setup_ms) + sizeof(st->setup_ms))
                return;
        j = json_pack("{s:s?,s:s?,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:i,s:I,s:I,s:I}", "status", st->status, "uri", st->uri,
                      "ram_total_bytes", (json_int_t) st->ram_total_bytes, "ram_transferred_bytes",
                      (json_int_t) st->ram_transferred_bytes, "ram_remaining_bytes",
                      (json_int_t) st->ram_remaining_bytes, "dirty_rate_bytes", (json_int_t) st->dirty_rate_bytes,
                      "throughput_bytes", (json_int_t) st->throughput_bytes, "expected_downtime_ms",
                      (json_int_t) st->expected_downtime_ms, "iterations", (json_int_t) st->iterations,
                      "cpu_throttle_percent", (int) st->cpu_throttle_percent, "downtime_ms",
                      (json_int_t) st->downtime_ms, "total_ms", (json_int_t) st->total_ms, "setup_ms",
                      (json_int_t) st->setup_ms);
        if (j)
                zero_op_set_progress(op, j);
}

static void svc_set_data(struct zero_plugin_ctx *ctx, void *data) {
        if (ctx)
                ctx->data = data;
}

static void *svc_get_data(struct zero_plugin_ctx *ctx) {
        return ctx ? ctx->data : NULL;
}

/* The card's ZERO_CARD_CAP_* as plugins spell them (plugin.h does not include card.h). */
static uint64_t svc_card_capabilities(void) {
        uint64_t caps = services_agent ? zero_card_capabilities(services_agent) : 0;

        return caps & ZERO_CARD_CAP_OUTLIVES_HOST ? ZERO_PLUGIN_CARD_OUTLIVES_HOST : 0;
}

void zero_services_init(struct zero_agent *a) {
        services_config = a->config;
        services_agent = a;
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
                .event = a->event,
                .done = svc_done,
                .notify = svc_notify,
                .set_data = svc_set_data,
                .get_data = svc_get_data,
                .netns_create = zero_netns_svc_create,
                .netns_remove = zero_netns_svc_remove,
                .migrate_progress = svc_migrate_progress,
                .card_capabilities = svc_card_capabilities,
        };
}
