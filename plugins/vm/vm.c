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
 * start builds it again from the same (idempotent) exports and spawns QEMU, paused (-S), under
 * the shim; boot checks its devices over QMP and lets it run ("cont"); stop asks the guest to
 * power off (ACPI system_powerdown), kill(SIGKILL) asks QEMU to quit; cleanup gives the exports
 * and taps back. Every QMP exchange runs on the agent's loop (monitor.c): nothing here blocks.
 */
#include <dirent.h>
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
#include "plugins/vm/accel.h"
#include "plugins/vm/cmdline.h"
#include "plugins/vm/firmware.h"
#include "plugins/vm/hotplug.h"
#include "plugins/vm/instance.h"
#include "plugins/vm/migrate.h"
#include "plugins/vm/monitor.h"
#include "plugins/vm/tpm.h"
#include "zero/plugin.h"

#define INFO_MIN_SIZE (offsetof(struct zero_instance_info, initrd) + sizeof(void *))
#define EXPORT_PATH_MAX 256
#define HOTPLUG_PORTS_DEFAULT 4
#define HOTPLUG_PORTS_MAX 16

static struct {
        const struct zero_plugin_services *svc;
        char *qemu;  /* [vm] qemu, default qemu-system-x86_64 */
        char *accel; /* the one in use: kvm or tcg ([vm] accel, auto: accel.c's probe) */
        char accel_reason[256];
        unsigned hotplug_ports; /* [vm] hotplug_ports: spare PCIe ports per VM */
        char *user;             /* [vm] user: QEMU's -runas; NULL: QEMU stays root */
        char *swtpm;            /* [vm] swtpm, default swtpm: the vTPM (tpm.h) */
        bool tpm;               /* swtpm runs here */
        char tpm_reason[128];
} plugin;

#define plog(ctx, prio, ...)                                                                       \
        do {                                                                                       \
                if (plugin.svc)                                                                    \
                        plugin.svc->log((ctx), (prio), __VA_ARGS__);                               \
        } while (0)


/* The command line prepare built, kept (on the ctx: instance.h) for the start that follows it in
 * the same operation, which would only ask the card again for the same exports and taps (a few ms
 * of QMP: see docs/benchmarks.md, vm_start). Not kept across a crash (start builds it anew
 * then); dropped by start, cleanup and release. */
static char **prepared_take(struct zero_plugin_ctx *ctx) {
        struct vm_inst *i = vm_inst_get(plugin.svc, ctx, false);
        return i ? TAKE_PTR(i->prepared) : NULL;
}

static void prepared_drop(struct zero_plugin_ctx *ctx) {
        strv_free(prepared_take(ctx));
}

static char *qmp_path(const struct zero_instance_info *info) {
        return info && info->run_dir ? zero_strdup_printf("%s/qmp.sock", info->run_dir) : NULL;
}

/* The agent released every ctx before (plugin.h): no VM's state is left. */
static void vm_fini(void) {
        free(plugin.qemu);
        free(plugin.accel);
        free(plugin.user);
        free(plugin.swtpm);
        memset(&plugin, 0, sizeof(plugin));
}

/* A kernel for the KVM boot probe: [vm] probe_kernel, or the first imported image's. */
static char *probe_kernel(const struct zero_plugin_services *svc) {
        const char *k = svc->config_get("vm", "probe_kernel"), *state = svc->config_get("agent", "state_dir");
        _cleanup_free_ char *dir = state ? zero_strdup_printf("%s/images", state) : NULL;
        DIR *d;
        struct dirent *de;
        char *found = NULL;

        if (k && *k)
                return strdup(k);
        d = dir ? opendir(dir) : NULL;
        while (d && !found && (de = readdir(d))) {
                if (de->d_name[0] == '.')
                        continue;
                found = zero_strdup_printf("%s/%s/vmlinuz", dir, de->d_name);
                if (found && access(found, R_OK) < 0)
                        found = mfree(found);
        }
        if (d)
                closedir(d);
        return found;
}

static int parse_ports(const char *s, unsigned *ret) {
        char *end;
        unsigned long v;

        if (!s || !*s) {
                *ret = HOTPLUG_PORTS_DEFAULT;
                return 0;
        }
        errno = 0;
        v = strtoul(s, &end, 10);
        if (errno || *end || v > HOTPLUG_PORTS_MAX)
                return -EINVAL;
        *ret = (unsigned) v;
        return 0;
}

static int vm_init(const struct zero_plugin_services *svc, struct zero_error *err) {
        const char *qemu, *accel, *state, *user, *swtpm;
        _cleanup_free_ char *kernel = NULL, *cache = NULL;
        char chosen[8];
        int r;

        /* get_data: the last service it calls (ABI 4.0). */
        if (!svc || ZERO_PLUGIN_ABI_MAJOR_OF(svc->abi_version) != ZERO_PLUGIN_ABI_MAJOR || !ZERO_SERVICE_HAS(svc, get_data))
                return zero_error_set(err, -EPROTO, ZERO_E_INTERNAL,
                                      "vm plugin: the agent's services table is too old (ABI %u.%u, size %u)",
                                      svc ? ZERO_PLUGIN_ABI_MAJOR_OF(svc->abi_version) : 0,
                                      svc ? ZERO_PLUGIN_ABI_MINOR_OF(svc->abi_version) : 0, svc ? svc->size : 0);
        vm_fini();
        qemu = svc->config_get("vm", "qemu");
        accel = svc->config_get("vm", "accel");
        if (!accel || !*accel)
                accel = "auto";
        if (!streq(accel, "auto") && !streq(accel, "kvm") && !streq(accel, "tcg"))
                return zero_error_set(err, -EINVAL, ZERO_E_INVALID, "vm.accel=%s: expected auto, kvm or tcg", accel);
        plugin.qemu = strdup(qemu && *qemu ? qemu : "qemu-system-x86_64");
        user = svc->config_get("vm", "user");
        plugin.user = user && *user ? strdup(user) : NULL;
        swtpm = svc->config_get("vm", "swtpm");
        plugin.swtpm = strdup(swtpm && *swtpm ? swtpm : "swtpm");
        if (!plugin.qemu || !plugin.swtpm || (user && *user && !plugin.user)) {
                vm_fini();
                return -ENOMEM;
        }
        r = parse_ports(svc->config_get("vm", "hotplug_ports"), &plugin.hotplug_ports);
        if (r < 0) {
                vm_fini();
                return zero_error_set(err, r, ZERO_E_INVALID, "vm.hotplug_ports: expected 0..%d", HOTPLUG_PORTS_MAX);
        }
        /* auto: a bounded KVM boot probe, once per host (cached in the state directory): nested
         * KVM can hang once a Linux guest boots, and auto must never hang (accel.h). */
        state = svc->config_get("agent", "state_dir");
        if (streq(accel, "auto")) {
                kernel = probe_kernel(svc);
                cache = state ? zero_strdup_printf("%s/vm-accel-probe", state) : NULL;
        }
        struct zero_vm_accel_args args = {.qemu = plugin.qemu, .requested = accel, .kernel = kernel, .cache_path = cache};
        r = zero_vm_accel_choose(&args, chosen, sizeof(chosen), plugin.accel_reason, sizeof(plugin.accel_reason));
        if (r < 0) {
                vm_fini();
                return zero_error_set(err, r, ZERO_E_INTERNAL, "vm plugin: cannot choose the accelerator: %s", strerror(-r));
        }
        plugin.accel = strdup(chosen);
        if (!plugin.accel) {
                vm_fini();
                return -ENOMEM;
        }
        plugin.tpm = zero_vm_tpm_probe(plugin.swtpm, plugin.tpm_reason, sizeof(plugin.tpm_reason)) >= 0;
        plugin.svc = svc;
        vm_mon_setup(svc);
        svc->log(NULL, LOG_INFO, "vm: accelerator %s (%s%s%s)", plugin.accel, accel,
                 plugin.accel_reason[0] ? ": " : "", plugin.accel_reason);
        return 0;
}

static int vm_probe(struct zero_probe *ret) {
        _cleanup_free_ char *out = NULL;
        char *argv[] = {plugin.qemu, "--version", NULL};
        int r;

        /* ret comes zeroed, as large as the agent's struct: this plugin's own is no larger. */
        if (!plugin.svc || ret->size < offsetof(struct zero_probe, tpm))
                return plugin.svc ? -EINVAL : -ESTALE;
        if (ret->size >= sizeof(*ret)) { /* an agent of 4.8 or later */
                ret->tpm = plugin.tpm;
                snprintf(ret->tpm_reason, sizeof(ret->tpm_reason), "%s", plugin.tpm_reason);
        }
        r = zero_run_wait(argv, &out);
        if (r != 0 || !out || strncmp(out, "QEMU emulator version ", 22) != 0) {
                snprintf(ret->reason, sizeof(ret->reason), "%s does not run: %s", plugin.qemu,
                         r < 0 ? strerror(-r) : (out ? out : "no output"));
                ret->reason[strcspn(ret->reason, "\n")] = '\0';
                return 0;
        }
        out[strcspn(out, "\n")] = '\0';
        if (zero_vm_firmware_check(plugin.qemu, ret->reason, sizeof(ret->reason)) < 0)
                return 0; /* not available, and the reason says which file and package */
        snprintf(ret->runtime, sizeof(ret->runtime), "QEMU %.40s (%s)", out + 22, plugin.accel);
        snprintf(ret->accelerator, sizeof(ret->accelerator), "%s", plugin.accel);
        ret->available = true;
        ret->resource_limits_enforced = true; /* cpus and memory are the VM's */
        if (streq(plugin.accel, "tcg"))
                snprintf(ret->reason, sizeof(ret->reason), "accelerator tcg (emulation)%s%.200s", plugin.accel_reason[0] ? ": " : "",
                         plugin.accel_reason);
        return 0;
}

/* The spec asks for a vTPM (plugin.h 4.8). */
static bool info_tpm(const struct zero_instance_info *info) {
        return ZERO_ABI_HAS(info, struct zero_instance_info, tpm) && info->tpm;
}

/* Everything a start needs, from the info and the card. */
struct vm {
        char *kernel, *initrd, *qmp;
        char *tpm_socket; /* swtpm's control socket when the spec asks for a vTPM */
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
        free(v->tpm_socket);
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
        if (!info || info->size < INFO_MIN_SIZE || !info->run_dir)
                return zero_error_set(err, -EINVAL, ZERO_E_INTERNAL, "instance info too short");
        if (!info->kernel || !info->initrd || access(info->kernel, R_OK) < 0 || access(info->initrd, R_OK) < 0)
                return zero_error_set(err, -ENOENT, ZERO_E_INVALID,
                                      "image %s has no kernel and initrd: import it with \"kernel\" and \"initrd\"",
                                      strempty(info->image_name));
        v->kernel = strdup(info->kernel);
        v->initrd = strdup(info->initrd);
        v->qmp = zero_strdup_printf("%s/qmp.sock", info->run_dir);
        if (info_tpm(info)) {
                if (!plugin.tpm)
                        return zero_error_set(err, -ENOENT, ZERO_E_INVALID, "the instance has \"tpm\": true but %s",
                                              plugin.tpm_reason);
                v->tpm_socket = zero_strdup_printf("%s/%s", info->run_dir, ZERO_VM_TPM_SOCKET);
                if (!v->tpm_socket)
                        return -ENOMEM;
        }
        v->disks = calloc(info->n_volumes + 1, sizeof(*v->disks));
        v->paths = calloc(info->n_volumes + 1, sizeof(*v->paths));
        v->nics = calloc(info->n_nics + 1, sizeof(*v->nics));
        v->taps = calloc(info->n_nics + 1, sizeof(*v->taps));
        if (!v->kernel || !v->initrd || !v->qmp || !v->disks || !v->paths || !v->nics || !v->taps)
                return -ENOMEM;
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
                v->nics[v->n_nics++] = (struct zero_vm_nic){v->taps[i], n->mac, n->ip, n->prefixlen, n->gateway, n->id};
        }
        return 0;
}

/* The start receives the instance from another node (plugin.h 4.3). */
static bool info_incoming(const struct zero_instance_info *info) {
        return ZERO_ABI_HAS(info, struct zero_instance_info, incoming) && info->incoming;
}

static int vm_cmdline(const struct zero_instance_info *info, const struct vm *v, char ***ret, struct zero_error *err) {
        struct zero_vm_options o = {plugin.qemu, plugin.accel, v->kernel, v->initrd, v->qmp, true,
                                    v->n_disks,  v->disks,     v->n_nics, v->nics,  plugin.hotplug_ports,
                                    plugin.user, info_incoming(info), v->tpm_socket};
        return zero_vm_cmdline(info, &o, ret, err);
}

static int vm_prepare(struct zero_plugin_ctx *ctx, const struct zero_instance_info *info, struct zero_error *err) {
        _cleanup_(vm_done) struct vm v = {};
        _cleanup_strv_free_ char **argv = NULL;
        struct vm_inst *i;
        int r;

        prepared_drop(ctx);
        r = vm_plumb(ctx, info, &v, err);
        if (r >= 0)
                r = vm_cmdline(info, &v, &argv, err);
        if (r < 0)
                return r;
        i = vm_inst_get(plugin.svc, ctx, true);
        if (i) /* else start builds it again */
                i->prepared = TAKE_PTR(argv);
        return 0;
}

static int vm_start(struct zero_plugin_ctx *ctx, const struct zero_instance_info *info, struct zero_error *err) {
        _cleanup_(vm_done) struct vm v = {};
        _cleanup_strv_free_ char **argv = prepared_take(ctx);
        _cleanup_free_ char *qmp = qmp_path(info), *tpm_socket = NULL;
        _cleanup_strv_free_ char **tpm_argv = NULL;
        int r = qmp ? 0 : -ENOMEM;

        if (r >= 0 && !argv) {
                r = vm_plumb(ctx, info, &v, err);
                if (r >= 0)
                        r = vm_cmdline(info, &v, &argv, err);
        }
        /* The vTPM: swtpm under the same shim, started before QEMU, whose -tpmdev connects to
         * its socket (cmdline.c); its state in the instance's state directory (tpm.h). */
        if (r >= 0 && info_tpm(info))
                r = zero_vm_tpm_sidecar(plugin.swtpm, info, &tpm_argv, &tpm_socket, err);
        if (r < 0)
                return r;
        (void) unlink(qmp);
        /* stdin a pipe the shim keeps: QEMU's serial (-chardev stdio) takes an interactive
         * console's input from it (zeroctl console -i). */
        struct zero_shim_args args = {.size = sizeof(args),
                                      .argv = (const char *const *) argv,
                                      .stdin_pipe = true,
                                      .sidecar_argv = (const char *const *) tpm_argv,
                                      .sidecar_ready = tpm_socket};
        r = plugin.svc->shim_spawn(ctx, &args, err);
        return r < 0 ? zero_error_default(err, r, "cannot start the VM's shim") : 0;
}


static int vm_kill(struct zero_plugin_ctx *ctx, const struct zero_instance_info *info, int signal,
                   struct zero_error *err) {
        _cleanup_free_ char *qmp = qmp_path(info);
        struct vm_mon *m;
        int r;

        /* QEMU's own exit first: it flushes what the disks' backends buffer. */
        if (signal == SIGKILL && qmp && vm_mon_get(ctx, qmp, &m) >= 0 && vm_mon_quit(m) >= 0)
                return 0;
        r = plugin.svc->shim_signal(ctx, signal, err);
        return r < 0 ? zero_error_default(err, r, "cannot signal QEMU") : 0;
}

static int vm_stop(struct zero_plugin_ctx *ctx, const struct zero_instance_info *info, struct zero_error *err) {
        _cleanup_free_ char *qmp = qmp_path(info);
        struct vm_mon *m;
        int r;

        /* ACPI power button: a guest that handles it powers off and QEMU exits; the agent kills
         * QEMU after the stop timeout otherwise (vm_kill). */
        r = qmp ? vm_mon_get(ctx, qmp, &m) : -ENOMEM;
        if (r >= 0)
                r = vm_mon_powerdown(m);
        if (r < 0)
                return zero_error_set(err, r, ZERO_E_RUNTIME, "cannot ask the guest to power off over %s: %s",
                                      strempty(qmp), strerror(-r));
        return 0;
}

/* The ids of the -device options zero_vm_cmdline() gives the disks and NICs. */
static char **device_ids(const struct zero_instance_info *info) {
        char **ids = calloc(info->n_volumes + info->n_nics + 1, sizeof(char *));
        char id[ZERO_VM_QEMU_ID_MAX];
        size_t k = 0;

        for (size_t i = 0; ids && i < info->n_volumes + info->n_nics; i++) {
                if (i < info->n_volumes)
                        zero_qemu_id(ZERO_VM_DISK_ID, info->volumes[i].id, id);
                else
                        zero_qemu_id(ZERO_VM_NIC_ID, info->nics[i - info->n_volumes].id, id);
                if (!(ids[k++] = strdup(id))) {
                        strv_free(ids);
                        return NULL;
                }
        }
        return ids;
}

static int vm_boot(struct zero_plugin_ctx *ctx, const struct zero_instance_info *info, struct zero_error *err) {
        _cleanup_free_ char *qmp = qmp_path(info);
        _cleanup_strv_free_ char **ids = NULL;

        if (!info || info->size < INFO_MIN_SIZE)
                return zero_error_set(err, -EINVAL, ZERO_E_INTERNAL, "instance info too short");
        ids = device_ids(info);
        if (!qmp || !ids)
                return -ENOMEM;
        return vm_mon_boot(ctx, qmp, ids, err);
}

static int vm_adopt(struct zero_plugin_ctx *ctx, const struct zero_instance_info *info, struct zero_error *err) {
        _cleanup_free_ char *qmp = qmp_path(info);
        struct vm_mon *m;
        int r = qmp ? vm_mon_get(ctx, qmp, &m) : -ENOMEM;

        return r < 0 ? zero_error_set(err, r, ZERO_E_RUNTIME, "cannot reconnect to QEMU over %s: %s",
                                      strempty(qmp), strerror(-r))
                     : 0;
}

static int vm_status(struct zero_plugin_ctx *ctx, char *ret, size_t size) {
        const char *s = vm_mon_status(vm_mon_find(ctx));

        if (!s)
                return -ENODATA;
        snprintf(ret, size, "%s", s);
        return 0;
}

static int vm_plug_volume(struct zero_plugin_ctx *ctx, const struct zero_instance_info *info,
                          const struct zero_volume_info *vol, struct zero_error *err) {
        return vm_hotplug_volume(ctx, info, vol, true, err);
}

static int vm_unplug_volume(struct zero_plugin_ctx *ctx, const struct zero_instance_info *info,
                            const struct zero_volume_info *vol, struct zero_error *err) {
        return vm_hotplug_volume(ctx, info, vol, false, err);
}

static int vm_plug_nic(struct zero_plugin_ctx *ctx, const struct zero_instance_info *info,
                       const struct zero_nic_info *nic, struct zero_error *err) {
        return vm_hotplug_nic(ctx, info, nic, true, err);
}

static int vm_unplug_nic(struct zero_plugin_ctx *ctx, const struct zero_instance_info *info,
                         const struct zero_nic_info *nic, struct zero_error *err) {
        return vm_hotplug_nic(ctx, info, nic, false, err);
}

static int vm_cleanup(struct zero_plugin_ctx *ctx, const struct zero_instance_info *info, struct zero_error *err) {
        _cleanup_free_ char *qmp = NULL;
        int r, ret = 0;

        if (!info || info->size < INFO_MIN_SIZE)
                return zero_error_set(err, -EINVAL, ZERO_E_INTERNAL, "instance info too short");
        vm_mon_release(ctx); /* QEMU is gone */
        prepared_drop(ctx);
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
        qmp = qmp_path(info);
        if (qmp)
                (void) unlink(qmp);
        if (info->run_dir) {
                _cleanup_free_ char *tpm = zero_strdup_printf("%s/%s", info->run_dir, ZERO_VM_TPM_SOCKET);
                if (tpm)
                        (void) unlink(tpm);
        }
        return ret;
}

/* A VM takes a virtio-blk disk as a vhost-user-blk export, the other personalities as NBD, and
 * each NIC as a tap (plugin.h, 4.2): the agent makes them before prepare and before a hot-plug,
 * whose calls to the card then only read what was made. */
static int vm_card_needs(struct zero_plugin_ctx *ctx, const struct zero_instance_info *info,
                         struct zero_card_needs *ret, struct zero_error *err) {
        if (!info || info->size < INFO_MIN_SIZE || !ret || !ZERO_ABI_HAS(ret, struct zero_card_needs, nic_attach) ||
            (info->n_volumes > 0 && !ret->volume_export) || (info->n_nics > 0 && !ret->nic_attach))
                return zero_error_set(err, -EINVAL, ZERO_E_INTERNAL, "card needs: instance info or answer too short");
        for (size_t i = 0; i < info->n_volumes; i++)
                ret->volume_export[i] = export_kind(info->volumes[i].personality);
        for (size_t i = 0; i < info->n_nics; i++)
                ret->nic_attach[i] = "tap";
        return 0;
}

static void vm_release(struct zero_plugin_ctx *ctx) {
        vm_mon_release(ctx); /* and the hot-plug and migration jobs with it */
        vm_migrate_release(ctx);
        prepared_drop(ctx);
        vm_inst_free(plugin.svc, ctx);
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
                .boot = vm_boot,
                .adopt = vm_adopt,
                .status = vm_status,
                .plug_volume = vm_plug_volume,
                .unplug_volume = vm_unplug_volume,
                .plug_nic = vm_plug_nic,
                .unplug_nic = vm_unplug_nic,
                .release = vm_release,
                .card_needs = vm_card_needs,
                .migrate_out = vm_migrate_out,
                .migrate_in = vm_migrate_in,
        },
};

/* The one exported symbol (ZERO_PLUGIN_ENTRY); everything else is hidden (CMakeLists.txt). */
__attribute__((visibility("default"))) const struct zero_plugin *zero_plugin_entry(void);

const struct zero_plugin *zero_plugin_entry(void) {
        return &vm_plugin;
}
