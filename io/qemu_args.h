/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/*
 * What every QEMU the project starts has on its command line: the vm plugin's VMs
 * (plugins/vm/cmdline.c) and the card daemon's host (card/hostcmd.c). Each appends to a
 * common/argv.h builder.
 */
#include "common/argv.h"

struct zero_qemu_machine {
        const char *qemu;    /* the binary; NULL: qemu-system-x86_64 */
        const char *name;    /* -name's value */
        const char *machine; /* -machine's value ("q35") */
        const char *accel;   /* "kvm" (with -cpu host) or "tcg" (with -cpu max: under TCG its RDRAND seeds the
                              * guest's RNG at once, where qemu64 leaves mkfs.ext4 waiting seconds) */
        unsigned cpus;
};
/* The binary, no defaults and no user config, the name, machine, accelerator, CPU and SMP. */
void zero_qemu_args_machine(struct zero_argv *b, const struct zero_qemu_machine *m);
/* No display; the serial console on stdout, which the shim keeps as the console log (signal=off:
 * a ^C on it is the guest's); QMP on the unix socket qmp_path, which QEMU makes. */
void zero_qemu_args_console(struct zero_argv *b, const char *qmp_path);
/* A pcie-root-port on pcie.0 named id, the *k-th (then counted): eight to a slot as functions
 * (libvirt's layout), so that every device has one of its own and can be unplugged, and the
 * spares take hot-plugged ones. */
void zero_qemu_args_root_port(struct zero_argv *b, unsigned *k, const char *id);
