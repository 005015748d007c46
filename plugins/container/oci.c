/* SPDX-License-Identifier: Apache-2.0 */
#include "plugins/container/oci.h"

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "common/macro.h"
#include "plugins/container/seccomp.h"

/* What Docker and Podman give a root container by default: enough to run a distribution's init
 * scripts and daemons, nothing that reaches the host (no SYS_ADMIN, SYS_MODULE, SYS_RESOURCE,
 * NET_ADMIN, ...). CAP_MKNOD is safe only behind the devices cgroup: see build_process(). */
static const char *const default_capabilities[] = {
        "CAP_CHOWN",       "CAP_DAC_OVERRIDE", "CAP_FSETID",     "CAP_FOWNER",
        "CAP_MKNOD",       "CAP_NET_RAW",      "CAP_SETGID",     "CAP_SETUID",
        "CAP_SETFCAP",     "CAP_SETPCAP",      "CAP_NET_BIND_SERVICE",
        "CAP_SYS_CHROOT",  "CAP_KILL",         "CAP_AUDIT_WRITE", NULL,
};

/* Docker's (moby daemon/pkg/oci/defaults.go, 2025): what leaks the host's state or timing
 * (/proc/interrupts and powercap: GHSA-6fw5-f8r9-fgfm, GHSA-jq35-85cj-fj4p) is masked, what would
 * change the host's kernel is read-only. opts->host_masked_paths adds the per-CPU ones. */
static const char *const masked_paths[] = {
        "/proc/acpi",        "/proc/asound",     "/proc/interrupts",  "/proc/kcore",
        "/proc/keys",        "/proc/latency_stats", "/proc/sched_debug", "/proc/scsi",
        "/proc/timer_list",  "/proc/timer_stats", "/sys/devices/virtual/powercap", "/sys/firmware",
        NULL,
};
static const char *const readonly_paths[] = {
        "/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger", NULL,
};

struct oci_mount {
        const char *destination;
        const char *type;
        const char *source;
        const char *const options[8];
};

static const struct oci_mount default_mounts[] = {
        {"/proc", "proc", "proc", {NULL}},
        {"/dev", "tmpfs", "tmpfs", {"nosuid", "strictatime", "mode=755", "size=65536k", NULL}},
        {"/dev/pts",
         "devpts",
         "devpts",
         {"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5", NULL}},
        {"/dev/shm", "tmpfs", "shm", {"nosuid", "noexec", "nodev", "mode=1777", "size=65536k", NULL}},
        {"/dev/mqueue", "mqueue", "mqueue", {"nosuid", "noexec", "nodev", NULL}},
        {"/sys", "sysfs", "sysfs", {"nosuid", "noexec", "nodev", "ro", NULL}},
};

/* Only with a cgroup namespace: without one the container would see the host's hierarchy. */
static const struct oci_mount cgroup_mount = {
        "/sys/fs/cgroup", "cgroup", "cgroup", {"nosuid", "noexec", "nodev", "relatime", "ro", NULL}};

static int invalid(struct zero_error *err, const char *fmt, const char *what) {
        return zero_error_set(err, -EINVAL, ZERO_E_INVALID, fmt, what);
}

/* json_object_set_new() consumes v even when it fails; v == NULL means allocation failed. */
static int set(json_t *o, const char *key, json_t *v) {
        if (!v)
                return -ENOMEM;
        return json_object_set_new(o, key, v) < 0 ? -ENOMEM : 0;
}

static int append(json_t *a, json_t *v) {
        if (!v)
                return -ENOMEM;
        return json_array_append_new(a, v) < 0 ? -ENOMEM : 0;
}

/* User-supplied text: json_string() refuses what is not UTF-8. */
static int set_text(json_t *o, const char *key, const char *s, struct zero_error *err) {
        json_t *v = json_string(s);

        if (!v)
                return zero_error_set(err, -EINVAL, ZERO_E_INVALID, "%s is not valid UTF-8", key);
        return set(o, key, v);
}

static int strv_append(json_t *a, const char *const *l, const char *what, struct zero_error *err) {
        for (; l && *l; l++) {
                json_t *v = json_string(*l);
                if (!v)
                        return invalid(err, "%s holds text that is not valid UTF-8", what);
                if (json_array_append_new(a, v) < 0)
                        return -ENOMEM;
        }
        return 0;
}

static json_t *strv_to_json(const char *const *l) {
        json_auto_t *a = json_array();

        if (!a || strv_append(a, l, "", NULL) < 0)
                return NULL;
        return TAKE_PTR(a);
}

/* The capability set, the same for bounding, effective and permitted (and what the seccomp
 * profile is resolved against). Without cgroups nothing stops a process with CAP_MKNOD from
 * making and opening a node of the host's disk (crun's device rules live in the devices cgroup,
 * and there is none with --cgroup-manager=disabled): keep it only where the devices cgroup
 * applies. ret has room for ELEMENTSOF(default_capabilities) entries. */
static void capabilities(const struct zero_oci_options *opts, const char **ret) {
        size_t n = 0;

        for (const char *const *c = default_capabilities; *c; c++)
                if (opts->limits_enforced || !streq(*c, "CAP_MKNOD"))
                        ret[n++] = *c;
        ret[n] = NULL;
}

static bool strv_has_key(const char *const *env, const char *key) {
        size_t n = strlen(key);

        for (; env && *env; env++)
                if (strncmp(*env, key, n) == 0 && (*env)[n] == '=')
                        return true;
        return false;
}

static int build_env(const struct zero_instance_info *info, json_t **ret, struct zero_error *err) {
        json_auto_t *env = json_array();
        int r;

        if (!env)
                return -ENOMEM;
        for (const char *const *e = info->env; e && *e; e++) {
                const char *eq = strchr(*e, '=');
                if (!eq || eq == *e)
                        return invalid(err, "environment entry \"%s\" is not KEY=VALUE", *e);
        }
        /* A rootfs without /etc/profile still finds its programs. */
        if (!strv_has_key(info->env, "PATH") && (r = append(env, json_string(ZERO_OCI_DEFAULT_PATH))) < 0)
                return r;
        if (!strv_has_key(info->env, "TERM") && (r = append(env, json_string(ZERO_OCI_DEFAULT_TERM))) < 0)
                return r;
        r = strv_append(env, info->env, "env", err);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(env);
        return 0;
}

static int build_process(const struct zero_instance_info *info, const struct zero_oci_options *opts,
                         json_t **ret, struct zero_error *err) {
        json_auto_t *p = json_object(), *args = json_array(), *caps = json_object(), *env = NULL;
        const char *cwd = info->cwd && *info->cwd ? info->cwd : "/";
        const char *cap_names[ELEMENTSOF(default_capabilities)];
        int r;

        if (!p || !args || !caps)
                return -ENOMEM;
        if (!info->argv || !info->argv[0] || !info->argv[0][0])
                return invalid(err, "%s is empty", "the command");
        if (cwd[0] != '/')
                return invalid(err, "the working directory \"%s\" is not absolute", cwd);
        r = strv_append(args, info->argv, "the command", err);
        if (r < 0)
                return r;
        r = build_env(info, &env, err);
        if (r < 0)
                return r;

        /* The shim collects stdout and stderr into the console log; no tty. */
        if ((r = set(p, "terminal", json_false())) < 0 ||
            (r = set(p, "user", json_pack("{s:i,s:i}", "uid", 0, "gid", 0))) < 0 ||
            (r = set(p, "args", TAKE_PTR(args))) < 0 || (r = set(p, "env", TAKE_PTR(env))) < 0)
                return r;
        if ((r = set_text(p, "cwd", cwd, err)) < 0)
                return r;
        capabilities(opts, cap_names);
        if ((r = set(caps, "bounding", strv_to_json(cap_names))) < 0 ||
            (r = set(caps, "effective", strv_to_json(cap_names))) < 0 ||
            (r = set(caps, "permitted", strv_to_json(cap_names))) < 0 ||
            (r = set(p, "capabilities", TAKE_PTR(caps))) < 0)
                return r;
        /* Only NOFILE, at a value every host allows: see ZERO_OCI_NOFILE. */
        if ((r = set(p, "rlimits",
                     json_pack("[{s:s,s:i,s:i}]", "type", "RLIMIT_NOFILE", "hard", ZERO_OCI_NOFILE,
                               "soft", ZERO_OCI_NOFILE))) < 0 ||
            (r = set(p, "noNewPrivileges", json_true())) < 0)
                return r;
        *ret = TAKE_PTR(p);
        return 0;
}

static json_t *mount_to_json(const struct oci_mount *m) {
        json_auto_t *o = json_pack("{s:s,s:s,s:s}", "destination", m->destination, "type", m->type,
                                   "source", m->source);

        if (!o)
                return NULL;
        if (m->options[0] && set(o, "options", strv_to_json(m->options)) < 0)
                return NULL;
        return TAKE_PTR(o);
}

static int build_mounts(const struct zero_oci_options *opts, json_t **ret) {
        json_auto_t *mounts = json_array();
        int r;

        if (!mounts)
                return -ENOMEM;
        for (size_t i = 0; i < ELEMENTSOF(default_mounts); i++)
                if ((r = append(mounts, mount_to_json(&default_mounts[i]))) < 0)
                        return r;
        if (opts->limits_enforced && (r = append(mounts, mount_to_json(&cgroup_mount))) < 0)
                return r;
        for (size_t i = 0; i < opts->n_volume_mounts; i++) {
                const struct zero_oci_volume_mount *v = &opts->volume_mounts[i];
                const struct oci_mount ext4 = {v->destination, "ext4", v->device, {"nosuid", "nodev", NULL}};
                const struct oci_mount bind = {v->destination, "bind", v->device,
                                               {"rbind", "nosuid", "nodev", NULL}};
                if ((r = append(mounts, mount_to_json(opts->volume_binds ? &bind : &ext4))) < 0)
                        return r;
        }
        *ret = TAKE_PTR(mounts);
        return 0;
}

/* The spec's own limit, else the plugin's default. */
static uint64_t pids_max(const struct zero_instance_info *info, const struct zero_oci_options *opts) {
        if (info->size >= offsetof(struct zero_instance_info, pids_max) + sizeof(info->pids_max) && info->pids_max > 0)
                return info->pids_max;
        return opts->pids_max;
}

bool zero_oci_wants_userns(const struct zero_instance_info *info) {
        return info->size >= offsetof(struct zero_instance_info, userns) + sizeof(info->userns) && info->userns;
}

static int build_resources(const struct zero_instance_info *info, const struct zero_oci_options *opts,
                           json_t **ret, struct zero_error *err) {
        json_auto_t *res = json_object();
        uint64_t pids = pids_max(info, opts);
        int r;

        if (!res)
                return -ENOMEM;
        /* Deny every device but the ones the runtime always allows (null, zero, tty, ...). */
        r = set(res, "devices", json_pack("[{s:b,s:s}]", "allow", 0, "access", "rwm"));
        if (r < 0)
                return r;
        if (info->cpus > 0) {
                /* cpus is unsigned: cpus * 100000 fits an int64 for any value. */
                json_int_t quota = (json_int_t) info->cpus * ZERO_OCI_CPU_PERIOD;
                r = set(res, "cpu", json_pack("{s:I,s:I}", "quota", quota, "period",
                                              (json_int_t) ZERO_OCI_CPU_PERIOD));
                if (r < 0)
                        return r;
        }
        if (info->memory_mib > 0) {
                if (info->memory_mib > (uint64_t) INT64_MAX / (1024 * 1024))
                        return zero_error_set(err, -EINVAL, ZERO_E_INVALID,
                                              "memory of %llu MiB is too large",
                                              (unsigned long long) info->memory_mib);
                r = set(res, "memory",
                        json_pack("{s:I}", "limit", (json_int_t) (info->memory_mib * 1024 * 1024)));
                if (r < 0)
                        return r;
        }
        /* A fork bomb stops at the limit instead of exhausting the host's pids. */
        if (pids > 0) {
                if (pids > INT64_MAX)
                        return zero_error_set(err, -EINVAL, ZERO_E_INVALID, "pids limit %llu is too large",
                                              (unsigned long long) pids);
                if ((r = set(res, "pids", json_pack("{s:I}", "limit", (json_int_t) pids))) < 0)
                        return r;
        }
        *ret = TAKE_PTR(res);
        return 0;
}

static json_t *id_mappings(uint32_t base) {
        return json_pack("[{s:i,s:I,s:i}]", "containerID", 0, "hostID", (json_int_t) base, "size",
                         ZERO_OCI_USERNS_SIZE);
}

static json_t *masked_paths_to_json(const struct zero_oci_options *opts) {
        json_auto_t *a = strv_to_json(masked_paths);

        if (!a || strv_append(a, opts->host_masked_paths, "masked paths", NULL) < 0)
                return NULL;
        return TAKE_PTR(a);
}

/* Docker's default profile, resolved for the capabilities the container gets: without
 * CAP_SYS_ADMIN no mount, unshare, setns or clone with namespace flags, hence no new user
 * namespace either (seccomp.c). */
static int build_seccomp(const struct zero_oci_options *opts, json_t *lx) {
        const char *cap_names[ELEMENTSOF(default_capabilities)];

        capabilities(opts, cap_names);
        return set(lx, "seccomp", zero_seccomp_profile_new(ZERO_SECCOMP_ARCH_NATIVE, cap_names));
}

int zero_oci_seccomp_bpf(const struct zero_oci_options *opts, char **ret) {
        const char *cap_names[ELEMENTSOF(default_capabilities)];

        capabilities(opts, cap_names);
        return zero_seccomp_bpf_base64(cap_names, ret);
}

static int build_linux(const struct zero_instance_info *info, const struct zero_oci_options *opts,
                       json_t **ret, struct zero_error *err) {
        static const char *const namespaces[] = {"pid", "network", "ipc", "uts", "mount"};
        json_auto_t *lx = json_object(), *ns = json_array();
        int r;

        if (!lx || !ns)
                return -ENOMEM;
        for (size_t i = 0; i < ELEMENTSOF(namespaces); i++) {
                json_t *n = json_pack("{s:s}", "type", namespaces[i]);
                if (n && opts->netns_path && streq(namespaces[i], "network") &&
                    (r = set(n, "path", json_string(opts->netns_path))) < 0) {
                        json_decref(n);
                        return r;
                }
                if ((r = append(ns, n)) < 0)
                        return r;
        }
        if (opts->limits_enforced) {
                json_t *res = NULL;

                if ((r = append(ns, json_pack("{s:s}", "type", "cgroup"))) < 0)
                        return r;
                r = build_resources(info, opts, &res, err);
                if (r < 0)
                        return r;
                if ((r = set(lx, "resources", res)) < 0)
                        return r;
                if (opts->cgroups_path && (r = set_text(lx, "cgroupsPath", opts->cgroups_path, err)) < 0)
                        return r;
        }
        if (zero_oci_wants_userns(info)) {
                if (opts->userns_base == 0 || opts->userns_base > UINT32_MAX - ZERO_OCI_USERNS_SIZE)
                        return zero_error_set(err, -EINVAL, ZERO_E_INVALID,
                                              "a user namespace needs a host id range (userns_base %u)",
                                              opts->userns_base);
                r = append(ns, json_pack("{s:s}", "type", "user"));
                if (r >= 0)
                        r = set(lx, "uidMappings", id_mappings(opts->userns_base));
                if (r >= 0)
                        r = set(lx, "gidMappings", id_mappings(opts->userns_base));
                if (r < 0)
                        return r;
        }
        if ((r = set(lx, "namespaces", TAKE_PTR(ns))) < 0 ||
            (r = set(lx, "maskedPaths", masked_paths_to_json(opts))) < 0 ||
            (r = set(lx, "readonlyPaths", strv_to_json(readonly_paths))) < 0)
                return r;
        r = build_seccomp(opts, lx);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(lx);
        return 0;
}

int zero_oci_config_new(const struct zero_instance_info *info, const struct zero_oci_options *opts,
                        json_t **ret, struct zero_error *err) {
        json_auto_t *cfg = NULL;
        json_t *process = NULL, *mounts = NULL, *lx = NULL;
        const char *hostname;
        int r;

        if (!info || !opts || !ret)
                return -EINVAL;
        if (info->size < offsetof(struct zero_instance_info, state_dir) + sizeof(info->state_dir))
                return zero_error_set(err, -EINVAL, ZERO_E_INTERNAL, "instance info too short");

        hostname = info->hostname && *info->hostname ? info->hostname : info->name;
        if (hostname && strlen(hostname) > 64)
                return invalid(err, "hostname \"%s\" is longer than 64 bytes", hostname);

        cfg = json_object();
        if (!cfg)
                return -ENOMEM;
        if ((r = set(cfg, "ociVersion", json_string(ZERO_OCI_VERSION))) < 0)
                return r;

        r = build_process(info, opts, &process, err);
        if (r < 0)
                return r;
        if ((r = set(cfg, "process", process)) < 0)
                return r;

        /* bundle/rootfs: the root volume the plugin mounts in prepare. */
        r = set(cfg, "root", json_pack("{s:s,s:b}", "path", "rootfs", "readonly", info->readonly_rootfs));
        if (r < 0)
                return r;
        if (hostname && (r = set_text(cfg, "hostname", hostname, err)) < 0)
                return r;

        r = build_mounts(opts, &mounts);
        if (r < 0)
                return r;
        if ((r = set(cfg, "mounts", mounts)) < 0)
                return r;

        r = build_linux(info, opts, &lx, err);
        if (r < 0)
                return r;
        if ((r = set(cfg, "linux", lx)) < 0)
                return r;
        /* A hook gets the container's state on its stdin, and crun fails the start ("writing to
         * pipe: Broken pipe") when the hook has exited before the write: mount(8) reads no stdin,
         * so a shell reads it all first, then becomes mount. */
        if (opts->nodev_helper && opts->rootfs && !zero_oci_wants_userns(info)) {
                json_t *args = info->readonly_rootfs ? json_pack("[s,s,s]", "zero-nodev-hook", "--ro", opts->rootfs)
                                                     : json_pack("[s,s]", "zero-nodev-hook", opts->rootfs);
                if ((r = set(cfg, "hooks", json_pack("{s:[{s:s,s:o}]}", "createContainer", "path", opts->nodev_helper,
                                                     "args", args))) < 0)
                        return r;
        } else if (opts->nodev_hook && opts->rootfs && !zero_oci_wants_userns(info) &&
                   (r = set(cfg, "hooks",
                            json_pack("{s:[{s:s,s:[s,s,s,s,s,s]}]}", "createContainer", "path", ZERO_OCI_HOOK_SHELL,
                                      "args", "sh", "-c", "while read -r _; do :; done; exec \"$0\" -o \"$1\" \"$2\"",
                                      opts->nodev_hook,
                                      info->readonly_rootfs ? "remount,bind,nodev,ro" : "remount,bind,nodev",
                                      opts->rootfs))) < 0)
                return r;
        /* crun loads this program and ignores linux.seccomp, which stays as the description of it
         * (and for a runtime without the annotation). */
        if (opts->seccomp_bpf &&
            (r = set(cfg, "annotations", json_pack("{s:s}", "run.oci.seccomp_bpf_data", opts->seccomp_bpf))) < 0)
                return r;

        *ret = TAKE_PTR(cfg);
        return 0;
}

int zero_oci_config_format(const struct zero_instance_info *info,
                           const struct zero_oci_options *opts, char **ret, struct zero_error *err) {
        json_auto_t *cfg = NULL;
        _cleanup_free_ char *text = NULL;
        char *s;
        size_t n;
        int r;

        r = zero_oci_config_new(info, opts, &cfg, err);
        if (r < 0)
                return r;
        text = json_dumps(cfg, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        if (!text)
                return -ENOMEM;
        n = strlen(text);
        s = realloc(text, n + 2);
        if (!s)
                return -ENOMEM;
        text = s;
        text[n] = '\n';
        text[n + 1] = '\0';
        *ret = TAKE_PTR(text);
        return 0;
}
