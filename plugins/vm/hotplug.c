/* SPDX-License-Identifier: Apache-2.0 */
/* Hot-plug and hot-unplug of disks and NICs over QMP (hotplug.h). */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>

#include "common/util.h"
#include "io/hotplug.h"
#include "plugins/vm/cmdline.h"
#include "plugins/vm/hotplug.h"
#include "plugins/vm/instance.h"

#define EXPORT_PATH_MAX 256

/* A hot-plug of the VM: io/hotplug.c's job, and the card's side, which is the plugin's. */
struct vm_job {
        struct zero_plugin_ctx *ctx;
        struct vm_mon *mon;
        bool plug;
        char *volume; /* the card's volume, or */
        char *nic;    /* the card's NIC */
        struct zero_hotplug *hp;
};

#define svc() vm_mon_services()

static struct vm_job *job_find(struct zero_plugin_ctx *ctx) {
        struct vm_inst *i = vm_inst_get(svc(), ctx, false);
        return i ? i->job : NULL;
}

/* Off its VM, and gone (the QMP job, if any, dropped without its done). */
static void job_free(struct vm_job *j) {
        struct vm_inst *i = vm_inst_get(svc(), j->ctx, false);

        if (i && i->job == j)
                i->job = NULL;
        j->hp = zero_hotplug_free(j->hp);
        free(j->volume);
        free(j->nic);
        free(j);
}

void vm_hotplug_release(struct zero_plugin_ctx *ctx) {
        struct vm_job *j = job_find(ctx);
        if (j)
                job_free(j);
}

/* Gives the card's export or tap back (the last step of an unplug, the undo of a failed plug). */
static int card_release(struct vm_job *j, struct zero_error *err) {
        return j->volume ? svc()->volume_unexport(j->ctx, j->volume, err) : svc()->nic_detach(j->ctx, j->nic, err);
}

void vm_hotplug_event(struct zero_plugin_ctx *ctx, const char *name, json_t *data) {
        struct vm_job *j = job_find(ctx);
        if (j)
                zero_hotplug_event(j->hp, name, data);
}

static int job_send(void *userdata, const char *execute, json_t *args, zero_qmp_reply_fn cb, void *cb_userdata) {
        struct vm_job *j = userdata;
        return vm_mon_command(j->mon, execute, args, cb, cb_userdata);
}

/* QEMU is done: the card's side follows (a failed plug's export given back; an unplugged
 * device's export given back last), then the agent hears it. */
static void on_hotplug_done(void *userdata, int r, const struct zero_error *err) {
        struct vm_job *j = userdata;
        struct zero_plugin_ctx *ctx = j->ctx;
        bool plug = j->plug;
        struct zero_error e = r < 0 && err ? *err : (struct zero_error){};

        j->hp = NULL; /* gone with its done */
        if (r < 0 && plug)
                (void) card_release(j, NULL);
        else if (r >= 0 && !plug) {
                r = card_release(j, &e);
                if (r > 0)
                        r = 0;
        }
        if (r < 0)
                svc()->log(ctx, LOG_WARNING, "vm: %s a %s failed: %s", plug ? "plugging" : "unplugging",
                           j->volume ? "disk" : "NIC", e.message[0] ? e.message : strerror(-r));
        else
                svc()->log(ctx, LOG_INFO, "vm: %s the %s of %s", plug ? "plugged" : "unplugged",
                           j->volume ? "disk" : "NIC", j->volume ? j->volume : j->nic);
        job_free(j);
        svc()->done(ctx, r, r < 0 ? &e : NULL);
}

/* --- entry points --- */

/* Starts spec's QMP job for j (its card side asked for already, given back here on failure). */
static int job_start(struct zero_plugin_ctx *ctx, const struct zero_instance_info *info, struct vm_job *j,
                     struct zero_hotplug_spec *spec, struct zero_error *err) {
        _cleanup_free_ char *qmp = zero_strdup_printf("%s/qmp.sock", strempty(info->run_dir));
        json_auto_t *back_args = spec->back_args, *dev_args = spec->dev_args;
        struct vm_inst *i;
        int r;

        j->ctx = ctx;
        if ((j->plug && (!back_args || !dev_args)) || !qmp || (!j->volume && !j->nic)) {
                r = -ENOMEM;
                goto fail;
        }
        if (job_find(ctx)) {
                r = zero_error_set(err, -EBUSY, ZERO_E_BUSY, "a device of this VM is being plugged or unplugged");
                goto fail;
        }
        r = vm_mon_get(ctx, qmp, &j->mon);
        if (r < 0) {
                r = zero_error_set(err, r, ZERO_E_WRONG_STATE, "the VM's QEMU does not answer on %s: %s", qmp,
                                   strerror(-r));
                goto fail;
        }
        i = vm_inst_get(svc(), ctx, true);
        if (!i) {
                r = -ENOMEM;
                goto fail;
        }
        spec->back_args = TAKE_PTR(back_args);
        spec->dev_args = TAKE_PTR(dev_args);
        spec->unplug_timeout_usec = VM_HOTPLUG_UNPLUG_TIMEOUT_USEC;
        r = zero_hotplug_start(svc()->event, spec, job_send, j, on_hotplug_done, j, &j->hp);
        if (r < 0) {
                r = zero_error_set(err, r, ZERO_E_RUNTIME, "cannot talk to QEMU: %s", strerror(-r));
                goto fail;
        }
        i->job = j;
        return ZERO_PLUGIN_PENDING;
fail:
        if (j->plug)
                (void) card_release(j, NULL);
        job_free(j);
        return r;
}

int vm_hotplug_volume(struct zero_plugin_ctx *ctx, const struct zero_instance_info *info,
                      const struct zero_volume_info *vol, bool plug, struct zero_error *err) {
        bool vhost = streq(vol->personality, "virtio-blk"), scsi = streq(vol->personality, "virtio-scsi");
        struct vm_job *j = calloc(1, sizeof(*j));
        char path[EXPORT_PATH_MAX] = "", serial[21], dev[ZERO_VM_QEMU_ID_MAX], back[ZERO_VM_QEMU_ID_MAX];
        struct zero_hotplug_spec spec = {.plug = plug,
                                         .needs_port = !scsi,
                                         .dev = dev,
                                         .back = back,
                                         .back_add = vhost ? "chardev-add" : "blockdev-add",
                                         .back_del = vhost ? "chardev-remove" : "blockdev-del",
                                         .back_key = vhost ? "id" : "node-name"};
        int r;

        if (!j)
                return -ENOMEM;
        j->plug = plug;
        j->volume = strdup(vol->name);
        zero_qemu_id(ZERO_VM_DISK_ID, vol->id, dev);
        zero_qemu_id(vhost ? ZERO_VM_VHOST_ID : ZERO_VM_NBD_ID, vol->id, back);
        if (plug) {
                r = svc()->volume_export(ctx, vol->name, vhost ? "vhost-user-blk" : "nbd", path, sizeof(path), err);
                if (r < 0) {
                        job_free(j);
                        return zero_error_default(err, r, "cannot export the volume");
                }
        }
        snprintf(serial, sizeof(serial), "%.20s", vol->id);
        if (plug && vhost)
                spec.back_args = json_pack("{s:s,s:{s:s,s:{s:{s:s,s:{s:s}},s:b}}}", "id", back, "backend", "type",
                                           "socket", "data", "addr", "type", "unix", "data", "path", path, "server", false);
        else if (plug)
                spec.back_args = zero_qemu_nbd_blockdev(back, path);
        if (vhost)
                spec.dev_args = json_pack("{s:s,s:s,s:s,s:i}", "driver", "vhost-user-blk-pci", "id", dev, "chardev", back,
                                          "num-queues", 1);
        else
                spec.dev_args = zero_qemu_disk_device(vol->personality, dev, back, serial, ZERO_VM_SCSI_ID ".0");
        if (plug && !spec.back_args) {
                json_decref(spec.dev_args);
                (void) card_release(j, NULL);
                job_free(j);
                return zero_error_set(err, -EINVAL, ZERO_E_INTERNAL, "the card's export %s is not usable", path);
        }
        return job_start(ctx, info, j, &spec, err);
}

int vm_hotplug_nic(struct zero_plugin_ctx *ctx, const struct zero_instance_info *info, const struct zero_nic_info *nic,
                   bool plug, struct zero_error *err) {
        struct vm_job *j = calloc(1, sizeof(*j));
        char tap[EXPORT_PATH_MAX] = "", dev[ZERO_VM_QEMU_ID_MAX], back[ZERO_VM_QEMU_ID_MAX];
        struct zero_hotplug_spec spec = {.plug = plug,
                                         .needs_port = true,
                                         .dev = dev,
                                         .back = back,
                                         .back_add = "netdev_add",
                                         .back_del = "netdev_del",
                                         .back_key = "id"};
        int r;

        if (!j)
                return -ENOMEM;
        j->plug = plug;
        j->nic = strdup(nic->id);
        zero_qemu_id(ZERO_VM_NIC_ID, nic->id, dev);
        zero_qemu_id(ZERO_VM_NETDEV_ID, nic->id, back);
        if (plug) {
                r = svc()->nic_attach(ctx, nic->id, "tap", NULL, tap, sizeof(tap), err);
                if (r < 0) {
                        job_free(j);
                        return zero_error_default(err, r, "cannot attach the NIC's tap");
                }
        }
        spec.back_args = json_pack("{s:s,s:s,s:s,s:s,s:s}", "type", "tap", "id", back, "ifname", tap, "script", "no",
                                   "downscript", "no");
        spec.dev_args = json_pack("{s:s,s:s,s:s,s:s,s:s}", "driver", "virtio-net-pci", "id", dev, "netdev", back, "mac",
                                  strempty(nic->mac), "romfile", "");
        return job_start(ctx, info, j, &spec, err);
}
