/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/*
 * One device hot-plugged into, or unplugged from, a running QEMU over QMP: what the vm plugin
 * does to a VM (plugins/vm/hotplug.c) and the card daemon to the lab's host (card/present.c).
 * Whoever starts the job owns what lies outside QEMU (a card's export, a tap) and takes it
 * when done says so.
 *
 * plug:   unless QEMU has the device already (a plug that ran before a crash): a free
 *         pcie-root-port from query-pci for a PCI device (a spare, or the port of a device
 *         unplugged earlier), the backend (chardev-add, blockdev-add, netdev_add; one that
 *         exists already is taken) and device_add. A failed device_add takes its backend back.
 * unplug: device_del, sent again every ZERO_HOTPLUG_RETRY_USEC (a guest loses one that comes
 *         before its ACPI hot-plug driver is up, and QEMU never says so), then the guest's
 *         DEVICE_DELETED (bounded by the spec's timeout, after which the device stays and the
 *         job fails with ZERO_E_TIMEOUT), then the backend is deleted (one gone already is fine).
 *
 * Both look at QEMU first (qom-list /machine/peripheral), so a job run again after a crash
 * resumes cleanly. done follows exactly once, from the loop (a QMP reply or a timer), never
 * from inside zero_hotplug_start(); after it the job is gone. Commands go through send, so the
 * caller decides which connection carries them (the vm plugin's connects on demand).
 */
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <systemd/sd-event.h>

#include "io/qmp.h"
#include "zero/error.h"

#define ZERO_HOTPLUG_RETRY_USEC (1ULL * 1000000ULL)
#define ZERO_HOTPLUG_ID_MAX 32

struct zero_hotplug;

struct zero_hotplug_spec {
        bool plug;
        bool needs_port;      /* a PCI device on a pcie-root-port (all but a SCSI disk) */
        const char *dev;      /* the -device id */
        const char *back;     /* its backend's id */
        const char *back_add; /* "chardev-add", "blockdev-add", "netdev_add" */
        const char *back_del; /* "chardev-remove", "blockdev-del", "netdev_del" */
        const char *back_key; /* their argument naming it: "id" or "node-name" */
        json_t *back_args;    /* for back_add (plug); stolen, also on failure */
        json_t *dev_args;     /* for device_add, without "bus" for a PCI device (plug); stolen */
        uint64_t unplug_timeout_usec; /* the guest's DEVICE_DELETED; 0: 20 s */
};

/* Sends one command (arguments stolen) whose reply goes to cb; < 0 when it cannot. */
typedef int (*zero_hotplug_send_fn)(void *userdata, const char *execute, json_t *arguments, zero_qmp_reply_fn cb,
                                    void *cb_userdata);
/* r >= 0: plugged (or there already) / unplugged (and its backend gone); else -errno with err. */
typedef void (*zero_hotplug_done_fn)(void *userdata, int r, const struct zero_error *err);

/* 0 and done later, or -errno at once (nothing sent, done never follows). */
int zero_hotplug_start(sd_event *e, const struct zero_hotplug_spec *spec, zero_hotplug_send_fn send,
                       void *send_userdata, zero_hotplug_done_fn done, void *userdata, struct zero_hotplug **ret);
/* Every QMP event of the guest: DEVICE_DELETED of the job's device ends the unplug's wait. */
void zero_hotplug_event(struct zero_hotplug *h, const char *name, json_t *data);
/* Drops the job without calling done (its QEMU is gone, or its owner is); NULL-safe. Replies
 * still owed are swallowed when they come. */
struct zero_hotplug *zero_hotplug_free(struct zero_hotplug *h);

/* ---- Device descriptions both users build ---- */

/* QEMU ids: a prefix and the first 16 hex digits of the volume's or NIC's id, the same at every
 * start and in hot-plug, so that a device is found by what it is, not by its position. */
void zero_qemu_id(const char *prefix, const char *id, char ret[static ZERO_HOTPLUG_ID_MAX]);
/* "nbd+unix:///NAME?socket=PATH" (a card's NBD export) into NAME and PATH (pointers into a copy
 * the caller frees). */
int zero_qemu_nbd_uri_split(const char *uri, char **ret_copy, const char **ret_name, const char **ret_socket);
/* blockdev-add's arguments for an NBD export (node back); NULL for a URI that is none. */
json_t *zero_qemu_nbd_blockdev(const char *back, const char *uri);
/* device_add's arguments of a disk on the block node back, with serial (the guest finds it by
 * it): "virtio-blk" (virtio-blk-pci), "virtio-scsi" (scsi-hd on scsi_bus, "scsi0.0"), "nvme".
 * NULL for another personality. */
json_t *zero_qemu_disk_device(const char *personality, const char *dev, const char *back, const char *serial,
                              const char *scsi_bus);
