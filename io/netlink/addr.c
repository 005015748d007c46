/* SPDX-License-Identifier: Apache-2.0 */
/* Addressing: whether an interface name is one the kernel takes, and the kernel's IPv4 addresses
 * and default routes. */
#include "io/netlink/netlink.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <linux/rtnetlink.h>

#include "common/util.h"

/* ---- Interface names ---- */

bool zero_ifname_is_valid(const char *name) {
        size_t n;

        if (!name)
                return false;
        n = strlen(name);
        if (n == 0 || n >= ZERO_IFNAMSIZ || streq(name, ".") || streq(name, ".."))
                return false;
        /* The kernel's dev_valid_name(), plus '%': "eth%d" would be a pattern to fill in. */
        for (size_t i = 0; i < n; i++)
                if (name[i] == '/' || name[i] == ':' || name[i] == '%' || isspace((unsigned char) name[i]))
                        return false;
        return true;
}

/* ---- Addresses in the kernel ---- */

static int addr_change(struct zero_nl *nl, uint16_t type, int ifindex, struct in_addr a, unsigned prefixlen) {
        struct ifaddrmsg ifa = {.ifa_family = AF_INET, .ifa_prefixlen = (uint8_t) prefixlen,
                                .ifa_scope = RT_SCOPE_UNIVERSE, .ifa_index = (uint32_t) ifindex};
        int r;

        if (!nl || ifindex <= 0 || prefixlen > 32 || a.s_addr == INADDR_ANY)
                return -EINVAL;
        zero_nl_msg_begin(nl, type, type == RTM_NEWADDR ? NLM_F_CREATE | NLM_F_EXCL : 0, &ifa, sizeof(ifa));
        zero_nl_msg_put(nl, IFA_LOCAL, &a, sizeof(a));
        zero_nl_msg_put(nl, IFA_ADDRESS, &a, sizeof(a));
        if (type == RTM_NEWADDR && prefixlen <= 30) {
                /* What "ip addr add ... brd +" sets; without it the subnet has no broadcast. */
                struct in_addr brd = {.s_addr = a.s_addr | htonl(~zero_ipv4_mask(prefixlen))};
                zero_nl_msg_put(nl, IFA_BROADCAST, &brd, sizeof(brd));
        }
        r = zero_nl_msg_send(nl, NULL, NULL);
        if (type == RTM_NEWADDR && r == -EEXIST) /* the same address and prefix */
                return 0;
        if (type == RTM_DELADDR && (r == -EADDRNOTAVAIL || r == -ENODEV))
                return 0;
        return r;
}

int zero_nl_addr_add_index(struct zero_nl *nl, int ifindex, struct in_addr a, unsigned prefixlen) {
        return addr_change(nl, RTM_NEWADDR, ifindex, a, prefixlen);
}

int zero_nl_addr_del_index(struct zero_nl *nl, int ifindex, struct in_addr a, unsigned prefixlen) {
        return addr_change(nl, RTM_DELADDR, ifindex, a, prefixlen);
}

int zero_nl_addr_add(struct zero_nl *nl, const char *name, struct in_addr a, unsigned prefixlen) {
        int ifindex = zero_nl_link_index(nl, name);

        return ifindex < 0 ? ifindex : zero_nl_addr_add_index(nl, ifindex, a, prefixlen);
}

int zero_nl_addr_del(struct zero_nl *nl, const char *name, struct in_addr a, unsigned prefixlen) {
        int ifindex = zero_nl_link_index(nl, name);

        if (ifindex == -ENODEV)
                return 0;
        return ifindex < 0 ? ifindex : zero_nl_addr_del_index(nl, ifindex, a, prefixlen);
}

struct addr_list {
        int ifindex;
        struct zero_nl_addr *v;
        size_t n, cap;
};

static int addr_reply(const struct nlmsghdr *h, void *userdata) {
        struct addr_list *list = userdata;
        const struct ifaddrmsg *ifa = NLMSG_DATA(h);
        const struct rtattr *tb[IFA_MAX + 1], *a;

        if (h->nlmsg_type != RTM_NEWADDR)
                return 0;
        if (h->nlmsg_len < NLMSG_LENGTH(sizeof(*ifa)))
                return -EBADMSG;
        if (ifa->ifa_family != AF_INET || (list->ifindex > 0 && (int) ifa->ifa_index != list->ifindex))
                return 0;
        zero_nl_attrs_parse(IFA_RTA(ifa), IFA_PAYLOAD(h), tb, IFA_MAX);
        a = tb[IFA_LOCAL] ? tb[IFA_LOCAL] : tb[IFA_ADDRESS];
        if (!a || RTA_PAYLOAD(a) != sizeof(struct in_addr))
                return 0;
        if (list->n == list->cap) {
                size_t cap = list->cap ? list->cap * 2 : 8;
                struct zero_nl_addr *v = reallocarray(list->v, cap, sizeof(*v));
                if (!v)
                        return -ENOMEM;
                list->v = v;
                list->cap = cap;
        }
        list->v[list->n] = (struct zero_nl_addr) {.ifindex = (int) ifa->ifa_index,
                                                  .prefixlen = ifa->ifa_prefixlen};
        memcpy(&list->v[list->n++].addr, RTA_DATA(a), sizeof(struct in_addr));
        return 0;
}

int zero_nl_addr_list(struct zero_nl *nl, int ifindex, struct zero_nl_addr **ret, size_t *ret_n) {
        struct ifaddrmsg ifa = {.ifa_family = AF_INET};
        struct addr_list list = {.ifindex = ifindex};
        int r;

        if (!nl || ifindex < 0 || !ret || !ret_n)
                return -EINVAL;
        zero_nl_msg_begin(nl, RTM_GETADDR, NLM_F_DUMP, &ifa, sizeof(ifa));
        r = zero_nl_msg_send(nl, addr_reply, &list);
        if (r < 0) {
                free(list.v);
                return r;
        }
        *ret = list.v;
        *ret_n = list.n;
        return 0;
}

/* ---- The default route ---- */

int zero_nl_route_replace_default(struct zero_nl *nl, const char *name, struct in_addr gateway) {
        struct rtmsg rtm = {.rtm_family = AF_INET, .rtm_table = RT_TABLE_MAIN, .rtm_protocol = RTPROT_STATIC,
                            .rtm_scope = RT_SCOPE_UNIVERSE, .rtm_type = RTN_UNICAST};
        int ifindex;

        if (gateway.s_addr == INADDR_ANY)
                return -EINVAL;
        ifindex = zero_nl_link_index(nl, name);
        if (ifindex < 0)
                return ifindex;
        /* NLM_F_REPLACE rather than EXCL: a retry converges even if another default existed. */
        zero_nl_msg_begin(nl, RTM_NEWROUTE, NLM_F_CREATE | NLM_F_REPLACE, &rtm, sizeof(rtm));
        zero_nl_msg_put(nl, RTA_GATEWAY, &gateway, sizeof(gateway));
        zero_nl_msg_put_u32(nl, RTA_OIF, (uint32_t) ifindex);
        return zero_nl_msg_send(nl, NULL, NULL);
}

struct route_list {
        struct zero_nl_route *v;
        size_t n, cap;
};

static int route_reply(const struct nlmsghdr *h, void *userdata) {
        struct route_list *list = userdata;
        const struct rtmsg *rtm = NLMSG_DATA(h);
        const struct rtattr *tb[RTA_MAX + 1];
        struct zero_nl_route *rt;
        uint32_t table;

        if (h->nlmsg_type != RTM_NEWROUTE)
                return 0;
        if (h->nlmsg_len < NLMSG_LENGTH(sizeof(*rtm)))
                return -EBADMSG;
        if (rtm->rtm_family != AF_INET)
                return 0;
        zero_nl_attrs_parse(RTM_RTA(rtm), RTM_PAYLOAD(h), tb, RTA_MAX);
        table = tb[RTA_TABLE] ? zero_nl_attr_u32(tb[RTA_TABLE]) : rtm->rtm_table;
        if (table != RT_TABLE_MAIN)
                return 0;
        if (list->n == list->cap) {
                size_t cap = list->cap ? list->cap * 2 : 16;
                struct zero_nl_route *v = reallocarray(list->v, cap, sizeof(*v));
                if (!v)
                        return -ENOMEM;
                list->v = v;
                list->cap = cap;
        }
        rt = &list->v[list->n++];
        *rt = (struct zero_nl_route){.prefixlen = rtm->rtm_dst_len, .type = rtm->rtm_type,
                                     .ifindex = (int) zero_nl_attr_u32(tb[RTA_OIF])};
        if (tb[RTA_DST] && RTA_PAYLOAD(tb[RTA_DST]) == sizeof(struct in_addr))
                memcpy(&rt->dst, RTA_DATA(tb[RTA_DST]), sizeof(struct in_addr));
        if (tb[RTA_GATEWAY] && RTA_PAYLOAD(tb[RTA_GATEWAY]) == sizeof(struct in_addr))
                memcpy(&rt->gateway, RTA_DATA(tb[RTA_GATEWAY]), sizeof(struct in_addr));
        return 0;
}

int zero_nl_route_list(struct zero_nl *nl, struct zero_nl_route **ret, size_t *ret_n) {
        struct rtmsg rtm = {.rtm_family = AF_INET};
        struct route_list list = {};
        int r;

        if (!nl || !ret || !ret_n)
                return -EINVAL;
        zero_nl_msg_begin(nl, RTM_GETROUTE, NLM_F_DUMP, &rtm, sizeof(rtm));
        r = zero_nl_msg_send(nl, route_reply, &list);
        if (r < 0) {
                free(list.v);
                return r;
        }
        *ret = list.v;
        *ret_n = list.n;
        return 0;
}

int zero_nl_route_get_default(struct zero_nl *nl, struct in_addr *ret_gateway, int *ret_ifindex) {
        _cleanup_free_ struct zero_nl_route *routes = NULL;
        size_t n = 0;
        int r = zero_nl_route_list(nl, &routes, &n);

        if (r < 0)
                return r;
        for (size_t i = 0; i < n; i++)
                if (routes[i].prefixlen == 0 && routes[i].type == RTN_UNICAST) {
                        if (ret_gateway)
                                *ret_gateway = routes[i].gateway;
                        if (ret_ifindex)
                                *ret_ifindex = routes[i].ifindex;
                        return 0;
                }
        return -ENOENT;
}
