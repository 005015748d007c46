/* SPDX-License-Identifier: Apache-2.0 */
/* The QEMU command line of a VM instance (cmdline.h). */
#include "plugins/vm/cmdline.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/argv.h"
#include "common/macro.h"
#include "common/util.h"
#include "io/hotplug.h"
#include "io/qemu_args.h"

/* x86's and arm64's COMMAND_LINE_SIZE, NUL included. */
#define KERNEL_CMDLINE_MAX 2048
#define DISKS_PER_KIND_MAX 26


/* Appends s to *buf in single quotes ('\'' for a quote inside). */
static int append_quoted(FILE *f, const char *s) {
        fputc('\'', f);
        for (; *s; s++)
                if (*s == '\'')
                        fputs("'\\''", f);
                else
                        fputc(*s, f);
        fputc('\'', f);
        return ferror(f) ? -EIO : 0;
}

int zero_vm_shell_command(const struct zero_instance_info *info, char **ret) {
        char *buf = NULL;
        size_t len = 0;
        FILE *f;
        int r = 0;

        if (!info || !info->argv || !info->argv[0])
                return -EINVAL;
        f = open_memstream(&buf, &len);
        if (!f)
                return -ENOMEM;
        for (const char *const *e = info->env; e && *e; e++) {
                fputs("export ", f);
                r = append_quoted(f, *e);
                fputs("; ", f);
        }
        if (info->cwd) {
                fputs("cd ", f);
                r = append_quoted(f, info->cwd);
                fputs(" && ", f);
        }
        fputs("exec", f);
        for (const char *const *a = info->argv; r >= 0 && *a; a++) {
                fputc(' ', f);
                r = append_quoted(f, *a);
        }
        if (fclose(f) != 0 && r >= 0)
                r = -ENOMEM;
        if (r < 0 || !buf) {
                free(buf);
                return r < 0 ? r : -ENOMEM;
        }
        *ret = buf;
        return 0;
}

int zero_vm_guest_disk_name(const struct zero_vm_disk *disks, size_t n, size_t i, char *ret, size_t size) {
        size_t k = 0;

        if (i >= n || !disks[i].personality)
                return -EINVAL;
        for (size_t j = 0; j < i; j++)
                if (disks[j].personality && streq(disks[j].personality, disks[i].personality))
                        k++;
        if (k >= DISKS_PER_KIND_MAX)
                return -E2BIG;
        if (streq(disks[i].personality, "virtio-blk"))
                snprintf(ret, size, "/dev/vd%c", (char) ('a' + k));
        else if (streq(disks[i].personality, "virtio-scsi"))
                snprintf(ret, size, "/dev/sd%c", (char) ('a' + k));
        else if (streq(disks[i].personality, "nvme"))
                snprintf(ret, size, "/dev/nvme%zun1", k);
        else
                return -EINVAL;
        return 0;
}

/* A pcie-root-port on pcie.0, eight to a slot as functions (libvirt's layout): every disk and
 * NIC has one of its own, so that it can be unplugged, and the spares take hot-plugged ones. */
static int add_disk(struct zero_argv *b, const struct zero_vm_disk *d, size_t i, unsigned *port,
                    struct zero_error *err) {
        bool vhost = d->export_kind && streq(d->export_kind, "vhost-user-blk");
        bool nbd = d->export_kind && streq(d->export_kind, "nbd");
        _cleanup_free_ char *copy = NULL;
        char dev[ZERO_VM_QEMU_ID_MAX], back[ZERO_VM_QEMU_ID_MAX], bus[ZERO_VM_QEMU_ID_MAX];
        const char *name, *sock;
        char serial[21];

        if (!d->export_path || strpbrk(d->export_path, ",\""))
                return zero_error_set(err, -EINVAL, ZERO_E_INVALID, "disk %zu has no usable export path", i);
        if (!d->id || strlen(d->id) < 16 || strspn(d->id, "0123456789abcdef") < 16)
                return zero_error_set(err, -EINVAL, ZERO_E_INVALID, "disk %zu has no volume id", i);
        snprintf(serial, sizeof(serial), "%.20s", d->id); /* NVMe's limit */
        zero_qemu_id(ZERO_VM_DISK_ID, d->id, dev);
        zero_qemu_id(ZERO_VM_DISK_PORT, d->id, bus);
        if (streq(d->personality, "virtio-blk")) {
                if (!vhost)
                        return zero_error_set(err, -EINVAL, ZERO_E_INVALID,
                                              "disk %zu: virtio-blk needs a vhost-user-blk export, not %s", i,
                                              strempty(d->export_kind));
                zero_qemu_id(ZERO_VM_VHOST_ID, d->id, back);
                zero_qemu_args_root_port(b, port, bus);
                zero_argv_add(b, strdup("-chardev"));
                ZERO_ARGV_ADD(b, "socket,id=%s,path=%s", back, d->export_path);
                zero_argv_add(b, strdup("-device"));
                ZERO_ARGV_ADD(b, "vhost-user-blk-pci,id=%s,chardev=%s,num-queues=1,bus=%s", dev, back, bus);
                return b->r;
        }
        if (!nbd)
                return zero_error_set(err, -EINVAL, ZERO_E_INVALID, "disk %zu: %s needs an nbd export, not %s", i,
                                      d->personality, strempty(d->export_kind));
        if (zero_qemu_nbd_uri_split(d->export_path, &copy, &name, &sock) < 0)
                return zero_error_set(err, -EINVAL, ZERO_E_INVALID, "disk %zu: bad NBD export %s", i, d->export_path);
        if (!streq(d->personality, "virtio-scsi") && !streq(d->personality, "nvme"))
                return zero_error_set(err, -EINVAL, ZERO_E_INVALID, "disk %zu: unknown personality %s", i,
                                      d->personality);
        zero_qemu_id(ZERO_VM_NBD_ID, d->id, back);
        zero_argv_add(b, strdup("-blockdev"));
        ZERO_ARGV_ADD(b,
                      "{\"driver\":\"nbd\",\"node-name\":\"%s\",\"export\":\"%s\",\"server\":{\"type\":\"unix\",\"path\":\"%s\"}}",
                      back, name, sock);
        if (streq(d->personality, "nvme"))
                zero_qemu_args_root_port(b, port, bus); /* SCSI disks are on the controller's bus */
        zero_argv_add(b, strdup("-device"));
        if (streq(d->personality, "virtio-scsi"))
                ZERO_ARGV_ADD(b, "scsi-hd,id=%s,bus=%s.0,drive=%s,serial=%s", dev, ZERO_VM_SCSI_ID, back, serial);
        else
                ZERO_ARGV_ADD(b, "nvme,id=%s,drive=%s,serial=%s,bus=%s", dev, back, serial, bus);
        return b->r;
}

static int kernel_append(const struct zero_instance_info *info, const struct zero_vm_options *o, const char *root,
                         char **ret, struct zero_error *err) {
        _cleanup_free_ char *cmd = NULL, *b64 = NULL, *net = NULL;
        char *s;
        int r;

        r = zero_vm_shell_command(info, &cmd);
        if (r < 0)
                return zero_error_set(err, r, ZERO_E_INVALID, "the instance has no command");
        b64 = zero_base64(cmd, strlen(cmd));
        if (!b64)
                return -ENOMEM;
        if (o->n_nics > 0 && o->nics[0].ip)
                net = zero_strdup_printf(" zero.ip=%s/%u zero.gw=%s zero.mac=%s", o->nics[0].ip, o->nics[0].prefixlen,
                                         strempty(o->nics[0].gateway), strempty(o->nics[0].mac));
        s = zero_strdup_printf("console=%s quiet panic=-1 zero.root=%s%s zero.cmd=%s",
                               o->arch == ZERO_VM_ARCH_AARCH64 ? "ttyAMA0" : "ttyS0", root, net ? net : "", b64);
        if (!s)
                return -ENOMEM;
        if (strlen(s) >= KERNEL_CMDLINE_MAX) {
                free(s);
                return zero_error_set(err, -E2BIG, ZERO_E_INVALID,
                                      "the command and environment are too long for a VM's kernel command line "
                                      "(%d bytes with base64)", KERNEL_CMDLINE_MAX);
        }
        *ret = s;
        return 0;
}

int zero_vm_cmdline(const struct zero_instance_info *info, const struct zero_vm_options *o, char ***ret,
                    struct zero_error *err) {
        struct zero_argv b = {};
        char root[32] = "";
        unsigned port = 0;
        char *append = NULL;
        _cleanup_free_ char *name = NULL;
        _cleanup_free_ char *ram = NULL;
        unsigned long long ram_kib;
        int r;

        if (!info || !o || !ret || !o->kernel || !o->initrd || !o->qmp_path)
                return zero_error_set(err, -EINVAL, ZERO_E_INVALID, "the image has no kernel or initrd");
        if (!o->accel || (!streq(o->accel, "kvm") && !streq(o->accel, "tcg")))
                return zero_error_set(err, -EINVAL, ZERO_E_INVALID, "accelerator '%s': expected kvm or tcg",
                                      strempty(o->accel));
        for (size_t i = 0; i < o->n_disks && !root[0]; i++)
                if (o->disks[i].root && zero_vm_guest_disk_name(o->disks, o->n_disks, i, root, sizeof(root)) < 0)
                        return zero_error_set(err, -EINVAL, ZERO_E_INVALID, "the root disk's personality is unknown");
        if (!root[0])
                return zero_error_set(err, -EINVAL, ZERO_E_INVALID, "the VM has no root disk");
        r = kernel_append(info, o, root, &append, err);
        if (r < 0)
                return r;

        name = zero_strdup_printf("guest=%s,debug-threads=on", info->name);
        zero_qemu_args_machine(&b, &(struct zero_qemu_machine){.qemu = o->qemu,
                                                              .name = strempty(name),
                                                              .machine = o->arch == ZERO_VM_ARCH_AARCH64
                                                                                 ? "virt,gic-version=max,memory-backend=mem"
                                                                                 : "q35,memory-backend=mem",
                                                              .accel = o->accel,
                                                              .cpus = info->cpus});
        /* Guest RAM shared with the vhost-user-blk backend (qemu-storage-daemon); under TCG 8 KiB
         * more than asked (ZERO_VM_TCG_RAM_PAD_KIB, cmdline.h: QEMU < 9.0 loses pages a TCG
         * guest writes while it migrates when its RAM is a multiple of 256 KiB). */
        ram_kib = (unsigned long long) (info->memory_mib ? info->memory_mib : 256) * 1024;
        ram = streq(o->accel, "tcg") ? zero_strdup_printf("%lluK", ram_kib + ZERO_VM_TCG_RAM_PAD_KIB)
                                     : zero_strdup_printf("%lluM", ram_kib / 1024);
        zero_argv_add(&b, strdup("-object"));
        ZERO_ARGV_ADD(&b, "memory-backend-memfd,id=mem,size=%s,share=on", ram);
        zero_argv_add(&b, strdup("-m"));
        zero_argv_add(&b, strdup(ram));
        zero_qemu_args_console(&b, o->qmp_path);
        if (o->incoming) {
                /* Held: once it has the guest it waits, paused, for RECEIVE's cont (plugin.h, 4.9):
                 * the agent runs it only after its card took the volumes. */
                zero_argv_add(&b, strdup("-incoming"));
                zero_argv_add(&b, strdup("defer"));
                zero_argv_add(&b, strdup("-S"));
        } else if (o->start_paused)
                zero_argv_add(&b, strdup("-S"));
        /* The guest's poweroff ends QEMU; so does a reboot: the instance's command is done. */
        zero_argv_add(&b, strdup("-no-reboot"));
        /* QEMU's own seccomp filter, as libvirt sets it: a compromised QEMU cannot exec or fork,
         * regain privileges, change its scheduling or use obsolete syscalls. Hot-plug and QMP
         * need none of those (it_vm_hotplug). */
        zero_argv_add(&b, strdup("-sandbox"));
        if (o->run_as && *o->run_as) {
                /* Privileges dropped once the devices are set up, before the guest runs. QEMU 7.2
                 * loads its filter before that drop, so elevateprivileges=deny kills it at its own
                 * setgid() (checked by hand: SIGSYS); once it is that user, setuid cannot make it
                 * root again (QEMU checks setuid(0) fails). */
                zero_argv_add(&b, strdup(ZERO_VM_SANDBOX_RUNAS));
                zero_argv_add(&b, strdup("-runas"));
                zero_argv_add(&b, strdup(o->run_as));
        } else
                zero_argv_add(&b, strdup(ZERO_VM_SANDBOX));
        zero_argv_add(&b, strdup("-kernel"));
        zero_argv_add(&b, strdup(o->kernel));
        zero_argv_add(&b, strdup("-initrd"));
        zero_argv_add(&b, strdup(o->initrd));
        zero_argv_add(&b, strdup("-append"));
        zero_argv_add(&b, append);
        /* One virtio-scsi controller always, so that a SCSI disk can be hot-plugged on its bus. */
        zero_qemu_args_root_port(&b, &port, ZERO_VM_SCSI_PORT);
        zero_argv_add(&b, strdup("-device"));
        ZERO_ARGV_ADD(&b, "virtio-scsi-pci,id=%s,bus=%s", ZERO_VM_SCSI_ID, ZERO_VM_SCSI_PORT);
        for (size_t i = 0; b.r >= 0 && i < o->n_disks; i++) {
                r = add_disk(&b, &o->disks[i], i, &port, err);
                if (r < 0 && b.r >= 0)
                        b.r = r;
        }
        for (size_t i = 0; b.r >= 0 && i < o->n_nics; i++) {
                const struct zero_vm_nic *n = &o->nics[i];
                char dev[ZERO_VM_QEMU_ID_MAX], back[ZERO_VM_QEMU_ID_MAX], bus[ZERO_VM_QEMU_ID_MAX];

                if (!n->tap || !n->mac || !n->id || strlen(n->id) < 16 || strpbrk(n->tap, ",=")) {
                        b.r = zero_error_set(err, -EINVAL, ZERO_E_INVALID, "NIC %zu has no tap, id or MAC", i);
                        break;
                }
                zero_qemu_id(ZERO_VM_NIC_ID, n->id, dev);
                zero_qemu_id(ZERO_VM_NETDEV_ID, n->id, back);
                zero_qemu_id(ZERO_VM_NIC_PORT, n->id, bus);
                zero_qemu_args_root_port(&b, &port, bus);
                zero_argv_add(&b, strdup("-netdev"));
                ZERO_ARGV_ADD(&b, "tap,id=%s,ifname=%s,script=no,downscript=no", back, n->tap);
                zero_argv_add(&b, strdup("-device"));
                /* romfile=: no iPXE option ROM, the kernel is loaded directly (and ipxe-qemu not needed) */
                ZERO_ARGV_ADD(&b, "virtio-net-pci,id=%s,netdev=%s,mac=%s,bus=%s,romfile=", dev, back, n->mac, bus);
        }
        if (o->tpm_socket) {
                /* tpm-crb is x86's; the virt machine would take tpm-tis-device, which no test has
                 * booted with the arm64 image yet. */
                if (o->arch == ZERO_VM_ARCH_AARCH64) {
                        strv_free(b.v);
                        return zero_error_set(err, -EOPNOTSUPP, ZERO_E_INVALID,
                                              "a vTPM for an aarch64 guest is not supported yet");
                }
                if (strpbrk(o->tpm_socket, ",\"")) {
                        strv_free(b.v);
                        return zero_error_set(err, -EINVAL, ZERO_E_INVALID, "the vTPM's socket path %s has a comma",
                                              o->tpm_socket);
                }
                /* swtpm's control channel; QEMU hands it the data channel and sends CMD_INIT. */
                zero_argv_add(&b, strdup("-chardev"));
                ZERO_ARGV_ADD(&b, "socket,id=%s,path=%s", ZERO_VM_TPM_CHARDEV, o->tpm_socket);
                zero_argv_add(&b, strdup("-tpmdev"));
                ZERO_ARGV_ADD(&b, "emulator,id=%s,chardev=%s", ZERO_VM_TPM_ID, ZERO_VM_TPM_CHARDEV);
                zero_argv_add(&b, strdup("-device"));
                ZERO_ARGV_ADD(&b, "tpm-crb,tpmdev=%s", ZERO_VM_TPM_ID);
        }
        if (o->tpm_socket && o->launch_digest && !strchr(o->launch_digest, ',')) {
                zero_argv_add(&b, strdup("-fw_cfg"));
                ZERO_ARGV_ADD(&b, "name=%s,file=%s", ZERO_VM_LAUNCH_FW_CFG, o->launch_digest);
        }
        for (unsigned i = 0; b.r >= 0 && i < o->hotplug_ports; i++) {
                char id[ZERO_VM_QEMU_ID_MAX];
                snprintf(id, sizeof(id), "%s%u", ZERO_VM_SPARE_PORT, i);
                zero_qemu_args_root_port(&b, &port, id);
        }
        if (b.r < 0) {
                strv_free(b.v);
                return b.r;
        }
        *ret = b.v;
        return 0;
}
