/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/*
 * The OCI runtime configuration (bundle/config.json, runtime-spec 1.0.2) of one container
 * instance. A pure function of the instance and of what the host's cgroups allow, so that it is
 * unit-tested (tests/unit/test_oci.c) and simply rewritten at every prepare.
 */
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h> /* zero/error.h uses strerror() without including it */

#include "zero/plugin.h"

#define ZERO_OCI_VERSION "1.0.2"
#define ZERO_OCI_DEFAULT_PATH "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
#define ZERO_OCI_DEFAULT_TERM "TERM=xterm"
/* Soft and hard RLIMIT_NOFILE. Never more than the host's hard limit: raising a hard limit needs
 * CAP_SYS_RESOURCE, which the build and test machines lack (BLUEPRINT.md). */
#define ZERO_OCI_NOFILE 1024
#define ZERO_OCI_CPU_PERIOD 100000
/* Ids mapped into a user namespace: 0..65535, what a distribution's files use. */
#define ZERO_OCI_USERNS_SIZE 65536

struct zero_oci_volume_mount;

struct zero_oci_options {
        /* The runtime applies cgroup limits here. Adds the cgroup namespace, a /sys/fs/cgroup
         * mount, linux.resources (cpu, memory, a deny-all devices rule) and linux.cgroupsPath,
         * and keeps CAP_MKNOD. False where crun runs with --cgroup-manager=disabled (hybrid
         * cgroup hosts): no devices cgroup there, so no CAP_MKNOD either. */
        bool limits_enforced;
        /* linux.cgroupsPath when limits are enforced ("slice:prefix:name" for crun's systemd
         * manager, a path for cgroupfs); NULL leaves it to the runtime. */
        const char *cgroups_path;
        /* The network namespace to join (bound at this path, the card's NICs inside); NULL: a
         * new, empty one. */
        const char *netns_path;
        /* Data volumes: block devices (the card's host block exports) mounted as ext4 at their
         * paths inside the container. */
        size_t n_volume_mounts;
        const struct zero_oci_volume_mount *volume_mounts;
        /* linux.resources.pids.limit when limits are enforced and the instance names none
         * (info->pids_max); 0: no limit. */
        uint64_t pids_max;
        /* Masked on top of Docker's list: what only exists on some hosts (moby masks each CPU's
         * thermal_throttle directory that exists). NULL-terminated; may be NULL. */
        const char *const *host_masked_paths;
        /* With info->userns: the host uid and gid that the container's root is, and the first
         * of ZERO_OCI_USERNS_SIZE ids mapped (linux.uidMappings, gidMappings and a user
         * namespace). The rootfs must then be usable by them (an idmapped mount). */
        uint32_t userns_base;
        /* Data volumes are directories the plugin mounted (idmapped) and crun binds, rather than
         * devices crun mounts: a user namespace cannot mount ext4. */
        bool volume_binds;
        /* linux.seccomp compiled (zero_seccomp_bpf_base64() for the same capabilities): handed to
         * crun as the annotation run.oci.seccomp_bpf_data so that it loads the program instead of
         * compiling the profile at every start. NULL: crun compiles linux.seccomp. */
        const char *seccomp_bpf;
        /* mount(8), absolute, and the bundle's rootfs as the runtime sees it (absolute): a
         * createContainer hook remounts the rootfs nodev (and ro when it is read-only) inside
         * the container's mount namespace before pivot_root. crun 1.8 binds the rootfs onto
         * itself and remounts that bind with no flags, which drops the nodev of the host's
         * mount of the root volume; the hook puts it back. NULL: no hook. None with a user
         * namespace either (info->userns): the container's mount namespace then belongs to it,
         * which locks the flags its mounts came with, so nodev stays by itself. */
        const char *nodev_hook;
        const char *rootfs;
        /* zero-nodev-hook (nodev_hook.c), absolute: the same hook in one exec of a static
         * program instead of a shell and mount(8). Preferred to nodev_hook when set. */
        const char *nodev_helper;
};
/* What runs the hook: it reads the state crun writes to it, then execs mount(8). */
#define ZERO_OCI_HOOK_SHELL "/bin/sh"

struct zero_oci_volume_mount {
        const char *destination; /* absolute path in the container */
        const char *device;      /* /dev/loopN, or with volume_binds the directory to bind */
};

/* Builds the configuration. -EINVAL (err: ZERO_E_INVALID) when the instance cannot be expressed:
 * empty argv, an env entry without '=', a relative cwd, a hostname longer than 64 bytes, text
 * that is not UTF-8, a memory size that overflows, a user namespace without a userns_base. */
int zero_oci_config_new(const struct zero_instance_info *info, const struct zero_oci_options *opts,
                        json_t **ret, struct zero_error *err);

/* The same, as indented JSON text ending in a newline (caller frees). */
int zero_oci_config_format(const struct zero_instance_info *info,
                           const struct zero_oci_options *opts, char **ret, struct zero_error *err);

/* The seccomp program of the configurations built with opts (only limits_enforced matters: it
 * decides the capabilities), for zero_oci_options.seccomp_bpf. -errno from libseccomp. */
int zero_oci_seccomp_bpf(const struct zero_oci_options *opts, char **ret);

/* The instance asks for a user namespace (and its info is new enough to say so). */
bool zero_oci_wants_userns(const struct zero_instance_info *info);
