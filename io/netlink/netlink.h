/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/*
 * The host's networking in raw rtnetlink: Linux bridges, veth pairs, persistent taps, IPv4
 * addresses and default routes, moves of links into network namespaces, and persistent network
 * namespaces. The softcard builds its networks and NICs on it; zerod's netns service
 * (agent/netns.c) makes the plugins' namespaces with it. MACs and IPv4 subnets are
 * common/netaddr.h's; the names a driver gives its links are the driver's (io/softcard/ifname.c).
 *
 * Every request is synchronous: it carries NLM_F_ACK and waits for the kernel's answer. The
 * kernel handles rtnetlink requests inside sendmsg(), so the answer is already queued when we
 * read it and a call costs microseconds: fine on zerod's event loop.
 *
 * Returns: >= 0 on success, -errno on failure. When the kernel explained a failure (extended
 * ack), zero_nl_last_error() has its text for the caller's struct zero_error; this layer never
 * logs. Creates and deletes are idempotent, as the operations journal retries steps: creating
 * what exists with the same kind succeeds, deleting what is gone succeeds.
 *
 * Namespaces: a struct zero_nl acts on the network namespace its socket was created in, whatever
 * namespace the process is in later. zero_nl_open_netns() makes such a socket inside another
 * namespace (a container's) without moving zerod there: a short-lived forked child setns()es,
 * creates the socket and hands it back over a socketpair (SCM_RIGHTS), then exits. zerod has no
 * threads, and a setns() of zerod itself would leave it in the wrong namespace if anything went
 * wrong in between; the child costs one fork per configured container NIC.
 */
#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/macro.h"
#include "common/netaddr.h"

/* ---- Interface names (pure; addr.c) ---- */

#define ZERO_IFNAMSIZ 16 /* == IFNAMSIZ, including the NUL */

/* 1..15 bytes, no '/', ':', '%' or white space, not "." or "..". */
bool zero_ifname_is_valid(const char *name);

/* ---- The netlink handle (netlink.c) ---- */

struct zero_nl;

/* A NETLINK_ROUTE socket in the caller's network namespace. */
int zero_nl_open(struct zero_nl **ret);
/* A NETLINK_ROUTE socket in the network namespace of netns_fd (see the top of this file). */
int zero_nl_open_netns(int netns_fd, struct zero_nl **ret);
struct zero_nl *zero_nl_close(struct zero_nl *nl);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct zero_nl *, zero_nl_close)
/* The kernel's explanation of the last failed request, "" if it gave none. */
const char *zero_nl_last_error(const struct zero_nl *nl);

/* An O_CLOEXEC fd of /proc/PID/ns/net. The namespace lives on while the fd is open. */
int zero_netns_open_pid(pid_t pid);

/* ---- Persistent network namespaces (netns.c) ---- */

/* A new network namespace bound at path (a file it creates, mode 0444, in an existing directory),
 * as `ip netns add` does with /run/netns/NAME, with lo up. A forked child makes it: the caller
 * stays in its own namespace. Idempotent: a path that already holds a network namespace is
 * success, and an empty file left by an interrupted create is used again; anything else at path
 * is -EEXIST. A failed create leaves no file. The mount is made in the caller's mount namespace
 * with the propagation of path's mount: whoever picks the directory picks who sees it. */
int zero_netns_create(const char *path);
/* Unmounts (lazily: processes inside keep the namespace, the path goes now) and removes the file.
 * A missing path is success. */
int zero_netns_remove(const char *path);
/* An O_RDONLY|O_CLOEXEC fd of the namespace bound at path; -EMEDIUMTYPE if path is no network
 * namespace (e.g. a file whose mount is gone). */
int zero_netns_open_path(const char *path);

/* ---- Links (link.c) ---- */

struct zero_nl_link {
        int ifindex;
        char name[ZERO_IFNAMSIZ];
        char kind[16];      /* IFLA_INFO_KIND: "bridge", "veth", "tun" (taps too), "" */
        int master;         /* ifindex of the bridge it is attached to, 0 if none */
        int peer_ifindex;   /* IFLA_LINK: a veth's other end, 0 if none */
        bool peer_netns;    /* that other end lives in another namespace */
        bool has_mac;
        uint8_t mac[ZERO_MAC_LEN];
        unsigned mtu;
        unsigned flags;     /* IFF_UP, IFF_LOWER_UP, ... */
        unsigned operstate; /* IF_OPER_UP, IF_OPER_DOWN, ... (RFC 2863) */
};

/* -ENODEV if there is no such link. */
int zero_nl_link_get(struct zero_nl *nl, const char *name, struct zero_nl_link *ret);
int zero_nl_link_get_by_index(struct zero_nl *nl, int ifindex, struct zero_nl_link *ret);
/* The ifindex (> 0), or -ENODEV. */
int zero_nl_link_index(struct zero_nl *nl, const char *name);
/* Every link whose name starts with prefix (NULL: all); the array is the caller's to free (NULL
 * when there is none). */
int zero_nl_link_list(struct zero_nl *nl, const char *prefix, struct zero_nl_link **ret, size_t *ret_n);

int zero_nl_link_set_up(struct zero_nl *nl, const char *name);
int zero_nl_link_set_down(struct zero_nl *nl, const char *name);
/* Attaches to a bridge; master NULL detaches. */
int zero_nl_link_set_master(struct zero_nl *nl, const char *name, const char *master);
int zero_nl_link_set_mac(struct zero_nl *nl, const char *name, const uint8_t mac[static ZERO_MAC_LEN]);
/* Kernels before 6.2 refuse to rename a link that is up (-EBUSY): set it down first. */
int zero_nl_link_rename(struct zero_nl *nl, const char *name, const char *new_name);
/* Deletes a link of any kind; a veth takes its other end with it. A missing link is success. */
int zero_nl_link_delete(struct zero_nl *nl, const char *name);

/* mtu 0: the kernel's default. mac NULL: the kernel's choice, which then follows the lowest MAC
 * among the bridge's ports and changes as ports come and go; pass a stable one (e.g.
 * zero_mac_from_id() of the network's id) so the gateway's MAC in the containers' ARP caches
 * stays right. An existing bridge of that name is success, any other link -EEXIST. */
int zero_nl_bridge_create(struct zero_nl *nl, const char *name, unsigned mtu, const uint8_t *mac);
/* A missing bridge is success; a link of that name of another kind is -EMEDIUMTYPE, untouched.
 * The same holds for the veth and tap deletes below. */
int zero_nl_bridge_delete(struct zero_nl *nl, const char *name);

struct zero_nl_veth {
        const char *name;        /* host end, e.g. zv-<12 hex> */
        const char *peer;        /* the other end, e.g. zp-<12 hex>, to be moved into a netns */
        const uint8_t *peer_mac; /* NULL: random */
        const char *master;      /* bridge for the host end, NULL: none */
        unsigned mtu;            /* both ends; 0: the kernel's default */
};
/* Creates the pair with the host end attached to its bridge and up (the peer stays down until
 * configured in its namespace). If a veth called name exists, it is attached and set up and the
 * call succeeds: its peer cannot be checked, as it may live in a container by now. */
int zero_nl_veth_create(struct zero_nl *nl, const struct zero_nl_veth *v);
int zero_nl_veth_delete(struct zero_nl *nl, const char *name);

/* A persistent tap (IFF_TAP|IFF_NO_PI|IFF_VNET_HDR) owned by root, attached to master (NULL:
 * none) and up, for QEMU to open later by name. An existing tun/tap device of that name is
 * attached and set up and the call succeeds (it may be in use by a running QEMU). /dev/net/tun
 * creates the device in the calling process's namespace, so nl must be a zero_nl_open() handle
 * (-EXDEV otherwise). */
int zero_nl_tap_create(struct zero_nl *nl, const char *name, const char *master);
int zero_nl_tap_delete(struct zero_nl *nl, const char *name);

/* Moves a link into another network namespace (it arrives down), renamed to new_name there if
 * not NULL: moving and renaming in one request avoids a clash with a link of the old name in
 * the target namespace. */
int zero_nl_link_move_netns_fd(struct zero_nl *nl, const char *name, int netns_fd, const char *new_name);
int zero_nl_link_move_netns_pid(struct zero_nl *nl, const char *name, pid_t pid, const char *new_name);

/* A container NIC's configuration inside its namespace. */
struct zero_nl_ifconfig {
        const char *name;       /* the link's name in the namespace */
        const char *new_name;   /* NULL: keep; e.g. "eth0" */
        const uint8_t *mac;     /* NULL: keep */
        unsigned mtu;           /* 0: keep */
        struct in_addr addr;    /* 0.0.0.0: no address */
        unsigned prefixlen;
        struct in_addr gateway; /* 0.0.0.0: no default route */
};
/* On a handle of the namespace (zero_nl_open_netns()): renames, sets MAC and MTU, adds the
 * address, sets the link and lo up, and makes the default route via the gateway (replacing any
 * other default route). Idempotent; a link already renamed to new_name is found under it. */
int zero_nl_link_configure(struct zero_nl *nl, const struct zero_nl_ifconfig *c);

/* ---- IPv4 addresses and routes (addr.c) ---- */

struct zero_nl_addr {
        int ifindex;
        struct in_addr addr;
        unsigned prefixlen;
};

/* Adding an existing address or deleting a missing one (or one of a missing link) succeeds. */
int zero_nl_addr_add(struct zero_nl *nl, const char *name, struct in_addr a, unsigned prefixlen);
int zero_nl_addr_del(struct zero_nl *nl, const char *name, struct in_addr a, unsigned prefixlen);
int zero_nl_addr_add_index(struct zero_nl *nl, int ifindex, struct in_addr a, unsigned prefixlen);
int zero_nl_addr_del_index(struct zero_nl *nl, int ifindex, struct in_addr a, unsigned prefixlen);
/* The IPv4 addresses of a link (ifindex 0: of all links); the array is the caller's to free
 * (NULL when there is none). */
int zero_nl_addr_list(struct zero_nl *nl, int ifindex, struct zero_nl_addr **ret, size_t *ret_n);

struct zero_nl_route {
        struct in_addr dst;      /* 0.0.0.0 with prefixlen 0: a default route */
        unsigned prefixlen;
        struct in_addr gateway;  /* 0.0.0.0: none (on-link) */
        int ifindex;             /* 0: none (blackhole, unreachable, ...) */
        unsigned type;           /* RTN_UNICAST, RTN_BLACKHOLE, ... */
};
/* The main table's IPv4 routes; the array is the caller's to free (NULL when there is none). */
int zero_nl_route_list(struct zero_nl *nl, struct zero_nl_route **ret, size_t *ret_n);
/* The main table's IPv4 default route: via gateway on link name; replaces an existing one. */
int zero_nl_route_replace_default(struct zero_nl *nl, const char *name, struct in_addr gateway);
/* -ENOENT if there is none. */
int zero_nl_route_get_default(struct zero_nl *nl, struct in_addr *ret_gateway, int *ret_ifindex);

/* ---- Message plumbing shared by netlink.c, link.c and addr.c; not for callers ---- */

struct nlmsghdr;
struct rtattr;
typedef int (*zero_nl_reply_fn)(const struct nlmsghdr *h, void *userdata);

/* One request at a time is built in the handle's buffer; an overflow is reported by send. */
void zero_nl_msg_begin(struct zero_nl *nl, uint16_t type, uint16_t flags, const void *hdr, size_t hdr_len);
void zero_nl_msg_put(struct zero_nl *nl, uint16_t type, const void *data, size_t len);
/* Raw bytes, e.g. the struct ifinfomsg that opens a veth peer's attribute. */
void zero_nl_msg_append(struct zero_nl *nl, const void *data, size_t len);
void zero_nl_msg_put_u32(struct zero_nl *nl, uint16_t type, uint32_t v);
void zero_nl_msg_put_str(struct zero_nl *nl, uint16_t type, const char *s);
size_t zero_nl_msg_nest_begin(struct zero_nl *nl, uint16_t type);
void zero_nl_msg_nest_end(struct zero_nl *nl, size_t offset);
/* Sends the request and reads up to its ack (or NLMSG_DONE for NLM_F_DUMP), calling cb for each
 * reply. Returns the kernel's error, else cb's first error, else 0. */
int zero_nl_msg_send(struct zero_nl *nl, zero_nl_reply_fn cb, void *userdata);
/* tb[0..max] gets each attribute of the stream (the last one of a type wins), NULL if absent. */
void zero_nl_attrs_parse(const struct rtattr *rta, size_t len, const struct rtattr **tb, size_t max);
/* 0 if a is NULL or too short. */
uint32_t zero_nl_attr_u32(const struct rtattr *a);
/* Whether the handle came from zero_nl_open_netns(). */
bool zero_nl_is_foreign(const struct zero_nl *nl);
