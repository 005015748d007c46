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
 * Loading. A driver is a shared object in zerod's plugin directory, next to the runtime plugins,
 * named after the driver: [card] driver = softcard loads PLUGIN_DIR/softcard.so. zerod dlopen()s
 * it with RTLD_NOW|RTLD_LOCAL, calls its one exported symbol ZERO_CARD_DRIVER_ENTRY and refuses a
 * driver whose abi_version is not ZERO_CARD_ABI_VERSION, or whose struct is shorter than this
 * header's first version of it (then zerod does not start: a node without its card has no disks).
 * Build it like a runtime plugin: hidden visibility, only the entry exported, linked with
 * -z defs. A driver needs nothing of the agent but this header, zero/error.h and the env it is
 * given: the agent knows no driver by name, and a second driver is a second .so.
 *
 * Who decides what. The agent owns the truth (the store): which volumes, networks, NICs and
 * attachments exist, their ids, sizes, addresses and MACs. The driver owns the how: where a
 * volume lives (it says so once, as an opaque locator string that the agent stores and hands
 * back with every later call: a file path, a pool and a LUN, whatever the driver needs to find
 * the volume again), what a network is made of (a bridge, a VLAN, a switch port), what a NIC's
 * host side is called. The agent never parses a locator and never derives a driver's names; what
 * it shows of them (a format, a bridge's name) the driver gave it for display.
 *
 * The driver keeps no state of its own that the store does not also know, apart from what it can
 * find again by looking (the daemon it runs, its exports, loop devices, links). So after a crash,
 * sync() with the store's view puts reality back in line.
 *
 * Rules for every op:
 *  - Idempotent: the operations journal runs a step again after a crash. Creating what exists
 *    (as described), deleting what is gone, exporting what is exported (the same way) and
 *    unexporting what is not all succeed.
 *  - Asynchronous when it changes the card (volume create, delete, resize, QoS, export,
 *    unexport; network create, delete; NIC attach, detach): the call returns 0 once the work is
 *    under way, and done(userdata, r, result, err) follows exactly once, from the agent's loop
 *    (env->event), never from inside the call; or it returns -errno at once for what it refuses
 *    before anything runs (a bad description, an unknown kind, a daemon being restarted), and
 *    done never follows. The work may take as long as the card takes (a QMP round trip, a child
 *    process making a filesystem, an HTTP request to a card's management API, a device's
 *    hot-plug into the host: milliseconds to seconds), but it never holds the loop, and every
 *    wait on the card has a bound of its own (a timeout is ZERO_E_TIMEOUT, a card that does not
 *    answer now ZERO_E_UNAVAILABLE).
 *  - One op per object at a time: the agent runs at most one op on a volume, a NIC or a network
 *    at once and starts the next on it only after the done of the one before (zerod's card jobs),
 *    so a driver serializes nothing itself. Ops on different objects run side by side.
 *  - Synchronous only where it must be, each saying why and how it is bounded: open and close
 *    (zerod's start and exit), volume_place and volume_validate (decisions, no I/O on the card),
 *    volume_stats (best effort, a short bound) and sync (see there).
 *  - Returns >= 0 on success, -errno on failure with the reason in err (its domain code and
 *    message; the agent's HTTP front turns the code into a status). Never an HTTP number.
 *  - Strings and structs passed in are the caller's, for the call only: a driver copies what
 *    its work needs past the call.
 *
 * The struct is versioned like runtime plugins' (plugin.h): abi_version must match
 * ZERO_CARD_ABI_VERSION, and fields are only ever appended (size tells what the driver has; the
 * agent checks ZERO_CARD_HAS() before it calls an op appended after the version's first struct).
 * Runtime plugins never see this header: they reach the card through the services table.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "zero/error.h"

/* 2: struct zero_error carries a domain code (enum zero_errc), no HTTP status.
 * 3: a loadable driver (ZERO_CARD_DRIVER_ENTRY); driver-neutral descriptions: a volume's
 *    locator (volume_place) and source instead of path, format and base_path; a network without
 *    its bridge, a NIC with its network; config_get takes the env's userdata.
 * 4: every op that changes the card is asynchronous (done from the loop, one result type); the
 *    synchronous volume_create / volume_delete and the _async pair they had become one each; the
 *    agent serializes the ops per object. */
#define ZERO_CARD_ABI_VERSION 4

/* The one symbol a driver's shared object exports. */
#define ZERO_CARD_DRIVER_ENTRY "zero_card_driver_entry"

/* Longest path an export or attachment can hand back, NUL included. */
#define ZERO_CARD_PATH_MAX 256
/* Longest locator a driver may hand back, NUL included. */
#define ZERO_CARD_LOCATOR_MAX 512
/* Longest display name (a volume's format, a network's bridge), NUL included. */
#define ZERO_CARD_NAME_MAX 64

struct zero_card;   /* one driver instance, opaque */
typedef struct sd_event sd_event;

/* What the agent gives a driver. Strings are copied by open(). */
struct zero_card_env {
        uint32_t size;
        sd_event *event;       /* the agent's loop: the driver's daemons are watched and its
                                * asynchronous ops' work runs there (sources, children, sockets) */
        const char *state_dir; /* persistent, the driver's own: it may keep volumes here */
        const char *run_dir;   /* volatile: daemons' sockets, export mount points */
        const char *shim;      /* path of zero-shim, the supervisor of the driver's daemons */
        /* A value of zerod's configuration (the driver's is the "card" section), or NULL when
         * unset; valid until the driver's close(). */
        const char *(*config_get)(void *userdata, const char *section, const char *key);
        /* The driver's daemon died and was started again, with none of its exports: the agent
         * calls sync() to restore them (from the loop, once no op runs), and restarts the
         * instances whose exports were lost. */
        void (*lost_exports)(void *userdata);
        void *userdata; /* for the two callbacks */
};

enum zero_card_export_kind {
        ZERO_CARD_EXPORT_NONE = 0,
        ZERO_CARD_EXPORT_VHOST_USER_BLK, /* a vhost-user socket for QEMU's vhost-user-blk-pci */
        ZERO_CARD_EXPORT_NBD,            /* an NBD server on a unix socket, export name = volume id */
        ZERO_CARD_EXPORT_HOST_BLOCK,     /* a block device on the host (the softcard's: /dev/loopN) */
        _ZERO_CARD_EXPORT_MAX,
};

/* A volume as the agent knows it. */
struct zero_card_volume {
        uint32_t size;
        const char *id;      /* 32 hex characters, the agent's; unique among the node's volumes */
        const char *locator; /* where it lives, as volume_place() said; NULL only for volume_place() */
        uint64_t size_bytes;
        /* What a volume cloned from an image starts with: the image's root filesystem, a raw
         * ext4 file on the host that the driver reads (and may keep reading: copy on write)
         * and never changes. NULL for a blank volume, which holds an empty ext4 filesystem. The
         * image lives as long as a volume made from it does. */
        const char *source;
        uint64_t qos_iops; /* 0 = unlimited; read + write operations per second */
        uint64_t qos_bps;  /* 0 = unlimited; read + write bytes per second */
};

/* What volume_place() decides. */
struct zero_card_placement {
        char locator[ZERO_CARD_LOCATOR_MAX]; /* opaque to the agent; non-empty */
        char format[ZERO_CARD_NAME_MAX];     /* for display ("qcow2", "raw"), "" if the driver has none */
};

struct zero_card_volume_stats {
        uint64_t read_bytes, write_bytes;
        uint64_t read_ops, write_ops;
        uint64_t allocated_bytes; /* what the volume itself takes of the card's storage */
        bool exported;
};

/* A network: one IPv4 subnet that the instances' NICs share, with the gateway they route
 * through. How the card makes it (a bridge and its name, a VLAN) is the driver's, derived from
 * what is here (id and name are stable for the network's life). */
struct zero_card_network {
        uint32_t size;
        const char *id;      /* 32 hex characters */
        const char *name;    /* the API's name, valid per zero_name_is_valid() */
        const char *subnet;  /* "10.77.0.0/24" */
        const char *gateway; /* "10.77.0.1": the card's address on the subnet */
};

enum zero_card_nic_kind {
        ZERO_CARD_NIC_NONE = 0,
        ZERO_CARD_NIC_VETH, /* one end on the network, the other moved into a network namespace */
        ZERO_CARD_NIC_TAP,  /* a persistent tap on the network, for QEMU */
        _ZERO_CARD_NIC_MAX,
};

struct zero_card_nic {
        uint32_t size;
        const char *id;     /* 32 hex characters; stable for the NIC's life */
        const char *mac;    /* "02:..", the guest's (veth peer's, VM's) MAC */
        const char *ip;     /* "10.77.0.5", in network->subnet; network->gateway is its default route */
        const char *ifname; /* name inside the namespace: "eth0", ... */
        const struct zero_card_network *network;
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

/* What an op hands back through its done: the export's path (volume_export: a socket, a block
 * device), the tap's name (nic_attach of a tap), the driver's name for a network (network_create,
 * for display: the softcard's bridge); "" for every other op and for a veth. */
struct zero_card_result {
        char text[ZERO_CARD_PATH_MAX];
};

/* How an op that changes the card ends: r >= 0 done, with res; else -errno with err (code,
 * message). res and err are never NULL, and valid during the call only. Called from the agent's
 * loop, never from inside the call that started the work, exactly once. */
typedef void (*zero_card_done_fn)(void *userdata, int r, const struct zero_card_result *res, const struct zero_error *err);

/* A hand-over of the host to a tenant (ops.tenant_handover). */
struct zero_card_tenant {
        uint32_t size;
        const char *operation; /* the agent's operation: the hand-over's id */
        const char *instance;  /* the instance's id */
        const char *name;
        const char *const *volumes; /* ids, presented already (host-block exports) */
        size_t n_volumes;
        const char *const *nics; /* ids, presented already */
        size_t n_nics;
};

struct zero_card_ops {
        /* ---- Synchronous ---- */

        /* zerod's start, before anything is served: adopts the card's running daemon (or starts
         * it) and its management link. */
        int (*open)(const struct zero_card_env *env, struct zero_card **ret, struct zero_error *err);
        /* zerod's exit: leaves the daemon, exports and links running. Work still under way is
         * stopped without calling its done: the operation that waited runs its step again after
         * a restart, and every op is idempotent. */
        void (*close)(struct zero_card *card);
        /* Where a new volume v (its id, size_bytes and source; locator NULL) is to live, without
         * making anything (a decision: no I/O on the card): the agent records the placement with
         * the volume's row, before any volume_create, and hands ret->locator back in every later
         * call, across restarts and driver upgrades (a driver reads the locators of its older
         * versions). The same v gives the same locator (a retried create finds what the first
         * attempt made). What the card cannot hold is ZERO_E_INVALID, as volume_validate says. */
        int (*volume_place)(struct zero_card *card, const struct zero_card_volume *v, struct zero_card_placement *ret,
                            struct zero_error *err);
        /* Whether the card can hold v at size bytes (its size_bytes when 0), without making
         * anything (a decision, as volume_place): what the agent asks before it records a volume
         * or a resize, so that what the card cannot do is refused at once. The softcard's limit is
         * its pool's: the largest file the filesystem its volumes live on allows (ext4 with 4 KiB
         * blocks: 16 TiB less 4 KiB). Refused: ZERO_E_INVALID, the message naming the limit. */
        int (*volume_validate)(struct zero_card *card, const struct zero_card_volume *v, uint64_t size,
                               struct zero_error *err);
        /* A GET of the volume shows them when it can: best effort, bounded by a short timeout of
         * the driver's (the softcard: 25 ms on its daemon, then nothing while the daemon does not
         * answer), so that it holds the loop for no longer than a request's parse. */
        int (*volume_stats)(struct zero_card *card, const struct zero_card_volume *v,
                            struct zero_card_volume_stats *ret, struct zero_error *err);
        /* Makes reality match the store: every export and NIC attachment in the lists exists
         * afterwards (made anew where missing), every other one of this driver's exports, loop
         * devices, mount points, links and networks is removed. networks lists the networks to
         * keep (made anew where missing). Errors on single items are logged and counted; returns
         * the number of items it could not put right (0: all consistent).
         * Called at zerod's start, before anything is served and before any op (nothing waits on
         * the loop yet), and after the driver told lost_exports(), from the loop once no op runs
         * (the agent holds the ops asked for meanwhile): then the card's daemon has just been
         * started afresh and answered, so each of its commands takes well under a millisecond;
         * every wait on the card is bounded as the asynchronous ops' are. */
        int (*sync)(struct zero_card *card, const struct zero_card_network *networks, size_t n_networks,
                    struct zero_card_want_export *exports, size_t n_exports, struct zero_card_want_nic *nics,
                    size_t n_nics, struct zero_error *err);

        /* ---- Asynchronous: 0 and done later, or -errno at once (the rules above) ---- */

        /* Makes the volume where v->locator says: a copy-on-write clone of v->source, or a blank
         * volume holding an empty ext4 filesystem. An existing volume is kept. */
        int (*volume_create)(struct zero_card *card, const struct zero_card_volume *v, zero_card_done_fn done,
                             void *userdata, struct zero_error *err);
        /* Unexports (if exported) and removes the volume. */
        int (*volume_delete)(struct zero_card *card, const struct zero_card_volume *v, zero_card_done_fn done,
                             void *userdata, struct zero_error *err);
        /* Grows the volume to new_size (shrinking is -EINVAL), live when exported. The filesystem
         * inside is the user's: whoever mounts it grows it (resize2fs). */
        int (*volume_resize)(struct zero_card *card, const struct zero_card_volume *v, uint64_t new_size,
                             zero_card_done_fn done, void *userdata, struct zero_error *err);
        /* Applies v's qos_iops and qos_bps at once when exported; an unexported volume gets them
         * at its next export. */
        int (*volume_set_qos)(struct zero_card *card, const struct zero_card_volume *v, zero_card_done_fn done,
                              void *userdata, struct zero_error *err);
        /* A volume has at most one export at a time: done's result is its path. Exporting it again
         * the same way gives the same path; another kind while exported is -EBUSY. */
        int (*volume_export)(struct zero_card *card, const struct zero_card_volume *v, enum zero_card_export_kind kind,
                             zero_card_done_fn done, void *userdata, struct zero_error *err);
        int (*volume_unexport)(struct zero_card *card, const struct zero_card_volume *v, zero_card_done_fn done,
                               void *userdata, struct zero_error *err);
        /* Makes what carries the network (the softcard: a bridge with the gateway's address);
         * done's result is the driver's name for it, for display (the bridge's name), "" for
         * none. A name or subnet the card cannot take (another network's derived name, a subnet
         * the host uses) is ZERO_E_CONFLICT. */
        int (*network_create)(struct zero_card *card, const struct zero_card_network *n, zero_card_done_fn done,
                              void *userdata, struct zero_error *err);
        int (*network_delete)(struct zero_card *card, const struct zero_card_network *n, zero_card_done_fn done,
                              void *userdata, struct zero_error *err);
        /* VETH: makes the pair, puts the host end on the network and moves the other into the
         * namespace at netns_path (a bind-mounted nsfs file), configured there as ifname with
         * the NIC's MAC, address (prefix of the network's subnet) and default route (the
         * network's gateway). TAP: a persistent tap on the network, whose name is done's result,
         * for QEMU (which sets the guest's MAC itself). */
        int (*nic_attach)(struct zero_card *card, const struct zero_card_nic *nic, enum zero_card_nic_kind kind,
                          const char *netns_path, zero_card_done_fn done, void *userdata, struct zero_error *err);
        int (*nic_detach)(struct zero_card *card, const struct zero_card_nic *nic, zero_card_done_fn done,
                          void *userdata, struct zero_error *err);

        /* Appended after ABI 4: a driver whose size ends before one of these has none of them. */

        /* Live migration: a volume on storage that two nodes' cards reach (the softcard's
         * [card] volumes_dir shared between nodes, a real card's remote block storage) goes from
         * one node to the other, never written by both, never read by one from what it cached
         * while the other wrote. While the source's guest is paused (before the switchover), the
         * source's card releases the volume; only then does the target's card take it.
         *
         * volume_release: the volume has an export of `kind` whose runtime side stays as it is
         * (the socket, the QEMU connected to it). An export that holds its volume (the source's)
         * is drained (every request under way ends) and what the card cached is written back: it
         * writes nothing more unless its runtime runs again (a switchover that failed, whose
         * target never ran the guest), and it keeps the volume open for that case until it is
         * unexported. An export not made yet (the target's, before its incoming runtime starts
         * and connects) is made without opening the volume: reads see zeros, and nothing writes
         * (its guest is not running). done's result is the export's path, as volume_export's.
         * volume_take: the export of `kind` with the volume open behind it, read afresh when the
         * card had not opened it (never from what it read before the other node released it); a
         * volume it holds already stays as it is; a first export as volume_export makes it. Both
         * idempotent. A driver without them cannot migrate volumes: the agent refuses such a
         * migration. */
        int (*volume_release)(struct zero_card *card, const struct zero_card_volume *v, enum zero_card_export_kind kind,
                              zero_card_done_fn done, void *userdata, struct zero_error *err);
        int (*volume_take)(struct zero_card *card, const struct zero_card_volume *v, enum zero_card_export_kind kind,
                           zero_card_done_fn done, void *userdata, struct zero_error *err);

        /* ---- Synchronous, a constant of the driver ---- */

        /* What the card can do beyond the ops (ZERO_CARD_CAP_*): the facts a runtime mode may
         * need of it, asked by the agent at its start. No I/O. A driver without the op has none. */
        uint64_t (*capabilities)(struct zero_card *card);

        /* ---- Synchronous: the operator's teardown ---- */

        /* `zerod --stop-card`, with no zerod running and no instance live or operation under
         * way (the agent checked): stops what the card runs on this host and removes what it
         * made there (the softcard: its storage daemon, its bridges and links), as if the node
         * had never started it; the card's state (volumes, networks) stays, and the next zerod's
         * open() starts it all again. Blocks (seconds). A driver without it (the lab's card,
         * which is not the host's to stop) cannot be torn down from the host. */
        int (*stop)(struct zero_card *card, struct zero_error *err);

        /* ---- The host handed to a tenant (a bms instance): a card that outlives the host ---- */

        /* The node goes to the tenant t: the card keeps t's volumes and NICs presented and
         * withdraws everything else of the host (its state volume, the management link) once it
         * answered; what the host writes after done is lost. Idempotent for one t->operation.
         * A driver without it (the softcard) cannot hand the host over. */
        int (*tenant_handover)(struct zero_card *card, const struct zero_card_tenant *t, zero_card_done_fn done,
                               void *userdata, struct zero_error *err);
        /* How the hand-over of `operation` stands, as done's res.text: "none" (the card has no
         * record of it: it never reached the card), "running" (the tenant holds the host: only
         * while the card answers for it), or "ended CODE" (the host was taken back; CODE: 143
         * stopped, 137 forced, 0 the tenant's own power-off), "ended CODE switch MODE" when the
         * take-back was a switch of the instance to MODE asked of the card (the agent goes on
         * into that switch), either followed by " op ID CREATED OFF ENDED" when the take-back
         * was a stop or switch asked of the card as an operation: its id (32 hex digits, which
         * the agent gives the stop it records, or the switch it goes on into) and when it was
         * asked, when the tenant was off and when the host was reset (realtime µs; 0: not). */
        int (*tenant_status)(struct zero_card *card, const char *operation, zero_card_done_fn done, void *userdata,
                             struct zero_error *err);
};

/* The card outlives the host's kernel: its volumes and NICs stay presented, and its management
 * API answers, while the host kexecs or resets (a real card, the lab's zero-card). The softcard
 * runs on the host's kernel and dies with it, so it has not this one: what the bms mode needs. */
#define ZERO_CARD_CAP_OUTLIVES_HOST (UINT64_C(1) << 0)

struct zero_card_driver {
        uint32_t abi_version; /* ZERO_CARD_ABI_VERSION */
        uint32_t size;        /* sizeof(struct zero_card_driver) as the driver was built */
        const char *name;     /* "softcard" */
        /* Every op of ABI 4 is required. */
        struct zero_card_ops ops;
};

/* The type of ZERO_CARD_DRIVER_ENTRY: a driver exports
 *   __attribute__((visibility("default"))) const struct zero_card_driver *zero_card_driver_entry(void);
 * returning a struct that lives as long as the shared object. */
typedef const struct zero_card_driver *(*zero_card_driver_entry_fn)(void);

/* The names of export and NIC kinds, as the API, the store and zeroctl spell them: part of the
 * API, never renamed. Inline, so that a driver built against the installed headers has them.
 * Index 0 (NONE) has no name on purpose: it is never a valid request; an unknown name is NONE. */
static inline const char *zero_card_export_kind_to_string(enum zero_card_export_kind k) {
        switch (k) {
        case ZERO_CARD_EXPORT_VHOST_USER_BLK:
                return "vhost-user-blk";
        case ZERO_CARD_EXPORT_NBD:
                return "nbd";
        case ZERO_CARD_EXPORT_HOST_BLOCK:
                return "host-block";
        default:
                return NULL;
        }
}

static inline const char *zero_card_nic_kind_to_string(enum zero_card_nic_kind k) {
        switch (k) {
        case ZERO_CARD_NIC_VETH:
                return "veth";
        case ZERO_CARD_NIC_TAP:
                return "tap";
        default:
                return NULL;
        }
}

static inline enum zero_card_export_kind zero_card_export_kind_from_string(const char *s) {
        for (int k = 1; s && k < _ZERO_CARD_EXPORT_MAX; k++)
                if (strcmp(zero_card_export_kind_to_string((enum zero_card_export_kind) k), s) == 0)
                        return (enum zero_card_export_kind) k;
        return ZERO_CARD_EXPORT_NONE;
}

static inline enum zero_card_nic_kind zero_card_nic_kind_from_string(const char *s) {
        for (int k = 1; s && k < _ZERO_CARD_NIC_MAX; k++)
                if (strcmp(zero_card_nic_kind_to_string((enum zero_card_nic_kind) k), s) == 0)
                        return (enum zero_card_nic_kind) k;
        return ZERO_CARD_NIC_NONE;
}
