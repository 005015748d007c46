/* SPDX-License-Identifier: Apache-2.0 */
/* The common part of the project's QEMU command lines (qemu_args.h). */
#include "io/qemu_args.h"

#include <string.h>

#include "common/util.h"

#define PORT_SLOT_FIRST 2 /* pcie.0's slot 0 is the host bridge, 1 stays free, 0x1f is the ICH9's */

void zero_qemu_args_machine(struct zero_argv *b, const struct zero_qemu_machine *m) {
        zero_argv_add(b, strdup(m->qemu ? m->qemu : "qemu-system-x86_64"));
        zero_argv_add(b, strdup("-nodefaults"));
        zero_argv_add(b, strdup("-no-user-config"));
        zero_argv_add(b, strdup("-name"));
        zero_argv_add(b, strdup(m->name));
        zero_argv_add(b, strdup("-machine"));
        zero_argv_add(b, strdup(m->machine));
        zero_argv_add(b, strdup("-accel"));
        zero_argv_add(b, strdup(m->accel));
        zero_argv_add(b, strdup("-cpu"));
        zero_argv_add(b, strdup(streq(m->accel, "kvm") ? "host" : "max"));
        zero_argv_add(b, strdup("-smp"));
        ZERO_ARGV_ADD(b, "%u", m->cpus ? m->cpus : 1);
}

void zero_qemu_args_console(struct zero_argv *b, const char *qmp_path) {
        zero_argv_add(b, strdup("-display"));
        zero_argv_add(b, strdup("none"));
        zero_argv_add(b, strdup("-chardev"));
        zero_argv_add(b, strdup("stdio,id=console,signal=off"));
        zero_argv_add(b, strdup("-serial"));
        zero_argv_add(b, strdup("chardev:console"));
        zero_argv_add(b, strdup("-qmp"));
        ZERO_ARGV_ADD(b, "unix:%s,server=on,wait=off", qmp_path);
}

void zero_qemu_args_root_port(struct zero_argv *b, unsigned *k, const char *id) {
        unsigned slot = PORT_SLOT_FIRST + *k / 8, fn = *k % 8;

        zero_argv_add(b, strdup("-device"));
        ZERO_ARGV_ADD(b, "pcie-root-port,id=%s,chassis=%u,bus=pcie.0,addr=0x%x.0x%x%s", id, *k + 1, slot, fn,
                      fn == 0 ? ",multifunction=on" : "");
        (*k)++;
}
