/* SPDX-License-Identifier: Apache-2.0 */
/* The host's QEMU command line (host.h), a pure function. */
#include <stdio.h>
#include <string.h>

#include "card/host.h"
#include "common/util.h"
#include "io/qemu_args.h"

/* QEMU's option syntax doubles a comma inside a value. */
static char *escaped(const char *s) {
        char *o = malloc(strlen(s) * 2 + 1), *p = o;

        for (; o && *s; s++) {
                *p++ = *s;
                if (*s == ',')
                        *p++ = ',';
        }
        if (o)
                *p = '\0';
        return o;
}

int zc_host_cmdline(const struct zc_host_cmd *o, struct zero_argv *b, unsigned *port) {
        _cleanup_free_ char *sock = escaped(o->card_socket);

        zero_qemu_args_machine(b, &(struct zero_qemu_machine){.qemu = o->qemu,
                                                              .name = "zero-host,debug-threads=on",
                                                              .machine = "q35",
                                                              .accel = o->accel,
                                                              .cpus = o->cpus});
        zero_argv_add(b, strdup("-m"));
        ZERO_ARGV_ADD(b, "%lluM", (unsigned long long) o->memory_mib);
        zero_qemu_args_console(b, o->qmp_path);
        zero_argv_add(b, strdup("-kernel"));
        zero_argv_add(b, strdup(o->kernel));
        zero_argv_add(b, strdup("-initrd"));
        zero_argv_add(b, strdup(o->initrd));
        zero_argv_add(b, strdup("-append"));
        zero_argv_add(b, strdup(o->append));
        for (const char *const *n = o->fw_names; n && *n; n++) {
                zero_argv_add(b, strdup("-fw_cfg"));
                ZERO_ARGV_ADD(b, "name=opt/zero/%s,file=%s/%s", *n, o->fw_dir, *n);
        }
        /* The management link: slirp, restricted to the two forwards (host.h). No -sandbox: the
         * guestfwd's cmd: forks socat, which spawn=deny forbids. */
        zero_argv_add(b, strdup("-netdev"));
        ZERO_ARGV_ADD(b,
                      "user,id=mgmt,restrict=on,hostfwd=tcp:127.0.0.1:%u-:%u,guestfwd=tcp:%s-cmd:socat STDIO "
                      "UNIX-CONNECT:%s",
                      HOST_FORWARD_PORT, HOST_FORWARD_PORT, HOST_CARD_ADDR, strempty(sock));
        zero_qemu_args_root_port(b, port, "pm");
        zero_argv_add(b, strdup("-device"));
        ZERO_ARGV_ADD(b, "virtio-net-pci,id=mgmt0,netdev=mgmt,mac=%s,bus=pm,romfile=", HOST_MGMT_MAC);
        /* One virtio-scsi controller always, so that a SCSI disk can be presented on its bus. */
        zero_qemu_args_root_port(b, port, "ps");
        zero_argv_add(b, strdup("-device"));
        ZERO_ARGV_ADD(b, "virtio-scsi-pci,id=%s,bus=ps", HOST_SCSI_ID);
        /* The maintenance port, when asked for: a virtio-serial port named zero.maint whose other
         * end is a unix socket of the card's run directory (QEMU listens; the operator, root on
         * the card, connects). host-init answers a few fixed verbs on it and nothing else. */
        if (o->maint_socket) {
                _cleanup_free_ char *m = escaped(o->maint_socket);
                zero_qemu_args_root_port(b, port, "pv");
                zero_argv_add(b, strdup("-device"));
                zero_argv_add(b, strdup("virtio-serial-pci,id=maint0,bus=pv"));
                zero_argv_add(b, strdup("-chardev"));
                ZERO_ARGV_ADD(b, "socket,id=maint,path=%s,server=on,wait=off", strempty(m));
                zero_argv_add(b, strdup("-device"));
                zero_argv_add(b, strdup("virtserialport,bus=maint0.0,chardev=maint,name=zero.maint"));
        }
        /* The presentations and the spares for hot-plug come after: the caller's. */
        return b->r;
}
