/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/*
 * Zero card driver ABI.
 *
 * A card driver is what an instance's disks and NICs live on: the offload card of the compute
 * server, or softcard (io/softcard/), its software stand-in on the host. Volumes, networks and NICs
 * outlive any runtime; a runtime only gets an export of a volume (vhost-user-blk, NBD, a host block
 * device) and an attachment of a NIC (a tap, a veth in a network namespace), and gives them back
 * when it stops. That is what makes switching an instance between modes cheap.
 *
 * The agent owns the truth (the store) and hands the driver full descriptions of what it works
 * on; the driver keeps no state of its own that the store does not also know, apart from what
 * it can find again by looking (the daemon it runs, its exports, loop devices, links). So after
 * a crash, sync() with the store's view puts reality back in line.
 *
 * Rules for every op:
 *  - Idempotent: the operations journal runs a step again after a crash. Creating what exists
 *    (as described), deleting what is gone, exporting what is exported (the same way) and
 *    unexporting what is not all succeed.
 *  - Bounded: an op returns when it is done, and costs milliseconds (an ioctl, a QMP round trip
 *    to a local daemon); every wait on a daemon has a timeout. What can take longer (making a
 *    large volume's filesystem, unlinking a large file: a second and more) has an asynchronous
 *    form, volume_create_async and volume_delete_async, whose slow work runs in child processes
 *    watched on the agent's loop (env->event); the agent uses those when the driver has them.
 *  - Returns >= 0 on success, -errno on failure with the reason in err (its domain code and
 *    message; the agent's HTTP front turns the code into a status).
 *
 * The struct is versioned like runtime plugins' (plugin.h): abi_version must match
 * ZERO_CARD_ABI_VERSION, and fields are only ever appended (size tells what the driver has).
 * Runtime plugins never see this header: they reach the card through the services table.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "zero/error.h"

/* 2: struct zero_error carries a domain code (enum zero_errc), no HTTP status. */
#define ZERO_CARD_ABI_VERSION 2

/* Longest path an export or attachment can return, NUL included. */
#define ZERO_CARD_PATH_MAX 256

struct zero_card;   /* one driver instance, opaque */
typedef struct sd_event sd_event;

/* What the agent gives a driver. Strings are copied by open(). */
struct zero_card_env {
        uint32_t size;
        sd_event *event;       /* the agent's loop, for watching the driver's daemons */
        const char *state_dir; /* persistent: volume files live here */
        const char *run_dir;   /* volatile: daemons' sockets, export mount points */
        const char *shim;      /* path of zero-shim, the supervisor of the driver's daemons */
        /* Configuration value, or NULL when unset ("card" section). */
        const char *(*config_get)(const char *section, const char *key);
        /* The driver's daemon died and was started again, with none of its exports: the agent
         * calls sync() to restore them, and restarts the instances whose exports were lost. */
        void (*lost_exports)(void *userdata);
        void *userdata;
};

enum zero_card_export_kind {
        ZERO_CARD_EXPORT_NONE = 0,
        ZERO_CARD_EXPORT_VHOST_USER_BLK, /* a vhost-user socket for QEMU's vhost-user-blk-pci */
        ZERO_CARD_EXPORT_NBD,            /* an NBD server on a unix socket, export name = volume id */
        ZERO_CARD_EXPORT_HOST_BLOCK,     /* a block device on the host: /dev/loopN */
        _ZERO_CARD_EXPORT_MAX,
};

/* A volume as the agent knows it. */
struct zero_card_volume {
        uint32_t size;
        const char *id;        /* 32 hex characters */
        const char *path;      /* its file (chosen by the agent, under state_dir) */
        const char *format;    /* "qcow2" (clones) or "raw" (blank volumes) */
        uint64_t size_bytes;
        const char *base_path; /* the image's base.ext4 it is cloned from, NULL for a blank volume */
        uint64_t qos_iops;     /* 0 = unlimited; read + write operations per second */
        uint64_t qos_bps;      /* 0 = unlimited; read + write bytes per second */
};

struct zero_card_volume_stats {
        uint64_t read_bytes, write_bytes;
        uint64_t read_ops, write_ops;
        uint64_t allocated_bytes; /* what the volume's own file takes on the host's disk */
        bool exported;
};

struct zero_card_network {
        uint32_t size;
        const char *id;
        const char *name;
        const char *subnet;  /* "10.77.0.0/24" */
        const char *gateway; /* "10.77.0.1", the bridge's address */
        const char *bridge;  /* interface name */
};

enum zero_card_nic_kind {
        ZERO_CARD_NIC_NONE = 0,
        ZERO_CARD_NIC_VETH, /* one end on the bridge, the other moved into a network namespace */
        ZERO_CARD_NIC_TAP,  /* a persistent tap on the bridge, for QEMU */
        _ZERO_CARD_NIC_MAX,
};

struct zero_card_nic {
        uint32_t size;
        const char *id;      /* 32 hex characters; names the host-side link */
        const char *mac;     /* "02:..", the guest's (veth peer's, VM's) MAC */
        const char *ip;      /* "10.77.0.5" */
        unsigned prefixlen;  /* of the network's subnet */
        const char *gateway; /* the network's gateway, the default route */
        const char *bridge;
        const char *ifname;  /* name inside the namespace: "eth0", ... */
};

/* One export or NIC attachment that should exist, for sync(). */
struct zero_card_want_export {
        const struct zero_card_volume *volume;
        enum zero_card_export_kind kind;
        /* Out: the export's path now, and whether it had to be made anew (it was gone, or its
         * daemon was: whoever used the old one must reopen it). */
        char path[ZERO_CARD_PATH_MAX];
        bool recreated;
};

struct zero_card_want_nic {
        const struct zero_card_nic *nic;
        enum zero_card_nic_kind kind;
        const char *netns_path; /* for ZERO_CARD_NIC_VETH */
        bool recreated;         /* out */
};

/* How an asynchronous op ends: r >= 0 done, else -errno with err (code, message). Called
 * from the agent's loop, never from inside the call that started the work. */
typedef void (*zero_card_done_fn)(void *userdata, int r, const struct zero_error *err);

struct zero_card_ops {
        int (*open)(const struct zero_card_env *env, struct zero_card **ret, struct zero_error *err);
        void (*close)(struct zero_card *card); /* leaves the daemon, exports and links running */

        /* Makes the volume's file: a copy-on-write clone of base_path, or a blank volume holding
         * an empty ext4 filesystem. An existing file is kept. */
        int (*volume_create)(struct zero_card *card, const struct zero_card_volume *v, struct zero_error *err);
        /* Unexports (if exported) and removes the file. */
        int (*volume_delete)(struct zero_card *card, const struct zero_card_volume *v, struct zero_error *err);
        /* Grows the volume (shrinking is -EINVAL), live when exported. The filesystem inside is
         * the user's: whoever mounts it grows it (resize2fs). */
        int (*volume_resize)(struct zero_card *card, const struct zero_card_volume *v, uint64_t new_size,
                             struct zero_error *err);
        /* Applies v's qos_iops and qos_bps at once when exported; an unexported volume gets them
         * at its next export. */
        int (*volume_set_qos)(struct zero_card *card, const struct zero_card_volume *v, struct zero_error *err);
        int (*volume_stats)(struct zero_card *card, const struct zero_card_volume *v,
                            struct zero_card_volume_stats *ret, struct zero_error *err);
        /* A volume has at most one export at a time. Exporting it again the same way returns the
         * same path; another kind while exported is -EBUSY. */
        int (*volume_export)(struct zero_card *card, const struct zero_card_volume *v,
                             enum zero_card_export_kind kind, char ret_path[static ZERO_CARD_PATH_MAX],
                             struct zero_error *err);
        int (*volume_unexport)(struct zero_card *card, const struct zero_card_volume *v, struct zero_error *err);

        int (*network_create)(struct zero_card *card, const struct zero_card_network *n, struct zero_error *err);
        int (*network_delete)(struct zero_card *card, const struct zero_card_network *n, struct zero_error *err);
        /* VETH: makes the pair, puts the host end on the bridge and moves the other into the
         * namespace at netns_path (a bind-mounted nsfs file), configured there as ifname with
         * the NIC's MAC, address and default route. TAP: a persistent tap on the bridge named by
         * ret_ifname, for QEMU (which sets the guest's MAC itself). */
        int (*nic_attach)(struct zero_card *card, const struct zero_card_nic *nic, enum zero_card_nic_kind kind,
                          const char *netns_path, char ret_ifname[static ZERO_CARD_PATH_MAX],
                          struct zero_error *err);
        int (*nic_detach)(struct zero_card *card, const struct zero_card_nic *nic, struct zero_error *err);

        /* Makes reality match the store after a start or a daemon's death: every export and NIC
         * attachment in the lists exists afterwards (made anew where missing), every other one
         * of this driver's exports, loop devices, mount points, links and bridges is removed.
         * networks lists the bridges to keep. Errors on single items are logged and counted;
         * returns the number of items it could not put right (0: all consistent). */
        int (*sync)(struct zero_card *card, const struct zero_card_network *networks, size_t n_networks,
                    struct zero_card_want_export *exports, size_t n_exports, struct zero_card_want_nic *nics,
                    size_t n_nics, struct zero_error *err);

        /* Appended: a driver whose size ends before one of these has none of them. */

        /* Whether the card can hold v at size bytes (its size_bytes when 0), without making
         * anything: what the agent asks before it records a volume or a resize, so that what the
         * card cannot do is refused at once. The softcard's limit is its pool's: the largest
         * file the filesystem its volumes live on allows (ext4 with 4 KiB blocks: 16 TiB less
         * 4 KiB). Refused: ZERO_E_INVALID, the message naming the limit. */
        int (*volume_validate)(struct zero_card *card, const struct zero_card_volume *v, uint64_t size,
                               struct zero_error *err);
        /* volume_create and volume_delete, with the same effect and rules, asynchronously:
         * 0 when the work is under way (done follows, with userdata), -errno at once for what is
         * refused before anything runs (done never follows). What the driver needs of v is copied.
         * One job per volume at a time (-EBUSY). close() stops the work still running, without
         * calling its done: the operation that waited runs its step again after a restart, and
         * every step is idempotent. */
        int (*volume_create_async)(struct zero_card *card, const struct zero_card_volume *v, zero_card_done_fn done,
                                   void *userdata, struct zero_error *err);
        int (*volume_delete_async)(struct zero_card *card, const struct zero_card_volume *v, zero_card_done_fn done,
                                   void *userdata, struct zero_error *err);
};

struct zero_card_driver {
        uint32_t abi_version; /* ZERO_CARD_ABI_VERSION */
        uint32_t size;        /* sizeof(struct zero_card_driver) as the driver was built */
        const char *name;     /* "softcard" */
        struct zero_card_ops ops;
};

const char *zero_card_export_kind_to_string(enum zero_card_export_kind k);
enum zero_card_export_kind zero_card_export_kind_from_string(const char *s); /* NONE if unknown */
const char *zero_card_nic_kind_to_string(enum zero_card_nic_kind k);
enum zero_card_nic_kind zero_card_nic_kind_from_string(const char *s);

/* The software card (io/softcard). */
const struct zero_card_driver *zero_softcard_driver(void);
