/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/*
 * The default seccomp profile of a container (config.json's linux.seccomp): Docker's (moby's)
 * default profile, resolved for one architecture and one capability set the way moby resolves
 * it before handing it to the runtime, so that crun compiles only the rules that apply.
 */
#include <jansson.h>

enum zero_seccomp_arch {
        ZERO_SECCOMP_ARCH_X86_64,  /* native x86_64 with its 32-bit (x86) and x32 ABIs */
        ZERO_SECCOMP_ARCH_AARCH64, /* native aarch64 with its 32-bit (arm) ABI */
        ZERO_SECCOMP_ARCH_OTHER,   /* no architectures list: libseccomp's native one only */
};

#if defined(__x86_64__)
#define ZERO_SECCOMP_ARCH_NATIVE ZERO_SECCOMP_ARCH_X86_64
#elif defined(__aarch64__)
#define ZERO_SECCOMP_ARCH_NATIVE ZERO_SECCOMP_ARCH_AARCH64
#else
#define ZERO_SECCOMP_ARCH_NATIVE ZERO_SECCOMP_ARCH_OTHER
#endif

/* The profile for a container whose bounding set is caps (NULL-terminated "CAP_..." names):
 * what a capability unlocks in moby's profile (CAP_SYS_ADMIN: mount, unshare, setns, clone with
 * namespace flags; CAP_SYS_CHROOT: chroot; ...) is allowed only when caps holds it. NULL on
 * allocation failure. */
json_t *zero_seccomp_profile_new(enum zero_seccomp_arch arch, const char *const *caps);

/* The same profile for this build's architecture, compiled by libseccomp into the program the
 * kernel loads, as base64: what crun's annotation run.oci.seccomp_bpf_data takes instead of
 * compiling linux.seccomp itself at every start (about 13 ms with the x86 and x32 ABIs, once
 * here). -errno from libseccomp, -E2BIG past the kernel's program size. */
int zero_seccomp_bpf_base64(const char *const *caps, char **ret);
