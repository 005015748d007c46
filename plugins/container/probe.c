/* SPDX-License-Identifier: Apache-2.0 */
#include "plugins/container/probe.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <linux/magic.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>

#include "common/util.h"

/* More CPUs than any host we know: a bound on what a corrupt cpumask can make us stat. */
#define THERMAL_CPUS_MAX 65536

static const char *const manager_names[] = {
        [ZERO_CGROUP_MANAGER_AUTO] = "auto",
        [ZERO_CGROUP_MANAGER_DISABLED] = "disabled",
        [ZERO_CGROUP_MANAGER_CGROUPFS] = "cgroupfs",
        [ZERO_CGROUP_MANAGER_SYSTEMD] = "systemd",
};

int zero_cgroup_manager_from_string(const char *s, enum zero_cgroup_manager *ret) {
        if (!s || !*s) {
                *ret = ZERO_CGROUP_MANAGER_AUTO;
                return 0;
        }
        for (size_t i = 0; i < ELEMENTSOF(manager_names); i++)
                if (streq(s, manager_names[i])) {
                        *ret = (enum zero_cgroup_manager) i;
                        return 0;
                }
        return -EINVAL;
}

const char *zero_cgroup_manager_to_string(enum zero_cgroup_manager m) {
        return (size_t) m < ELEMENTSOF(manager_names) ? manager_names[m] : "?";
}

int zero_cgroup_host_detect(struct zero_cgroup_host *ret) {
        struct zero_cgroup_host h = {};
        struct statfs sfs;
        struct stat st;

        if (statfs("/sys/fs/cgroup", &sfs) < 0)
                return -errno;
        h.unified = sfs.f_type == CGROUP2_SUPER_MAGIC;
        if (!h.unified) {
                /* crun reads the same file to refuse hybrid mode (libcrun_cgroup_enter). */
                _cleanup_free_ char *c = NULL;
                if (zero_read_file("/sys/fs/cgroup/unified/cgroup.controllers", 4096, &c, NULL) >= 0)
                        for (const char *p = c; *p; p++)
                                if (!isspace((unsigned char) *p)) {
                                        h.v2_controllers = true;
                                        break;
                                }
        }
        /* sd_booted(3) checks the same directory. */
        h.systemd = lstat("/run/systemd/system", &st) >= 0 && S_ISDIR(st.st_mode);
        *ret = h;
        return 0;
}

void zero_cgroup_plan_decide(const struct zero_cgroup_host *host, enum zero_cgroup_manager configured,
                             struct zero_cgroup_plan *ret) {
        struct zero_cgroup_plan p = {.usable = true};

        if (host->unified) {
                if (configured == ZERO_CGROUP_MANAGER_AUTO)
                        p.manager = host->systemd ? ZERO_CGROUP_MANAGER_SYSTEMD : ZERO_CGROUP_MANAGER_CGROUPFS;
                else
                        p.manager = configured;
                p.limits_enforced = p.manager != ZERO_CGROUP_MANAGER_DISABLED;
                if (!p.limits_enforced)
                        snprintf(p.reason, sizeof(p.reason),
                                 "cgroup_manager=disabled: cpu, memory and pids limits are not enforced");
        } else if (configured == ZERO_CGROUP_MANAGER_AUTO || configured == ZERO_CGROUP_MANAGER_DISABLED) {
                /* crun 1.8 refuses v1 hierarchies with controllers on the cgroup2 side even with
                 * --cgroup-manager=disabled; with a cgroup2 of its own at /sys/fs/cgroup (the
                 * shim's private mount namespace) it runs, without any limits. BLUEPRINT.md. */
                p.manager = ZERO_CGROUP_MANAGER_DISABLED;
                p.private_cgroup2 = true;
                snprintf(p.reason, sizeof(p.reason),
                         "%s cgroups: crun runs with --cgroup-manager=disabled in a private cgroup2 "
                         "namespace; cpu, memory and pids limits are not enforced",
                         host->v2_controllers ? "hybrid" : "legacy (v1)");
        } else if (host->v2_controllers) {
                p.manager = configured;
                p.usable = false;
                snprintf(p.reason, sizeof(p.reason),
                         "cgroup_manager=%s: crun refuses hybrid cgroups (controllers on cgroup2); "
                         "set it to auto or disabled",
                         zero_cgroup_manager_to_string(configured));
        } else {
                /* Plain cgroup v1: crun manages it itself when asked to. */
                p.manager = configured;
                p.limits_enforced = true;
        }
        *ret = p;
}

int zero_runtime_version_parse(const char *output, char *ret, size_t size) {
        char line[256], name[128], version[128];
        size_t n;

        if (!output)
                return -EINVAL;
        output += strspn(output, " \t\r\n");
        n = strcspn(output, "\r\n");
        if (n == 0)
                return -EINVAL;
        if (n >= sizeof(line))
                n = sizeof(line) - 1;
        memcpy(line, output, n);
        line[n] = '\0';
        if (sscanf(line, "%127s version %127s", name, version) == 2)
                snprintf(ret, size, "%s %s", name, version);
        else
                snprintf(ret, size, "%s", line);
        return 0;
}

static void first_line(const char *s, char *ret, size_t size) {
        s = s ? s + strspn(s, " \t\r\n") : "";
        snprintf(ret, size, "%.*s", (int) strcspn(s, "\r\n"), s);
}

int zero_runtime_version(const char *runtime, char *ret, size_t size, char *reason, size_t reason_size) {
        char *const argv[] = {(char *) runtime, (char *) "--version", NULL};
        _cleanup_free_ char *out = NULL;
        char line[200];
        int r;

        r = zero_run_wait(argv, &out);
        if (r < 0) {
                snprintf(reason, reason_size, "cannot run %s --version: %s", runtime, strerror(-r));
                return r;
        }
        first_line(out, line, sizeof(line));
        if (r == 127) {
                /* zero_run_wait's child says "cannot run X: <why>". */
                snprintf(reason, reason_size, "%s", *line ? line : "cannot run the container runtime");
                return -ENOENT;
        }
        if (r != 0) {
                snprintf(reason, reason_size, "%s --version failed with status %d: %s", runtime, r, line);
                return -EIO;
        }
        if (zero_runtime_version_parse(out, ret, size) < 0) {
                snprintf(reason, reason_size, "%s --version printed nothing", runtime);
                return -EIO;
        }
        return 0;
}

int zero_thermal_throttle_paths(const char *possible, const char *sysfs_cpu, char ***ret) {
        _cleanup_strv_free_ char **l = NULL;
        size_t n = 0;

        if (!possible || !sysfs_cpu)
                return -EINVAL;
        /* "0-3,8-11": ranges of CPU numbers, as the kernel prints cpumasks. */
        for (const char *p = possible; *p && *p != '\n';) {
                char *end;
                unsigned long lo = strtoul(p, &end, 10), hi = lo;

                if (end == p)
                        return -EINVAL;
                if (*end == '-') {
                        p = end + 1;
                        hi = strtoul(p, &end, 10);
                        if (end == p || hi < lo)
                                return -EINVAL;
                }
                if (hi - lo >= THERMAL_CPUS_MAX || n + (hi - lo) >= THERMAL_CPUS_MAX)
                        return -E2BIG;
                for (unsigned long cpu = lo; cpu <= hi; cpu++) {
                        _cleanup_free_ char *path = zero_strdup_printf("%s/cpu%lu/thermal_throttle", sysfs_cpu, cpu);
                        struct stat st;
                        char **m;

                        if (!path)
                                return -ENOMEM;
                        if (stat(path, &st) < 0)
                                continue;
                        m = realloc(l, (n + 2) * sizeof(char *));
                        if (!m)
                                return -ENOMEM;
                        l = m;
                        l[n++] = TAKE_PTR(path);
                        l[n] = NULL;
                }
                p = end + (*end == ',');
        }
        *ret = TAKE_PTR(l);
        return 0;
}
