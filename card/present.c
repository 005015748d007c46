/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Presentations: what the card shows the host on its PCIe bus.
 *
 *   a volume  the engine's NBD export of it (the card's qemu-storage-daemon keeps the volume's
 *             clones and QoS), opened by the host VM's QEMU as a blockdev under a virtio-blk-pci,
 *             scsi-hd or nvme device whose serial is the volume's id (its first 20 characters:
 *             virtio-blk and NVMe carry no more), which the host's card driver finds it by.
 *             vhost-user-blk-pci would carry none (QEMU 7.2 has no serial property on it: its
 *             backend answers the guest's GET_ID), so the lab presents no vhost-user-blk.
 *   a NIC     its tap on the network's bridge, as a virtio-net-pci device with the NIC's MAC.
 *
 * Present = record "presenting", export, hot-plug (io/hotplug.c; skipped while the host is off:
 * the device is then on its next command line), record "presented". Withdraw = record
 * "withdrawing", hot-unplug (device_del until the guest's DEVICE_DELETED, bounded), unexport,
 * forget. Each step is idempotent (hot-plug looks at QEMU first), so a job resumed after the
 * card's crash finishes what it began. One hot-plug at a time on the host (hotplug_next()): a
 * plug takes a free PCIe port from query-pci, which two at once would both take.
 */
#include <stdio.h>
#include <string.h>

#include "card/card.h"
#include "card/host.h"
#include "card/job.h"
#include "card/store.h"
#include "common/log.h"
#include "common/util.h"
#include "io/hotplug.h"
#include "io/qemu_args.h"

/* The host's QEMU ids of a presentation, as the command line and hot-plug name them. */
#define DISK_ID "disk"
#define NBD_ID "nbd"
#define NIC_ID "nic"
#define NETDEV_ID "net"
#define DISK_PORT "pd"
#define NIC_PORT "pn"
#define SCSI_BUS HOST_SCSI_ID ".0"
/* The host's state volume (the system presentation) has a raw node of its own between its disk
 * and its NBD node, so that the hand-over can put an erroring node under the disk and the
 * take-back a freshly connected NBD node (zc_state_volume_*). */
#define SV_ID "sv"
#define CUT_ID "cut"
/* How long the host's QEMU waits for the card's daemon to come back before a disk request fails:
 * the daemon restarts in about 50 ms (softcard's qsd.c). */
#define NBD_RECONNECT_DELAY_S 10
#define UNPLUG_TIMEOUT_USEC (20ULL * 1000000ULL)
/* How long a hot-plug waits for the QMP connection of a host starting, and how often it looks. */
#define QMP_WAIT_USEC (30ULL * 1000000ULL)
#define QMP_RETRY_USEC (100ULL * 1000ULL)

static const char *str(json_t *rec, const char *key) {
        return json_string_value(json_object_get(rec, key));
}

static bool is_volume(json_t *pres) {
        return streq(strempty(str(pres, "kind")), "volume");
}

void zc_volume_serial(const char *id, char ret[static 21]) {
        snprintf(ret, 21, "%.20s", id);
}

json_t *zc_presentation_json(const char *id, json_t *rec) {
        char serial[21];
        json_t *j;

        zc_volume_serial(id, serial);
        j = json_pack("{s:s,s:s,s:s,s:b}", "id", id, "kind", strempty(str(rec, "kind")), "state",
                      strempty(str(rec, "state")), "system", json_is_true(json_object_get(rec, "system")));
        if (j && is_volume(rec)) {
                json_object_set_new(j, "personality", json_string(strempty(str(rec, "personality"))));
                json_object_set_new(j, "serial", json_string(serial));
        } else if (j)
                json_object_set_new(j, "mac", json_string(strempty(str(rec, "mac"))));
        return j;
}

static void on_engine_done(void *userdata, int r, const struct zero_card_result *res, const struct zero_error *err) {
        struct zc_job *j = userdata;

        if (r >= 0)
                snprintf(j->text, sizeof(j->text), "%s", res->text);
        zc_job_next(j, r, err);
}

/* ---- the devices ---- */

static json_t *nbd_blockdev(const char *back, const char *uri) {
        json_t *b = zero_qemu_nbd_blockdev(back, uri);

        if (b)
                json_object_set_new(b, "reconnect-delay", json_integer(NBD_RECONNECT_DELAY_S));
        return b;
}

/* What hot-plug adds for pres (or takes away: plug false): spec's ids point into ids. */
struct dev_ids {
        char dev[ZERO_HOTPLUG_ID_MAX], back[ZERO_HOTPLUG_ID_MAX], port[ZERO_HOTPLUG_ID_MAX];
};

static int device_spec(struct zc *zc, const char *id, json_t *pres, bool plug, struct dev_ids *ids,
                       struct zero_hotplug_spec *spec, struct zero_error *err) {
        bool vol = is_volume(pres);
        const char *personality = str(pres, "personality");

        zero_qemu_id(vol ? DISK_ID : NIC_ID, id, ids->dev);
        zero_qemu_id(vol ? NBD_ID : NETDEV_ID, id, ids->back);
        zero_qemu_id(vol ? DISK_PORT : NIC_PORT, id, ids->port);
        *spec = (struct zero_hotplug_spec){.plug = plug,
                                           .needs_port = !vol || !streq(strempty(personality), "virtio-scsi"),
                                           .dev = ids->dev,
                                           .back = ids->back,
                                           .back_add = vol ? "blockdev-add" : "netdev_add",
                                           .back_del = vol ? "blockdev-del" : "netdev_del",
                                           .back_key = vol ? "node-name" : "id",
                                           .unplug_timeout_usec = UNPLUG_TIMEOUT_USEC};
        if (!plug)
                return 0;
        if (vol) {
                char serial[21];
                zc_volume_serial(id, serial);
                spec->back_args = nbd_blockdev(ids->back, str(pres, "export"));
                spec->dev_args = zero_qemu_disk_device(personality, ids->dev, ids->back, serial, SCSI_BUS);
        } else {
                json_t *nic = zc_store_get(zc->store, "nics", id);
                spec->back_args = json_pack("{s:s,s:s,s:s,s:s,s:s}", "type", "tap", "id", ids->back, "ifname",
                                            strempty(str(nic, "tap")), "script", "no", "downscript", "no");
                spec->dev_args = json_pack("{s:s,s:s,s:s,s:s,s:s}", "driver", "virtio-net-pci", "id", ids->dev,
                                           "netdev", ids->back, "mac", strempty(str(nic, "mac")), "romfile", "");
        }
        if (!spec->back_args || !spec->dev_args) {
                json_decref(spec->back_args);
                json_decref(spec->dev_args);
                return zero_error_set(err, -EINVAL, ZERO_E_INTERNAL, "cannot describe the device of %s %s",
                                      vol ? "volume" : "NIC", id);
        }
        return 0;
}

static char *json_arg(json_t *j) {
        char *s = j ? json_dumps(j, JSON_COMPACT) : NULL;
        json_decref(j);
        return s;
}

int zc_present_cmdline(struct zc *zc, struct zero_argv *b, unsigned *port, struct zero_error *err) {
        json_t *pres;
        const char *id;
        int r;

        json_object_foreach(zc_store_section(zc->store, "presentations"), id, pres) {
                struct zero_hotplug_spec spec;
                struct dev_ids ids;

                if (!streq(strempty(str(pres, "state")), "presented"))
                        continue;
                r = device_spec(zc, id, pres, true, &ids, &spec, err);
                if (r < 0)
                        return r;
                if (spec.needs_port) {
                        zero_qemu_args_root_port(b, port, ids.port);
                        json_object_set_new(spec.dev_args, "bus", json_string(ids.port));
                }
                if (is_volume(pres)) {
                        zero_argv_add(b, strdup("-blockdev"));
                        zero_argv_add(b, json_arg(TAKE_PTR(spec.back_args)));
                        if (json_is_true(json_object_get(pres, "system"))) {
                                char sv[ZERO_HOTPLUG_ID_MAX];
                                zero_qemu_id(SV_ID, id, sv);
                                zero_argv_add(b, strdup("-blockdev"));
                                zero_argv_add(b, json_arg(zc_state_volume_reopen(id, false)));
                                json_object_set_new(spec.dev_args, "drive", json_string(sv));
                        }
                } else {
                        zero_argv_add(b, strdup("-netdev"));
                        ZERO_ARGV_ADD(b, "tap,id=%s,ifname=%s,script=no,downscript=no", ids.back,
                                      strempty(str(spec.back_args, "ifname")));
                }
                zero_argv_add(b, strdup("-device"));
                zero_argv_add(b, json_arg(TAKE_PTR(spec.dev_args)));
                json_decref(spec.back_args);
                if (b->r < 0)
                        return zero_error_set(err, b->r, ZERO_E_INTERNAL, "cannot add %s to the host's command line",
                                              id);
        }
        return 0;
}

/* ---- the state volume's disk, switched under the host (tenant.c) ----
 *
 * Cut: blockdev-add of a blkdebug node over null-co that fails every read and write with EIO at
 * once, blockdev-reopen of the raw node onto it, blockdev-del of the NBD node (its connection
 * closed), then the engine's export removed. The disk stays on the host's bus, so the tenant's
 * kernel sees a disk whose every read fails at once, not one that waits out the NBD client's
 * reconnect-delay (10 s) first. Back: blockdev-add of a new NBD node (QEMU connects at once, no
 * reconnect backoff), the raw node reopened onto it, the blkdebug node deleted: the host's first
 * read after its reset succeeds. */

json_t *zc_state_volume_cut(struct zc *zc, const char *id) {
        char cut[ZERO_HOTPLUG_ID_MAX];
        json_int_t size = json_integer_value(json_object_get(zc_store_get(zc->store, "volumes", id), "size_bytes"));

        zero_qemu_id(CUT_ID, id, cut);
        /* Reads and writes fail; a flush does not (a rule without "iotype" fails every kind, the
         * flush too): the take-back's blockdev-reopen flushes the node it leaves, and a host that
         * wrote meanwhile (its kernel, while a restarting card resumed the hand-over) would keep
         * its state volume's disk on this node. null-co's flush keeps nothing. */
        return json_pack("{s:s,s:s,s:{s:s,s:I},s:[{s:s,s:s,s:i},{s:s,s:s,s:i}]}", "driver", "blkdebug", "node-name",
                         cut, "image", "driver", "null-co", "size", size > 0 ? size : (json_int_t) 1 << 30,
                         "inject-error", "event", "read_aio", "iotype", "read", "errno", EIO, "event", "write_aio",
                         "iotype", "write", "errno", EIO);
}

json_t *zc_state_volume_nbd(struct zc *zc, const char *id) {
        char nbd[ZERO_HOTPLUG_ID_MAX];

        zero_qemu_id(NBD_ID, id, nbd);
        return nbd_blockdev(nbd, str(zc_store_get(zc->store, "presentations", id), "export"));
}

json_t *zc_state_volume_reopen(const char *id, bool cut) {
        char sv[ZERO_HOTPLUG_ID_MAX], file[ZERO_HOTPLUG_ID_MAX];

        zero_qemu_id(SV_ID, id, sv);
        zero_qemu_id(cut ? CUT_ID : NBD_ID, id, file);
        return json_pack("{s:s,s:s,s:s}", "driver", "raw", "node-name", sv, "file", file);
}

json_t *zc_state_volume_node(const char *id, bool cut) {
        char node[ZERO_HOTPLUG_ID_MAX];

        zero_qemu_id(cut ? CUT_ID : NBD_ID, id, node);
        return json_pack("{s:s}", "node-name", node);
}

/* ---- the steps ---- */

static const char *kind_of(struct zc_job *j) {
        return strncmp(j->object, "volume:", 7) == 0 ? "volume" : "nic";
}

static int pres_record(struct zc_job *j) {
        struct zc *zc = j->zc;
        bool vol = streq(kind_of(j), "volume");
        json_t *obj = zc_store_get(zc->store, vol ? "volumes" : "nics", j->id);
        json_t *pres = zc_store_get(zc->store, "presentations", j->id);
        const char *personality = str(j->args, "personality");

        if (!j->args) /* resumed */
                return 1;
        if (!obj || !streq(strempty(str(obj, "state")), "ready"))
                return zero_error_set(&j->err, -ENOENT, obj ? ZERO_E_WRONG_STATE : ZERO_E_NOT_FOUND,
                                      obj ? "%s %s is not ready" : "no %s %s", vol ? "volume" : "NIC", j->id);
        if (pres) {
                if (streq(strempty(str(pres, "state")), "withdrawing"))
                        return zero_error_set(&j->err, -EBUSY, ZERO_E_WRONG_STATE, "%s %s is being withdrawn",
                                              vol ? "volume" : "NIC", j->id);
                if (vol && !streq(strempty(str(pres, "personality")), strempty(personality)))
                        return zero_error_set(&j->err, -EBUSY, ZERO_E_CONFLICT,
                                              "volume %s is presented as %s: withdraw it first", j->id,
                                              strempty(str(pres, "personality")));
                return 1;
        }
        pres = json_pack("{s:s,s:s,s:b}", "kind", kind_of(j), "state", "presenting", "system",
                         json_is_true(json_object_get(j->args, "system")));
        if (pres && vol)
                json_object_set_new(pres, "personality", json_string(personality));
        return zc_step_next(zc_store_put(zc->store, "presentations", j->id, pres, &j->err));
}

static int pres_export(struct zc_job *j) {
        struct zc *zc = j->zc;
        json_t *pres = zc_store_get(zc->store, "presentations", j->id), *rec;
        struct zc_volume_desc d;
        int r;

        if (!pres || !is_volume(pres))
                return 1;
        rec = zc_store_get(zc->store, "volumes", j->id);
        if (!rec)
                return zero_error_set(&j->err, -ENOENT, ZERO_E_NOT_FOUND, "no volume %s", j->id);
        zc_volume_desc(zc, j->id, rec, &d);
        r = zc->driver->ops.volume_export(zc->card, &d.v, ZERO_CARD_EXPORT_NBD, on_engine_done, j, &j->err);
        return r < 0 ? r : 0;
}

static int pres_exported(struct zc_job *j) {
        json_t *pres = zc_store_get(j->zc->store, "presentations", j->id);

        if (!pres || !is_volume(pres) || streq(strempty(str(pres, "export")), j->text))
                return 1;
        return zc_step_next(
                zc_store_set(j->zc->store, "presentations", j->id, "export", json_string(j->text), &j->err));
}

/* The hot-plug after j's, if any, goes on (its step runs again and takes the host). */
static void hotplug_next(struct zc *zc, struct zc_job *j) {
        struct zc_job *next = j->hp_next;

        j->hp_next = NULL;
        zc->hotplugging = next;
        if (next)
                zc_job_again(next);
}

static void on_hotplug_done(void *userdata, int r, const struct zero_error *err) {
        struct zc_job *j = userdata;

        j->hp = NULL; /* gone with its done */
        hotplug_next(j->zc, j);
        /* The host went off meanwhile: QEMU and its devices are gone, and the presentation is on
         * the next command line. */
        if (r < 0 && !zc_host_qmp_up(j->zc)) {
                log_info("The host went off during the hot-plug of %s: it is %s at its "
                         "next power-on",
                         j->object, j->steps[j->step] == zc_pres_unplug ? "not" : "there");
                r = 0;
        }
        zc_job_next(j, r, err);
}

static int hotplug(struct zc_job *j, bool plug) {
        struct zc *zc = j->zc;
        json_t *pres = zc_store_get(zc->store, "presentations", j->id);
        struct zero_hotplug_spec spec;
        struct dev_ids ids;
        int r;

        if (!pres || !zc_host_qmp_up(zc))
                return 1; /* no host to plug into: the next power-on takes what is presented */
        /* A host starting (or whose QMP connection is being made again): its QEMU answers soon. */
        if (!zc_host_qmp_ready(zc)) {
                if (zero_monotonic_usec() - j->started > QMP_WAIT_USEC)
                        return zero_error_set(&j->err, -ETIMEDOUT, ZERO_E_UNAVAILABLE,
                                              "the host's QEMU does not answer on QMP");
                return zc_job_again_in(j, QMP_RETRY_USEC);
        }
        /* One at a time: the first in the queue runs, the others wait for their turn. */
        if (zc->hotplugging && zc->hotplugging != j) {
                struct zc_job **q = &zc->hotplugging->hp_next;
                while (*q && *q != j)
                        q = &(*q)->hp_next;
                *q = j;
                return 0;
        }
        zc->hotplugging = j;
        r = device_spec(zc, j->id, pres, plug, &ids, &spec, &j->err);
        if (r >= 0)
                r = zero_hotplug_start(zc->event, &spec, zc_host_qmp_send, zc, on_hotplug_done, j, &j->hp);
        if (r < 0) {
                hotplug_next(zc, j);
                if (!j->err.message[0])
                        zero_error_set(&j->err, r, ZERO_E_RUNTIME, "cannot talk to the host's QEMU: %s", strerror(-r));
                return r;
        }
        return 0;
}

static int pres_plug(struct zc_job *j) {
        return hotplug(j, true);
}

static int pres_presented(struct zc_job *j) {
        struct zc *zc = j->zc;
        json_t *pres = zc_store_get(zc->store, "presentations", j->id);
        int r = 0;

        if (!pres)
                return 1;
        if (!streq(strempty(str(pres, "state")), "presented"))
                r = zc_store_set(zc->store, "presentations", j->id, "state", json_string("presented"), &j->err);
        if (r < 0)
                return r;
        zc_job_result(j, zc_presentation_json(j->id, pres));
        if (!is_volume(pres))
                json_object_set_new(j->result, "mac",
                                    json_string(strempty(str(zc_store_get(zc->store, "nics", j->id), "mac"))));
        return 1;
}

static const zc_step_fn present_steps[] = {pres_record, pres_export, pres_exported, pres_plug, pres_presented, NULL};

int zc_pres_withdraw_begin(struct zc_job *j) {
        json_t *pres = zc_store_get(j->zc->store, "presentations", j->id);

        if (!pres || streq(strempty(str(pres, "state")), "withdrawing"))
                return 1;
        return zc_step_next(
                zc_store_set(j->zc->store, "presentations", j->id, "state", json_string("withdrawing"), &j->err));
}

int zc_pres_unplug(struct zc_job *j) {
        return hotplug(j, false);
}

int zc_pres_unexport(struct zc_job *j) {
        struct zc *zc = j->zc;
        json_t *pres = zc_store_get(zc->store, "presentations", j->id), *rec;
        struct zc_volume_desc d;
        int r;

        if (!pres || !is_volume(pres) || !(rec = zc_store_get(zc->store, "volumes", j->id)))
                return 1;
        zc_volume_desc(zc, j->id, rec, &d);
        r = zc->driver->ops.volume_unexport(zc->card, &d.v, on_engine_done, j, &j->err);
        return r < 0 ? r : 0;
}

int zc_pres_forget(struct zc_job *j) {
        return zc_step_next(zc_store_remove(j->zc->store, "presentations", j->id, &j->err));
}

static const zc_step_fn withdraw_steps[] = {zc_pres_withdraw_begin, zc_pres_unplug, zc_pres_unexport, zc_pres_forget,
                                            NULL};

int zc_present(struct zc *zc, const char *kind, const char *id, json_t *body, bool system, struct zc_job **ret,
               struct zero_error *err) {
        const char *personality = str(body, "personality") ?: zc->config->personality;
        bool vol = streq(kind, "volume");
        char object[48];

        if (vol && !streq(personality, "virtio-blk") && !streq(personality, "virtio-scsi") &&
            !streq(personality, "nvme"))
                return zero_error_set(err, -EINVAL, ZERO_E_INVALID,
                                      "personality '%s': the card presents virtio-blk, virtio-scsi or nvme",
                                      personality);
        snprintf(object, sizeof(object), "%s:%s", kind, id);
        return zc_job_submit(zc, object, id, "presentation", present_steps,
                             vol ? json_pack("{s:s,s:b}", "personality", personality, "system", system)
                                 : json_pack("{s:b}", "system", system),
                             ret);
}

int zc_withdraw(struct zc *zc, const char *kind, const char *id, struct zc_job **ret, struct zero_error *err) {
        json_t *pres = zc_store_get(zc->store, "presentations", id);
        char object[48];

        if (pres && json_is_true(json_object_get(pres, "system")))
                return zero_error_set(err, -EPERM, ZERO_E_FORBIDDEN,
                                      "%s %s is the host's state volume: the card keeps it presented", kind, id);
        snprintf(object, sizeof(object), "%s:%s", kind, id);
        return zc_job_submit(zc, object, id, "withdrawal", withdraw_steps, NULL, ret);
}

void zc_present_resume(struct zc *zc) {
        json_t *pres;
        const char *id;

        json_object_foreach(zc_store_section(zc->store, "presentations"), id, pres) {
                const char *state = strempty(str(pres, "state"));
                char object[48];
                bool withdrawing = streq(state, "withdrawing");

                if (zc_tenant_cuts(zc, id))
                        continue; /* cut while the tenant runs: its take-back exports it again */

                snprintf(object, sizeof(object), "%s:%s", strempty(str(pres, "kind")), id);
                /* A presented one too: its export and device are looked at and made if missing. */
                (void) zc_job_submit(zc, object, id, withdrawing ? "withdrawal" : "presentation",
                                     withdrawing ? withdraw_steps : present_steps, NULL, NULL);
        }
}

void zc_present_event(struct zc *zc, const char *name, json_t *data) {
        for (struct zc_job *j = zc->jobs; j; j = j->next)
                if (j->hp)
                        zero_hotplug_event(j->hp, name, data);
}
