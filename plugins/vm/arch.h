/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/*
 * A guest's architecture: the image's, as its kernel says (the boot header every Linux kernel of
 * the architecture carries), so that an image needs no field of its own and cannot claim one its
 * kernel is not. The vm plugin picks the QEMU binary, machine and console by it (cmdline.h), and
 * the accelerator: KVM only for the host's own architecture, TCG for another (docs/aarch64.md).
 */
#include <stddef.h>

enum zero_vm_arch {
        ZERO_VM_ARCH_UNKNOWN = 0,
        ZERO_VM_ARCH_X86_64,  /* a bzImage: "HdrS" at 0x202 (Documentation/arch/x86/boot.rst) */
        ZERO_VM_ARCH_AARCH64, /* an arm64 Image: "ARM\x64" at 0x38 (Documentation/arch/arm64/booting.rst) */
};

/* "x86_64", "aarch64"; "unknown". */
const char *zero_vm_arch_name(enum zero_vm_arch a);
/* The architecture this plugin was built for (the host's). */
enum zero_vm_arch zero_vm_arch_host(void);
/* The architecture of the kernel's first bytes (at least 0x206 of them to know an x86 one). */
enum zero_vm_arch zero_vm_arch_of_header(const unsigned char *buf, size_t n);
/* The architecture of the kernel file at path: 0 and *ret, or -errno (the file cannot be read),
 * or -ENOEXEC (a file of no architecture known here: a compressed arm64 Image, a vmlinux ELF). */
int zero_vm_arch_of_kernel(const char *path, enum zero_vm_arch *ret);
