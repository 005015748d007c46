/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/*
 * The vm plugin's side of each running VM: one QMP connection to its QEMU (io/qmp.h, on the
 * agent's event loop; QEMU serves one client at a time), kept for the VM's life so that QEMU's
 * events reach the agent, and the boot that follows the start:
 *
 *   QEMU starts paused (-S) --connect (retried while QEMU makes its socket)--> greeting
 *     --> query-status: "prelaunch" --> qom-list /machine/peripheral: every device is there
 *     --> cont --> services->done(0)
 *
 * all bounded by VM_MON_BOOT_TIMEOUT_USEC. A boot that finds QEMU running already (zerod died
 * during the last one) is done at once. Events: SHUTDOWN and RESET become instance events, STOP
 * and RESUME the instance's paused / running state; the last status is kept for ops.status.
 *
 * A VM's monitor hangs off the plugin's data on the agent's ctx (instance.h) and is freed by
 * vm_mon_release() (cleanup, release).
 */
#include <jansson.h>

#include "io/qmp.h"
#include "zero/plugin.h"

#define VM_MON_BOOT_TIMEOUT_USEC (20ULL * 1000000ULL)
#define VM_MON_COMMAND_TIMEOUT_USEC (5ULL * 1000000ULL)
#define VM_MON_QUIT_TIMEOUT_USEC (2ULL * 1000000ULL)

struct vm_mon;

void vm_mon_setup(const struct zero_plugin_services *svc);
const struct zero_plugin_services *vm_mon_services(void);
/* Finds ctx's monitor or makes one, connecting to qmp_path at once. -ENOENT / -ECONNREFUSED:
 * nobody listens there (QEMU is not up, or gone). */
int vm_mon_get(struct zero_plugin_ctx *ctx, const char *qmp_path, struct vm_mon **ret);
struct vm_mon *vm_mon_find(struct zero_plugin_ctx *ctx);
void vm_mon_release(struct zero_plugin_ctx *ctx);

/* Starts the boot; its end goes to services->done(). device_ids (NULL-terminated, copied) are the
 * ids of the -device options that must exist before "cont". Returns ZERO_PLUGIN_PENDING. */
int vm_mon_boot(struct zero_plugin_ctx *ctx, const char *qmp_path, char *const *device_ids,
                struct zero_error *err);

/* A command on the VM's connection (connecting if there is none); arguments is stolen. */
int vm_mon_command(struct vm_mon *m, const char *execute, json_t *arguments, zero_qmp_reply_fn cb,
                   void *userdata);
/* The ACPI power button (system_powerdown), pressed again every second until QEMU exits or quits:
 * a guest drops a press that comes before it listens. */
int vm_mon_powerdown(struct vm_mon *m);
/* QEMU's own exit ("quit": block devices flushed); SIGKILL through the shim when QEMU does not
 * answer within VM_MON_QUIT_TIMEOUT_USEC. */
int vm_mon_quit(struct vm_mon *m);
/* The last status QEMU gave ("running", "paused", "prelaunch", ...) or NULL. */
const char *vm_mon_status(const struct vm_mon *m);
struct zero_plugin_ctx *vm_mon_ctx(const struct vm_mon *m);
