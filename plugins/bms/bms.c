/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The bms runtime plugin (mode "bms"): an instance that owns the whole server. The tenant's kernel
 * is loaded with kexec_file_load(2) and the host reboots into it, while the card keeps the
 * tenant's volumes and NICs presented; a stop is the card resetting the host into the host image
 * (issue 14, docs/architecture.md "Bare metal").
 *
 * The plugin is the probe (whether this host can hand itself over at all: a bms instance is
 * refused at its create where it says no, the softcard, a kernel without kexec_file_load), the
 * exclusivity the agent enforces (zero_probe.exclusive), and what the hand-over boots
 * (ops.handover: the image's kernel, initramfs and command line). The hand-over's steps are the
 * agent's (agent/handover.c), the take-back the card's (card/tenant.c).
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "common/util.h"
#include "plugins/bms/kexec.h"
#include "plugins/vm/cmdline.h"
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

/* What the instance needs of the card: its volumes presented to the host as block devices and
 * its NICs as the host's netdevs (the lab's card presents a PCIe device for each: after the
 * kexec the tenant's kernel finds the same devices on its bus). */
static int bms_card_needs(struct zero_plugin_ctx *ctx, const struct zero_instance_info *info,
                          struct zero_card_needs *ret, struct zero_error *err) {
        (void) ctx;
        (void) err;
        for (size_t i = 0; i < info->n_volumes; i++)
                ret->volume_export[i] = "host-block";
        for (size_t i = 0; i < info->n_nics; i++)
                ret->nic_attach[i] = "veth";
        if (info->n_nics > 0)
                snprintf(ret->netns_path, sizeof(ret->netns_path), "%s/netns", info->run_dir);
        return 0;
}

static bool readable(const char *path) {
        return path && access(path, R_OK) == 0;
}

/* Checks what the hand-over will need, so that a create fails here rather than half-way. */
static int bms_prepare(struct zero_plugin_ctx *ctx, const struct zero_instance_info *info, struct zero_error *err) {
        (void) ctx;
        if (!readable(info->kernel) || !readable(info->initrd))
                return zero_error_set(err, -ENOENT, ZERO_E_INVALID,
                                      "bms instance '%s': image '%s' has no kernel and initrd to boot the host with "
                                      "(import it with \"kernel\" and \"initrd\")",
                                      info->name, strempty(info->image_name));
        if (info->n_volumes < 1 || !info->volumes[0].id)
                return zero_error_set(err, -EINVAL, ZERO_E_INVALID, "bms instance '%s' has no root volume", info->name);
        return 0;
}

static int bms_handover(struct zero_plugin_ctx *ctx, const struct zero_instance_info *info, struct zero_handover *ret,
                        struct zero_error *err) {
        int r = bms_prepare(ctx, info, err);

        if (r < 0)
                return r;
        snprintf(ret->kernel, sizeof(ret->kernel), "%s", info->kernel);
        snprintf(ret->initrd, sizeof(ret->initrd), "%s", info->initrd);
        return zero_bms_cmdline(info, ret->cmdline, sizeof(ret->cmdline), err);
}

/* The agent hands the host over instead (ops.handover): start is never called. */
static int bms_start(struct zero_plugin_ctx *ctx, const struct zero_instance_info *info, struct zero_error *err) {
        (void) ctx;
        return zero_error_set(err, -EOPNOTSUPP, ZERO_E_INTERNAL,
                              "bms instance '%s' runs through the hand-over of the host, not a start",
                              info && info->name ? info->name : "?");
}

/* While zerod runs, no tenant does (the host is its own): the card stops a running tenant. */
static int bms_stop(struct zero_plugin_ctx *ctx, const struct zero_instance_info *info, struct zero_error *err) {
        (void) ctx;
        (void) info;
        (void) err;
        return 0;
}

static int bms_kill(struct zero_plugin_ctx *ctx, const struct zero_instance_info *info, int signal,
                    struct zero_error *err) {
        (void) ctx;
        (void) signal;
        return zero_error_set(err, -ESRCH, ZERO_E_WRONG_STATE,
                              "bms instance '%s' does not run on this host's kernel: the card signals its tenant",
                              info && info->name ? info->name : "?");
}

/* Idempotent, and nothing to undo: prepare made nothing. */
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
        .abi_minor_needed = 6, /* ops.handover */
        .ops = {
                .init = bms_init,
                .fini = bms_fini,
                .probe = bms_probe,
                .prepare = bms_prepare,
                .start = bms_start,
                .stop = bms_stop,
                .kill = bms_kill,
                .cleanup = bms_cleanup,
                .card_needs = bms_card_needs,
                .handover = bms_handover,
        },
};

/* The one exported symbol (ZERO_PLUGIN_ENTRY); everything else is hidden (CMakeLists.txt). */
__attribute__((visibility("default"))) const struct zero_plugin *zero_plugin_entry(void);

const struct zero_plugin *zero_plugin_entry(void) {
        return &bms_plugin;
}
