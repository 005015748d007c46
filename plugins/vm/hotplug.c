/* SPDX-License-Identifier: Apache-2.0 */
/* Hot-plug and hot-unplug of disks and NICs over QMP (hotplug.h). */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>

#include "common/util.h"
#include "plugins/vm/cmdline.h"
#include "plugins/vm/hotplug.h"
#include "plugins/vm/instance.h"

#define EXPORT_PATH_MAX 256
/* A guest loses a device_del that comes before its ACPI hot-plug driver is up, and QEMU never
 * says so: device_del is sent again at this interval until DEVICE_DELETED. */
#define UNPLUG_RETRY_USEC (1ULL * 1000000ULL)

struct vm_job {
        struct zero_plugin_ctx *ctx;
        /* Replies still owed to the job, and whether it is over: an ended job (done() called, or
         * released) lives on until its last reply came (job_reply), which then frees it. */
        unsigned n_pending;
        bool ended;
        struct vm_mon *mon;
        bool plug;
        bool needs_port;             /* a PCI device (all but SCSI disks) */
        char dev[ZERO_VM_QEMU_ID_MAX];  /* the -device id */
        char back[ZERO_VM_QEMU_ID_MAX]; /* its backend's id */
        const char *back_del;        /* "chardev-remove", "blockdev-del", "netdev_del" */
        const char *back_key;        /* their argument: "id" or "node-name" */
        const char *back_add;        /* "chardev-add", "blockdev-add", "netdev_add" */
        json_t *back_args;           /* for back_add */
        json_t *dev_args;            /* for device_add, without "bus" for a PCI device */
        char *volume;                /* the card's volume, or */
        char *nic;                   /* the card's NIC */
        sd_event_source *timer;      /* the unplug's bound */
        sd_event_source *retry;      /* the next device_del */
        struct zero_error add_err;   /* why device_add failed, told once its backend is gone */
};

#define svc() vm_mon_services()

static struct vm_job *job_find(struct zero_plugin_ctx *ctx) {
        struct vm_inst *i = vm_inst_get(svc(), ctx, false);
        return i ? i->job : NULL;
}

static void job_destroy(struct vm_job *j) {
        json_decref(j->back_args);
        json_decref(j->dev_args);
        free(j->volume);
        free(j->nic);
        free(j);
}

/* The job is over: off its VM, timers gone; freed now or by its last reply. */
static void job_free(struct vm_job *j) {
        struct vm_inst *i = vm_inst_get(svc(), j->ctx, false);

        if (i && i->job == j)
                i->job = NULL;
        j->ended = true;
        j->timer = sd_event_source_disable_unref(j->timer);
        j->retry = sd_event_source_disable_unref(j->retry);
        if (j->n_pending == 0)
                job_destroy(j);
}

/* At the top of every reply callback: false when the job is over (then it touches nothing). */
static bool job_reply(struct vm_job *j) {
        j->n_pending--;
        if (!j->ended)
                return true;
        if (j->n_pending == 0)
                job_destroy(j);
        return false;
}

static int job_send(struct vm_job *j, const char *execute, json_t *args, zero_qmp_reply_fn cb) {
        int r = vm_mon_command(j->mon, execute, args, cb, j);
        if (r >= 0)
                j->n_pending++;
        return r;
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

static void job_end(struct vm_job *j, int r, const struct zero_error *err) {
        struct zero_plugin_ctx *ctx = j->ctx;

        if (r < 0)
                svc()->log(ctx, LOG_WARNING, "vm: %s %s failed: %s", j->plug ? "plugging" : "unplugging", j->dev,
                           err ? err->message : strerror(-r));
        else
                svc()->log(ctx, LOG_INFO, "vm: %s %s", j->plug ? "plugged" : "unplugged", j->dev);
        job_free(j);
        svc()->done(ctx, r, err);
}

static void job_fail(struct vm_job *j, int r, const char *what, const struct zero_error *qerr) {
        struct zero_error err = {.code = ZERO_E_RUNTIME};

        snprintf(err.message, sizeof(err.message), "%s %s: %.400s", what, j->dev,
                 qerr && qerr->message[0] ? qerr->message : strerror(-r));
        if (j->plug)
                (void) card_release(j, NULL); /* the backend, if any, was taken back already */
        job_end(j, r, &err);
}

/* QMP's answer to deleting something that is not there (any more). */
static bool is_not_found(int r, const struct zero_error *err) {
        return r == -EIO && err && (strstr(err->message, "not found") || strstr(err->message, "No such") ||
                                    strstr(err->message, "Failed to find"));
}

static int command(struct vm_job *j, const char *execute, json_t *args, zero_qmp_reply_fn cb) {
        int r = job_send(j, execute, args, cb);
        if (r < 0)
                job_fail(j, r, "cannot talk to QEMU about", NULL);
        return r;
}

/* --- unplug --- */

static void on_back_deleted(struct zero_qmp *q, int r, json_t *v, const struct zero_error *err, void *userdata) {
        struct vm_job *j = userdata;
        struct zero_error cerr = {};

        if (!job_reply(j))
                return;
        if (r < 0 && !is_not_found(r, err))
                return job_fail(j, r, "cannot delete the backend of", err);
        if (j->plug) /* the undo of a failed device_add */
                return job_fail(j, -EIO, "QEMU refused", &j->add_err);
        r = card_release(j, &cerr);
        job_end(j, r < 0 ? r : 0, r < 0 ? &cerr : NULL);
}

static void back_delete(struct vm_job *j) {
        (void) command(j, j->back_del, json_pack("{s:s}", j->back_key, j->back), on_back_deleted);
}

static int on_unplug_timeout(sd_event_source *s, uint64_t usec, void *userdata) {
        struct vm_job *j = userdata;
        struct zero_error err = {.code = ZERO_E_TIMEOUT};

        j->timer = sd_event_source_disable_unref(j->timer);
        snprintf(err.message, sizeof(err.message),
                 "the guest did not release %s within %llu s (device_del): it stays attached; try again", j->dev,
                 VM_HOTPLUG_UNPLUG_TIMEOUT_USEC / 1000000ULL);
        job_end(j, -ETIMEDOUT, &err);
        return 0;
}

/* The unplug waits for the guest while j->timer runs. */
static void unplug_released(struct vm_job *j) {
        j->timer = sd_event_source_disable_unref(j->timer);
        j->retry = sd_event_source_disable_unref(j->retry);
        back_delete(j);
}

void vm_hotplug_event(struct zero_plugin_ctx *ctx, const char *name, json_t *data) {
        struct vm_job *j = job_find(ctx);

        /* Match on "device": virtio devices send one for their virtio-backend child first, without it. */
        if (j && !j->plug && j->timer && streq(name, "DEVICE_DELETED") &&
            streq(strempty(json_string_value(json_object_get(data, "device"))), j->dev))
                unplug_released(j);
}

static void on_device_del(struct zero_qmp *q, int r, json_t *v, const struct zero_error *err, void *userdata);

static int on_unplug_retry(sd_event_source *s, uint64_t usec, void *userdata) {
        struct vm_job *j = userdata;

        j->retry = sd_event_source_disable_unref(j->retry);
        (void) command(j, "device_del", json_pack("{s:s}", "id", j->dev), on_device_del);
        return 0;
}

static void on_device_del(struct zero_qmp *q, int r, json_t *v, const struct zero_error *err, void *userdata) {
        struct vm_job *j = userdata;

        if (!job_reply(j) || !j->timer)
                return; /* released meanwhile */
        if (is_not_found(r, err))
                return unplug_released(j); /* gone, and its event seen before we listened */
        if (r < 0) {
                j->timer = sd_event_source_disable_unref(j->timer);
                return job_fail(j, r, "QEMU refused to unplug", err);
        }
        /* Now the guest's turn: DEVICE_DELETED (vm_hotplug_event), or the timer. */
        r = sd_event_add_time_relative(svc()->event, &j->retry, CLOCK_MONOTONIC, UNPLUG_RETRY_USEC, 10 * 1000,
                                       on_unplug_retry, j);
        if (r < 0)
                svc()->log(j->ctx, LOG_WARNING, "vm: cannot arm the device_del retry of %s: %s", j->dev, strerror(-r));
}

/* --- plug --- */

static void on_device_add(struct zero_qmp *q, int r, json_t *v, const struct zero_error *err, void *userdata) {
        struct vm_job *j = userdata;

        if (!job_reply(j))
                return;
        if (r >= 0)
                return job_end(j, 0, NULL);
        j->add_err = *err;
        back_delete(j); /* then job_fail */
}

static void on_back_added(struct zero_qmp *q, int r, json_t *v, const struct zero_error *err, void *userdata) {
        struct vm_job *j = userdata;

        if (!job_reply(j))
                return;
        /* "Duplicate ID" / "already exists": added by a plug that a crash interrupted. */
        if (r < 0 && !(r == -EIO && (strstr(err->message, "uplicate") || strstr(err->message, "already"))))
                return job_fail(j, r, "QEMU refused the backend of", err);
        (void) command(j, "device_add", json_incref(j->dev_args), on_device_add);
}

/* The first pcie-root-port with nothing behind it: a spare, or the port of a device unplugged. */
static const char *free_port(json_t *pci) {
        size_t i, k;
        json_t *bus, *d;

        json_array_foreach(pci, i, bus) {
                json_array_foreach(json_object_get(bus, "devices"), k, d) {
                        json_t *br = json_object_get(d, "pci_bridge");
                        const char *id = json_string_value(json_object_get(d, "qdev_id"));
                        if (br && id && *id && json_array_size(json_object_get(br, "devices")) == 0)
                                return id;
                }
        }
        return NULL;
}

static void on_query_pci(struct zero_qmp *q, int r, json_t *v, const struct zero_error *err, void *userdata) {
        struct vm_job *j = userdata;
        const char *port;

        if (!job_reply(j))
                return;
        if (r < 0)
                return job_fail(j, r, "cannot list the PCI ports for", err);
        port = free_port(v);
        if (!port)
                return job_fail(j, -ENOSPC, "no free PCIe port (raise [vm] hotplug_ports) for", NULL);
        json_object_set_new(j->dev_args, "bus", json_string(port));
        (void) command(j, j->back_add, json_incref(j->back_args), on_back_added);
}

/* Whether QEMU has the device already decides where plug and unplug begin. */
static void on_devices(struct zero_qmp *q, int r, json_t *v, const struct zero_error *err, void *userdata) {
        struct vm_job *j = userdata;
        bool present = false;
        size_t i;
        json_t *e;

        if (!job_reply(j))
                return;
        if (r < 0)
                return job_fail(j, r, "cannot list the devices before", err);
        json_array_foreach(v, i, e) {
                if (streq(strempty(json_string_value(json_object_get(e, "name"))), j->dev))
                        present = true;
        }
        if (j->plug) {
                if (present)
                        return job_end(j, 0, NULL); /* plugged before a crash */
                if (j->needs_port)
                        (void) command(j, "query-pci", NULL, on_query_pci);
                else
                        (void) command(j, j->back_add, json_incref(j->back_args), on_back_added);
                return;
        }
        if (!present)
                return back_delete(j); /* unplugged before a crash */
        r = sd_event_add_time_relative(svc()->event, &j->timer, CLOCK_MONOTONIC, VM_HOTPLUG_UNPLUG_TIMEOUT_USEC, 0,
                                       on_unplug_timeout, j);
        if (r < 0)
                return job_fail(j, r, "cannot arm the timer to unplug", NULL);
        (void) command(j, "device_del", json_pack("{s:s}", "id", j->dev), on_device_del);
}

/* --- entry points --- */

static int job_start(struct zero_plugin_ctx *ctx, const struct zero_instance_info *info, struct vm_job *j,
                     struct zero_error *err) {
        _cleanup_free_ char *qmp = zero_strdup_printf("%s/qmp.sock", strempty(info->run_dir));
        struct vm_inst *i;
        int r;

        j->ctx = ctx;
        if (!j->back_args || !j->dev_args || !qmp) {
                job_free(j);
                return -ENOMEM;
        }
        if (job_find(ctx)) {
                job_free(j);
                return zero_error_set(err, -EBUSY, ZERO_E_BUSY, "a device of this VM is being plugged or unplugged");
        }
        r = vm_mon_get(ctx, qmp, &j->mon);
        if (r < 0) {
                if (j->plug)
                        (void) card_release(j, NULL);
                job_free(j);
                return zero_error_set(err, r, ZERO_E_WRONG_STATE, "the VM's QEMU does not answer on %s: %s", qmp,
                                      strerror(-r));
        }
        i = vm_inst_get(svc(), ctx, true);
        if (!i) {
                if (j->plug)
                        (void) card_release(j, NULL);
                job_free(j);
                return -ENOMEM;
        }
        i->job = j;
        r = job_send(j, "qom-list", json_pack("{s:s}", "path", "/machine/peripheral"), on_devices);
        if (r < 0) {
                if (j->plug)
                        (void) card_release(j, NULL);
                job_free(j);
                return zero_error_set(err, r, ZERO_E_RUNTIME, "cannot talk to QEMU: %s", strerror(-r));
        }
        return ZERO_PLUGIN_PENDING;
}

int vm_hotplug_volume(struct zero_plugin_ctx *ctx, const struct zero_instance_info *info,
                      const struct zero_volume_info *vol, bool plug, struct zero_error *err) {
        bool vhost = streq(vol->personality, "virtio-blk"), scsi = streq(vol->personality, "virtio-scsi");
        struct vm_job *j = calloc(1, sizeof(*j));
        char path[EXPORT_PATH_MAX] = "", serial[21];
        _cleanup_free_ char *copy = NULL;
        const char *name = NULL, *sock = NULL;
        int r;

        if (!j)
                return -ENOMEM;
        j->plug = plug;
        j->needs_port = !scsi;
        j->volume = strdup(vol->name);
        zero_vm_qemu_id(ZERO_VM_DISK_ID, vol->id, j->dev);
        zero_vm_qemu_id(vhost ? ZERO_VM_VHOST_ID : ZERO_VM_NBD_ID, vol->id, j->back);
        j->back_add = vhost ? "chardev-add" : "blockdev-add";
        j->back_del = vhost ? "chardev-remove" : "blockdev-del";
        j->back_key = vhost ? "id" : "node-name";
        if (plug) {
                r = svc()->volume_export(ctx, vol->name, vhost ? "vhost-user-blk" : "nbd", path, sizeof(path), err);
                if (r < 0) {
                        job_free(j);
                        return zero_error_default(err, r, "cannot export the volume");
                }
        }
        snprintf(serial, sizeof(serial), "%.20s", vol->id);
        if (plug && vhost)
                j->back_args = json_pack("{s:s,s:{s:s,s:{s:{s:s,s:{s:s}},s:b}}}", "id", j->back, "backend", "type", "socket",
                                         "data", "addr", "type", "unix", "data", "path", path, "server", false);
        else if (plug && zero_vm_nbd_uri_split(path, &copy, &name, &sock) >= 0)
                j->back_args = json_pack("{s:s,s:s,s:s,s:{s:s,s:s}}", "driver", "nbd", "node-name", j->back, "export",
                                         name, "server", "type", "unix", "path", sock);
        else if (!plug)
                j->back_args = json_object();
        if (vhost)
                j->dev_args = json_pack("{s:s,s:s,s:s,s:i}", "driver", "vhost-user-blk-pci", "id", j->dev, "chardev",
                                        j->back, "num-queues", 1);
        else if (scsi)
                j->dev_args = json_pack("{s:s,s:s,s:s,s:s,s:s}", "driver", "scsi-hd", "id", j->dev, "bus",
                                        ZERO_VM_SCSI_ID ".0", "drive", j->back, "serial", serial);
        else
                j->dev_args = json_pack("{s:s,s:s,s:s,s:s}", "driver", "nvme", "id", j->dev, "drive", j->back, "serial",
                                        serial);
        if (plug && !j->back_args) {
                (void) card_release(j, NULL);
                job_free(j);
                return zero_error_set(err, -EINVAL, ZERO_E_INTERNAL, "the card's export %s is not usable", path);
        }
        return j->volume ? job_start(ctx, info, j, err) : (job_free(j), -ENOMEM);
}

int vm_hotplug_nic(struct zero_plugin_ctx *ctx, const struct zero_instance_info *info, const struct zero_nic_info *nic,
                   bool plug, struct zero_error *err) {
        struct vm_job *j = calloc(1, sizeof(*j));
        char tap[EXPORT_PATH_MAX] = "";
        int r;

        if (!j)
                return -ENOMEM;
        j->plug = plug;
        j->needs_port = true;
        j->nic = strdup(nic->id);
        zero_vm_qemu_id(ZERO_VM_NIC_ID, nic->id, j->dev);
        zero_vm_qemu_id(ZERO_VM_NETDEV_ID, nic->id, j->back);
        j->back_add = "netdev_add";
        j->back_del = "netdev_del";
        j->back_key = "id";
        if (plug) {
                r = svc()->nic_attach(ctx, nic->id, "tap", NULL, tap, sizeof(tap), err);
                if (r < 0) {
                        job_free(j);
                        return zero_error_default(err, r, "cannot attach the NIC's tap");
                }
        }
        j->back_args = json_pack("{s:s,s:s,s:s,s:s,s:s}", "type", "tap", "id", j->back, "ifname", tap, "script", "no",
                                 "downscript", "no");
        j->dev_args = json_pack("{s:s,s:s,s:s,s:s,s:s}", "driver", "virtio-net-pci", "id", j->dev, "netdev", j->back,
                                "mac", strempty(nic->mac), "romfile", "");
        return j->nic ? job_start(ctx, info, j, err) : (job_free(j), -ENOMEM);
}
