/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/*
 * lab, the card driver of the lab's host (include/zero/card.h): the card is zero-card outside
 * the host VM, and this driver calls its management API (docs/api/card.yaml) on the management
 * link, with the token the card handed the host over fw_cfg. [card] driver = lab:
 *
 *   [card] url         the card's API (http://10.0.2.100:80, what zero-card writes)
 *   [card] token_file  the host's bearer token (/run/zero-host/card-token)
 *   [card] personality how volumes are presented as host block devices: virtio-blk (default),
 *                      virtio-scsi or nvme
 *   [card] device_timeout_s  how long a presented device may take to appear in the host (10)
 *   [card] unix_socket the card's API on a unix socket of this machine instead (the driver's
 *                      tests outside the host: test_lab)
 *
 * Files:
 *   lab.c      the driver struct, open/close, the ops as chains of steps (op.c's), sync()
 *   client.c   the API over libcurl's multi interface on zerod's loop
 *   op.c       an op's steps run from the loop, one after the other, answered once
 *   devices.c  what a presentation becomes in the host: a block device found by its serial, a
 *              netdev found by its MAC, moved into the instance's namespace and configured there
 *   source.c   a volume's source image, uploaded to the card once (by its SHA-256)
 *
 * What the card presents, the host sees as PCIe devices: a host-block export is the disk whose
 * serial is the volume's id (its first 20 characters); vhost-user-blk and NBD exports are
 * refused (no VMs in the lab: no nested accelerator). A container's NIC is a veth there; here it
 * is the card's virtio-net device, moved into the instance's namespace as a veth peer would be.
 */
#include <jansson.h>
#include <stdint.h>
#include <systemd/sd-event.h>

#include "io/lab/client.h"
#include "io/netlink/netlink.h"
#include "zero/card.h"

#define LAB_SERIAL_MAX 20

/* The driver struct (card.h's ZERO_CARD_DRIVER_ENTRY, exported by lab.so). */
const struct zero_card_driver *zero_card_driver_entry(void);

struct lab_op;
struct zero_subprocess;

struct zero_card {
        sd_event *event;
        struct lab_client *client;
        struct zero_nl *nl; /* the host's (zerod's) network namespace */
        char *personality;
        uint64_t device_timeout_usec;
        struct lab_op *ops;         /* under way: close() drops them */
        struct lab_source *sources; /* hashes of source images (source.c) */
        struct lab_stats *stats;    /* the last stats of each volume (lab.c) */
};

/* ---- op.c ---- */
/* A step: > 0 go on with the next now, 0 under way (lab_op_next() later), < 0 failed (op->err). */
typedef int (*lab_step_fn)(struct lab_op *op);

struct lab_op {
        struct zero_card *card;
        const lab_step_fn *steps; /* NULL-terminated */
        unsigned step;
        zero_card_done_fn done;
        void *userdata;
        struct zero_error err;
        struct zero_card_result res;
        /* what the steps need, copied from the call */
        char id[33];
        char path[160];    /* the object's path in the API: "/v1/volumes/ID" */
        json_t *body;      /* what a PUT sends */
        char source[4096]; /* a volume's source image (a file of the host) */
        char sha256[65];
        char serial[LAB_SERIAL_MAX + 1];
        char mac[18], ifname[16], netns[4096];
        char addr[20]; /* "10.77.0.5/24" */
        char gateway[16];
        uint64_t deadline;  /* a device's appearance */
        bool ok_if_missing; /* a 404 is success (a delete of what is gone) */
        bool need_upload;   /* the card lacks the source image */
        /* what it waits for */
        struct lab_request *req;
        struct zero_subprocess *child;
        sd_event_source *timer, *defer;
        struct lab_op *next;
};

/* Starts steps from the loop (never inside the call): 0, or -errno at once. */
int lab_op_start(struct zero_card *card, struct lab_op *op, const lab_step_fn *steps, zero_card_done_fn done,
                 void *userdata, struct zero_error *err);
struct lab_op *lab_op_new(struct zero_card *card);
/* An asynchronous step ended: on to the next, or the op fails with err. */
void lab_op_next(struct lab_op *op, int r, const struct zero_error *err);
/* The same step again after usec. */
void lab_op_again(struct lab_op *op, uint64_t usec);
/* close(): every op dropped, its done not called. */
void lab_ops_drop(struct zero_card *card);
/* A step that sends method (on op->path + suffix, with op->body) and goes on with the answer. */
int lab_op_send(struct lab_op *op, const char *method, const char *suffix, uint64_t timeout_usec);

/* ---- devices.c ---- */
/* The block device whose serial is serial ("/dev/vdb"), -ENODEV while there is none. */
int lab_block_find(const char *serial, char ret[static ZERO_CARD_PATH_MAX]);
/* A NIC presented as the netdev with mac: moved into the namespace at netns_path (unless it is
 * there already) as ifname, and configured: addr (CIDR), the default route via gateway. -ENODEV
 * while the netdev has not appeared. */
int lab_nic_settle(struct zero_nl *nl, const char *mac, const char *netns_path, const char *ifname, const char *addr,
                   const char *gateway, struct zero_error *err);

/* ---- source.c ---- */
struct lab_source;
/* The steps that give op->sha256 for op->source and upload it to the card unless it has it
 * (each goes on at once without a source: a blank volume). */
int lab_source_hash(struct lab_op *op);
int lab_source_check(struct lab_op *op);
int lab_source_upload(struct lab_op *op);
void lab_sources_free(struct zero_card *card);
