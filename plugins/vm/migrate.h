/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/*
 * Live migration of a VM over its QMP monitor (plugin.h 4.3: ops.migrate_out, ops.migrate_in).
 *
 * Source (migrate_out):
 *   SEND        capabilities (events, pause-before-switchover, return-path, auto-converge, multifd
 *               when [vm] migrate_multifd_channels asks), parameters (downtime-limit,
 *               max-bandwidth), migrate to the target's tcp: address; then QEMU's MIGRATION
 *               events, and query-migrate every VM_MIGRATE_POLL_USEC for the progress, until
 *               "pre-switchover": the guest is paused, nothing is switched yet.
 *   SWITCHOVER  migrate-continue; "completed" (with the return path, the target loaded it all);
 *               then query-migrate for QEMU's downtime and total time.
 *   CANCEL      migrate_cancel until "cancelled" (or "failed"), then "cont" if QEMU left the guest
 *               paused. A migration that completed cannot be cancelled: the target owns it.
 * Target (migrate_in; QEMU started with -incoming defer, cmdline.h):
 *   LISTEN      the same capabilities (multifd must match), migrate-incoming on tcp:HOST:0, and
 *               the port QEMU chose (query-migrate's socket-address), reported as the address.
 *   RECEIVE     until QEMU runs the guest (it starts by itself once it has it all), then
 *               announce-self: the guest's MACs announced on its networks at once.
 *
 * Each phase answers ZERO_PLUGIN_PENDING and later done(), and 0 when called again once done:
 * it first asks QEMU where the migration stands (query-migrate, query-status), so a phase called
 * again after a crash of zerod carries on from there. One job per VM at a time: a new phase
 * (CANCEL during SEND) drops the job under way without its done().
 */
#include <jansson.h>

#include "zero/plugin.h"

#define VM_MIGRATE_POLL_USEC (100ULL * 1000ULL)
/* The poll's accuracy: its first look starts a phase, the switchover's in the guest's pause. */
#define VM_MIGRATE_POLL_ACCURACY_USEC 1
/* Defaults when the agent passes 0: a downtime the targets allow, and no practical bandwidth
 * limit (QEMU's own default, 128 MiB/s, never converges for a guest that dirties 750 MiB/s). */
#define VM_MIGRATE_DOWNTIME_MS_DEFAULT 30
#define VM_MIGRATE_BANDWIDTH_DEFAULT (10ULL << 30)

int vm_migrate_out(struct zero_plugin_ctx *ctx, const struct zero_instance_info *info, enum zero_migrate_phase phase,
                   const struct zero_migrate_args *args, struct zero_error *err);
int vm_migrate_in(struct zero_plugin_ctx *ctx, const struct zero_instance_info *info, enum zero_migrate_phase phase,
                  const struct zero_migrate_args *args, struct zero_error *err);
/* From the monitor: every QMP event of ctx's VM. */
void vm_migrate_event(struct zero_plugin_ctx *ctx, const char *name, json_t *data);
/* Drops ctx's job without calling done() (the VM is gone, or the agent forgets it). */
void vm_migrate_release(struct zero_plugin_ctx *ctx);
