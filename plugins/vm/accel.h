/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/*
 * The VM plugin's accelerator: "kvm" or "tcg", and for "auto" a choice that never hangs.
 *
 * /dev/kvm opening is not enough: under nested virtualisation it often opens, QEMU starts, and the
 * guest then hangs for good once Linux boots. So "auto" boots the image's kernel once under
 * -accel kvm without an initrd and waits, for at most timeout_usec, for it to reach the root
 * mount ("VFS: Unable to mount root fs" / "Kernel panic"): that proves KVM runs a real guest.
 * The verdict is cached in cache_path, keyed by QEMU's version, the host kernel and the probe
 * kernel's path, size and mtime, so only the first start after a change pays for the probe.
 *
 * zero_vm_accel_choose() blocks (up to timeout_usec plus a small constant on a miss, a few ms on
 * a cache hit): call it once when the plugin starts, not from an sd-event callback per instance.
 * Tests: tests/unit/test_vm_accel.c.
 */
#include <stddef.h>
#include <stdint.h>

#define ZERO_VM_ACCEL_TIMEOUT_USEC_DEFAULT (5 * 1000000ULL)

struct zero_vm_accel_args {
        const char *qemu;      /* the binary, found in PATH: "qemu-system-x86_64" */
        const char *requested; /* "auto", "kvm" or "tcg" */
        const char *kernel;    /* a Linux kernel to boot for the probe; NULL: no probe */
        const char *cache_path; /* where the verdict is kept; NULL: no cache */
        uint64_t timeout_usec; /* bound on the probe; 0: ZERO_VM_ACCEL_TIMEOUT_USEC_DEFAULT */
        const char *kvm_dev;   /* NULL: "/dev/kvm" (tests point it elsewhere) */
};

/* Writes "kvm" or "tcg" to ret_accel and, for a "tcg" that was asked as "auto", why into
 * ret_reason (empty otherwise; ret_reason may be NULL). Returns 0 whenever a verdict was made,
 * even a degraded one; -EINVAL for bad arguments (unknown request, accel_size < 4), -ENOMEM,
 * or -errno when the probe could not be started at all (pipe, fork). Outputs are untouched on
 * failure. Not being able to write the cache is not an error: the next call probes again. */
int zero_vm_accel_choose(const struct zero_vm_accel_args *a, char *ret_accel, size_t accel_size, char *ret_reason,
                         size_t reason_size);
