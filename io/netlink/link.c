/* SPDX-License-Identifier: Apache-2.0 */
/* Links: bridges, veth pairs, taps; their state, their moves into namespaces and the
 * configuration of a container's NIC inside its namespace. */
#include "io/netlink/netlink.h"

#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_link.h>
#include <linux/if_tun.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>
#include <stdio.h>
#include <sys/ioctl.h>

_Static_assert(ZERO_IFNAMSIZ == IFNAMSIZ, "ZERO_IFNAMSIZ");

static void attr_str(const struct rtattr *a, char *buf, size_t size) {
        size_t n = 0;

        if (a) {
                n = strnlen(RTA_DATA(a), RTA_PAYLOAD(a));
                if (n >= size)
                        n = size - 1;
                memcpy(buf, RTA_DATA(a), n);
        }
        buf[n] = '\0';
}

static int link_parse(const struct nlmsghdr *h, struct zero_nl_link *ret) {
        const struct ifinfomsg *ifi = NLMSG_DATA(h);
        const struct rtattr *tb[IFLA_MAX + 1];

        if (h->nlmsg_len < NLMSG_LENGTH(sizeof(*ifi)))
                return -EBADMSG;
        zero_nl_attrs_parse(IFLA_RTA(ifi), IFLA_PAYLOAD(h), tb, IFLA_MAX);
        *ret = (struct zero_nl_link) {
                .ifindex = ifi->ifi_index,
                .flags = ifi->ifi_flags,
                .master = (int) zero_nl_attr_u32(tb[IFLA_MASTER]),
                .peer_ifindex = (int) zero_nl_attr_u32(tb[IFLA_LINK]),
                .peer_netns = tb[IFLA_LINK_NETNSID] != NULL,
                .mtu = zero_nl_attr_u32(tb[IFLA_MTU]),
        };
        attr_str(tb[IFLA_IFNAME], ret->name, sizeof(ret->name));
        if (tb[IFLA_ADDRESS] && RTA_PAYLOAD(tb[IFLA_ADDRESS]) == ZERO_MAC_LEN) {
                ret->has_mac = true;
                memcpy(ret->mac, RTA_DATA(tb[IFLA_ADDRESS]), ZERO_MAC_LEN);
        }
        if (tb[IFLA_OPERSTATE] && RTA_PAYLOAD(tb[IFLA_OPERSTATE]) >= 1)
                ret->operstate = *(const uint8_t *) RTA_DATA(tb[IFLA_OPERSTATE]);
        if (tb[IFLA_LINKINFO]) {
                const struct rtattr *info[IFLA_INFO_MAX + 1];

                zero_nl_attrs_parse(RTA_DATA(tb[IFLA_LINKINFO]), RTA_PAYLOAD(tb[IFLA_LINKINFO]), info,
                                    IFLA_INFO_MAX);
                attr_str(info[IFLA_INFO_KIND], ret->kind, sizeof(ret->kind));
        }
        return 0;
}

static int get_reply(const struct nlmsghdr *h, void *userdata) {
        return h->nlmsg_type == RTM_NEWLINK ? link_parse(h, userdata) : 0;
}

static int link_get(struct zero_nl *nl, const char *name, int ifindex, struct zero_nl_link *ret) {
        struct ifinfomsg ifi = {.ifi_family = AF_UNSPEC, .ifi_index = ifindex};
        struct zero_nl_link l = {};
        int r;

        zero_nl_msg_begin(nl, RTM_GETLINK, 0, &ifi, sizeof(ifi));
        if (name)
                zero_nl_msg_put_str(nl, IFLA_IFNAME, name);
        r = zero_nl_msg_send(nl, get_reply, &l);
        if (r < 0)
                return r;
        if (l.ifindex <= 0)
                return -ENODEV;
        *ret = l;
        return 0;
}

int zero_nl_link_get(struct zero_nl *nl, const char *name, struct zero_nl_link *ret) {
        if (!nl || !zero_ifname_is_valid(name) || !ret)
                return -EINVAL;
        return link_get(nl, name, 0, ret);
}

int zero_nl_link_get_by_index(struct zero_nl *nl, int ifindex, struct zero_nl_link *ret) {
        if (!nl || ifindex <= 0 || !ret)
                return -EINVAL;
        return link_get(nl, NULL, ifindex, ret);
}

int zero_nl_link_index(struct zero_nl *nl, const char *name) {
        struct zero_nl_link l;
        int r = zero_nl_link_get(nl, name, &l);

        return r < 0 ? r : l.ifindex;
}

struct link_list {
        const char *prefix;
        struct zero_nl_link *v;
        size_t n, cap;
};

static int list_reply(const struct nlmsghdr *h, void *userdata) {
        struct link_list *list = userdata;
        struct zero_nl_link l;
        int r;

        if (h->nlmsg_type != RTM_NEWLINK)
                return 0;
        r = link_parse(h, &l);
        if (r < 0)
                return r;
        if (list->prefix && strncmp(l.name, list->prefix, strlen(list->prefix)) != 0)
                return 0;
        if (list->n == list->cap) {
                size_t cap = list->cap ? list->cap * 2 : 16;
                struct zero_nl_link *v = reallocarray(list->v, cap, sizeof(*v));
                if (!v)
                        return -ENOMEM;
                list->v = v;
                list->cap = cap;
        }
        list->v[list->n++] = l;
        return 0;
}

int zero_nl_link_list(struct zero_nl *nl, const char *prefix, struct zero_nl_link **ret, size_t *ret_n) {
        struct ifinfomsg ifi = {.ifi_family = AF_UNSPEC};
        struct link_list list = {.prefix = prefix};
        int r;

        if (!nl || !ret || !ret_n)
                return -EINVAL;
        zero_nl_msg_begin(nl, RTM_GETLINK, NLM_F_DUMP, &ifi, sizeof(ifi));
        r = zero_nl_msg_send(nl, list_reply, &list);
        if (r < 0) {
                free(list.v);
                return r;
        }
        *ret = list.v;
        *ret_n = list.n;
        return 0;
}

/* One RTM_SETLINK; fields left zero/NULL/false are not touched. */
struct link_change {
        unsigned flags, change; /* ifi_flags under the mask ifi_change */
        const char *name;
        const uint8_t *mac;
        unsigned mtu;
        bool set_master;
        int master; /* 0: detach */
        bool move_fd;
        int netns_fd;
        pid_t netns_pid;
};

static int link_set(struct zero_nl *nl, int ifindex, const struct link_change *c) {
        struct ifinfomsg ifi = {.ifi_family = AF_UNSPEC, .ifi_index = ifindex, .ifi_flags = c->flags,
                                .ifi_change = c->change};

        zero_nl_msg_begin(nl, RTM_SETLINK, 0, &ifi, sizeof(ifi));
        if (c->name)
                zero_nl_msg_put_str(nl, IFLA_IFNAME, c->name);
        if (c->mac)
                zero_nl_msg_put(nl, IFLA_ADDRESS, c->mac, ZERO_MAC_LEN);
        if (c->mtu > 0)
                zero_nl_msg_put_u32(nl, IFLA_MTU, c->mtu);
        if (c->set_master)
                zero_nl_msg_put_u32(nl, IFLA_MASTER, (uint32_t) c->master);
        if (c->move_fd)
                zero_nl_msg_put_u32(nl, IFLA_NET_NS_FD, (uint32_t) c->netns_fd);
        if (c->netns_pid > 0)
                zero_nl_msg_put_u32(nl, IFLA_NET_NS_PID, (uint32_t) c->netns_pid);
        return zero_nl_msg_send(nl, NULL, NULL);
}

static int link_set_by_name(struct zero_nl *nl, const char *name, const struct link_change *c) {
        int ifindex = zero_nl_link_index(nl, name);

        return ifindex < 0 ? ifindex : link_set(nl, ifindex, c);
}

int zero_nl_link_set_up(struct zero_nl *nl, const char *name) {
        return link_set_by_name(nl, name, &(struct link_change) {.flags = IFF_UP, .change = IFF_UP});
}

int zero_nl_link_set_down(struct zero_nl *nl, const char *name) {
        return link_set_by_name(nl, name, &(struct link_change) {.change = IFF_UP});
}

/* master NULL: 0 (detach); else its ifindex or -errno. */
static int master_index(struct zero_nl *nl, const char *master) {
        return master ? zero_nl_link_index(nl, master) : 0;
}

int zero_nl_link_set_master(struct zero_nl *nl, const char *name, const char *master) {
        int m = master_index(nl, master);

        if (m < 0)
                return m;
        return link_set_by_name(nl, name, &(struct link_change) {.set_master = true, .master = m});
}

int zero_nl_link_set_mac(struct zero_nl *nl, const char *name, const uint8_t mac[static ZERO_MAC_LEN]) {
        return link_set_by_name(nl, name, &(struct link_change) {.mac = mac});
}

int zero_nl_link_rename(struct zero_nl *nl, const char *name, const char *new_name) {
        if (!zero_ifname_is_valid(new_name))
                return -EINVAL;
        return link_set_by_name(nl, name, &(struct link_change) {.name = new_name});
}

static int link_delete(struct zero_nl *nl, const char *name, int ifindex) {
        struct ifinfomsg ifi = {.ifi_family = AF_UNSPEC, .ifi_index = ifindex};
        int r;

        zero_nl_msg_begin(nl, RTM_DELLINK, 0, &ifi, sizeof(ifi));
        if (name)
                zero_nl_msg_put_str(nl, IFLA_IFNAME, name);
        r = zero_nl_msg_send(nl, NULL, NULL);
        return r == -ENODEV ? 0 : r;
}

int zero_nl_link_delete(struct zero_nl *nl, const char *name) {
        if (!nl || !zero_ifname_is_valid(name))
                return -EINVAL;
        return link_delete(nl, name, 0);
}

static int link_delete_kind(struct zero_nl *nl, const char *name, const char *kind) {
        struct zero_nl_link l;
        int r = zero_nl_link_get(nl, name, &l);

        if (r == -ENODEV)
                return 0;
        if (r < 0)
                return r;
        if (!streq(l.kind, kind))
                return -EMEDIUMTYPE;
        return link_delete(nl, NULL, l.ifindex);
}

/* After -EEXIST from a create: the existing link if it has the wanted kind. */
static int existing_of_kind(struct zero_nl *nl, const char *name, const char *kind,
                            struct zero_nl_link *ret) {
        int r = zero_nl_link_get(nl, name, ret);

        if (r == -ENODEV) /* the clash was on another name (a veth's peer) */
                return -EEXIST;
        if (r < 0)
                return r;
        return streq(ret->kind, kind) ? 0 : -EEXIST;
}

static int attach_and_up(struct zero_nl *nl, int ifindex, int master) {
        return link_set(nl, ifindex,
                        &(struct link_change) {.flags = IFF_UP, .change = IFF_UP, .set_master = master > 0,
                                               .master = master});
}

int zero_nl_bridge_create(struct zero_nl *nl, const char *name, unsigned mtu, const uint8_t *mac) {
        struct ifinfomsg ifi = {.ifi_family = AF_UNSPEC};
        struct zero_nl_link l;
        size_t info;
        int r;

        if (!nl || !zero_ifname_is_valid(name))
                return -EINVAL;
        zero_nl_msg_begin(nl, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, &ifi, sizeof(ifi));
        zero_nl_msg_put_str(nl, IFLA_IFNAME, name);
        if (mtu > 0)
                zero_nl_msg_put_u32(nl, IFLA_MTU, mtu);
        if (mac)
                zero_nl_msg_put(nl, IFLA_ADDRESS, mac, ZERO_MAC_LEN);
        info = zero_nl_msg_nest_begin(nl, IFLA_LINKINFO);
        zero_nl_msg_put_str(nl, IFLA_INFO_KIND, "bridge");
        zero_nl_msg_nest_end(nl, info);
        r = zero_nl_msg_send(nl, NULL, NULL);
        if (r == -EEXIST)
                return existing_of_kind(nl, name, "bridge", &l);
        return r;
}

int zero_nl_bridge_delete(struct zero_nl *nl, const char *name) {
        return link_delete_kind(nl, name, "bridge");
}

int zero_nl_veth_create(struct zero_nl *nl, const struct zero_nl_veth *v) {
        struct ifinfomsg ifi = {.ifi_family = AF_UNSPEC, .ifi_flags = IFF_UP, .ifi_change = IFF_UP};
        struct ifinfomsg peer_ifi = {.ifi_family = AF_UNSPEC};
        struct zero_nl_link l;
        size_t info, data, peer;
        int master, r;

        if (!nl || !v || !zero_ifname_is_valid(v->name) || !zero_ifname_is_valid(v->peer) ||
            streq(v->name, v->peer))
                return -EINVAL;
        master = master_index(nl, v->master);
        if (master < 0)
                return master;

        zero_nl_msg_begin(nl, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, &ifi, sizeof(ifi));
        zero_nl_msg_put_str(nl, IFLA_IFNAME, v->name);
        if (v->mtu > 0)
                zero_nl_msg_put_u32(nl, IFLA_MTU, v->mtu);
        if (master > 0)
                zero_nl_msg_put_u32(nl, IFLA_MASTER, (uint32_t) master);
        info = zero_nl_msg_nest_begin(nl, IFLA_LINKINFO);
        zero_nl_msg_put_str(nl, IFLA_INFO_KIND, "veth");
        data = zero_nl_msg_nest_begin(nl, IFLA_INFO_DATA);
        /* The peer's attribute is a whole link request: struct ifinfomsg, then its attributes. */
        peer = zero_nl_msg_nest_begin(nl, VETH_INFO_PEER);
        zero_nl_msg_append(nl, &peer_ifi, sizeof(peer_ifi));
        zero_nl_msg_put_str(nl, IFLA_IFNAME, v->peer);
        if (v->peer_mac)
                zero_nl_msg_put(nl, IFLA_ADDRESS, v->peer_mac, ZERO_MAC_LEN);
        if (v->mtu > 0)
                zero_nl_msg_put_u32(nl, IFLA_MTU, v->mtu);
        zero_nl_msg_nest_end(nl, peer);
        zero_nl_msg_nest_end(nl, data);
        zero_nl_msg_nest_end(nl, info);
        r = zero_nl_msg_send(nl, NULL, NULL);
        if (r != -EEXIST)
                return r;

        r = existing_of_kind(nl, v->name, "veth", &l);
        return r < 0 ? r : attach_and_up(nl, l.ifindex, master);
}

int zero_nl_veth_delete(struct zero_nl *nl, const char *name) {
        return link_delete_kind(nl, name, "veth");
}

static int tap_make_persistent(const char *name) {
        _cleanup_close_ int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
        struct ifreq ifr = {.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR};

        if (fd < 0)
                return -errno;
        snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
        if (ioctl(fd, TUNSETIFF, &ifr) < 0)
                return -errno;
        /* The device now outlives fd, until deleted. */
        if (ioctl(fd, TUNSETPERSIST, 1) < 0)
                return -errno;
        return 0;
}

int zero_nl_tap_create(struct zero_nl *nl, const char *name, const char *master) {
        struct zero_nl_link l;
        int m, r;

        if (!nl || !zero_ifname_is_valid(name))
                return -EINVAL;
        if (zero_nl_is_foreign(nl))
                return -EXDEV;
        m = master_index(nl, master);
        if (m < 0)
                return m;

        r = zero_nl_link_get(nl, name, &l);
        if (r >= 0) {
                /* Not TUNSETIFF again: a QEMU attached to it would make that -EBUSY. */
                if (!streq(l.kind, "tun"))
                        return -EEXIST;
                return attach_and_up(nl, l.ifindex, m);
        }
        if (r != -ENODEV)
                return r;

        r = tap_make_persistent(name);
        if (r < 0)
                return r;
        r = zero_nl_link_get(nl, name, &l);
        if (r >= 0)
                r = attach_and_up(nl, l.ifindex, m);
        if (r < 0)
                (void) link_delete(nl, name, 0); /* all or nothing */
        return r;
}

int zero_nl_tap_delete(struct zero_nl *nl, const char *name) {
        return link_delete_kind(nl, name, "tun");
}

int zero_nl_link_move_netns_fd(struct zero_nl *nl, const char *name, int netns_fd, const char *new_name) {
        if (netns_fd < 0 || (new_name && !zero_ifname_is_valid(new_name)))
                return -EINVAL;
        return link_set_by_name(nl, name, &(struct link_change) {.move_fd = true, .netns_fd = netns_fd,
                                                                 .name = new_name});
}

int zero_nl_link_move_netns_pid(struct zero_nl *nl, const char *name, pid_t pid, const char *new_name) {
        if (pid <= 0 || (new_name && !zero_ifname_is_valid(new_name)))
                return -EINVAL;
        return link_set_by_name(nl, name, &(struct link_change) {.netns_pid = pid, .name = new_name});
}

int zero_nl_link_configure(struct zero_nl *nl, const struct zero_nl_ifconfig *c) {
        struct zero_nl_link l;
        bool rename, remac, remtu;
        int r;

        if (!nl || !c || !zero_ifname_is_valid(c->name) ||
            (c->new_name && !zero_ifname_is_valid(c->new_name)) || c->prefixlen > 32)
                return -EINVAL;
        r = zero_nl_link_get(nl, c->name, &l);
        if (r == -ENODEV && c->new_name) /* renamed by an earlier attempt */
                r = zero_nl_link_get(nl, c->new_name, &l);
        if (r < 0)
                return r;

        rename = c->new_name && !streq(l.name, c->new_name);
        remac = c->mac && (!l.has_mac || memcmp(l.mac, c->mac, ZERO_MAC_LEN) != 0);
        remtu = c->mtu > 0 && c->mtu != l.mtu;
        if (rename && (l.flags & IFF_UP)) {
                /* Kernels before 6.2 rename only links that are down. */
                r = link_set(nl, l.ifindex, &(struct link_change) {.change = IFF_UP});
                if (r < 0)
                        return r;
        }
        if (rename || remac || remtu) {
                r = link_set(nl, l.ifindex,
                             &(struct link_change) {.name = rename ? c->new_name : NULL,
                                                    .mac = remac ? c->mac : NULL,
                                                    .mtu = remtu ? c->mtu : 0});
                if (r < 0)
                        return r;
        }
        if (c->addr.s_addr != INADDR_ANY) {
                r = zero_nl_addr_add_index(nl, l.ifindex, c->addr, c->prefixlen);
                if (r < 0)
                        return r;
        }
        r = link_set(nl, l.ifindex, &(struct link_change) {.flags = IFF_UP, .change = IFF_UP});
        if (r < 0)
                return r;
        r = zero_nl_link_set_up(nl, "lo");
        if (r < 0)
                return r;
        /* After the link is up: only then does the kernel add the subnet's route that makes the
         * gateway reachable. */
        if (c->gateway.s_addr != INADDR_ANY)
                return zero_nl_route_replace_default(nl, rename ? c->new_name : l.name, c->gateway);
        return 0;
}
