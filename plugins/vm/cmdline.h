/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/*
 * The QEMU command line of one VM instance: a pure function of the instance and of where the card
 * put its disks and NICs, so that it is unit-tested (tests/unit/test_vm_cmdline.c) and rebuilt at
 * every start, like the container plugin's config.json.
 *
 * The guest boots the image's kernel and initramfs (deploy/images/init), which read everything
 * from the kernel command line: zero.root (the root disk's device name in the guest), zero.cmd
 * (the instance's command as base64 of a shell command line), zero.ip / zero.gw / zero.mac (the
 * first NIC). The serial console goes to QEMU's stdout, which the shim keeps as the console log.
 * QEMU starts paused (-S); the plugin checks the devices over QMP and then sends "cont".
 */
#include <stdbool.h>
#include <stddef.h>

#include "io/hotplug.h"
#include "zero/error.h"
#include "zero/plugin.h"

/* A disk as the card exported it. */
struct zero_vm_disk {
        const char *id;          /* the volume's id: the guest sees it as the disk's serial */
        const char *personality; /* "virtio-blk", "virtio-scsi", "nvme" */
        const char *export_kind; /* "vhost-user-blk" (virtio-blk), "nbd" (virtio-scsi, nvme) */
        const char *export_path; /* the socket, or the NBD URI nbd+unix:///NAME?socket=PATH */
        bool root;
};

struct zero_vm_nic {
        const char *tap; /* the card's tap on the network's bridge */
        const char *mac;
        const char *ip;  /* "10.77.0.5" */
        unsigned prefixlen;
        const char *gateway;
        const char *id; /* the NIC's id (32 hex) */
};

struct zero_vm_options {
        const char *qemu;   /* the binary: "qemu-system-x86_64" */
        const char *accel;  /* "kvm" or "tcg" */
        const char *kernel; /* the image's vmlinuz */
        const char *initrd; /* the image's initrd.img */
        const char *qmp_path;
        bool start_paused; /* -S: the plugin sends "cont" once it has checked the devices */
        size_t n_disks;
        const struct zero_vm_disk *disks;
        size_t n_nics;
        const struct zero_vm_nic *nics;
        unsigned hotplug_ports; /* spare pcie-root-ports "hp0".., for hot-plugged disks and NICs */
        /* -runas: the user ("name" or "uid:gid", QEMU 7.2 takes both) QEMU becomes once its
         * devices are set up; NULL or "": it stays root ([vm] user, docs/architecture.md). */
        const char *run_as;
        /* -incoming defer: the guest comes from another node (live migration, migrate.h), and
         * QEMU runs it once it has it all (no -S: the source's pause before the switchover is
         * where devices are handed over). */
        bool incoming;
        /* The vTPM: swtpm's control socket (the shim's sidecar, vm.c), NULL: none. The guest
         * sees a TPM 2.0 on tpm-crb (/dev/tpm0). */
        const char *tpm_socket;
};

/* What QEMU's -sandbox forbids: obsolete syscalls, setuid and friends, fork and exec, and
 * changes of scheduling or affinity. */
#define ZERO_VM_SANDBOX "on,obsolete=deny,elevateprivileges=deny,spawn=deny,resourcecontrol=deny"
/* The same with -runas, whose setuid() and setgid() come after QEMU loaded its filter. */
#define ZERO_VM_SANDBOX_RUNAS "on,obsolete=deny,elevateprivileges=allow,spawn=deny,resourcecontrol=deny"

/* Under TCG the guest's RAM is 8 KiB more than the instance's memory_mib (QEMU rounds -m up to
 * 8 KiB, and its backend must match). QEMU before 9.0
 * (upstream 03bfc2188f, "physmem: Fix migration dirty bitmap coherency with TCG memory
 * access") syncs a RAM block whose length is a multiple of 64 pages (256 KiB) 64 pages at a
 * time and clears their dirty bits without re-arming the vCPUs' TLB entries: a page the guest
 * had written since the TLB's last flush is then written again through its cached entry
 * without being marked dirty, and if that happens after the page's last send it is never sent.
 * The target's guest gets that page as it was: its idle stack, wait queues, slabs (it crashed
 * after about one migration in ten, docs/architecture.md "Live migration"). A block of any
 * other length takes the page-by-page path, which re-arms the TLB (tlb_reset_dirty). KVM's
 * dirty log is the kernel's and unaffected, and its RAM keeps its exact size. */
#define ZERO_VM_TCG_RAM_PAD_KIB 8

/* QEMU ids: a prefix and the first 16 hex digits of the volume's or NIC's id, the same at every
 * start and in hot-plug, so that a device is found by what it is, not by its position. */
#define ZERO_VM_QEMU_ID_MAX ZERO_HOTPLUG_ID_MAX
#define ZERO_VM_DISK_ID "disk"   /* a disk's -device */
#define ZERO_VM_DISK_PORT "pd"   /* its pcie-root-port (virtio-blk, NVMe) */
#define ZERO_VM_VHOST_ID "vu"    /* its vhost-user-blk chardev */
#define ZERO_VM_NBD_ID "nbd"     /* its NBD blockdev node */
#define ZERO_VM_NIC_ID "nic"     /* a NIC's -device */
#define ZERO_VM_NETDEV_ID "net"  /* its tap netdev */
#define ZERO_VM_NIC_PORT "pn"    /* its pcie-root-port */
#define ZERO_VM_SCSI_ID "scsi0"  /* the one virtio-scsi controller; SCSI disks are on scsi0.0 */
#define ZERO_VM_SCSI_PORT "ps"
#define ZERO_VM_SPARE_PORT "hp"  /* spare ports: hp0, hp1, ... */
#define ZERO_VM_TPM_CHARDEV "tpmchr" /* the vTPM's chardev on swtpm's socket */
#define ZERO_VM_TPM_ID "tpm0"        /* its -tpmdev emulator and -device tpm-crb */
/* The ids are made by io/hotplug.h's zero_qemu_id(), as the card's daemon names the lab host's. */

/* The guest's device name of disks[i]: /dev/vda.. for virtio-blk, /dev/sda.. for virtio-scsi,
 * /dev/nvme0n1.. for NVMe, counting the disks of the same personality before it. -EINVAL for an
 * unknown personality. */
int zero_vm_guest_disk_name(const struct zero_vm_disk *disks, size_t n, size_t i, char *ret, size_t size);

/* The instance's command (and environment) as one shell command line, quoted for /bin/sh -c. */
int zero_vm_shell_command(const struct zero_instance_info *info, char **ret);

/* The argv (NULL-terminated, caller frees with strv_free). -EINVAL with err (400 "invalid") when
 * the instance cannot be expressed: no root disk, a disk whose export does not fit its
 * personality, an unknown accelerator, more than 26 disks of one kind. */
int zero_vm_cmdline(const struct zero_instance_info *info, const struct zero_vm_options *o, char ***ret,
                    struct zero_error *err);
