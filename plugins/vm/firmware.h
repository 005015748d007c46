/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/*
 * The firmware QEMU needs to boot a VM the way the plugin does (q35, -kernel and -initrd): SeaBIOS
 * (bios-256k.bin, Debian's seabios) and the option ROMs that load the kernel (linuxboot_dma.bin,
 * kvmvapic.bin: qemu-system-data). Without them QEMU exits at start with "could not load PC
 * BIOS"; the probe says so first, with the package to install. The directories are QEMU's own
 * (`QEMU -L help`), so a QEMU built with another prefix is checked where it looks.
 */
#include <stddef.h>

/* 0 when every file is there; -ENOENT with ret_reason naming the first missing file, the
 * directories searched and the package; -errno when QEMU cannot be asked. */
int zero_vm_firmware_check(const char *qemu, char *ret_reason, size_t size);
