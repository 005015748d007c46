/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The VM runtime plugin: QEMU under zero-shim, booting the image's kernel and initramfs with the
 * instance's root volume from the card.
 *
 * One instance on disk (run_dir is the agent's, volatile):
 *   RUN_DIR/qmp.sock     QEMU's QMP monitor
 *   RUN_DIR/console.log  the serial console (QEMU's stdout, kept by the shim)
 *
 * prepare asks the card for the exports the disks' personalities need (virtio-blk: vhost-user-blk;
 * virtio-scsi and NVMe: NBD) and for a tap per NIC, and checks the command line can be built;
 * start builds it again from the same (idempotent) exports and spawns QEMU under the shim; stop
 * asks the guest to power off over QMP (ACPI); cleanup gives the exports and taps back.
 *
 * This first version starts QEMU running (no -S + device check + "cont" yet: that needs QMP on
 * zerod's event loop, which plugins do not have), and stop's QMP exchange is synchronous and
 * bounded to QMP_TIMEOUT_MS.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <syslog.h>
#include <unistd.h>

#include "common/util.h"
#include "plugins/vm/cmdline.h"
#include "zero/plugin.h"

#define SERVICES_MIN_SIZE (offsetof(struct zero_plugin_services, nic_detach) + sizeof(void *))
#define INFO_MIN_SIZE (offsetof(struct zero_instance_info, nics) + sizeof(void *))
#define EXPORT_PATH_MAX 256
#define QMP_TIMEOUT_MS 1000

static struct {
        const struct zero_plugin_services *svc;
        char *qemu;  /* [vm] qemu, default qemu-system-x86_64 */
        char *accel; /* [vm] accel: kvm, tcg; auto = tcg until a bounded boot probe exists */
} plugin;

#define plog(ctx, prio, ...)                                                                       \
        do {                                                                                       \
                if (plugin.svc)                                                                    \
                        plugin.svc->log((ctx), (prio), __VA_ARGS__);                               \
        } while (0)

static void vm_fini(void) {
        free(plugin.qemu);
        free(plugin.accel);
        memset(&plugin, 0, sizeof(plugin));
}

static int vm_init(const struct zero_plugin_services *svc, struct zero_error *err) {
        const char *qemu, *accel;

        if (!svc || svc->abi_version != ZERO_PLUGIN_ABI_VERSION || svc->size < SERVICES_MIN_SIZE)
                return zero_error_set(err, -EPROTO, 500, "internal",
                                      "vm plugin: the agent's services table has no card (ABI %u, size %u)",
                                      svc ? svc->abi_version : 0, svc ? svc->size : 0);
        vm_fini();
        qemu = svc->config_get("vm", "qemu");
        accel = svc->config_get("vm", "accel");
        if (accel && !streq(accel, "auto") && !streq(accel, "kvm") && !streq(accel, "tcg"))
                return zero_error_set(err, -EINVAL, 500, "invalid", "vm.accel=%s: expected auto, kvm or tcg", accel);
        /* Nested KVM can hang once a Linux guest boots (docs/architecture.md): auto must never
         * hang, and without a bounded boot probe yet, it means TCG. */
        plugin.qemu = strdup(qemu && *qemu ? qemu : "qemu-system-x86_64");
        plugin.accel = strdup(accel && streq(accel, "kvm") ? "kvm" : "tcg");
        if (!plugin.qemu || !plugin.accel) {
                vm_fini();
                return -ENOMEM;
        }
        plugin.svc = svc;
        return 0;
}

static int vm_probe(struct zero_probe *ret) {
        _cleanup_free_ char *out = NULL;
        char *argv[] = {plugin.qemu, "--version", NULL};
        int r;

        *ret = (struct zero_probe){};
        if (!plugin.svc)
                return -ESTALE;
        r = zero_run_wait(argv, &out);
        if (r != 0 || !out || strncmp(out, "QEMU emulator version ", 22) != 0) {
                snprintf(ret->reason, sizeof(ret->reason), "%s does not run: %s", plugin.qemu,
                         r < 0 ? strerror(-r) : (out ? out : "no output"));
                ret->reason[strcspn(ret->reason, "\n")] = '\0';
                return 0;
        }
        out[strcspn(out, "\n")] = '\0';
        snprintf(ret->runtime, sizeof(ret->runtime), "QEMU %.40s (%s)", out + 22, plugin.accel);
        ret->available = true;
        ret->resource_limits_enforced = true; /* cpus and memory are the VM's */
        if (streq(plugin.accel, "tcg"))
                snprintf(ret->reason, sizeof(ret->reason), "accelerator tcg (emulation): set [vm] accel=kvm on hosts "
                                                           "where KVM works");
        return 0;
}

/* Everything a start needs, from the info and the card. */
struct vm {
        char *kernel, *initrd, *qmp;
        struct zero_vm_disk *disks;
        struct zero_vm_nic *nics;
        char (*paths)[EXPORT_PATH_MAX];
        char (*taps)[EXPORT_PATH_MAX];
        size_t n_disks, n_nics;
};

static void vm_done(struct vm *v) {
        free(v->kernel);
        free(v->initrd);
        free(v->qmp);
        free(v->disks);
        free(v->nics);
        free(v->paths);
        free(v->taps);
}

static const char *export_kind(const char *personality) {
        return streq(personality, "virtio-blk") ? "vhost-user-blk" : "nbd";
}

/* Exports every disk and attaches every NIC (both idempotent), and fills v. */
static int vm_plumb(struct zero_plugin_ctx *ctx, const struct zero_instance_info *info, struct vm *v,
                    struct zero_error *err) {
        int r;

        *v = (struct vm){};
        if (!info || info->size < INFO_MIN_SIZE || !info->image_dir || !info->run_dir)
                return zero_error_set(err, -EINVAL, 500, "internal", "instance info too short");
        v->kernel = zero_strdup_printf("%s/vmlinuz", info->image_dir);
        v->initrd = zero_strdup_printf("%s/initrd.img", info->image_dir);
        v->qmp = zero_strdup_printf("%s/qmp.sock", info->run_dir);
        v->disks = calloc(info->n_volumes + 1, sizeof(*v->disks));
        v->paths = calloc(info->n_volumes + 1, sizeof(*v->paths));
        v->nics = calloc(info->n_nics + 1, sizeof(*v->nics));
        v->taps = calloc(info->n_nics + 1, sizeof(*v->taps));
        if (!v->kernel || !v->initrd || !v->qmp || !v->disks || !v->paths || !v->nics || !v->taps)
                return -ENOMEM;
        if (access(v->kernel, R_OK) < 0 || access(v->initrd, R_OK) < 0)
                return zero_error_set(err, -ENOENT, 422, "invalid",
                                      "image %s has no kernel and initrd: import it with \"kernel\" and \"initrd\"",
                                      strempty(info->image_name));
        for (size_t i = 0; i < info->n_volumes; i++) {
                const struct zero_volume_info *vol = &info->volumes[i];
                const char *kind = export_kind(vol->personality);

                r = plugin.svc->volume_export(ctx, vol->name, kind, v->paths[i], EXPORT_PATH_MAX, err);
                if (r < 0)
                        return zero_error_default(err, r, "cannot export a disk");
                v->disks[v->n_disks++] = (struct zero_vm_disk){vol->id, vol->personality, kind, v->paths[i],
                                                               streq(vol->role, "root")};
        }
        for (size_t i = 0; i < info->n_nics; i++) {
                const struct zero_nic_info *n = &info->nics[i];

                r = plugin.svc->nic_attach(ctx, n->id, "tap", NULL, v->taps[i], EXPORT_PATH_MAX, err);
                if (r < 0)
                        return zero_error_default(err, r, "cannot attach a NIC");
                v->nics[v->n_nics++] = (struct zero_vm_nic){v->taps[i], n->mac, n->ip, n->prefixlen, n->gateway};
        }
        return 0;
}

static int vm_cmdline(const struct zero_instance_info *info, const struct vm *v, char ***ret, struct zero_error *err) {
        struct zero_vm_options o = {plugin.qemu, plugin.accel, v->kernel, v->initrd, v->qmp, false,
                                    v->n_disks,  v->disks,     v->n_nics, v->nics};
        return zero_vm_cmdline(info, &o, ret, err);
}

static int vm_prepare(struct zero_plugin_ctx *ctx, const struct zero_instance_info *info, struct zero_error *err) {
        _cleanup_(vm_done) struct vm v = {};
        _cleanup_strv_free_ char **argv = NULL;
        int r;

        r = vm_plumb(ctx, info, &v, err);
        if (r >= 0)
                r = vm_cmdline(info, &v, &argv, err);
        return r;
}

static int vm_start(struct zero_plugin_ctx *ctx, const struct zero_instance_info *info, struct zero_error *err) {
        _cleanup_(vm_done) struct vm v = {};
        _cleanup_strv_free_ char **argv = NULL;
        int r;

        r = vm_plumb(ctx, info, &v, err);
        if (r >= 0)
                r = vm_cmdline(info, &v, &argv, err);
        if (r < 0)
                return r;
        (void) unlink(v.qmp);
        struct zero_shim_args args = {.size = sizeof(args), .argv = (const char *const *) argv};
        r = plugin.svc->shim_spawn(ctx, &args, err);
        return r < 0 ? zero_error_default(err, r, "cannot start the VM's shim") : 0;
}

/* One synchronous QMP exchange: greeting, capabilities, command; each read bounded. */
static int qmp_line(int fd, char *buf, size_t size) {
        size_t n = 0;

        while (n + 1 < size) {
                struct pollfd p = {.fd = fd, .events = POLLIN};
                ssize_t k;

                if (poll(&p, 1, QMP_TIMEOUT_MS) <= 0)
                        return -ETIMEDOUT;
                k = read(fd, buf + n, 1);
                if (k <= 0)
                        return k < 0 ? -errno : -ECONNRESET;
                if (buf[n] == '\n') {
                        buf[n] = '\0';
                        return 0;
                }
                n++;
        }
        return -EMSGSIZE;
}

static int qmp_run(const char *path, const char *command) {
        struct sockaddr_un sa = {.sun_family = AF_UNIX};
        _cleanup_close_ int fd = -EBADF;
        char line[4096];
        int r;

        if (strlen(path) >= sizeof(sa.sun_path))
                return -ENAMETOOLONG;
        strcpy(sa.sun_path, path);
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0 || connect(fd, (struct sockaddr *) &sa, sizeof(sa)) < 0)
                return -errno;
        if ((r = qmp_line(fd, line, sizeof(line))) < 0)
                return r;
        static const char caps[] = "{\"execute\":\"qmp_capabilities\"}\n";
        if (zero_write_all(fd, caps, strlen(caps)) < 0 || (r = qmp_line(fd, line, sizeof(line))) < 0)
                return r < 0 ? r : -EIO;
        _cleanup_free_ char *cmd = zero_strdup_printf("{\"execute\":\"%s\"}\n", command);
        if (!cmd || zero_write_all(fd, cmd, strlen(cmd)) < 0)
                return -EIO;
        do /* events may come first */
                r = qmp_line(fd, line, sizeof(line));
        while (r >= 0 && !strstr(line, "\"return\"") && !strstr(line, "\"error\""));
        return r < 0 ? r : strstr(line, "\"error\"") ? -EIO : 0;
}

static int vm_kill(struct zero_plugin_ctx *ctx, const struct zero_instance_info *info, int signal,
                   struct zero_error *err) {
        int r = plugin.svc->shim_signal(ctx, signal, err);
        return r < 0 ? zero_error_default(err, r, "cannot signal QEMU") : 0;
}

static int vm_stop(struct zero_plugin_ctx *ctx, const struct zero_instance_info *info, struct zero_error *err) {
        _cleanup_free_ char *qmp = zero_strdup_printf("%s/qmp.sock", info->run_dir);
        int r;

        /* ACPI power button: a guest that handles it powers off, QEMU exits; the agent kills
         * QEMU after the stop timeout otherwise. */
        r = qmp ? qmp_run(qmp, "system_powerdown") : -ENOMEM;
        if (r < 0)
                plog(ctx, LOG_WARNING, "vm: system_powerdown over %s failed: %s", strempty(qmp), strerror(-r));
        return 0;
}

static int vm_cleanup(struct zero_plugin_ctx *ctx, const struct zero_instance_info *info, struct zero_error *err) {
        _cleanup_free_ char *qmp = NULL;
        int r, ret = 0;

        if (!info || info->size < INFO_MIN_SIZE)
                return zero_error_set(err, -EINVAL, 500, "internal", "instance info too short");
        for (size_t i = 0; i < info->n_volumes; i++) {
                r = plugin.svc->volume_unexport(ctx, info->volumes[i].name, ret < 0 ? NULL : err);
                if (r < 0 && ret >= 0)
                        ret = zero_error_default(err, r, "cannot unexport a disk");
        }
        for (size_t i = 0; i < info->n_nics; i++) {
                r = plugin.svc->nic_detach(ctx, info->nics[i].id, ret < 0 ? NULL : err);
                if (r < 0 && ret >= 0)
                        ret = zero_error_default(err, r, "cannot detach a NIC");
        }
        qmp = info->run_dir ? zero_strdup_printf("%s/qmp.sock", info->run_dir) : NULL;
        if (qmp)
                (void) unlink(qmp);
        return ret;
}

static const struct zero_plugin vm_plugin = {
        .abi_version = ZERO_PLUGIN_ABI_VERSION,
        .size = sizeof(struct zero_plugin),
        .name = "vm",
        .mode = "vm",
        .ops = {
                .init = vm_init,
                .fini = vm_fini,
                .probe = vm_probe,
                .prepare = vm_prepare,
                .start = vm_start,
                .stop = vm_stop,
                .kill = vm_kill,
                .cleanup = vm_cleanup,
        },
};

/* The one exported symbol (ZERO_PLUGIN_ENTRY); everything else is hidden (CMakeLists.txt). */
__attribute__((visibility("default"))) const struct zero_plugin *zero_plugin_entry(void);

const struct zero_plugin *zero_plugin_entry(void) {
        return &vm_plugin;
}
