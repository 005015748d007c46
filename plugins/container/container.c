/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The container runtime plugin: OCI containers run by the crun CLI under zero-shim.
 *
 * One instance on disk (the agent's run_dir, volatile; what persists is on the card's volumes):
 *   RUN_DIR/bundle/config.json   written by prepare (oci.c), atomically
 *   RUN_DIR/bundle/rootfs        the root volume (the card's, ext4), mounted from its host block
 *                                device; what the container writes survives stop, start and
 *                                mode switches with the volume
 *   RUN_DIR/bundle/volumes/N     data volumes mounted idmapped, for crun to bind (user namespace)
 *   RUN_DIR/netns                the network namespace holding the card's NICs
 *   RUN_DIR/container.pid        crun run --detach --pid-file: the shim's main pid comes from here
 *   AGENT_RUN_DIR/crun/zero-ID   crun's own state (crun --root AGENT_RUN_DIR/crun)
 *
 * The shim runs `crun run --detach`, and `crun delete -f` once the container's init has exited;
 * the plugin only lays out the bundle and runs `crun delete -f` itself to clear what a crash left
 * behind. On hybrid cgroup hosts crun refuses to create containers unless it sees a cgroup2 of
 * its own at /sys/fs/cgroup, which the shim's private_cgroup2 option provides; `crun
 * --cgroup-manager=disabled delete -f` works without it (checked by hand on Debian 12, crun
 * 1.8.1), so the plugin runs delete directly. The card's volumes and NICs as the container's
 * mounts and namespace are volumes.c's (internal.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <syslog.h>
#include <unistd.h>

#include "common/ini.h"
#include "common/subprocess.h"
#include "common/util.h"
#include "plugins/container/idmap.h"
#include "plugins/container/oci.h"
#include "plugins/container/internal.h"
#include "plugins/container/probe.h"
#include "zero/plugin.h"

/* Up to the NICs: an instance's volumes and NICs are the card's, and the info lists them. */
#define INFO_MIN_SIZE (offsetof(struct zero_instance_info, nics) + sizeof(void *))
/* base64 of the kernel's largest seccomp program (4096 instructions of 8 bytes). */
#define SECCOMP_B64_MAX (4096 * 8 / 3 * 4 + 8)
/* Enough for any service, few enough that a fork bomb ends long before the host's pid_max. */
#define ZERO_PIDS_MAX_DEFAULT 4096
/* Root of a user-namespaced container is this host uid (and gid), the first of 65536: in the
 * range systemd leaves to containers (524288..1879048191, docs/UIDS-GIDS.md), far above the
 * subordinate ids useradd hands out from 100000. */
#define ZERO_USERNS_BASE_DEFAULT 1610612736u

struct container_plugin plugin;


int runtime_error(struct zero_error *err, int r, const char *fmt, ...) {
        va_list ap;

        va_start(ap, fmt);
        r = zero_error_setv(err, r < 0 ? r : -EIO, ZERO_E_RUNTIME, fmt, ap);
        va_end(ap);
        return r;
}

static void container_fini(void) {
        free(plugin.runtime);
        free(plugin.mount);
        free(plugin.mount_helper);
        free(plugin.crun_root);
        free(plugin.seccomp_bpf);
        strv_free(plugin.host_masked);
        memset(&plugin, 0, sizeof(plugin));
}

/* [container] KEY as an integer in 0..max; unset: def. */
static int config_uint(const struct zero_plugin_services *svc, const char *key, uint64_t def, uint64_t max,
                       uint64_t *ret, struct zero_error *err) {
        const char *v = svc->config_get("container", key);
        int64_t n;

        if (!v || !*v) {
                *ret = def;
                return 0;
        }
        if (zero_parse_int64(v, 0, (int64_t) max, &n) < 0)
                return zero_error_set(err, -EINVAL, ZERO_E_INVALID, "container.%s=%s: expected an integer 0..%llu",
                                      key, v, (unsigned long long) max);
        *ret = (uint64_t) n;
        return 0;
}

/* zero-container-mount: [container] mount_helper (absolute; "" for none), else beside zerod as
 * zero-shim is (the build tree's, or libexec's). None found: the root volume is mounted on the
 * loop and the hook is a shell and mount(8), two execs more at every start (docs/benchmarks.md,
 * "container_start"). */
static int mount_helper_resolve(const struct zero_plugin_services *svc, char **ret) {
        static const char *const candidates[] = {"../plugins/container/zero-container-mount",
                                                 "../libexec/zero/zero-container-mount", NULL};
        const char *v = svc->config_get("container", "mount_helper");

        *ret = NULL;
        if (v && !*v)
                return 0;
        if (!v) {
                *ret = zero_path_beside_exe(candidates);
                return *ret && access(*ret, X_OK) < 0 ? (*ret = mfree(*ret), 0) : 0;
        }
        if (v[0] != '/' || access(v, X_OK) < 0)
                return -EINVAL;
        *ret = strdup(v);
        return *ret ? 0 : -ENOMEM;
}

static int container_init(const struct zero_plugin_services *svc, struct zero_error *err) {
        const char *runtime, *manager, *run_dir;
        uint64_t userns_base;
        int r;

        /* netns_remove: the last service it calls; an agent of 4.1 calls prepare and cleanup
         * again after their ZERO_PLUGIN_PENDING. */
        if (!svc || ZERO_PLUGIN_ABI_MAJOR_OF(svc->abi_version) != ZERO_PLUGIN_ABI_MAJOR ||
            ZERO_PLUGIN_ABI_MINOR_OF(svc->abi_version) < 1 || !ZERO_SERVICE_HAS(svc, netns_remove))
                return zero_error_set(err, -EPROTO, ZERO_E_INTERNAL,
                                      "container plugin: services table has ABI %u.%u size %u, needs ABI %u.1 or later",
                                      svc ? ZERO_PLUGIN_ABI_MAJOR_OF(svc->abi_version) : 0,
                                      svc ? ZERO_PLUGIN_ABI_MINOR_OF(svc->abi_version) : 0, svc ? svc->size : 0,
                                      ZERO_PLUGIN_ABI_MAJOR);
        if (!svc->log || !svc->config_get || !svc->shim_spawn || !svc->shim_signal || !svc->volume_export ||
            !svc->volume_unexport || !svc->nic_attach || !svc->nic_detach || !svc->event || !svc->done ||
            !svc->set_data || !svc->get_data || !svc->netns_create || !svc->netns_remove)
                return zero_error_set(err, -EPROTO, ZERO_E_INTERNAL,
                                      "container plugin: services table is incomplete");
        container_fini();

        runtime = svc->config_get("container", "runtime");
        manager = svc->config_get("container", "cgroup_manager");
        run_dir = svc->config_get("agent", "run_dir");
        if (!runtime || !*runtime)
                runtime = "crun";
        if (zero_cgroup_manager_from_string(manager, &plugin.configured) < 0)
                return zero_error_set(err, -EINVAL, ZERO_E_INVALID,
                                      "container.cgroup_manager=%s: expected auto, disabled, cgroupfs or systemd",
                                      manager);
        if (!run_dir || run_dir[0] != '/')
                return zero_error_set(err, -EINVAL, ZERO_E_INVALID,
                                      "agent.run_dir must be an absolute path, not \"%s\"", strempty(run_dir));
        r = config_uint(svc, "pids_max", ZERO_PIDS_MAX_DEFAULT, INT64_MAX, &plugin.pids_max, err);
        if (r >= 0)
                r = config_uint(svc, "userns_base", ZERO_USERNS_BASE_DEFAULT, UINT32_MAX - ZERO_OCI_USERNS_SIZE,
                                &userns_base, err);
        if (r < 0)
                return r;
        plugin.userns_base = (uint32_t) userns_base;

        /* A runtime that is not there is not an init failure: probe() reports it. */
        r = zero_program_resolve(runtime, &plugin.runtime);
        if (r == -ENOENT)
                plugin.runtime = strdup(runtime);
        else if (r < 0)
                return r;
        r = zero_program_resolve("mount", &plugin.mount);
        if (r < 0 && r != -ENOENT)
                return r;
        r = mount_helper_resolve(svc, &plugin.mount_helper);
        if (r == -EINVAL)
                return zero_error_set(err, r, ZERO_E_INVALID, "container.mount_helper=%s: expected an executable's absolute path",
                                      svc->config_get("container", "mount_helper"));
        if (r < 0)
                return r;
        /* An agent of 4.8 or earlier would not pass the shim its prepare command on. */
        plugin.shim_mounts_root = plugin.mount_helper && ZERO_PLUGIN_ABI_MINOR_OF(svc->abi_version) >= 10;
        plugin.crun_root = zero_strdup_printf("%s/crun", run_dir);
        if (!plugin.runtime || !plugin.crun_root) {
                container_fini();
                return -ENOMEM;
        }
        plugin.svc = svc;
        return 0;
}

/* zero_oci_seccomp_bpf() in a forked child, the program back over a pipe: libseccomp's compile
 * peaks near 1 MiB of heap and touches most of its code, none of which zerod should keep
 * resident for the rest of its life (bench_container_start's idle VmRSS). */
static int seccomp_bpf_in_child(const struct zero_oci_options *opts, char **ret) {
        _cleanup_close_ int rd = -EBADF, wr = -EBADF;
        _cleanup_free_ char *buf = NULL;
        size_t n = 0;
        int fds[2], status, r = 0;
        pid_t pid;

        if (pipe2(fds, O_CLOEXEC) < 0)
                return -errno;
        rd = fds[0];
        wr = fds[1];
        buf = malloc(SECCOMP_B64_MAX + 1);
        if (!buf)
                return -ENOMEM;
        pid = fork();
        if (pid < 0)
                return -errno;
        if (pid == 0) {
                char *b64 = NULL;

                if (zero_oci_seccomp_bpf(opts, &b64) < 0 || zero_write_all(wr, b64, strlen(b64)) < 0)
                        _exit(1);
                _exit(0);
        }
        wr = safe_close(wr);
        while (n < SECCOMP_B64_MAX) {
                ssize_t k = read(rd, buf + n, SECCOMP_B64_MAX - n);

                if (k < 0 && errno == EINTR)
                        continue;
                if (k <= 0) {
                        r = k < 0 ? -errno : 0;
                        break;
                }
                n += (size_t) k;
        }
        /* Reaped right here by its pid, like the netns and userns helpers' children. */
        while (waitpid(pid, &status, 0) < 0)
                if (errno != EINTR)
                        return -errno;
        if (r < 0)
                return r;
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 || n == 0 || n >= SECCOMP_B64_MAX)
                return -EIO;
        buf[n] = '\0';
        *ret = TAKE_PTR(buf);
        return 0;
}

/* What the isolation of every container needs from this host, once: the seccomp program for the
 * capability set the plan allows (a failure leaves crun to compile linux.seccomp at each start:
 * slower, as safe), and the masked paths only this host has. */
static void host_isolation_probe(void) {
        const struct zero_oci_options opts = {.limits_enforced = plugin.plan.limits_enforced};
        _cleanup_free_ char *possible = NULL;
        int r;

        r = seccomp_bpf_in_child(&opts, &plugin.seccomp_bpf);
        if (r < 0)
                plog(NULL, LOG_WARNING, "container: cannot compile the seccomp profile (%s): crun compiles it at each start",
                     strerror(-r));
        r = zero_read_file("/sys/devices/system/cpu/possible", 4096, &possible, NULL);
        if (r >= 0)
                r = zero_thermal_throttle_paths(possible, "/sys/devices/system/cpu", &plugin.host_masked);
        if (r < 0)
                plog(NULL, LOG_WARNING, "container: cannot list the CPUs' thermal_throttle to mask: %s", strerror(-r));
}

/* Fills plugin.probe; on success also plugin.plan, once. */
static int probe_now(void) {
        struct zero_probe p = {};
        struct zero_cgroup_host host;
        int r;

        if (plugin.probed)
                return 0;
        if (!plugin.svc)
                return -ESTALE;

        r = zero_runtime_version(plugin.runtime, p.runtime, sizeof(p.runtime), p.reason, sizeof(p.reason));
        if (r < 0) {
                plugin.probe = p;
                return 0;
        }
        if (!plugin.mount && !plugin.mount_helper) { /* containers would see device nodes of their root volume */
                snprintf(p.reason, sizeof(p.reason), "mount(8) is not in PATH (Debian: util-linux)");
                plugin.probe = p;
                return 0;
        }
        r = zero_cgroup_host_detect(&host);
        if (r < 0) {
                snprintf(p.reason, sizeof(p.reason), "cannot inspect /sys/fs/cgroup: %s", strerror(-r));
                plugin.probe = p;
                return 0;
        }
        zero_cgroup_plan_decide(&host, plugin.configured, &plugin.plan);
        p.available = plugin.plan.usable;
        p.resource_limits_enforced = plugin.plan.limits_enforced;
        snprintf(p.reason, sizeof(p.reason), "%s", plugin.plan.reason);
        snprintf(plugin.manager_opt, sizeof(plugin.manager_opt), "--cgroup-manager=%s",
                 zero_cgroup_manager_to_string(plugin.plan.manager));
        plugin.probe = p;
        plugin.probed = true;
        host_isolation_probe();
        plog(NULL, LOG_INFO, "container: %s (%s), cgroup manager %s%s", p.runtime, plugin.runtime,
             zero_cgroup_manager_to_string(plugin.plan.manager),
             plugin.plan.private_cgroup2 ? " in a private cgroup2 mount" : "");
        return 0;
}

static int container_probe(struct zero_probe *ret) {
        int r;

        if (!ret || ret->size < offsetof(struct zero_probe, accelerator))
                return -EINVAL;
        uint32_t size = ret->size;

        r = probe_now();
        if (r < 0)
                return r;
        /* No more than the agent's struct holds (plugin.h). */
        memcpy(ret, &plugin.probe, size < sizeof(plugin.probe) ? size : sizeof(plugin.probe));
        ret->size = size;
        return 0;
}

static int require_available(struct zero_error *err) {
        int r = probe_now();

        if (r < 0)
                return zero_error_set(err, r, ZERO_E_INTERNAL, "container plugin is not initialized");
        if (!plugin.probed || !plugin.probe.available)
                return zero_error_set(err, -EOPNOTSUPP, ZERO_E_UNAVAILABLE,
                                      "container runtime unavailable: %s", plugin.probe.reason);
        return 0;
}


static void ctr_done(struct ctr *c) {
        free(c->id);
        free(c->bundle);
        free(c->rootfs);
        free(c->config);
        free(c->pid_file);
        free(c->netns);
        free(c->volumes);
}

static bool id_is_valid(const char *id) {
        size_t n = id ? strlen(id) : 0;

        /* It names a directory under crun's root: no '/', no "..", bounded. */
        if (n == 0 || n > 128 || id[0] == '.')
                return false;
        return strspn(id, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-.") == n;
}

static bool is_absolute(const char *p) {
        return p && p[0] == '/';
}

static int ctr_init(const struct zero_instance_info *info, struct ctr *c, struct zero_error *err) {
        *c = (struct ctr) {};
        if (!info || info->size < INFO_MIN_SIZE)
                return zero_error_set(err, -EINVAL, ZERO_E_INTERNAL, "instance info too short");
        if (!id_is_valid(info->id) || !is_absolute(info->run_dir))
                return zero_error_set(err, -EINVAL, ZERO_E_INTERNAL,
                                      "instance id \"%s\" or run directory \"%s\" is not usable",
                                      strempty(info->id), strempty(info->run_dir));
        c->id = zero_strdup_printf("zero-%s", info->id);
        c->bundle = zero_strdup_printf("%s/bundle", info->run_dir);
        c->rootfs = zero_strdup_printf("%s/bundle/rootfs", info->run_dir);
        c->config = zero_strdup_printf("%s/bundle/config.json", info->run_dir);
        c->pid_file = zero_strdup_printf("%s/container.pid", info->run_dir);
        c->netns = zero_strdup_printf("%s/netns", info->run_dir);
        c->volumes = zero_strdup_printf("%s/bundle/volumes", info->run_dir);
        if (!c->id || !c->bundle || !c->rootfs || !c->config || !c->pid_file || !c->netns || !c->volumes)
                return -ENOMEM;
        return 0;
}

/* The plugin's own commands run in a child watched on the agent's loop (common/subprocess.h),
 * never waited for there: the op that needs one answers ZERO_PLUGIN_PENDING and is called again
 * once the child ended (plugin.h, ABI 4.1). A child that hangs is killed after its timeout, and
 * the op fails with a timeout, to be retried. Two such commands:
 *  - `crun delete -f` (prepare and cleanup, after a crash or a shim whose cleanup command failed;
 *    normally the shim has deleted the container already). A whole forced stop and delete takes
 *    ~35 ms (docs/benchmarks.md).
 *  - `sync -f` of the container's filesystems before they are unmounted (cleanup): they sit on
 *    the card's exports, and a card that stopped answering (a qemu-storage-daemon stopped under
 *    its FUSE export) holds a syncfs in D state until it answers again; on the loop that held
 *    zerod and every client (it_card_stalled). */
#define CRUN_DELETE_TIMEOUT_MS 5000
#define SYNC_TIMEOUT_MS 10000
#define MOUNT_TIMEOUT_MS 10000


static const struct {
        const char *what;
        unsigned timeout_ms;
} child_kinds[_CHILD_MAX] = {
        [CHILD_DELETE] = {"crun delete -f", CRUN_DELETE_TIMEOUT_MS},
        [CHILD_SYNC] = {"sync -f", SYNC_TIMEOUT_MS},
        [CHILD_MOUNT] = {"mount of the root volume", MOUNT_TIMEOUT_MS},
};

/* The plugin's private data about an instance (services->set_data): its command under way. */
struct ctr_data {
        struct zero_plugin_ctx *ctx;
        struct zero_subprocess *child; /* one at a time */
        enum ctr_child kind;           /* ... this one */
        sd_event_source *timer;        /* ... killed when it fires */
        bool ended_well[_CHILD_MAX];   /* it ended well: the op called again goes on */
        char id[64];                   /* crun's name of the container */
};

static struct ctr_data *ctr_data_free(struct ctr_data *d) {
        if (!d)
                return NULL;
        d->child = zero_subprocess_free(d->child); /* killed and reaped; nobody is told */
        d->timer = sd_event_source_disable_unref(d->timer);
        free(d);
        return NULL;
}

static void container_release(struct zero_plugin_ctx *ctx) {
        ctr_data_free(plugin.svc->get_data(ctx));
        plugin.svc->set_data(ctx, NULL);
}

static void on_child_done(void *userdata, int status, const char *output) {
        struct ctr_data *d = userdata;
        const char *what = child_kinds[d->kind].what;
        struct zero_error err = {};
        char out[256];
        int r = 0;

        d->child = NULL; /* freed before this call */
        d->timer = sd_event_source_disable_unref(d->timer);
        snprintf(out, sizeof(out), "%s", output);
        out[strcspn(out, "\n")] = '\0';
        /* A container that is gone already is deleted. A flush that failed (its device is gone:
         * the card's daemon died and took the export) has nothing left to flush: the unmount
         * goes on, as it did when it ignored syncfs()'s answer. */
        if (status != 0 && d->kind == CHILD_SYNC)
                plog(d->ctx, LOG_WARNING, "container: %s of %s failed with status %d: %s; unmounting anyway", what,
                     d->id, status, out);
        else if (status != 0 && !(d->kind == CHILD_DELETE && (strstr(output, "does not exist") || strstr(output, "No such file")))) {
                plog(d->ctx, LOG_WARNING, "container: %s %s failed with status %d: %s", what, d->id, status, out);
                r = runtime_error(&err, status < 0 ? status : -EIO, "%s %s failed: %s", what, d->id, out);
        }
        d->ended_well[d->kind] = r >= 0;
        plugin.svc->done(d->ctx, r, &err);
}

static int on_child_timeout(sd_event_source *s, uint64_t usec, void *userdata) {
        struct ctr_data *d = userdata;
        const char *what = child_kinds[d->kind].what;
        unsigned ms = child_kinds[d->kind].timeout_ms;
        struct zero_error err = {};

        d->timer = sd_event_source_disable_unref(d->timer);
        d->child = zero_subprocess_free(d->child);
        plog(d->ctx, LOG_WARNING, "container: %s %s did not end within %u ms: killed", what, d->id, ms);
        zero_error_set(&err, -ETIMEDOUT, ZERO_E_TIMEOUT, "%s %s did not end within %u s (killed)%s", what, d->id,
                       ms / 1000, d->kind == CHILD_SYNC ? ": the card under its filesystems does not answer" : "");
        /* Not unmounted: the last unmount writes the filesystem's superblock, which would wait
         * on the card too, on the loop. The next cleanup tries again. */
        plugin.svc->done(d->ctx, -ETIMEDOUT, &err);
        return 0;
}

/* Runs argv as the instance's command of kind: ZERO_PLUGIN_PENDING while it (or another) runs
 * (done() follows), 0 when the one started before ended well (the op called again goes on). */
int child_run(struct zero_plugin_ctx *ctx, enum ctr_child kind, const char *id, const char *const *argv,
                     struct zero_error *err) {
        struct ctr_data *d = plugin.svc->get_data(ctx);
        int r;

        if (d && d->child)
                return ZERO_PLUGIN_PENDING;
        if (d && d->ended_well[kind]) {
                d->ended_well[kind] = false; /* called again after it ended */
                return 0;
        }
        if (!d) {
                d = calloc(1, sizeof(*d));
                if (!d)
                        return -ENOMEM;
                d->ctx = ctx;
                plugin.svc->set_data(ctx, d);
        }
        d->kind = kind;
        snprintf(d->id, sizeof(d->id), "%s", id);
        r = zero_subprocess_start(plugin.svc->event, (char *const *) argv, on_child_done, d, &d->child);
        if (r >= 0)
                r = sd_event_add_time_relative(plugin.svc->event, &d->timer, CLOCK_MONOTONIC,
                                               (uint64_t) child_kinds[kind].timeout_ms * 1000, 0, on_child_timeout, d);
        if (r < 0) {
                d->child = zero_subprocess_free(d->child);
                return runtime_error(err, r, "cannot run %s: %s", child_kinds[kind].what, strerror(-r));
        }
        return ZERO_PLUGIN_PENDING;
}

/* Whether the command of kind, started before, ended well; forgotten once asked. */
bool child_ended_well(struct zero_plugin_ctx *ctx, enum ctr_child kind) {
        struct ctr_data *d = plugin.svc->get_data(ctx);
        bool well = d && d->ended_well[kind];

        if (d)
                d->ended_well[kind] = false;
        return well;
}

/* `crun delete -f` of a container that may or may not exist: 0 when there is none (or the one
 * started before ended well), ZERO_PLUGIN_PENDING while it runs (done() follows). */
static int crun_delete(struct zero_plugin_ctx *ctx, const struct ctr *c, struct zero_error *err) {
        _cleanup_free_ char *state = zero_strdup_printf("%s/%s", plugin.crun_root, c->id);
        const char *argv[] = {plugin.runtime, "--root", plugin.crun_root, plugin.manager_opt,
                              "delete", "-f", c->id, NULL};
        struct ctr_data *d = plugin.svc->get_data(ctx);

        if (!state)
                return -ENOMEM;
        /* Nothing to delete in the common case: save a fork and exec. */
        if (!(d && (d->child || d->ended_well[CHILD_DELETE])) && access(state, F_OK) < 0 && errno == ENOENT)
                return 0;
        return child_run(ctx, CHILD_DELETE, c->id, argv, err);
}

static int container_prepare(struct zero_plugin_ctx *ctx, const struct zero_instance_info *info,
                             struct zero_error *err) {
        _cleanup_(ctr_done) struct ctr c = {};
        _cleanup_(card_plan_done) struct card_plan p = {};
        _cleanup_free_ char *config = NULL, *cgroups_path = NULL;
        struct zero_oci_options opts = {};
        int r;

        r = require_available(err);
        if (r < 0)
                return r;
        r = ctr_init(info, &c, err);
        if (r < 0)
                return r;

        /* First what can fail on bad input, before anything is created. */
        opts.limits_enforced = plugin.plan.limits_enforced;
        if (plugin.plan.manager == ZERO_CGROUP_MANAGER_SYSTEMD)
                cgroups_path = zero_strdup_printf("zero.slice:zero:%s", info->id); /* zero-ID.scope */
        else if (plugin.plan.manager == ZERO_CGROUP_MANAGER_CGROUPFS)
                cgroups_path = zero_strdup_printf("/zero/%s", info->id);
        if (opts.limits_enforced && !cgroups_path)
                return -ENOMEM;
        opts.cgroups_path = cgroups_path;
        opts.nodev_hook = plugin.mount;
        opts.nodev_helper = plugin.mount_helper;
        opts.rootfs = c.rootfs;
        opts.pids_max = plugin.pids_max;
        opts.userns_base = plugin.userns_base;
        opts.seccomp_bpf = plugin.seccomp_bpf;
        opts.host_masked_paths = (const char *const *) plugin.host_masked;
        r = zero_oci_config_format(info, &opts, &config, err);
        if (r < 0)
                return r;

        /* A container of this name left by a crash would make `crun run` fail: prepare is
         * called again once it is gone. */
        r = crun_delete(ctx, &c, NULL);
        if (r == ZERO_PLUGIN_PENDING)
                return r;

        r = zero_mkdir_p(plugin.crun_root, 0700);
        if (r >= 0)
                r = zero_mkdir_p(c.bundle, 0700);
        if (r >= 0)
                r = mkdir_mode(c.rootfs, 0755);
        /* crun looks rootfs up in the bundle as the container's root once it is in the user
         * namespace: let that group (and only it) search the bundle; config.json stays 0600. */
        if (r >= 0 && zero_oci_wants_userns(info) &&
            (chown(c.bundle, 0, plugin.userns_base) < 0 || chmod(c.bundle, 0710) < 0))
                r = -errno;
        if (r < 0)
                return runtime_error(err, r, "cannot create the bundle %s: %s", c.bundle, strerror(-r));

        r = card_prepare(ctx, info, &c, &p, err);
        if (r != 0) /* or ZERO_PLUGIN_PENDING: called again once the root volume's mount ended */
                return r;
        /* The card's mounts and namespace in config.json: formatted again only when there are
         * any (the common container has neither: the first one is the same, ~26 KB of JSON). */
        if (p.n_mounts > 0 || info->n_nics > 0) {
                opts.netns_path = info->n_nics > 0 ? c.netns : NULL;
                opts.volume_mounts = p.mounts;
                opts.n_volume_mounts = p.n_mounts;
                opts.volume_binds = true;
                config = mfree(config);
                r = zero_oci_config_format(info, &opts, &config, err);
                if (r < 0)
                        return r;
        }

        /* 0600: the environment may hold secrets. */
        r = zero_write_file_replace(c.config, config, strlen(config), 0600);
        if (r < 0)
                return runtime_error(err, r, "cannot write %s: %s", c.config, strerror(-r));
        return 0;
}

static int container_start(struct zero_plugin_ctx *ctx, const struct zero_instance_info *info,
                           struct zero_error *err) {
        _cleanup_(ctr_done) struct ctr c = {};
        const char *rt, *root, *mgr, *mount_argv[5];
        char dev[DEVICE_PATH_MAX];
        int r;

        r = require_available(err);
        if (r < 0)
                return r;
        r = ctr_init(info, &c, err);
        if (r < 0)
                return r;
        if (access(c.config, F_OK) < 0) {
                r = -errno;
                return runtime_error(err, r, "container bundle %s is not prepared: %s", c.bundle, strerror(-r));
        }
        /* The shim waits for crun to write it: an old one would name a dead process. */
        if (unlink(c.pid_file) < 0 && errno != ENOENT) {
                r = -errno;
                return runtime_error(err, r, "cannot remove %s: %s", c.pid_file, strerror(-r));
        }
        /* The root volume, mounted by the shim before crun runs (volumes.c). */
        r = root_mount_argv(ctx, info, &c, dev, mount_argv, err);
        if (r < 0)
                return r;

        rt = plugin.runtime;
        root = plugin.crun_root;
        mgr = plugin.manager_opt;
        /* `run --detach` rather than `create` + `start`: one runtime invocation instead of two
         * (crun re-executes a sealed copy of itself each time), about 5 ms less per start
         * (docs/benchmarks.md). It returns once the container's process runs, after writing
         * its pid; that process is then the shim's (the subreaper's) child. */
        const char *run_argv[] = {rt, "--root", root, mgr, "run", "--detach", "--bundle", c.bundle,
                                  "--pid-file", c.pid_file, c.id, NULL};
        const char *cleanup_argv[] = {rt, "--root", root, mgr, "delete", "-f", c.id, NULL};
        /* The API's exec: `crun exec [OPTIONS] ID CMD...`, the options the agent's. */
        const char *exec_argv[] = {rt, "--root", root, mgr, "exec", NULL};
        struct zero_shim_args args = {
                .size = sizeof(args),
                .argv = run_argv,
                .pid_file = c.pid_file,
                .cleanup_argv = cleanup_argv,
                .private_cgroup2 = plugin.plan.private_cgroup2,
                .exec_argv = exec_argv,
                .exec_target = c.id,
                /* Only when asked: else /dev/null, whose end a command reading stdin sees at once
                 * (docker run without -i). */
                .stdin_pipe = ZERO_ABI_HAS(info, struct zero_instance_info, stdin_open) && info->stdin_open,
                .prepare_argv = mount_argv[0] ? mount_argv : NULL,
        };

        r = plugin.svc->shim_spawn(ctx, &args, err);
        if (r < 0)
                return zero_error_default(err, r, "cannot start the container's shim");
        return 0;
}

static int container_kill(struct zero_plugin_ctx *ctx, const struct zero_instance_info *info, int signal,
                          struct zero_error *err) {
        int r;

        if (!plugin.svc)
                return zero_error_set(err, -ESTALE, ZERO_E_INTERNAL, "container plugin is not initialized");
        if (signal <= 0 || signal >= NSIG)
                return zero_error_set(err, -EINVAL, ZERO_E_INVALID, "signal %d is out of range", signal);
        r = plugin.svc->shim_signal(ctx, signal, err);
        if (r < 0)
                return zero_error_default(err, r, "cannot signal the container");
        return 0;
}

static int container_stop(struct zero_plugin_ctx *ctx, const struct zero_instance_info *info,
                          struct zero_error *err) {
        /* To the container's init, which may ignore it (a shell as pid 1 does): the agent kills
         * it after its stop timeout. */
        return container_kill(ctx, info, SIGTERM, err);
}

static int container_cleanup(struct zero_plugin_ctx *ctx, const struct zero_instance_info *info,
                             struct zero_error *err) {
        _cleanup_(ctr_done) struct ctr c = {};
        int r, ret = 0;

        r = ctr_init(info, &c, err);
        if (r < 0)
                return r;

        /* Without a working runtime there is no crun state to delete; the rest is ours, once it
         * is gone (the container's processes die with it: only then can its mounts go). */
        if (probe_now() >= 0 && plugin.probed)
                ret = crun_delete(ctx, &c, err);
        if (ret == ZERO_PLUGIN_PENDING)
                return ret;

        r = unmount_flushed(ctx, &c, ret < 0 ? NULL : err);
        if (r == ZERO_PLUGIN_PENDING && ret >= 0)
                return r;
        if (r < 0 && ret >= 0)
                ret = zero_error_default(err, r, "cannot unmount the container's filesystems");

        r = card_cleanup(ctx, info, &c, ret < 0 ? NULL : err);
        if (r < 0 && ret >= 0)
                ret = r;

        /* zero_rm_rf never crosses into a mount: a rootfs still mounted fails with -EBUSY. */
        r = zero_rm_rf(c.bundle);
        if (r < 0 && ret >= 0)
                ret = runtime_error(err, r, "cannot remove %s: %s", c.bundle, strerror(-r));
        r = unlink(c.pid_file) < 0 && errno != ENOENT ? -errno : 0;
        if (r < 0 && ret >= 0)
                ret = runtime_error(err, r, "cannot remove %s: %s", c.pid_file, strerror(-r));
        return ret;
}

/* A container takes its root volume and the data volumes it mounts as host block devices, and
 * its NICs as veths in one network namespace of its own (plugin.h, 4.2): the agent makes them
 * before prepare, whose calls below then only read what was made (and make it themselves on an
 * agent of 4.1). */
static int container_card_needs(struct zero_plugin_ctx *ctx, const struct zero_instance_info *info,
                                struct zero_card_needs *ret, struct zero_error *err) {
        _cleanup_(ctr_done) struct ctr c = {};
        int r = ctr_init(info, &c, err);

        if (r < 0)
                return r;
        if (!ret || !ZERO_ABI_HAS(ret, struct zero_card_needs, netns_path) ||
            (info->n_volumes > 0 && !ret->volume_export) || (info->n_nics > 0 && !ret->nic_attach))
                return zero_error_set(err, -EINVAL, ZERO_E_INTERNAL, "card needs: no room for the answer");
        for (size_t i = 0; i < info->n_volumes; i++)
                if (streq(info->volumes[i].role, "root") || info->volumes[i].path)
                        ret->volume_export[i] = "host-block";
        for (size_t i = 0; i < info->n_nics; i++)
                ret->nic_attach[i] = "veth";
        if (info->n_nics > 0 && snprintf(ret->netns_path, sizeof(ret->netns_path), "%s", c.netns) >= (int) sizeof(ret->netns_path))
                return zero_error_set(err, -ENAMETOOLONG, ZERO_E_INTERNAL, "network namespace path %s is too long", c.netns);
        return 0;
}

static const struct zero_plugin container_plugin = {
        .abi_version = ZERO_PLUGIN_ABI_VERSION,
        .size = sizeof(struct zero_plugin),
        .name = "container",
        .mode = "container",
        /* prepare and cleanup answer ZERO_PLUGIN_PENDING while crun delete runs (4.1). */
        .abi_minor_needed = 1,
        .ops = {
                .init = container_init,
                .fini = container_fini,
                .probe = container_probe,
                .prepare = container_prepare,
                .start = container_start,
                .stop = container_stop,
                .kill = container_kill,
                .cleanup = container_cleanup,
                .release = container_release,
                .card_needs = container_card_needs,
        },
};

/* The one exported symbol (ZERO_PLUGIN_ENTRY); everything else is hidden (CMakeLists.txt). */
__attribute__((visibility("default"))) const struct zero_plugin *zero_plugin_entry(void);

const struct zero_plugin *zero_plugin_entry(void) {
        return &container_plugin;
}
