/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/*
 * Disks and NICs plugged into, and unplugged from, a running VM over its QMP monitor.
 *
 * plug:   the card's export (or tap) first; then, unless QEMU has the device already (a plug that
 *         ran before a crash): a free pcie-root-port from query-pci (the spares "hp*", or the port
 *         of a device unplugged earlier), the backend (chardev-add for vhost-user-blk, blockdev-add
 *         for NBD, netdev_add for a tap) and device_add. A failure takes back what it added.
 * unplug: device_del, then the guest's DEVICE_DELETED (it must release the device: bounded by
 *         VM_HOTPLUG_UNPLUG_TIMEOUT_USEC, after which the device stays and the op fails), then the
 *         backend is deleted and the export (or tap) given back last.
 *
 * Both end through services->done(). QEMU ids are those of the command line (cmdline.h), so a
 * device plugged at start and one hot-plugged are alike. One job per VM at a time: the agent runs
 * one operation per instance.
 */
#include <jansson.h>

#include "plugins/vm/monitor.h"
#include "zero/plugin.h"

#define VM_HOTPLUG_UNPLUG_TIMEOUT_USEC (20ULL * 1000000ULL)

/* vol: one of info's volumes; its card export is asked for here, as the personality needs. */
int vm_hotplug_volume(struct zero_plugin_ctx *ctx, const struct zero_instance_info *info,
                      const struct zero_volume_info *vol, bool plug, struct zero_error *err);
int vm_hotplug_nic(struct zero_plugin_ctx *ctx, const struct zero_instance_info *info, const struct zero_nic_info *nic,
                   bool plug, struct zero_error *err);
/* From the monitor: every QMP event of ctx's VM. */
void vm_hotplug_event(struct zero_plugin_ctx *ctx, const char *name, json_t *data);
/* Drops ctx's job without calling done() (the VM is gone, or the agent forgets it). */
void vm_hotplug_release(struct zero_plugin_ctx *ctx);
