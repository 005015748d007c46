/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests of plugins/container/oci.c (the OCI config builder) and probe.c's pure parts. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "common/macro.h"
#include "common/util.h"
#include "plugins/container/oci.h"
#include "plugins/container/probe.h"

static const char *const sample_argv[] = {"/bin/sh", "-c", "echo hello", NULL};
static const char *const sample_env[] = {"FOO=bar", "EMPTY=", NULL};

static struct zero_instance_info sample(void) {
        return (struct zero_instance_info) {
                .size = sizeof(struct zero_instance_info),
                .id = "0123456789abcdef0123456789abcdef",
                .name = "web-1",
                .mode = "container",
                .cpus = 2,
                .memory_mib = 512,
                .argv = sample_argv,
                .env = sample_env,
                .hostname = "host-a",
                .cwd = "/srv",
                .readonly_rootfs = true,
                .image_name = "busybox",
                .image_dir = "/var/lib/zero/images/busybox",
                .run_dir = "/run/zero/instances/x",
                .state_dir = "/var/lib/zero/instances/x",
        };
}

static const struct zero_oci_options unenforced = {.limits_enforced = false};
static const struct zero_oci_options enforced = {.limits_enforced = true,
                                                 .cgroups_path = "zero.slice:zero:0123"};

static json_t *build(const struct zero_instance_info *info, const struct zero_oci_options *opts) {
        struct zero_error err = {};
        json_t *cfg = NULL;

        assert_int_equal(zero_oci_config_new(info, opts, &cfg, &err), 0);
        assert_non_null(cfg);
        assert_string_equal(err.message, "");
        return cfg;
}

static json_t *path(json_t *root, const char *a, const char *b) {
        json_t *v = json_object_get(root, a);
        if (v && b)
                v = json_object_get(v, b);
        return v;
}

static size_t strv_count(json_t *array, const char *s) {
        size_t i, n = 0;
        json_t *v;

        json_array_foreach(array, i, v)
                if (json_is_string(v) && streq(json_string_value(v), s))
                        n++;
        return n;
}

static size_t prefix_count(json_t *array, const char *prefix) {
        size_t i, n = 0;
        json_t *v;

        json_array_foreach(array, i, v)
                if (strncmp(json_string_value(v), prefix, strlen(prefix)) == 0)
                        n++;
        return n;
}

static void test_process_mapping(void **state) {
        struct zero_instance_info info = sample();
        json_auto_t *cfg = build(&info, &unenforced);
        json_t *proc = json_object_get(cfg, "process");
        json_t *args = json_object_get(proc, "args");

        assert_int_equal(json_array_size(args), 3);
        for (size_t i = 0; i < 3; i++)
                assert_string_equal(json_string_value(json_array_get(args, i)), sample_argv[i]);
        assert_string_equal(json_string_value(json_object_get(proc, "cwd")), "/srv");
        assert_true(json_is_false(json_object_get(proc, "terminal")));
        assert_int_equal(json_integer_value(path(proc, "user", "uid")), 0);
        assert_int_equal(json_integer_value(path(proc, "user", "gid")), 0);
        assert_true(json_is_true(json_object_get(proc, "noNewPrivileges")));
        assert_string_equal(json_string_value(json_object_get(cfg, "hostname")), "host-a");
        assert_string_equal(json_string_value(path(cfg, "root", "path")), "rootfs");
        assert_true(json_is_true(path(cfg, "root", "readonly")));
}

static void test_defaults(void **state) {
        struct zero_instance_info info = sample();
        json_auto_t *cfg = NULL;

        info.cwd = NULL;
        info.hostname = NULL;
        info.readonly_rootfs = false;
        info.env = NULL;
        cfg = build(&info, &unenforced);
        assert_string_equal(json_string_value(path(cfg, "process", "cwd")), "/");
        assert_string_equal(json_string_value(json_object_get(cfg, "hostname")), "web-1");
        assert_true(json_is_false(path(cfg, "root", "readonly")));
        assert_int_equal(json_array_size(path(cfg, "process", "env")), 2);
}

static void test_env_default_path(void **state) {
        struct zero_instance_info info = sample();
        json_auto_t *cfg = build(&info, &unenforced);
        json_t *env = path(cfg, "process", "env");

        assert_int_equal(json_array_size(env), 4);
        assert_int_equal(strv_count(env, ZERO_OCI_DEFAULT_PATH), 1);
        assert_int_equal(strv_count(env, ZERO_OCI_DEFAULT_TERM), 1);
        assert_int_equal(strv_count(env, "FOO=bar"), 1);
        assert_int_equal(strv_count(env, "EMPTY="), 1);
}

static void test_env_given_path_kept(void **state) {
        static const char *const env_with_path[] = {"PATHX=1", "PATH=/opt/bin", "TERM=dumb", NULL};
        struct zero_instance_info info = sample();
        json_auto_t *cfg = NULL;
        json_t *env;

        info.env = env_with_path;
        cfg = build(&info, &unenforced);
        env = path(cfg, "process", "env");
        assert_int_equal(json_array_size(env), 3);
        assert_int_equal(prefix_count(env, "PATH="), 1);
        assert_int_equal(strv_count(env, "PATH=/opt/bin"), 1);
        assert_int_equal(prefix_count(env, "TERM="), 1);
        assert_int_equal(strv_count(env, "TERM=dumb"), 1);
}

static void check_namespaces(json_t *cfg, bool with_cgroup) {
        static const char *const expected[] = {"pid", "network", "ipc", "uts", "mount", "cgroup"};
        json_t *ns = path(cfg, "linux", "namespaces");
        size_t n = with_cgroup ? 6 : 5;

        assert_int_equal(json_array_size(ns), n);
        for (size_t i = 0; i < n; i++)
                assert_string_equal(json_string_value(json_object_get(json_array_get(ns, i), "type")),
                                    expected[i]);
}

static bool has_mount(json_t *cfg, const char *destination) {
        size_t i;
        json_t *m;

        json_array_foreach(json_object_get(cfg, "mounts"), i, m)
                if (streq(json_string_value(json_object_get(m, "destination")), destination))
                        return true;
        return false;
}

static void test_not_enforced(void **state) {
        struct zero_instance_info info = sample();
        json_auto_t *cfg = build(&info, &unenforced);

        check_namespaces(cfg, false);
        assert_null(path(cfg, "linux", "resources"));
        assert_null(path(cfg, "linux", "cgroupsPath"));
        assert_false(has_mount(cfg, "/sys/fs/cgroup"));
}

static void test_enforced(void **state) {
        struct zero_instance_info info = sample();
        json_auto_t *cfg = build(&info, &enforced);
        json_t *res = path(cfg, "linux", "resources");

        check_namespaces(cfg, true);
        assert_non_null(res);
        assert_int_equal(json_integer_value(path(res, "cpu", "quota")), 200000);
        assert_int_equal(json_integer_value(path(res, "cpu", "period")), 100000);
        assert_int_equal(json_integer_value(path(res, "memory", "limit")), 512LL * 1024 * 1024);
        assert_string_equal(json_string_value(path(cfg, "linux", "cgroupsPath")), "zero.slice:zero:0123");
        assert_true(has_mount(cfg, "/sys/fs/cgroup"));
}

static void test_enforced_big_and_unset(void **state) {
        struct zero_instance_info info = sample();
        json_auto_t *big = NULL, *unset = NULL;

        info.cpus = 4096;
        info.memory_mib = 4ULL << 20; /* 4 TiB */
        big = build(&info, &enforced);
        assert_int_equal(json_integer_value(path(path(big, "linux", "resources"), "cpu", "quota")),
                         409600000LL);
        assert_int_equal(json_integer_value(path(path(big, "linux", "resources"), "memory", "limit")),
                         4LL << 40);

        info.cpus = 0;
        info.memory_mib = 0;
        unset = build(&info, &enforced);
        assert_non_null(path(unset, "linux", "resources"));
        assert_null(path(path(unset, "linux", "resources"), "cpu", NULL));
        assert_null(path(path(unset, "linux", "resources"), "memory", NULL));
}

static void check_capabilities(const struct zero_oci_options *opts, bool mknod) {
        static const char *const expected[] = {
                "CAP_CHOWN",   "CAP_DAC_OVERRIDE", "CAP_FSETID",     "CAP_FOWNER",
                "CAP_NET_RAW", "CAP_SETGID",       "CAP_SETUID",     "CAP_SETFCAP",
                "CAP_SETPCAP", "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT", "CAP_KILL",
                "CAP_AUDIT_WRITE",
        };
        static const char *const sets[] = {"bounding", "effective", "permitted"};
        struct zero_instance_info info = sample();
        json_auto_t *cfg = build(&info, opts);
        json_t *caps = path(cfg, "process", "capabilities");

        for (size_t s = 0; s < ELEMENTSOF(sets); s++) {
                json_t *set = json_object_get(caps, sets[s]);
                assert_int_equal(json_array_size(set), ELEMENTSOF(expected) + mknod);
                for (size_t i = 0; i < ELEMENTSOF(expected); i++)
                        assert_int_equal(strv_count(set, expected[i]), 1);
                assert_int_equal(strv_count(set, "CAP_MKNOD"), mknod);
                assert_int_equal(strv_count(set, "CAP_SYS_ADMIN"), 0);
                assert_int_equal(strv_count(set, "CAP_SYS_RESOURCE"), 0);
        }
        assert_null(json_object_get(caps, "ambient"));
        assert_null(json_object_get(caps, "inheritable"));
}

static void test_capabilities(void **state) {
        check_capabilities(&enforced, true);
        /* No devices cgroup without cgroups: CAP_MKNOD would reach the host's disks. */
        check_capabilities(&unenforced, false);
}

static void test_rlimits(void **state) {
        struct zero_instance_info info = sample();
        json_auto_t *cfg = build(&info, &enforced);
        json_t *rl = path(cfg, "process", "rlimits");
        json_t *nofile = json_array_get(rl, 0);

        assert_int_equal(json_array_size(rl), 1);
        assert_string_equal(json_string_value(json_object_get(nofile, "type")), "RLIMIT_NOFILE");
        assert_int_equal(json_integer_value(json_object_get(nofile, "soft")), 1024);
        assert_int_equal(json_integer_value(json_object_get(nofile, "hard")), 1024);
}

static void test_mounts_and_paths(void **state) {
        static const char *const expected[] = {"/proc", "/dev", "/dev/pts", "/dev/shm", "/dev/mqueue", "/sys"};
        struct zero_instance_info info = sample();
        json_auto_t *cfg = build(&info, &unenforced);
        json_t *mounts = json_object_get(cfg, "mounts");
        json_t *sys = json_array_get(mounts, 5);

        assert_int_equal(json_array_size(mounts), ELEMENTSOF(expected));
        for (size_t i = 0; i < ELEMENTSOF(expected); i++)
                assert_string_equal(json_string_value(json_object_get(json_array_get(mounts, i), "destination")),
                                    expected[i]);
        assert_string_equal(json_string_value(json_object_get(sys, "type")), "sysfs");
        assert_int_equal(strv_count(json_object_get(sys, "options"), "ro"), 1);
        assert_int_equal(strv_count(json_object_get(json_array_get(mounts, 2), "options"), "newinstance"), 1);
        assert_int_equal(strv_count(path(cfg, "linux", "maskedPaths"), "/proc/kcore"), 1);
        assert_int_equal(strv_count(path(cfg, "linux", "maskedPaths"), "/sys/firmware"), 1);
        assert_int_equal(strv_count(path(cfg, "linux", "readonlyPaths"), "/proc/sys"), 1);
        assert_int_equal(strv_count(path(cfg, "linux", "readonlyPaths"), "/proc/sysrq-trigger"), 1);
}

/* Docker's lists exactly, then what only this host has. */
static void test_masked_paths_as_docker(void **state) {
        static const char *const docker[] = {"/proc/acpi",       "/proc/asound",     "/proc/interrupts",
                                             "/proc/kcore",      "/proc/keys",       "/proc/latency_stats",
                                             "/proc/sched_debug", "/proc/scsi",      "/proc/timer_list",
                                             "/proc/timer_stats", "/sys/devices/virtual/powercap",
                                             "/sys/firmware"};
        static const char *const host[] = {"/sys/devices/system/cpu/cpu0/thermal_throttle", NULL};
        struct zero_instance_info info = sample();
        struct zero_oci_options opts = {.host_masked_paths = host};
        json_auto_t *cfg = build(&info, &opts), *plain = build(&info, &unenforced);
        json_t *masked = path(cfg, "linux", "maskedPaths");

        assert_int_equal(json_array_size(masked), ELEMENTSOF(docker) + 1);
        for (size_t i = 0; i < ELEMENTSOF(docker); i++)
                assert_int_equal(strv_count(masked, docker[i]), 1);
        assert_string_equal(json_string_value(json_array_get(masked, ELEMENTSOF(docker))), host[0]);
        assert_int_equal(json_array_size(path(plain, "linux", "maskedPaths")), ELEMENTSOF(docker));
        assert_int_equal(json_array_size(path(cfg, "linux", "readonlyPaths")), 5);
}

/* linux.seccomp always; the compiled program as crun's annotation only when given. */
static void test_seccomp_in_config(void **state) {
        struct zero_instance_info info = sample();
        struct zero_oci_options opts = {.seccomp_bpf = "QUJD"};
        json_auto_t *cfg = build(&info, &opts), *plain = build(&info, &unenforced);
        json_t *sc = path(cfg, "linux", "seccomp");

        assert_string_equal(json_string_value(json_object_get(sc, "defaultAction")), "SCMP_ACT_ERRNO");
        assert_int_equal(json_integer_value(json_object_get(sc, "defaultErrnoRet")), 1);
        assert_true(json_array_size(json_object_get(sc, "syscalls")) > 10);
        assert_string_equal(json_string_value(path(cfg, "annotations", "run.oci.seccomp_bpf_data")), "QUJD");
        assert_non_null(path(plain, "linux", "seccomp"));
        assert_null(json_object_get(plain, "annotations"));
}

/* The compiled program is base64 of whole BPF instructions (8 bytes each). */
static void test_seccomp_bpf(void **state) {
        _cleanup_free_ char *bpf = NULL;
        size_t n;

        assert_int_equal(zero_oci_seccomp_bpf(&unenforced, &bpf), 0);
        n = strlen(bpf);
        assert_true(n > 1000);
        assert_int_equal(n % 4, 0);
        assert_int_equal(strspn(bpf, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/="), n);
        assert_int_equal((n / 4 * 3 - (bpf[n - 1] == '=') - (bpf[n - 2] == '=')) % 8, 0);
}

/* pids: the spec's limit, else the plugin's default, only where limits apply. */
static void test_pids_limit(void **state) {
        struct zero_instance_info info = sample();
        struct zero_oci_options opts = enforced;
        json_auto_t *def = NULL, *own = NULL, *none = NULL, *off = NULL;

        opts.pids_max = 4096;
        def = build(&info, &opts);
        assert_int_equal(json_integer_value(path(path(def, "linux", "resources"), "pids", "limit")), 4096);
        info.pids_max = 100;
        own = build(&info, &opts);
        assert_int_equal(json_integer_value(path(path(own, "linux", "resources"), "pids", "limit")), 100);
        info.pids_max = 0;
        opts.pids_max = 0;
        none = build(&info, &opts);
        assert_null(path(path(none, "linux", "resources"), "pids", NULL));
        opts = unenforced;
        opts.pids_max = 4096;
        off = build(&info, &opts);
        assert_null(path(off, "linux", "resources"));
}

/* userns: a user namespace whose root is the configured host id, 65536 ids wide. */
static void test_userns(void **state) {
        struct zero_instance_info info = sample();
        struct zero_oci_options opts = {.userns_base = 1610612736u};
        json_auto_t *cfg = NULL, *plain = build(&info, &opts);
        struct zero_error err = {};
        json_t *ns, *bad = NULL, *m;
        size_t i, users = 0;

        assert_null(path(plain, "linux", "uidMappings"));
        info.userns = true;
        cfg = build(&info, &opts);
        json_array_foreach(path(cfg, "linux", "namespaces"), i, ns) users +=
                streq(json_string_value(json_object_get(ns, "type")), "user");
        assert_int_equal(users, 1);
        for (i = 0; i < 2; i++) {
                m = json_array_get(path(cfg, "linux", i ? "gidMappings" : "uidMappings"), 0);
                assert_int_equal(json_integer_value(json_object_get(m, "containerID")), 0);
                assert_int_equal(json_integer_value(json_object_get(m, "hostID")), 1610612736);
                assert_int_equal(json_integer_value(json_object_get(m, "size")), 65536);
        }
        opts.userns_base = 0;
        assert_int_equal(zero_oci_config_new(&info, &opts, &bad, &err), -EINVAL);
        assert_null(bad);
        assert_non_null(strstr(err.message, "user namespace"));
}

/* Data volumes the plugin mounted itself (user namespaces) are bound, not mounted. */
static void test_volume_binds(void **state) {
        static const struct zero_oci_volume_mount vm[] = {{"/data", "/run/zero/instances/x/volumes/0"}};
        struct zero_instance_info info = sample();
        struct zero_oci_options opts = {.n_volume_mounts = 1, .volume_mounts = vm, .volume_binds = true};
        json_auto_t *cfg = build(&info, &opts);
        json_t *m = json_array_get(json_object_get(cfg, "mounts"), 6);

        assert_string_equal(json_string_value(json_object_get(m, "type")), "bind");
        assert_string_equal(json_string_value(json_object_get(m, "source")), vm[0].device);
        assert_int_equal(strv_count(json_object_get(m, "options"), "rbind"), 1);
}

/* Each possible CPU's thermal_throttle that exists, as moby masks them. */
static void test_thermal_throttle_paths(void **state) {
        char dir[] = "/tmp/zero-test-cpu.XXXXXX";
        _cleanup_strv_free_ char **l = NULL;
        char p[128];

        assert_non_null(mkdtemp(dir));
        for (int cpu = 0; cpu < 4; cpu += 2) {
                snprintf(p, sizeof(p), "%s/cpu%d", dir, cpu);
                assert_int_equal(mkdir(p, 0755), 0);
                snprintf(p, sizeof(p), "%s/cpu%d/thermal_throttle", dir, cpu);
                assert_int_equal(mkdir(p, 0755), 0);
        }
        assert_int_equal(zero_thermal_throttle_paths("0-3\n", dir, &l), 0);
        assert_non_null(l);
        snprintf(p, sizeof(p), "%s/cpu0/thermal_throttle", dir);
        assert_string_equal(l[0], p);
        snprintf(p, sizeof(p), "%s/cpu2/thermal_throttle", dir);
        assert_string_equal(l[1], p);
        assert_null(l[2]);
        strv_free(l);
        l = NULL;
        assert_int_equal(zero_thermal_throttle_paths("1,3", dir, &l), 0);
        assert_null(l);
        assert_int_equal(zero_thermal_throttle_paths("x", dir, &l), -EINVAL);
        assert_int_equal(zero_thermal_throttle_paths("3-1", dir, &l), -EINVAL);
        assert_int_equal(zero_thermal_throttle_paths("0-99999999", dir, &l), -E2BIG);
        assert_int_equal(zero_rm_rf(dir), 0);
}

/* The card: data volumes become ext4 mounts of their block devices, NICs a namespace to join. */
static void test_card_volumes_and_netns(void **state) {
        static const struct zero_oci_volume_mount vm[] = {{"/data", "/dev/loop7"}, {"/var/lib/db", "/dev/loop9"}};
        struct zero_instance_info info = sample();
        struct zero_oci_options opts = {.netns_path = "/run/zero/instances/x/netns", .n_volume_mounts = 2,
                                        .volume_mounts = vm};
        json_auto_t *cfg = build(&info, &opts), *plain = build(&info, &unenforced);
        json_t *mounts = json_object_get(cfg, "mounts"), *ns, *m;
        size_t i, joined = 0;

        assert_int_equal(json_array_size(mounts), 6 + 2);
        m = json_array_get(mounts, 6);
        assert_string_equal(json_string_value(json_object_get(m, "destination")), "/data");
        assert_string_equal(json_string_value(json_object_get(m, "type")), "ext4");
        assert_string_equal(json_string_value(json_object_get(m, "source")), "/dev/loop7");
        assert_int_equal(strv_count(json_object_get(m, "options"), "nodev"), 1);
        m = json_array_get(mounts, 7);
        assert_string_equal(json_string_value(json_object_get(m, "source")), "/dev/loop9");
        json_array_foreach(path(cfg, "linux", "namespaces"), i, ns) if (json_object_get(ns, "path")) {
                assert_string_equal(json_string_value(json_object_get(ns, "type")), "network");
                assert_string_equal(json_string_value(json_object_get(ns, "path")), opts.netns_path);
                joined++;
        }
        assert_int_equal(joined, 1);
        /* Without them: a new network namespace, no path anywhere. */
        json_array_foreach(path(plain, "linux", "namespaces"), i, ns) assert_null(json_object_get(ns, "path"));
}

/* The rootfs's nodev, which crun's remount of its rootfs bind drops, comes back from a hook. */
static void test_nodev_hook(void **state) {
        struct zero_instance_info info = sample();
        struct zero_oci_options opts = {.nodev_hook = "/usr/bin/mount", .rootfs = "/run/zero/instances/x/bundle/rootfs"};
        json_auto_t *cfg = build(&info, &opts), *plain = build(&info, &unenforced);
        json_t *hook = json_array_get(path(cfg, "hooks", "createContainer"), 0);
        json_t *args = json_object_get(hook, "args");

        /* a shell that reads the state from stdin (crun's write fails if nobody does), then mount */
        assert_string_equal(json_string_value(json_object_get(hook, "path")), "/bin/sh");
        assert_int_equal(json_array_size(args), 6);
        assert_non_null(strstr(json_string_value(json_array_get(args, 2)), "read"));
        assert_string_equal(json_string_value(json_array_get(args, 3)), "/usr/bin/mount");
        assert_string_equal(json_string_value(json_array_get(args, 4)), "remount,bind,nodev,ro"); /* readonly_rootfs */
        assert_string_equal(json_string_value(json_array_get(args, 5)), opts.rootfs);
        info.readonly_rootfs = false;
        json_decref(cfg);
        cfg = build(&info, &opts);
        args = json_object_get(json_array_get(path(cfg, "hooks", "createContainer"), 0), "args");
        assert_string_equal(json_string_value(json_array_get(args, 4)), "remount,bind,nodev");
        assert_null(json_object_get(plain, "hooks"));
        /* a user namespace keeps the flag by itself (locked) */
        info.userns = true;
        opts.userns_base = 1610612736u;
        json_decref(cfg);
        cfg = build(&info, &opts);
        assert_null(json_object_get(cfg, "hooks"));
}

/* The same hook as one static program (zero-nodev-hook), preferred when the plugin has it. */
static void test_nodev_helper(void **state) {
        struct zero_instance_info info = sample();
        struct zero_oci_options opts = {.nodev_hook = "/usr/bin/mount",
                                        .nodev_helper = "/usr/libexec/zero/zero-nodev-hook",
                                        .rootfs = "/run/zero/instances/x/bundle/rootfs"};
        json_auto_t *cfg = build(&info, &opts);
        json_t *hooks = path(cfg, "hooks", "createContainer");
        json_t *args = json_object_get(json_array_get(hooks, 0), "args");

        assert_int_equal(json_array_size(hooks), 1);
        assert_string_equal(json_string_value(json_object_get(json_array_get(hooks, 0), "path")), opts.nodev_helper);
        assert_int_equal(json_array_size(args), 3);
        assert_string_equal(json_string_value(json_array_get(args, 1)), "--ro"); /* readonly_rootfs */
        assert_string_equal(json_string_value(json_array_get(args, 2)), opts.rootfs);
        info.readonly_rootfs = false;
        json_decref(cfg);
        cfg = build(&info, &opts);
        args = json_object_get(json_array_get(path(cfg, "hooks", "createContainer"), 0), "args");
        assert_int_equal(json_array_size(args), 2);
        assert_string_equal(json_string_value(json_array_get(args, 1)), opts.rootfs);
        info.userns = true;
        opts.userns_base = 1610612736u;
        json_decref(cfg);
        cfg = build(&info, &opts);
        assert_null(json_object_get(cfg, "hooks"));
}

static void test_format_is_json(void **state) {
        struct zero_instance_info info = sample();
        _cleanup_free_ char *text = NULL;
        json_auto_t *back = NULL;
        json_error_t jerr;
        size_t n;

        assert_int_equal(zero_oci_config_format(&info, &enforced, &text, NULL), 0);
        n = strlen(text);
        assert_true(n > 0 && text[n - 1] == '\n');
        back = json_loads(text, JSON_REJECT_DUPLICATES, &jerr);
        assert_non_null(back);
        assert_string_equal(json_string_value(json_object_get(back, "ociVersion")), "1.0.2");
        assert_non_null(json_object_get(back, "linux"));
}

static void expect_invalid(const struct zero_instance_info *info, const char *fragment) {
        struct zero_error err = {};
        json_t *cfg = NULL;

        assert_int_equal(zero_oci_config_new(info, &enforced, &cfg, &err), -EINVAL);
        assert_null(cfg);
        assert_int_equal(err.code, ZERO_E_INVALID);
        if (!strstr(err.message, fragment))
                fail_msg("\"%s\" does not mention \"%s\"", err.message, fragment);
}

static void test_invalid(void **state) {
        static const char *const empty_argv[] = {NULL};
        static const char *const bad_utf8[] = {"/bin/echo", "\xff\xfe", NULL};
        static const char *const bad_env[] = {"NOEQUALS", NULL};
        static const char *const bad_env2[] = {"=value", NULL};
        struct zero_instance_info info;

        info = sample(), info.argv = empty_argv;
        expect_invalid(&info, "command");
        info = sample(), info.argv = bad_utf8;
        expect_invalid(&info, "UTF-8");
        info = sample(), info.env = bad_env;
        expect_invalid(&info, "NOEQUALS");
        info = sample(), info.env = bad_env2;
        expect_invalid(&info, "KEY=VALUE");
        info = sample(), info.cwd = "srv";
        expect_invalid(&info, "absolute");
        info = sample(), info.hostname = "a-very-long-hostname-that-is-longer-than-sixty-four-bytes-for-sure-yes";
        expect_invalid(&info, "hostname");
        info = sample(), info.memory_mib = UINT64_MAX / 2;
        expect_invalid(&info, "memory");
}

static void test_runtime_version_parse(void **state) {
        char v[128];

        assert_int_equal(zero_runtime_version_parse("crun version 1.8.1\ncommit: f8a0\nspec: 1.0.0\n", v, sizeof(v)), 0);
        assert_string_equal(v, "crun 1.8.1");
        assert_int_equal(zero_runtime_version_parse("runc version 1.1.5\r\n", v, sizeof(v)), 0);
        assert_string_equal(v, "runc 1.1.5");
        assert_int_equal(zero_runtime_version_parse("youki 0.3.0\n", v, sizeof(v)), 0);
        assert_string_equal(v, "youki 0.3.0");
        assert_int_equal(zero_runtime_version_parse("\n\n", v, sizeof(v)), -EINVAL);
        assert_int_equal(zero_runtime_version_parse("", v, sizeof(v)), -EINVAL);
}

static void test_cgroup_manager_strings(void **state) {
        enum zero_cgroup_manager m;

        assert_int_equal(zero_cgroup_manager_from_string(NULL, &m), 0);
        assert_int_equal(m, ZERO_CGROUP_MANAGER_AUTO);
        assert_int_equal(zero_cgroup_manager_from_string("systemd", &m), 0);
        assert_int_equal(m, ZERO_CGROUP_MANAGER_SYSTEMD);
        assert_int_equal(zero_cgroup_manager_from_string("disabled", &m), 0);
        assert_int_equal(m, ZERO_CGROUP_MANAGER_DISABLED);
        assert_int_equal(zero_cgroup_manager_from_string("cgroupv1", &m), -EINVAL);
        assert_string_equal(zero_cgroup_manager_to_string(ZERO_CGROUP_MANAGER_CGROUPFS), "cgroupfs");
}

static void test_cgroup_plan(void **state) {
        const struct zero_cgroup_host v2_systemd = {.unified = true, .systemd = true};
        const struct zero_cgroup_host v2_plain = {.unified = true};
        const struct zero_cgroup_host hybrid = {.v2_controllers = true};
        const struct zero_cgroup_host v1 = {};
        struct zero_cgroup_plan p;

        zero_cgroup_plan_decide(&v2_systemd, ZERO_CGROUP_MANAGER_AUTO, &p);
        assert_true(p.usable && p.limits_enforced && !p.private_cgroup2);
        assert_int_equal(p.manager, ZERO_CGROUP_MANAGER_SYSTEMD);
        assert_string_equal(p.reason, "");

        zero_cgroup_plan_decide(&v2_plain, ZERO_CGROUP_MANAGER_AUTO, &p);
        assert_int_equal(p.manager, ZERO_CGROUP_MANAGER_CGROUPFS);
        assert_true(p.limits_enforced);

        zero_cgroup_plan_decide(&v2_systemd, ZERO_CGROUP_MANAGER_DISABLED, &p);
        assert_true(p.usable && !p.limits_enforced && !p.private_cgroup2);
        assert_non_null(strstr(p.reason, "not enforced"));

        /* This machine: hybrid, auto. */
        zero_cgroup_plan_decide(&hybrid, ZERO_CGROUP_MANAGER_AUTO, &p);
        assert_true(p.usable && !p.limits_enforced && p.private_cgroup2);
        assert_int_equal(p.manager, ZERO_CGROUP_MANAGER_DISABLED);
        assert_string_equal(p.reason, "hybrid cgroups: crun runs with --cgroup-manager=disabled in a private "
                                      "cgroup2 namespace; cpu, memory and pids limits are not enforced");

        zero_cgroup_plan_decide(&hybrid, ZERO_CGROUP_MANAGER_CGROUPFS, &p);
        assert_false(p.usable);
        assert_non_null(strstr(p.reason, "cgroup_manager=cgroupfs"));

        zero_cgroup_plan_decide(&v1, ZERO_CGROUP_MANAGER_SYSTEMD, &p);
        assert_true(p.usable && p.limits_enforced && !p.private_cgroup2);
        assert_int_equal(p.manager, ZERO_CGROUP_MANAGER_SYSTEMD);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_process_mapping),
                cmocka_unit_test(test_defaults),
                cmocka_unit_test(test_env_default_path),
                cmocka_unit_test(test_env_given_path_kept),
                cmocka_unit_test(test_not_enforced),
                cmocka_unit_test(test_enforced),
                cmocka_unit_test(test_enforced_big_and_unset),
                cmocka_unit_test(test_capabilities),
                cmocka_unit_test(test_rlimits),
                cmocka_unit_test(test_mounts_and_paths),
                cmocka_unit_test(test_card_volumes_and_netns),
                cmocka_unit_test(test_nodev_hook),
                cmocka_unit_test(test_nodev_helper),
                cmocka_unit_test(test_masked_paths_as_docker),
                cmocka_unit_test(test_seccomp_in_config),
                cmocka_unit_test(test_seccomp_bpf),
                cmocka_unit_test(test_pids_limit),
                cmocka_unit_test(test_userns),
                cmocka_unit_test(test_volume_binds),
                cmocka_unit_test(test_thermal_throttle_paths),
                cmocka_unit_test(test_format_is_json),
                cmocka_unit_test(test_invalid),
                cmocka_unit_test(test_runtime_version_parse),
                cmocka_unit_test(test_cgroup_manager_strings),
                cmocka_unit_test(test_cgroup_plan),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
