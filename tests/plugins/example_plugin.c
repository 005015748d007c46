/* SPDX-License-Identifier: Apache-2.0 */
/*
 * An example runtime plugin, built out of tree against the installed headers only:
 *
 *   cc $(pkg-config --cflags zero-plugin) -shared -fPIC -o example.so example_plugin.c
 *
 * Mode "example" runs the instance's command as a plain process on the host, under the shim
 * the agent spawns for it: no isolation at all, the smallest runtime there is. Dropped in the
 * plugin directory, it is loaded like container.so and vm.so (tests/integration/plugin_example.sh).
 * It shows what a third-party plugin does: checks the services table's major and size, keeps
 * per-instance data on the ctx (set_data / get_data), and fills no more of the probe than the
 * agent's struct holds.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include <zero/plugin.h>

static const struct zero_plugin_services *svc;

/* What this plugin keeps about one instance: how often it was started. */
struct example_inst {
        unsigned starts;
};

static int ex_init(const struct zero_plugin_services *s, struct zero_error *err) {
        /* Another major: nothing in the table can be trusted. Within the major, the table must
         * reach the last service called here (get_data, ABI 4.0). */
        if (!s || ZERO_PLUGIN_ABI_MAJOR_OF(s->abi_version) != ZERO_PLUGIN_ABI_MAJOR || !ZERO_SERVICE_HAS(s, get_data))
                return zero_error_set(err, -EPROTO, ZERO_E_INTERNAL, "example plugin: services of ABI %u.%u, size %u",
                                      s ? ZERO_PLUGIN_ABI_MAJOR_OF(s->abi_version) : 0,
                                      s ? ZERO_PLUGIN_ABI_MINOR_OF(s->abi_version) : 0, s ? s->size : 0);
        svc = s;
        return 0;
}

static int ex_probe(struct zero_probe *ret) {
        /* ret arrives zeroed with the agent's size: fields past it must not be written. */
        ret->available = true;
        if (ZERO_ABI_HAS(ret, struct zero_probe, runtime))
                snprintf(ret->runtime, sizeof(ret->runtime), "example 1 (host processes)");
        if (ZERO_ABI_HAS(ret, struct zero_probe, reason))
                snprintf(ret->reason, sizeof(ret->reason), "no isolation: for tests");
        return 0;
}

static int ex_prepare(struct zero_plugin_ctx *ctx, const struct zero_instance_info *info, struct zero_error *err) {
        return 0;
}

static int ex_start(struct zero_plugin_ctx *ctx, const struct zero_instance_info *info, struct zero_error *err) {
        struct example_inst *e = svc->get_data(ctx);
        int r;

        if (!e) {
                e = calloc(1, sizeof(*e));
                if (!e)
                        return -ENOMEM;
                svc->set_data(ctx, e);
        }
        struct zero_shim_args args = {.size = sizeof(args), .argv = info->argv};
        r = svc->shim_spawn(ctx, &args, err);
        if (r < 0)
                return r;
        e->starts++;
        svc->log(ctx, LOG_INFO, "example: %s started (start %u), running %s", info->name, e->starts, info->argv[0]);
        return 0;
}

static int ex_stop(struct zero_plugin_ctx *ctx, const struct zero_instance_info *info, struct zero_error *err) {
        return svc->shim_signal(ctx, SIGTERM, err);
}

static int ex_kill(struct zero_plugin_ctx *ctx, const struct zero_instance_info *info, int sig,
                   struct zero_error *err) {
        return svc->shim_signal(ctx, sig, err);
}

static int ex_cleanup(struct zero_plugin_ctx *ctx, const struct zero_instance_info *info, struct zero_error *err) {
        return 0;
}

/* The agent forgets the instance: its data goes. */
static void ex_release(struct zero_plugin_ctx *ctx) {
        free(svc->get_data(ctx));
        svc->set_data(ctx, NULL);
}

static const struct zero_plugin plugin = {
        .abi_version = ZERO_PLUGIN_ABI_VERSION,
        .size = sizeof(struct zero_plugin),
        .name = "example",
        .mode = "example",
        .abi_minor_needed = 0, /* 4.0 has all it calls */
        .ops = {
                .init = ex_init,
                .probe = ex_probe,
                .prepare = ex_prepare,
                .start = ex_start,
                .stop = ex_stop,
                .kill = ex_kill,
                .cleanup = ex_cleanup,
                .release = ex_release,
        },
};

__attribute__((visibility("default"))) const struct zero_plugin *zero_plugin_entry(void);
const struct zero_plugin *zero_plugin_entry(void) {
        return &plugin;
}
