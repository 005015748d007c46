/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The bms runtime plugin (mode "bms"): an instance that owns the whole server. The tenant's kernel
 * is loaded with kexec_file_load(2) and the host reboots into it, while the card keeps the
 * tenant's volumes and NICs presented; a stop is the card resetting the host into the host image
 * (issue 14, docs/architecture.md "Bare metal").
 *
 * This is the first increment: the probe (whether this host can hand itself over at all) and the
 * exclusivity the agent enforces (zero_probe.exclusive). The hand-over is not built yet, so the
 * ops that would run a tenant say so, ZERO_E_UNAVAILABLE, rather than pretend: a bms instance is
 * refused at its create on a host whose probe says no (the softcard, a kernel without
 * kexec_file_load), and fails at prepare where the probe says yes (the lab).
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <syslog.h>

#include "plugins/bms/kexec.h"
#include "zero/plugin.h"

static const struct zero_plugin_services *svc;

static int bms_init(const struct zero_plugin_services *s, struct zero_error *err) {
        if (!s || ZERO_PLUGIN_ABI_MAJOR_OF(s->abi_version) != ZERO_PLUGIN_ABI_MAJOR)
                return zero_error_set(err, -EPROTONOSUPPORT, ZERO_E_INTERNAL, "bms: services of another ABI major");
        svc = s;
        return 0;
}

static void bms_fini(void) {
        svc = NULL;
}

/* Asked at load and again once the card is open (plugin.h, 4.3): before, the card says nothing,
 * and the probe says the card does not outlive the host. Cheap: one refused syscall, a stat, and
 * the kernel's config file. */
static int bms_probe(struct zero_probe *ret) {
        struct zero_bms_host h = {};

        if (!ret || !ZERO_ABI_HAS(ret, struct zero_probe, accelerator))
                return -EINVAL;
        zero_bms_host_detect(&h);
        h.card_outlives_host = svc && ZERO_SERVICE_HAS(svc, card_capabilities) &&
                               (svc->card_capabilities() & ZERO_PLUGIN_CARD_OUTLIVES_HOST);
        ret->available = zero_bms_decide(&h, ret->reason, sizeof(ret->reason), ret->runtime, sizeof(ret->runtime));
        /* The tenant has the whole machine: there is nothing to limit it to. */
        ret->resource_limits_enforced = false;
        if (ZERO_ABI_HAS(ret, struct zero_probe, exclusive))
                ret->exclusive = true;
        return 0;
}

static int not_built(const struct zero_instance_info *info, const char *what, struct zero_error *err) {
        return zero_error_set(err, -EOPNOTSUPP, ZERO_E_UNAVAILABLE,
                              "cannot %s bms instance '%s': the hand-over of the host to a tenant is not built yet "
                              "(issue 14, item 3)",
                              what, info && info->name ? info->name : "?");
}

static int bms_prepare(struct zero_plugin_ctx *ctx, const struct zero_instance_info *info, struct zero_error *err) {
        (void) ctx;
        return not_built(info, "prepare", err);
}

static int bms_start(struct zero_plugin_ctx *ctx, const struct zero_instance_info *info, struct zero_error *err) {
        (void) ctx;
        return not_built(info, "start", err);
}

/* No tenant ever runs (prepare refuses), so there is nothing to stop or signal. */
static int bms_stop(struct zero_plugin_ctx *ctx, const struct zero_instance_info *info, struct zero_error *err) {
        (void) ctx;
        return not_built(info, "stop", err);
}

static int bms_kill(struct zero_plugin_ctx *ctx, const struct zero_instance_info *info, int signal,
                    struct zero_error *err) {
        (void) ctx;
        (void) signal;
        return not_built(info, "signal", err);
}

/* Idempotent, and nothing to undo: prepare made nothing. Succeeding lets a failed create or a
 * delete end cleanly. */
static int bms_cleanup(struct zero_plugin_ctx *ctx, const struct zero_instance_info *info, struct zero_error *err) {
        (void) ctx;
        (void) info;
        (void) err;
        return 0;
}

static const struct zero_plugin bms_plugin = {
        .abi_version = ZERO_PLUGIN_ABI_VERSION,
        .size = sizeof(struct zero_plugin),
        .name = "bms",
        .mode = "bms",
        /* card_capabilities and zero_probe.exclusive: without them an agent would run a bms
         * instance beside others, on a card that dies with the host. */
        .abi_minor_needed = 4,
        .ops = {
                .init = bms_init,
                .fini = bms_fini,
                .probe = bms_probe,
                .prepare = bms_prepare,
                .start = bms_start,
                .stop = bms_stop,
                .kill = bms_kill,
                .cleanup = bms_cleanup,
        },
};

/* The one exported symbol (ZERO_PLUGIN_ENTRY); everything else is hidden (CMakeLists.txt). */
__attribute__((visibility("default"))) const struct zero_plugin *zero_plugin_entry(void);

const struct zero_plugin *zero_plugin_entry(void) {
        return &bms_plugin;
}
