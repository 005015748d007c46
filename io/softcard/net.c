/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The softcard's networks and NICs: one Linux bridge per network with the gateway's address on
 * it, a veth pair per container NIC (host end zv-* on the bridge, the other end in the
 * container's namespace), a persistent tap zt-* per VM NIC.
 *
 * The kernel's link table is all the state there is: every link is named after its network or
 * NIC (ifname.c), so an attach can tell what an earlier, interrupted attempt left, and sync can
 * tell ours from the host's other links and from links of NICs the store no longer knows.
 */
#include "io/softcard/softcard.h"

#include <arpa/inet.h>
#include <linux/if.h>
#include <stdarg.h>
#include <stdio.h>

#define invalid(err, ...) zero_error_set((err), -EINVAL, ZERO_E_INVALID, __VA_ARGS__)

/* A failure of the kernel (or of a request to it): what we tried, errno's text and the kernel's
 * own explanation when it gave one. Call it right after the failed request: the next request on
 * nl clears the explanation. */
_printf_(4, 5) static int kernel_error(const struct zero_nl *nl, struct zero_error *err, int r, const char *fmt,
                                       ...) {
        const char *why = zero_nl_last_error(nl);
        char what[256];
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(what, sizeof(what), fmt, ap);
        va_end(ap);
        return zero_error_set(err, r, ZERO_E_INTERNAL, "%s: %s%s%s", what, strerror(-r), *why ? ": " : "", why);
}

static bool ipv4_parse(const char *s, struct in_addr *ret) {
        return s && inet_pton(AF_INET, s, ret) == 1;
}

static bool has_prefix(const char *name, const char *prefix) {
        size_t n = strlen(prefix);

        /* Prefixes come without their dash: "zv" names "zv-...". */
        return strncmp(name, prefix, n) == 0 && name[n] == '-';
}

/* ---- Networks ---- */

/* A name from the namespace's link list, "?" for one that went away in between. */
static const char *link_name(const struct zero_nl_link *links, size_t n, int ifindex) {
        for (size_t i = 0; i < n; i++)
                if (links[i].ifindex == ifindex)
                        return links[i].name;
        return "?";
}

static bool on_card_bridge(const struct zero_nl_link *links, size_t n, int ifindex) {
        return ifindex > 0 && has_prefix(link_name(links, n, ifindex), SOFTCARD_IFNAME_BRIDGE);
}

/*
 * A network's bridge gets the subnet's gateway address and with it a route to the subnet: one
 * that overlaps an address or a route the namespace has already would shadow it or be shadowed
 * (issue 10, row 12: a duplicate route). So the subnet must be free of every address and every
 * main-table route but the default ones and those of the card's own bridges (zb-: the agent
 * checks the networks against each other, and an interrupted create finds its own bridge).
 */
static int subnet_check_free(struct zero_nl *nl, const struct zero_card_network *n,
                             const struct zero_ipv4_net *subnet, struct zero_error *err) {
        _cleanup_free_ struct zero_nl_link *links = NULL;
        _cleanup_free_ struct zero_nl_addr *addrs = NULL;
        _cleanup_free_ struct zero_nl_route *routes = NULL;
        size_t n_links = 0, n_addrs = 0, n_routes = 0;
        char what[ZERO_IPV4_CIDR_STRSIZE], via[INET_ADDRSTRLEN];
        int r;

        if ((r = zero_nl_link_list(nl, NULL, &links, &n_links)) < 0 ||
            (r = zero_nl_addr_list(nl, 0, &addrs, &n_addrs)) < 0 || (r = zero_nl_route_list(nl, &routes, &n_routes)) < 0)
                return kernel_error(nl, err, r, "network %s: listing the namespace's addresses and routes",
                                    strempty(n->name));
        for (size_t i = 0; i < n_addrs; i++) {
                struct zero_ipv4_net a = {addrs[i].addr, addrs[i].prefixlen};
                if (!on_card_bridge(links, n_links, addrs[i].ifindex) && zero_ipv4_net_overlaps(subnet, &a))
                        return zero_error_set(err, -EADDRINUSE, ZERO_E_CONFLICT,
                                              "subnet %s overlaps the address %s on %s in the card's network namespace",
                                              n->subnet, zero_ipv4_cidr_format(a.addr, a.prefixlen, what),
                                              link_name(links, n_links, addrs[i].ifindex));
        }
        for (size_t i = 0; i < n_routes; i++) {
                struct zero_ipv4_net d = {routes[i].dst, routes[i].prefixlen};
                if (d.prefixlen == 0 || on_card_bridge(links, n_links, routes[i].ifindex) ||
                    !zero_ipv4_net_overlaps(subnet, &d))
                        continue;
                inet_ntop(AF_INET, &routes[i].gateway, via, sizeof(via));
                return zero_error_set(err, -EADDRINUSE, ZERO_E_CONFLICT,
                                      "subnet %s overlaps the route to %s%s%s%s%s in the card's network namespace",
                                      n->subnet, zero_ipv4_cidr_format(d.addr, d.prefixlen, what),
                                      routes[i].gateway.s_addr ? " via " : "", routes[i].gateway.s_addr ? via : "",
                                      routes[i].ifindex ? " dev " : "",
                                      routes[i].ifindex ? link_name(links, n_links, routes[i].ifindex) : "");
        }
        return 0;
}

int softcard_net_bridge(const struct zero_card_network *n, char ret[static ZERO_IFNAMSIZ]) {
        if (!n || n->size < sizeof(*n))
                return -EINVAL;
        return softcard_ifname_bridge(n->name, ret);
}

/* A bridge of that name is there already: ours (an interrupted or repeated create) only if it has
 * the MAC derived from the network's id. Two long network names can share a bridge name
 * (ifname.c): the second network is refused rather than joined to the first one's bridge. */
static int bridge_owner_check(struct zero_nl *nl, const struct zero_card_network *n, const char *bridge,
                              const uint8_t *mac, struct zero_error *err) {
        struct zero_nl_link l;
        int r;

        if (!mac)
                return 0;
        r = zero_nl_link_get(nl, bridge, &l);
        if (r == -ENODEV)
                return 0;
        if (r < 0)
                return kernel_error(nl, err, r, "looking up bridge %s", bridge);
        if (streq(l.kind, "bridge") && l.has_mac && memcmp(l.mac, mac, ZERO_MAC_LEN) != 0)
                return zero_error_set(err, -EEXIST, ZERO_E_CONFLICT,
                                      "network %s: its bridge's name, %s, is another network's: choose another name",
                                      strempty(n->name), bridge);
        return 0;
}

int softcard_net_network_create(struct zero_nl *nl, const struct zero_card_network *n, struct zero_error *err) {
        char bridge_buf[ZERO_IFNAMSIZ];
        const char *bridge = bridge_buf;
        struct zero_ipv4_net subnet;
        struct in_addr gateway;
        uint8_t mac[ZERO_MAC_LEN];
        bool have_mac;
        int r;

        if (!nl || !n)
                return invalid(err, "no network");
        if (softcard_net_bridge(n, bridge_buf) < 0)
                return invalid(err, "network %s: invalid name", strempty(n->name));
        if (zero_ipv4_net_parse(n->subnet, &subnet) < 0)
                return invalid(err, "network %s: invalid subnet %s", strempty(n->name), strempty(n->subnet));
        if (!ipv4_parse(n->gateway, &gateway) || !zero_ipv4_net_contains(&subnet, gateway))
                return invalid(err, "network %s: gateway %s is not an address in %s", strempty(n->name),
                               strempty(n->gateway), n->subnet);

        /* A MAC of its own, stable across restarts: else the bridge takes its lowest port's,
         * which changes as NICs come and go, and the gateway's entry in the containers' ARP
         * caches goes stale (netlink.h). An id that is not 32 hex digits leaves it to the kernel. */
        have_mac = zero_mac_from_id(n->id, mac) >= 0;
        r = bridge_owner_check(nl, n, bridge, have_mac ? mac : NULL, err);
        if (r < 0)
                return r;
        r = subnet_check_free(nl, n, &subnet, err);
        if (r < 0)
                return r;

        r = zero_nl_bridge_create(nl, bridge, 0, have_mac ? mac : NULL);
        if (r == -EEXIST)
                return zero_error_set(err, r, ZERO_E_CONFLICT, "network %s: a link named %s exists and is no bridge",
                                      strempty(n->name), bridge);
        if (r < 0)
                return kernel_error(nl, err, r, "creating bridge %s", bridge);
        r = zero_nl_addr_add(nl, bridge, gateway, subnet.prefixlen);
        if (r < 0)
                return kernel_error(nl, err, r, "adding %s/%u to bridge %s", n->gateway, subnet.prefixlen,
                                    bridge);
        r = zero_nl_link_set_up(nl, bridge);
        if (r < 0)
                return kernel_error(nl, err, r, "setting bridge %s up", bridge);
        return 0;
}

int softcard_net_network_delete(struct zero_nl *nl, const struct zero_card_network *n, struct zero_error *err) {
        char bridge[ZERO_IFNAMSIZ];
        uint8_t mac[ZERO_MAC_LEN];
        int r;

        if (!nl || !n)
                return invalid(err, "no network");
        if (softcard_net_bridge(n, bridge) < 0)
                return invalid(err, "network %s: invalid name", strempty(n->name));
        /* Another network's bridge of the same name is not this network's to delete. */
        if (zero_mac_from_id(n->id, mac) >= 0 && bridge_owner_check(nl, n, bridge, mac, &(struct zero_error){}) == -EEXIST)
                return 0;
        /* Its ports are released, not deleted: their NICs are detached on their own. */
        r = zero_nl_bridge_delete(nl, bridge);
        if (r == -EMEDIUMTYPE)
                return zero_error_set(err, r, ZERO_E_CONFLICT, "network %s: the link named %s is no bridge",
                                      strempty(n->name), bridge);
        if (r < 0)
                return kernel_error(nl, err, r, "deleting bridge %s", bridge);
        return 0;
}

/* ---- NICs ---- */

/* A NIC as this file works on it: card.h's, with what it needs of its network. */
struct snic {
        const char *id, *mac, *ip, *ifname;
        unsigned prefixlen;          /* of the network's subnet */
        const char *gateway;         /* the network's, the default route */
        char bridge[ZERO_IFNAMSIZ];  /* the network's */
};

static int snic_from(const struct zero_card_nic *nic, struct snic *ret, struct zero_error *err) {
        struct zero_ipv4_net subnet;

        if (!nic || nic->size < sizeof(*nic))
                return invalid(err, "NIC description missing or too old");
        if (!nic->network || softcard_net_bridge(nic->network, ret->bridge) < 0)
                return invalid(err, "NIC %s: no valid network", strempty(nic->id));
        if (zero_ipv4_net_parse(nic->network->subnet, &subnet) < 0)
                return invalid(err, "NIC %s: network %s has an invalid subnet %s", strempty(nic->id),
                               nic->network->name, strempty(nic->network->subnet));
        ret->id = nic->id;
        ret->mac = nic->mac;
        ret->ip = nic->ip;
        ret->ifname = nic->ifname;
        ret->prefixlen = subnet.prefixlen;
        ret->gateway = nic->network->gateway;
        return 0;
}

struct nic_names {
        char host[ZERO_IFNAMSIZ]; /* zv-: the veth's host end */
        char peer[ZERO_IFNAMSIZ]; /* zp-: its other end while in the host namespace */
        char tap[ZERO_IFNAMSIZ];  /* zt- */
};

static int nic_names_get(const char *id, struct nic_names *ret, struct zero_error *err) {
        if (softcard_ifname_nic(SOFTCARD_IFNAME_VETH, id, ret->host) < 0 || softcard_ifname_nic(SOFTCARD_IFNAME_PEER, id, ret->peer) < 0 ||
            softcard_ifname_nic(SOFTCARD_IFNAME_TAP, id, ret->tap) < 0)
                return invalid(err, "invalid NIC id %s", strempty(id));
        return 0;
}

/* The host-side link of a NIC of that kind, NULL for a kind that has none. */
static const char *nic_host_link(const struct nic_names *names, enum zero_card_nic_kind kind) {
        switch (kind) {
        case ZERO_CARD_NIC_VETH:
                return names->host;
        case ZERO_CARD_NIC_TAP:
                return names->tap;
        default:
                return NULL;
        }
}

/* Checked first so that a missing network says so, rather than as a veth or tap failing. */
static int bridge_check(struct zero_nl *nl, const struct snic *nic, struct zero_error *err) {
        struct zero_nl_link l;
        int r;

        if (!zero_ifname_is_valid(nic->bridge))
                return invalid(err, "NIC %s: invalid bridge name", nic->id);
        r = zero_nl_link_get(nl, nic->bridge, &l);
        if (r == -ENODEV)
                return zero_error_set(err, r, ZERO_E_INTERNAL, "NIC %s: bridge %s does not exist", nic->id,
                                      nic->bridge);
        if (r < 0)
                return kernel_error(nl, err, r, "NIC %s: looking up bridge %s", nic->id, nic->bridge);
        if (!streq(l.kind, "bridge"))
                return zero_error_set(err, -EMEDIUMTYPE, ZERO_E_CONFLICT, "NIC %s: the link named %s is no bridge",
                                      nic->id, nic->bridge);
        return 0;
}

/* A NIC's link that is already there can still have lost its bridge (deleted and made anew
 * since) or been set down. */
static int keep_on_bridge(struct zero_nl *nl, const struct zero_nl_link *l, const char *bridge,
                          struct zero_error *err) {
        int master, r;

        master = zero_nl_link_index(nl, bridge);
        if (master < 0)
                return kernel_error(nl, err, master, "looking up bridge %s", bridge);
        if (l->master != master) {
                r = zero_nl_link_set_master(nl, l->name, bridge);
                if (r < 0)
                        return kernel_error(nl, err, r, "attaching %s to %s", l->name, bridge);
        }
        if (!(l->flags & IFF_UP)) {
                r = zero_nl_link_set_up(nl, l->name);
                if (r < 0)
                        return kernel_error(nl, err, r, "setting %s up", l->name);
        }
        return 0;
}

/* The configuration inside the namespace; mac is the storage behind ret->mac. The link arrives
 * there already renamed to ifname (moved and renamed in one request). */
static int veth_config_parse(const struct snic *nic, uint8_t mac[static ZERO_MAC_LEN],
                             struct zero_nl_ifconfig *ret, struct zero_error *err) {
        struct in_addr addr, gateway = {};

        if (!zero_ifname_is_valid(nic->ifname))
                return invalid(err, "NIC %s: invalid interface name %s", nic->id, strempty(nic->ifname));
        if (zero_mac_parse(nic->mac, mac) < 0)
                return invalid(err, "NIC %s: invalid MAC %s", nic->id, strempty(nic->mac));
        if (!ipv4_parse(nic->ip, &addr) || addr.s_addr == INADDR_ANY || nic->prefixlen > 32)
                return invalid(err, "NIC %s: invalid address %s/%u", nic->id, strempty(nic->ip), nic->prefixlen);
        if (nic->gateway && !ipv4_parse(nic->gateway, &gateway))
                return invalid(err, "NIC %s: invalid gateway %s", nic->id, nic->gateway);
        *ret = (struct zero_nl_ifconfig) {.name = nic->ifname, .mac = mac, .addr = addr,
                                          .prefixlen = nic->prefixlen, .gateway = gateway};
        return 0;
}

enum veth_state {
        VETH_MISSING,    /* no host end */
        VETH_HALF_MADE,  /* both ends still in the host namespace: an attach stopped half way */
        VETH_ELSEWHERE,  /* the other end lives in some other namespace */
        VETH_ATTACHED,   /* the other end is ifname in this namespace */
        VETH_NAME_TAKEN, /* ifname in this namespace is some other link */
};

/* Where the NIC's pair stands, seen from the host (nl) and from inside the namespace (inner);
 * ret_host gets the host end when there is one. */
static int veth_state(struct zero_nl *nl, struct zero_nl *inner, const char *host, const char *ifname,
                      struct zero_nl_link *ret_host) {
        struct zero_nl_link h = {}, in;
        bool have_host;
        int r;

        r = zero_nl_link_get(nl, host, &h);
        if (r < 0 && r != -ENODEV)
                return r;
        have_host = r >= 0;
        if (have_host && !streq(h.kind, "veth"))
                return -EMEDIUMTYPE;
        *ret_host = h;

        r = zero_nl_link_get(inner, ifname, &in);
        if (r < 0 && r != -ENODEV)
                return r;
        if (r >= 0) {
                /* ifindexes are per namespace: the two ends naming each other is what tells our
                 * pair from a namesake. */
                if (have_host && h.peer_netns && in.ifindex == h.peer_ifindex && in.peer_ifindex == h.ifindex)
                        return VETH_ATTACHED;
                return VETH_NAME_TAKEN;
        }
        if (!have_host)
                return VETH_MISSING;
        return h.peer_netns ? VETH_ELSEWHERE : VETH_HALF_MADE;
}

/* A new pair with its other end moved into the namespace as ifname. */
static int veth_make(struct zero_nl *nl, const struct snic *nic, const struct nic_names *names,
                     const uint8_t *mac, int netns_fd, struct zero_error *err) {
        const struct zero_nl_veth v = {.name = names->host, .peer = names->peer, .peer_mac = mac,
                                       .master = nic->bridge};
        int r;

        /* A peer whose host end is gone cannot exist, but a link of its name can: it would make
         * the create fail. */
        r = zero_nl_link_delete(nl, names->peer);
        if (r < 0)
                return kernel_error(nl, err, r, "deleting leftover %s", names->peer);
        r = zero_nl_veth_create(nl, &v);
        if (r < 0)
                return kernel_error(nl, err, r, "creating veth %s", names->host);
        r = zero_nl_link_move_netns_fd(nl, names->peer, netns_fd, nic->ifname);
        if (r < 0) {
                kernel_error(nl, err, r, "moving %s into the namespace as %s", names->peer, nic->ifname);
                (void) zero_nl_link_delete(nl, names->host);
                return r;
        }
        return 0;
}

static int veth_attach(struct zero_nl *nl, const struct snic *nic, const struct nic_names *names,
                       const char *netns_path, struct zero_error *err) {
        _cleanup_(zero_nl_closep) struct zero_nl *inner = NULL;
        _cleanup_close_ int netns_fd = -EBADF;
        uint8_t mac[ZERO_MAC_LEN];
        struct zero_nl_ifconfig cfg;
        struct zero_nl_link host = {};
        int state, r;

        r = veth_config_parse(nic, mac, &cfg, err);
        if (r < 0)
                return r;
        if (!netns_path)
                return invalid(err, "NIC %s: a veth needs a network namespace", nic->id);
        netns_fd = zero_netns_open_path(netns_path);
        if (netns_fd < 0)
                return zero_error_set(err, netns_fd, ZERO_E_INTERNAL, "NIC %s: network namespace %s: %s", nic->id,
                                      netns_path, strerror(-netns_fd));
        r = zero_nl_open_netns(netns_fd, &inner);
        if (r < 0)
                return kernel_error(NULL, err, r, "NIC %s: entering network namespace %s", nic->id, netns_path);

        state = veth_state(nl, inner, names->host, nic->ifname, &host);
        switch (state) {
        case VETH_ATTACHED:
                r = keep_on_bridge(nl, &host, nic->bridge, err);
                if (r < 0)
                        return r;
                break;
        case VETH_HALF_MADE:
        case VETH_ELSEWHERE:
                /* Made anew rather than patched up: a fresh pair has no history (a half-done
                 * configuration, a namespace that still uses it). */
                r = zero_nl_link_delete(nl, names->host);
                if (r < 0)
                        return kernel_error(nl, err, r, "deleting stale %s", names->host);
                __attribute__((fallthrough));
        case VETH_MISSING:
                r = veth_make(nl, nic, names, mac, netns_fd, err);
                if (r < 0)
                        return r;
                break;
        case VETH_NAME_TAKEN:
                return zero_error_set(err, -EEXIST, ZERO_E_CONFLICT,
                                      "NIC %s: network namespace %s has another link named %s", nic->id,
                                      netns_path, nic->ifname);
        case -EMEDIUMTYPE:
                return zero_error_set(err, state, ZERO_E_CONFLICT, "NIC %s: the link named %s is no veth", nic->id,
                                      names->host);
        default:
                return kernel_error(nl, err, state, "NIC %s: looking up %s", nic->id, names->host);
        }

        /* Every time, not only for a new pair: a retry converges whatever an earlier attempt
         * (or someone inside the container) left. */
        r = zero_nl_link_configure(inner, &cfg);
        if (r < 0) {
                kernel_error(inner, err, r, "NIC %s: configuring %s in %s", nic->id, nic->ifname, netns_path);
                if (state != VETH_ATTACHED) /* all or nothing, for what this call made */
                        (void) zero_nl_link_delete(nl, names->host);
                return r;
        }
        return 0;
}

static int tap_attach(struct zero_nl *nl, const struct snic *nic, const char *tap, struct zero_error *err) {
        int r = zero_nl_tap_create(nl, tap, nic->bridge);

        if (r == -EEXIST)
                return zero_error_set(err, r, ZERO_E_CONFLICT, "NIC %s: the link named %s is no tap", nic->id, tap);
        if (r < 0)
                return kernel_error(nl, err, r, "creating tap %s", tap);
        return 0;
}

static int nic_attach(struct zero_nl *nl, const struct snic *nic, enum zero_card_nic_kind kind,
                      const char *netns_path, char ret_ifname[static ZERO_CARD_PATH_MAX], struct zero_error *err) {
        struct nic_names names;
        const char *name;
        int r;

        if (!nl || !ret_ifname)
                return invalid(err, "no netlink handle or result buffer");
        r = nic_names_get(nic->id, &names, err);
        if (r < 0)
                return r;
        name = nic_host_link(&names, kind);
        if (!name)
                return invalid(err, "NIC %s: kind %d cannot be attached", nic->id, (int) kind);
        r = bridge_check(nl, nic, err);
        if (r < 0)
                return r;

        r = kind == ZERO_CARD_NIC_VETH ? veth_attach(nl, nic, &names, netns_path, err)
                                       : tap_attach(nl, nic, names.tap, err);
        if (r < 0)
                return r;
        snprintf(ret_ifname, ZERO_CARD_PATH_MAX, "%s", name);
        return 0;
}

int softcard_net_nic_attach(struct zero_nl *nl, const struct zero_card_nic *nic, enum zero_card_nic_kind kind,
                            const char *netns_path, char ret_ifname[static ZERO_CARD_PATH_MAX],
                            struct zero_error *err) {
        struct snic sn;
        int r = snic_from(nic, &sn, err);

        return r < 0 ? r : nic_attach(nl, &sn, kind, netns_path, ret_ifname, err);
}

int softcard_net_nic_detach(struct zero_nl *nl, const struct zero_card_nic *nic, struct zero_error *err) {
        struct nic_names names;
        int r;

        if (!nl || !nic)
                return invalid(err, "no netlink handle or NIC");
        r = nic_names_get(nic->id, &names, err);
        if (r < 0)
                return r;
        /* All three, whatever the kind: the NIC may have switched modes, and a crash may have
         * left a peer in the host namespace. The host end of a veth takes its other end along,
         * wherever that is. Any kind of link is deleted: these names are the driver's alone. */
        const char *const links[] = {names.host, names.tap, names.peer};
        for (size_t i = 0; i < ELEMENTSOF(links); i++) {
                r = zero_nl_link_delete(nl, links[i]);
                if (r < 0)
                        return kernel_error(nl, err, r, "NIC %s: deleting %s", nic->id, links[i]);
        }
        return 0;
}

/* ---- sync ---- */

static void count_failure(int *failures, struct zero_error *err, const struct zero_error *e) {
        if ((*failures)++ == 0 && err)
                *err = *e;
}

/* A VETH's namespace must be there even when its link is: the store points at it, and a
 * namespace that lost its file cannot be attached to again. */
static int netns_check(const struct zero_card_want_nic *w, struct zero_error *err) {
        int fd;

        if (w->kind != ZERO_CARD_NIC_VETH)
                return 0;
        if (!w->netns_path)
                return invalid(err, "NIC %s: a veth needs a network namespace", w->nic->id);
        fd = zero_netns_open_path(w->netns_path);
        if (fd < 0)
                return zero_error_set(err, fd, ZERO_E_INTERNAL, "NIC %s: network namespace %s is gone: %s",
                                      w->nic->id, w->netns_path, strerror(-fd));
        safe_close(fd);
        return 0;
}

/* One wanted NIC: kept when its host-side link is whole, attached anew otherwise. */
static int nic_sync(struct zero_nl *nl, struct zero_card_want_nic *w, struct zero_error *err) {
        char ifname[ZERO_CARD_PATH_MAX];
        struct nic_names names;
        struct zero_nl_link l;
        const char *name;
        struct snic sn;
        bool whole;
        int r;

        r = snic_from(w->nic, &sn, err);
        if (r < 0)
                return r;
        r = nic_names_get(sn.id, &names, err);
        if (r < 0)
                return r;
        name = nic_host_link(&names, w->kind);
        if (!name)
                return invalid(err, "NIC %s: kind %d cannot be attached", w->nic->id, (int) w->kind);
        r = netns_check(w, err);
        if (r < 0)
                return r;
        r = bridge_check(nl, &sn, err);
        if (r < 0)
                return r;

        r = zero_nl_link_get(nl, name, &l);
        if (r < 0 && r != -ENODEV)
                return kernel_error(nl, err, r, "NIC %s: looking up %s", w->nic->id, name);
        /* A veth whose other end is still out here was never finished: its container has no NIC. */
        whole = r >= 0 && (w->kind == ZERO_CARD_NIC_TAP ? streq(l.kind, "tun") : streq(l.kind, "veth") && l.peer_netns);
        if (whole)
                return keep_on_bridge(nl, &l, sn.bridge, err);

        r = nic_attach(nl, &sn, w->kind, w->netns_path, ifname, err);
        if (r < 0)
                return r;
        w->recreated = true;
        return 0;
}

/* Whether name is a link a wanted NIC of its kind has in the host namespace. A veth NIC owns its
 * zp- too: it is out here only while an attach is (or was left) half way, and sync re-attached
 * those already; a NIC's links of its other kind (from before a mode switch) are strays. */
static bool nic_owns(const struct zero_card_want_nic *nics, size_t n_nics, const char *name) {
        for (size_t i = 0; i < n_nics; i++) {
                struct nic_names names;
                const char *host;

                if (!nics[i].nic || nic_names_get(nics[i].nic->id, &names, NULL) < 0)
                        continue;
                host = nic_host_link(&names, nics[i].kind);
                if (host && (streq(name, host) || (nics[i].kind == ZERO_CARD_NIC_VETH && streq(name, names.peer))))
                        return true;
        }
        return false;
}

static bool network_owns(const struct zero_card_network *networks, size_t n_networks, const char *name) {
        char bridge[ZERO_IFNAMSIZ];

        for (size_t i = 0; i < n_networks; i++)
                if (softcard_net_bridge(&networks[i], bridge) >= 0 && streq(bridge, name))
                        return true;
        return false;
}

/* Deletes the driver's links that nothing wants; each one it could not is a failure. */
static void remove_strays(struct zero_nl *nl, const struct zero_card_network *networks, size_t n_networks,
                          const struct zero_card_want_nic *nics, size_t n_nics, int *failures,
                          struct zero_error *err) {
        _cleanup_free_ struct zero_nl_link *links = NULL;
        struct zero_error e = {};
        size_t n = 0;
        int r;

        r = zero_nl_link_list(nl, NULL, &links, &n);
        if (r < 0) {
                kernel_error(nl, &e, r, "listing links");
                count_failure(failures, err, &e);
                return;
        }
        for (size_t i = 0; i < n; i++) {
                const char *name = links[i].name;

                if (has_prefix(name, SOFTCARD_IFNAME_VETH) || has_prefix(name, SOFTCARD_IFNAME_PEER) ||
                    has_prefix(name, SOFTCARD_IFNAME_TAP)) {
                        if (nic_owns(nics, n_nics, name))
                                continue;
                        /* Deleting a zv- took its zp- along already: deleting that is a no-op. */
                        r = zero_nl_link_delete(nl, name);
                } else if (has_prefix(name, SOFTCARD_IFNAME_BRIDGE) && streq(links[i].kind, "bridge")) {
                        if (network_owns(networks, n_networks, name))
                                continue;
                        r = zero_nl_bridge_delete(nl, name);
                } else
                        continue;
                if (r < 0) {
                        e = (struct zero_error) {};
                        kernel_error(nl, &e, r, "deleting stray link %s", name);
                        count_failure(failures, err, &e);
                }
        }
}

int softcard_net_sync(struct zero_nl *nl, const struct zero_card_network *networks, size_t n_networks,
                      struct zero_card_want_nic *nics, size_t n_nics, struct zero_error *err) {
        int failures = 0;

        if (!nl || (n_networks > 0 && !networks) || (n_nics > 0 && !nics))
                return invalid(err, "no netlink handle, networks or NICs");
        /* Bridges first: the NICs go onto them. */
        for (size_t i = 0; i < n_networks; i++) {
                struct zero_error e = {};

                if (softcard_net_network_create(nl, &networks[i], &e) < 0)
                        count_failure(&failures, err, &e);
        }
        for (size_t i = 0; i < n_nics; i++) {
                struct zero_error e = {};

                nics[i].recreated = false;
                if (nic_sync(nl, &nics[i], &e) < 0)
                        count_failure(&failures, err, &e);
        }
        /* Last, once the wanted NICs are settled: a half-made pair of a wanted NIC has been made
         * anew above rather than deleted here. */
        remove_strays(nl, networks, n_networks, nics, n_nics, &failures, err);
        return failures;
}
