/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/*
 * softcard internals: how the driver of include/zero/card.h is split into files.
 *
 *   softcard.c  the driver struct and its ops; struct zero_card
 *   qsd.c       the node's one qemu-storage-daemon: started under zero-shim, re-adopted after a
 *               zerod restart, watched, restarted from the loop when it dies
 *   qsd_call.c  its QMP monitor: bounded calls on an io/qmp.c connection, synchronous or
 *               answered from the loop, under one set of rules (stalled, restarting)
 *   volume_file.c  volume files (mkfs.ext4, qemu-img), made and removed, synchronously or as
 *               jobs whose commands run as children watched on the loop (common/subprocess.c);
 *               the pool's limit
 *   volume_op.c the runner of a volume op's steps, at once or on the loop (volume_op.h)
 *   volume_export.c  exports (block-export-add, FUSE + loop) and unexports, as steps
 *   volume.c    QoS, resize (as steps), stats, sync()'s prune; the locators (storage.h's struct
 *               softcard_volume) and the checks of a description
 *   loop.c      what host-block exports leave in the kernel: loop devices, FUSE mounts; the
 *               loop device's attach, refresh and detach as calls off the loop, in forked
 *               children (common/subprocess.c: they can sleep on the daemon's FUSE export)
 *   loop_index.c  the card's loop devices by volume, read from sysfs once, kept by its own
 *               attaches and detaches, each entry checked before it is believed
 *   view.c      the daemon's exports, nodes and objects, read once, kept by the card's commands
 *   net.c       networks (bridges) and NIC attachments (veth into a netns, tap), and their sync
 *   ifname.c    the names of those links (zb-, zv-, zp-, zt-), derived from networks and NICs
 *
 * Everything here follows card.h's rules: idempotent, bounded, -errno + err.
 */
#include "io/netlink/netlink.h"
#include "zero/card.h"

/* The driver struct (card.h's ZERO_CARD_DRIVER_ENTRY, exported by softcard.so); tests that link
 * the static library call it directly. */
const struct zero_card_driver *zero_card_driver_entry(void);

/* ---- ifname.c: the names of the driver's links ---- */

#define SOFTCARD_IFNAME_BRIDGE "zb"
#define SOFTCARD_IFNAME_VETH "zv"
#define SOFTCARD_IFNAME_PEER "zp"
#define SOFTCARD_IFNAME_TAP "zt"

/* The bridge of a network (name valid per zero_name_is_valid()), see ifname.c. */
int softcard_ifname_bridge(const char *network, char ret[static ZERO_IFNAMSIZ]);
/* prefix (one of SOFTCARD_IFNAME_VETH/PEER/TAP) + "-" + first 12 hex digits of a 32-hex NIC id. */
int softcard_ifname_nic(const char *prefix, const char *nic_id, char ret[static ZERO_IFNAMSIZ]);

/* ---- net.c: networks and NICs over rtnetlink (nl is a zero_nl_open() handle) ---- */

/* The bridge of a network, derived from its name (ifname.c's zb- names); the agent only shows it. */
int softcard_net_bridge(const struct zero_card_network *n, char ret[static ZERO_IFNAMSIZ]);
/* The bridge, up, with the gateway address on it (prefix of the subnet). A bridge of that name
 * that is another network's (its MAC is not the one derived from n's id) is ZERO_E_CONFLICT. */
int softcard_net_network_create(struct zero_nl *nl, const struct zero_card_network *n, struct zero_error *err);
int softcard_net_network_delete(struct zero_nl *nl, const struct zero_card_network *n, struct zero_error *err);
int softcard_net_nic_attach(struct zero_nl *nl, const struct zero_card_nic *nic, enum zero_card_nic_kind kind,
                            const char *netns_path, char ret_ifname[static ZERO_CARD_PATH_MAX],
                            struct zero_error *err);
/* Deletes the host-side link (zv-/zt-); a veth's other end goes with it. */
int softcard_net_nic_detach(struct zero_nl *nl, const struct zero_card_nic *nic, struct zero_error *err);
/* card.h's sync() for the network half: bridges of networks (missing ones made), wanted NICs
 * (missing ones attached again, recreated set), every other zb-/zv-/zt- link deleted. Returns the
 * number of items it could not put right. */
int softcard_net_sync(struct zero_nl *nl, const struct zero_card_network *networks, size_t n_networks,
                      struct zero_card_want_nic *nics, size_t n_nics, struct zero_error *err);
