/* SPDX-License-Identifier: Apache-2.0 */
/* Hot-plug and hot-unplug of one device over QMP (hotplug.h). */
#include "io/hotplug.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "common/util.h"

#define UNPLUG_TIMEOUT_USEC_DEFAULT (20ULL * 1000000ULL)

struct zero_hotplug {
        sd_event *event;
        zero_hotplug_send_fn send;
        void *send_userdata;
        zero_hotplug_done_fn done;
        void *userdata;
        /* Replies still owed to the job, and whether it is over: an ended job (done called, or
         * freed) lives on until its last reply came (job_reply), which then frees it. */
        unsigned n_pending;
        bool ended;
        bool plug, needs_port;
        char dev[ZERO_HOTPLUG_ID_MAX], back[ZERO_HOTPLUG_ID_MAX];
        const char *back_add, *back_del, *back_key; /* static strings */
        json_t *back_args, *dev_args;
        uint64_t unplug_timeout_usec;
        sd_event_source *timer;    /* the unplug's bound */
        sd_event_source *retry;    /* the next device_del */
        struct zero_error add_err; /* why device_add failed, told once its backend is gone */
};

static void job_destroy(struct zero_hotplug *j) {
        json_decref(j->back_args);
        json_decref(j->dev_args);
        free(j);
}

/* The job is over: timers gone; freed now or by its last reply. */
static void job_over(struct zero_hotplug *j) {
        j->ended = true;
        j->timer = sd_event_source_disable_unref(j->timer);
        j->retry = sd_event_source_disable_unref(j->retry);
        if (j->n_pending == 0)
                job_destroy(j);
}

struct zero_hotplug *zero_hotplug_free(struct zero_hotplug *j) {
        if (j && !j->ended)
                job_over(j);
        return NULL;
}

/* At the top of every reply callback: false when the job is over (then it touches nothing). */
static bool job_reply(struct zero_hotplug *j) {
        j->n_pending--;
        if (!j->ended)
                return true;
        if (j->n_pending == 0)
                job_destroy(j);
        return false;
}

static void job_end(struct zero_hotplug *j, int r, const struct zero_error *err) {
        zero_hotplug_done_fn done = j->done;
        void *userdata = j->userdata;
        struct zero_error e = r < 0 && err ? *err : (struct zero_error){};

        job_over(j);
        done(userdata, r, r < 0 ? &e : NULL);
}

static void job_fail(struct zero_hotplug *j, int r, const char *what, const struct zero_error *qerr) {
        struct zero_error err = {.code = ZERO_E_RUNTIME};

        snprintf(err.message, sizeof(err.message), "%s %s: %.400s", what, j->dev,
                 qerr && qerr->message[0] ? qerr->message : strerror(-r));
        job_end(j, r, &err);
}

/* QMP's answer to deleting something that is not there (any more). */
static bool is_not_found(int r, const struct zero_error *err) {
        return r == -EIO && err &&
               (strstr(err->message, "not found") || strstr(err->message, "No such") ||
                strstr(err->message, "Failed to find"));
}

static int command(struct zero_hotplug *j, const char *execute, json_t *args, zero_qmp_reply_fn cb) {
        int r = j->send(j->send_userdata, execute, args, cb, j);
        if (r >= 0)
                j->n_pending++;
        else
                job_fail(j, r, "cannot talk to QEMU about", NULL);
        return r;
}

/* --- unplug --- */

static void on_back_deleted(struct zero_qmp *q, int r, json_t *v, const struct zero_error *err, void *userdata) {
        struct zero_hotplug *j = userdata;

        if (!job_reply(j))
                return;
        if (r < 0 && !is_not_found(r, err))
                return job_fail(j, r, "cannot delete the backend of", err);
        if (j->plug) /* the undo of a failed device_add */
                return job_fail(j, -EIO, "QEMU refused", &j->add_err);
        job_end(j, 0, NULL);
}

static void back_delete(struct zero_hotplug *j) {
        (void) command(j, j->back_del, json_pack("{s:s}", j->back_key, j->back), on_back_deleted);
}

static int on_unplug_timeout(sd_event_source *s, uint64_t usec, void *userdata) {
        struct zero_hotplug *j = userdata;
        struct zero_error err = {.code = ZERO_E_TIMEOUT};

        j->timer = sd_event_source_disable_unref(j->timer);
        snprintf(err.message, sizeof(err.message),
                 "the guest did not release %s within %llu s (device_del): it stays attached; try again", j->dev,
                 (unsigned long long) (j->unplug_timeout_usec / USEC_PER_SEC));
        job_end(j, -ETIMEDOUT, &err);
        return 0;
}

/* The unplug waits for the guest while j->timer runs. */
static void unplug_released(struct zero_hotplug *j) {
        j->timer = sd_event_source_disable_unref(j->timer);
        j->retry = sd_event_source_disable_unref(j->retry);
        back_delete(j);
}

void zero_hotplug_event(struct zero_hotplug *j, const char *name, json_t *data) {
        /* Match on "device": virtio devices send one for their virtio-backend child first, without it. */
        if (j && !j->ended && !j->plug && j->timer && streq(name, "DEVICE_DELETED") &&
            streq(strempty(json_string_value(json_object_get(data, "device"))), j->dev))
                unplug_released(j);
}

static void on_device_del(struct zero_qmp *q, int r, json_t *v, const struct zero_error *err, void *userdata);

static int on_unplug_retry(sd_event_source *s, uint64_t usec, void *userdata) {
        struct zero_hotplug *j = userdata;

        j->retry = sd_event_source_disable_unref(j->retry);
        (void) command(j, "device_del", json_pack("{s:s}", "id", j->dev), on_device_del);
        return 0;
}

static void on_device_del(struct zero_qmp *q, int r, json_t *v, const struct zero_error *err, void *userdata) {
        struct zero_hotplug *j = userdata;

        if (!job_reply(j) || !j->timer)
                return; /* released meanwhile */
        if (is_not_found(r, err))
                return unplug_released(j); /* gone, and its event seen before we listened */
        if (r < 0) {
                j->timer = sd_event_source_disable_unref(j->timer);
                return job_fail(j, r, "QEMU refused to unplug", err);
        }
        /* Now the guest's turn: DEVICE_DELETED (zero_hotplug_event), or the timer. */
        (void) sd_event_add_time_relative(j->event, &j->retry, CLOCK_MONOTONIC, ZERO_HOTPLUG_RETRY_USEC, 10 * 1000,
                                          on_unplug_retry, j);
}

/* --- plug --- */

static void on_device_add(struct zero_qmp *q, int r, json_t *v, const struct zero_error *err, void *userdata) {
        struct zero_hotplug *j = userdata;

        if (!job_reply(j))
                return;
        if (r >= 0)
                return job_end(j, 0, NULL);
        j->add_err = *err;
        back_delete(j); /* then job_fail */
}

static void on_back_added(struct zero_qmp *q, int r, json_t *v, const struct zero_error *err, void *userdata) {
        struct zero_hotplug *j = userdata;

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
        struct zero_hotplug *j = userdata;
        const char *port;

        if (!job_reply(j))
                return;
        if (r < 0)
                return job_fail(j, r, "cannot list the PCI ports for", err);
        port = free_port(v);
        if (!port)
                return job_fail(j, -ENOSPC, "no free PCIe port (spare hot-plug ports are all taken) for", NULL);
        json_object_set_new(j->dev_args, "bus", json_string(port));
        /* Slot 0 and nothing else: Linux scans only that one behind a PCIe port, and QEMU would put
         * a second device on a taken port's next slot, where the guest never sees it. */
        json_object_set_new(j->dev_args, "addr", json_string("0.0"));
        (void) command(j, j->back_add, json_incref(j->back_args), on_back_added);
}

/* Whether QEMU has the device already decides where plug and unplug begin. */
static void on_devices(struct zero_qmp *q, int r, json_t *v, const struct zero_error *err, void *userdata) {
        struct zero_hotplug *j = userdata;
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
        r = sd_event_add_time_relative(j->event, &j->timer, CLOCK_MONOTONIC, j->unplug_timeout_usec, 0,
                                       on_unplug_timeout, j);
        if (r < 0)
                return job_fail(j, r, "cannot arm the timer to unplug", NULL);
        (void) command(j, "device_del", json_pack("{s:s}", "id", j->dev), on_device_del);
}

int zero_hotplug_start(sd_event *e, const struct zero_hotplug_spec *spec, zero_hotplug_send_fn send,
                       void *send_userdata, zero_hotplug_done_fn done, void *userdata, struct zero_hotplug **ret) {
        json_auto_t *back_args = spec ? spec->back_args : NULL, *dev_args = spec ? spec->dev_args : NULL;
        struct zero_hotplug *j;
        int r;

        if (!e || !spec || !send || !done || !spec->dev || !spec->back || !spec->back_add || !spec->back_del ||
            !spec->back_key || (spec->plug && (!back_args || !dev_args)))
                return -EINVAL;
        j = calloc(1, sizeof(*j));
        if (!j)
                return -ENOMEM;
        *j = (struct zero_hotplug){.event = e,
                                   .send = send,
                                   .send_userdata = send_userdata,
                                   .done = done,
                                   .userdata = userdata,
                                   .plug = spec->plug,
                                   .needs_port = spec->needs_port,
                                   .back_add = spec->back_add,
                                   .back_del = spec->back_del,
                                   .back_key = spec->back_key,
                                   .back_args = TAKE_PTR(back_args),
                                   .dev_args = TAKE_PTR(dev_args),
                                   .unplug_timeout_usec = spec->unplug_timeout_usec ?: UNPLUG_TIMEOUT_USEC_DEFAULT};
        snprintf(j->dev, sizeof(j->dev), "%s", spec->dev);
        snprintf(j->back, sizeof(j->back), "%s", spec->back);
        r = send(send_userdata, "qom-list", json_pack("{s:s}", "path", "/machine/peripheral"), on_devices, j);
        if (r < 0) {
                job_destroy(j);
                return r;
        }
        j->n_pending++;
        if (ret)
                *ret = j;
        return 0;
}

/* ---- device descriptions ---- */

void zero_qemu_id(const char *prefix, const char *id, char ret[static ZERO_HOTPLUG_ID_MAX]) {
        snprintf(ret, ZERO_HOTPLUG_ID_MAX, "%s-%.16s", prefix, strempty(id));
}

int zero_qemu_nbd_uri_split(const char *uri, char **ret_copy, const char **ret_name, const char **ret_socket) {
        static const char prefix[] = "nbd+unix:///";
        char *c, *q;

        if (!uri || strncmp(uri, prefix, strlen(prefix)) != 0)
                return -EINVAL;
        c = strdup(uri + strlen(prefix));
        if (!c)
                return -ENOMEM;
        q = strstr(c, "?socket=");
        if (!q || q == c || !q[8]) {
                free(c);
                return -EINVAL;
        }
        *q = '\0';
        *ret_copy = c;
        *ret_name = c;
        *ret_socket = q + 8;
        return 0;
}

json_t *zero_qemu_nbd_blockdev(const char *back, const char *uri) {
        _cleanup_free_ char *copy = NULL;
        const char *name, *sock;

        if (zero_qemu_nbd_uri_split(uri, &copy, &name, &sock) < 0)
                return NULL;
        return json_pack("{s:s,s:s,s:s,s:{s:s,s:s}}", "driver", "nbd", "node-name", back, "export", name, "server",
                         "type", "unix", "path", sock);
}

json_t *zero_qemu_disk_device(const char *personality, const char *dev, const char *back, const char *serial,
                              const char *scsi_bus) {
        if (!personality)
                return NULL;
        if (streq(personality, "virtio-blk"))
                return json_pack("{s:s,s:s,s:s,s:s}", "driver", "virtio-blk-pci", "id", dev, "drive", back, "serial",
                                 serial);
        if (streq(personality, "virtio-scsi"))
                return json_pack("{s:s,s:s,s:s,s:s,s:s}", "driver", "scsi-hd", "id", dev, "bus", strempty(scsi_bus),
                                 "drive", back, "serial", serial);
        if (streq(personality, "nvme"))
                return json_pack("{s:s,s:s,s:s,s:s}", "driver", "nvme", "id", dev, "drive", back, "serial", serial);
        return NULL;
}
