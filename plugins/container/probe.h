/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/*
 * What the container plugin learns about the host: which crun, and how crun can use the
 * host's cgroups. The decisions are pure functions of what was detected (unit-tested); only
 * zero_cgroup_host_detect() and zero_runtime_version() look at the system.
 */
#include <stdbool.h>
#include <stddef.h>

enum zero_cgroup_manager {
        ZERO_CGROUP_MANAGER_AUTO,
        ZERO_CGROUP_MANAGER_DISABLED,
        ZERO_CGROUP_MANAGER_CGROUPFS,
        ZERO_CGROUP_MANAGER_SYSTEMD,
};

/* "auto", "disabled", "cgroupfs", "systemd"; NULL means auto. -EINVAL for anything else. */
int zero_cgroup_manager_from_string(const char *s, enum zero_cgroup_manager *ret);
const char *zero_cgroup_manager_to_string(enum zero_cgroup_manager m);

struct zero_cgroup_host {
        bool unified;        /* /sys/fs/cgroup is cgroup2 */
        bool v2_controllers; /* not unified, yet cgroup2 (/sys/fs/cgroup/unified) holds
                              * controllers: the "hybrid" layout crun 1.8 refuses outright */
        bool systemd;        /* booted with systemd: /run/systemd/system exists */
};

int zero_cgroup_host_detect(struct zero_cgroup_host *ret);

struct zero_cgroup_plan {
        enum zero_cgroup_manager manager; /* for crun --cgroup-manager; never AUTO */
        bool limits_enforced;             /* cpu and memory limits apply */
        bool private_cgroup2;             /* run crun under the shim's private cgroup2 mount */
        bool usable;                      /* false: crun would refuse every container */
        char reason[256];                 /* what is degraded, or why unusable; "" if neither */
};

/* How to run crun on this host given the configured manager (explicit config beats auto). */
void zero_cgroup_plan_decide(const struct zero_cgroup_host *host, enum zero_cgroup_manager configured,
                             struct zero_cgroup_plan *ret);

/* "crun version 1.8.1\ncommit: ..." -> "crun 1.8.1"; any other first line is kept as it is.
 * -EINVAL when the output is empty. */
int zero_runtime_version_parse(const char *output, char *ret, size_t size);

/* Runs `runtime --version`: >= 0 and the parsed version, or -errno with a one-line reason. */
int zero_runtime_version(const char *runtime, char *ret, size_t size, char *reason, size_t reason_size);


/* What moby masks per CPU besides its fixed list (GHSA-6fw5-f8r9-fgfm): each possible CPU's
 * SYSFS_CPU/cpuN/thermal_throttle that exists. possible: the text of
 * /sys/devices/system/cpu/possible ("0-3,8"). *ret: a NULL-terminated list, NULL when none. */
int zero_thermal_throttle_paths(const char *possible, const char *sysfs_cpu, char ***ret);
