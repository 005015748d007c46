/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/*
 * A VM's vTPM: one swtpm (TPM 2.0) per running VM, the shim's sidecar (zero_shim_args.sidecar_argv):
 * started before QEMU, dying with the shim, ended once QEMU is gone. QEMU connects to its control
 * socket (RUN_DIR/swtpm.sock) and hands it the data channel; swtpm ends by itself when QEMU closes
 * it (--terminate). Its state (the TPM's NV, keys and seeds) is kept in STATE_DIR/tpm, the
 * instance's persistent directory, so that it outlives stops, starts and switches to a container
 * and back; live migration carries it inside QEMU's stream (the emulator backend's state blobs).
 */
#include <stddef.h>

#include "zero/plugin.h"

#define ZERO_VM_TPM_SOCKET "swtpm.sock" /* in RUN_DIR */
#define ZERO_VM_TPM_STATE "tpm"         /* in STATE_DIR */

/* Whether swtpm runs ("swtpm --version"): 0, or -errno with the reason (what to install). */
int zero_vm_tpm_probe(const char *swtpm, char *ret_reason, size_t size);

/* swtpm's command line for the instance (the state directory made, 0700) and its control socket;
 * both freed by the caller. */
int zero_vm_tpm_sidecar(const char *swtpm, const struct zero_instance_info *info, char ***ret_argv, char **ret_socket,
                        struct zero_error *err);
