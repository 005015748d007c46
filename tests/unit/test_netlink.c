/* SPDX-License-Identifier: Apache-2.0 */
/*
 * io/netlink against the real kernel. The binary first unshare()s a network namespace
 * of its own (the "host" of these tests, needs root): everything it creates lives there and dies
 * with the process; it never sees the machine's interfaces. "Containers" are child processes
 * that unshare() one more namespace each and wait on a pipe. Each test's teardown kills and
 * reaps the children it started and deletes every link but lo, even after a failed assertion.
 * Every wait is bounded (TIMEOUT_MS).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include "common/util.h"
#include "io/netlink/netlink.h"

#define TIMEOUT_MS 10000

#include "tests/unit/child_helpers.h"
#define PORT 7777

static const char *const ID_A = "0123456789abcdef0123456789abcdef";
static const char *const ID_B = "fedcba9876543210fedcba9876543210";

static bool in_test_netns;

struct container {
        pid_t pid;
        int netns_fd;
        int hold_fd; /* the child exits when this closes */
};

struct fx {
        struct zero_nl *nl;
        struct container c[2];
        pid_t helpers[4];
        size_t n_helpers;
};

static pid_t *new_helper(struct fx *f) {
        assert_true(f->n_helpers < ELEMENTSOF(f->helpers));
        return &f->helpers[f->n_helpers++];
}

/* A "container": a child in a network namespace of its own, alive until hold_fd closes. */
static void container_start(struct container *c) {
        int ready[2], hold[2];
        struct pollfd p;
        char b;

        assert_int_equal(pipe2(ready, O_CLOEXEC), 0);
        assert_int_equal(pipe2(hold, O_CLOEXEC), 0);
        c->pid = fork();
        assert_true(c->pid >= 0);
        if (c->pid == 0) {
                (void) prctl(PR_SET_PDEATHSIG, SIGKILL);
                close(ready[0]);
                close(hold[1]);
                if (unshare(CLONE_NEWNET) < 0 || write(ready[1], "x", 1) != 1)
                        _exit(1);
                (void) read(hold[0], &b, 1);
                _exit(0);
        }
        close(ready[1]);
        close(hold[0]);
        c->hold_fd = hold[1];
        p = (struct pollfd) {.fd = ready[0], .events = POLLIN};
        assert_int_equal(poll(&p, 1, TIMEOUT_MS), 1);
        assert_int_equal(read(ready[0], &b, 1), 1);
        close(ready[0]);
        c->netns_fd = zero_netns_open_pid(c->pid);
        assert_true(c->netns_fd >= 0);
}

static void container_stop(struct container *c) {
        c->hold_fd = safe_close(c->hold_fd);
        kill_and_reap(&c->pid);
        c->netns_fd = safe_close(c->netns_fd);
}

static int fx_setup(void **state) {
        struct fx *f;

        *state = NULL;
        if (!in_test_netns)
                return -1; /* the group setup could not make the test namespace */
        f = calloc(1, sizeof(*f));
        if (!f)
                return -1;
        for (size_t i = 0; i < ELEMENTSOF(f->c); i++)
                f->c[i] = (struct container) {.netns_fd = -EBADF, .hold_fd = -EBADF};
        if (zero_nl_open(&f->nl) < 0) {
                free(f);
                return -1;
        }
        *state = f;
        return 0;
}

static int fx_teardown(void **state) {
        struct fx *f = *state;

        if (!f)
                return 0;
        for (size_t i = 0; i < f->n_helpers; i++)
                kill_and_reap(&f->helpers[i]);
        for (size_t i = 0; i < ELEMENTSOF(f->c); i++)
                container_stop(&f->c[i]);
        /* The test namespace is shared by all tests: leave it as found. */
        flush_links(f->nl);
        zero_nl_close(f->nl);
        free(f);
        return 0;
}

static struct fx *fx_get(void **state) {
        assert_non_null(*state);
        return *state;
}

static int veth(struct zero_nl *nl, const char *name, const char *peer) {
        return zero_nl_veth_create(nl, &(struct zero_nl_veth) {.name = name, .peer = peer});
}

static struct zero_nl_link get(struct zero_nl *nl, const char *name) {
        struct zero_nl_link l;
        assert_int_equal(zero_nl_link_get(nl, name, &l), 0);
        return l;
}

static bool has_addr(struct zero_nl *nl, int ifindex, const char *addr, unsigned prefixlen) {
        struct zero_nl_addr *v = NULL;
        size_t n = 0;
        bool found = false;

        assert_int_equal(zero_nl_addr_list(nl, ifindex, &v, &n), 0);
        for (size_t i = 0; i < n; i++)
                found |= v[i].ifindex == ifindex && v[i].addr.s_addr == ip(addr).s_addr &&
                         v[i].prefixlen == prefixlen;
        free(v);
        return found;
}

/* ---- Pure helpers ---- */

static void test_ifnames(_unused_ void **state) {
        assert_true(zero_ifname_is_valid("eth0"));
        assert_true(zero_ifname_is_valid("zb-abcdef_0a1b2"));
        assert_true(zero_ifname_is_valid("123456789012345"));
        assert_false(zero_ifname_is_valid("1234567890123456"));
        assert_false(zero_ifname_is_valid(""));
        assert_false(zero_ifname_is_valid("."));
        assert_false(zero_ifname_is_valid(".."));
        assert_false(zero_ifname_is_valid("a/b"));
        assert_false(zero_ifname_is_valid("a:b"));
        assert_false(zero_ifname_is_valid("a b"));
        assert_false(zero_ifname_is_valid("eth%d"));
        assert_false(zero_ifname_is_valid(NULL));
}

static void test_mac(_unused_ void **state) {
        uint8_t a[ZERO_MAC_LEN], a2[ZERO_MAC_LEN], b[ZERO_MAC_LEN];
        char s[ZERO_MAC_STRSIZE];

        assert_int_equal(zero_mac_from_id(ID_A, a), 0);
        assert_int_equal(zero_mac_from_id(ID_A, a2), 0);
        assert_memory_equal(a, a2, ZERO_MAC_LEN);
        /* Pinned: a NIC's MAC must not change across versions. */
        assert_string_equal(zero_mac_format(a, s), "7e:84:08:9d:80:09");
        assert_int_equal(zero_mac_from_id("0123456789ABCDEF0123456789ABCDEF", a2), 0);
        assert_memory_equal(a, a2, ZERO_MAC_LEN);
        assert_int_equal(zero_mac_from_id(ID_B, b), 0);
        assert_memory_not_equal(a, b, ZERO_MAC_LEN);

        /* Locally administered unicast, over many ids. */
        for (unsigned i = 0; i < 1000; i++) {
                char id[33];
                snprintf(id, sizeof(id), "%032x", i);
                assert_int_equal(zero_mac_from_id(id, b), 0);
                assert_int_equal(b[0] & 0x03, 0x02);
        }

        assert_int_equal(zero_mac_from_id("0123456789abcdef0123456789abcde", b), -EINVAL);
        assert_int_equal(zero_mac_from_id("0123456789abcdef0123456789abcdef0", b), -EINVAL);
        assert_int_equal(zero_mac_from_id("0123456789abcdef0123456789abcdeg", b), -EINVAL);
        assert_int_equal(zero_mac_from_id(NULL, b), -EINVAL);

        assert_int_equal(zero_mac_parse("02:AB:cd:00:ff:10", b), 0);
        assert_string_equal(zero_mac_format(b, s), "02:ab:cd:00:ff:10");
        assert_int_equal(zero_mac_parse("02:ab:cd:00:ff", b), -EINVAL);
        assert_int_equal(zero_mac_parse("02:ab:cd:00:ff:100", b), -EINVAL);
        assert_int_equal(zero_mac_parse("02-ab-cd-00-ff-10", b), -EINVAL);
        assert_int_equal(zero_mac_parse("02:ab:cd:00:fg:10", b), -EINVAL);
        assert_int_equal(zero_mac_parse("", b), -EINVAL);
        assert_int_equal(zero_mac_parse(NULL, b), -EINVAL);
}

static void test_cidr(_unused_ void **state) {
        struct zero_ipv4_net net;
        struct in_addr a;
        char s[ZERO_IPV4_CIDR_STRSIZE];
        unsigned p;

        assert_int_equal(zero_ipv4_net_parse("10.77.0.0/24", &net), 0);
        assert_int_equal(net.prefixlen, 24);
        assert_string_equal(zero_ipv4_cidr_format(net.addr, net.prefixlen, s), "10.77.0.0/24");
        assert_int_equal(zero_ipv4_net_hosts(&net), 254);
        assert_int_equal(zero_ipv4_net_gateway(&net, &a), 0);
        assert_int_equal(a.s_addr, ip("10.77.0.1").s_addr);
        assert_int_equal(zero_ipv4_net_host(&net, 2, &a), 0);
        assert_int_equal(a.s_addr, ip("10.77.0.2").s_addr);
        assert_int_equal(zero_ipv4_net_host(&net, 254, &a), 0);
        assert_int_equal(a.s_addr, ip("10.77.0.254").s_addr);
        assert_int_equal(zero_ipv4_net_host(&net, 255, &a), -ERANGE); /* broadcast */
        assert_int_equal(zero_ipv4_net_host(&net, 0, &a), -ERANGE);   /* network */
        assert_true(zero_ipv4_net_contains(&net, ip("10.77.0.0")));
        assert_true(zero_ipv4_net_contains(&net, ip("10.77.0.255")));
        assert_false(zero_ipv4_net_contains(&net, ip("10.77.1.0")));
        assert_false(zero_ipv4_net_contains(&net, ip("10.76.255.255")));

        assert_int_equal(zero_ipv4_net_parse("192.168.1.4/31", &net), 0);
        assert_int_equal(zero_ipv4_net_hosts(&net), 2);
        assert_int_equal(zero_ipv4_net_gateway(&net, &a), 0);
        assert_int_equal(a.s_addr, ip("192.168.1.4").s_addr);
        assert_int_equal(zero_ipv4_net_host(&net, 2, &a), 0);
        assert_int_equal(a.s_addr, ip("192.168.1.5").s_addr);
        assert_int_equal(zero_ipv4_net_host(&net, 3, &a), -ERANGE);

        assert_int_equal(zero_ipv4_net_parse("192.168.1.9/32", &net), 0);
        assert_int_equal(zero_ipv4_net_hosts(&net), 1);
        assert_int_equal(zero_ipv4_net_host(&net, 1, &a), 0);
        assert_int_equal(a.s_addr, ip("192.168.1.9").s_addr);
        assert_int_equal(zero_ipv4_net_gateway(&net, &a), -ERANGE);
        assert_true(zero_ipv4_net_contains(&net, ip("192.168.1.9")));
        assert_false(zero_ipv4_net_contains(&net, ip("192.168.1.8")));

        assert_int_equal(zero_ipv4_net_parse("10.0.0.0/30", &net), 0);
        assert_int_equal(zero_ipv4_net_hosts(&net), 2);
        assert_int_equal(zero_ipv4_net_host(&net, 2, &a), 0);
        assert_int_equal(a.s_addr, ip("10.0.0.2").s_addr);

        assert_int_equal(zero_ipv4_net_parse("0.0.0.0/0", &net), 0);
        assert_int_equal(zero_ipv4_net_hosts(&net), UINT64_C(4294967294));
        assert_true(zero_ipv4_net_contains(&net, ip("255.255.255.255")));
        assert_int_equal(zero_ipv4_net_host(&net, UINT64_C(4294967294), &a), 0);
        assert_int_equal(a.s_addr, ip("255.255.255.254").s_addr);
        assert_int_equal(zero_ipv4_net_host(&net, UINT64_C(4294967295), &a), -ERANGE);

        /* Host bits: fine for an address, not for a subnet. */
        assert_int_equal(zero_ipv4_cidr_parse("10.77.0.2/24", &a, &p), 0);
        assert_int_equal(a.s_addr, ip("10.77.0.2").s_addr);
        assert_int_equal(p, 24);
        assert_int_equal(zero_ipv4_net_parse("10.77.0.2/24", &net), -EINVAL);

        static const char *const bad[] = {
                "10.77.0.0",     "10.77.0.0/",    "10.77.0.0/33",  "10.77.0.0/-1",   "10.77.0.0/024",
                "10.77.0.0/2a",  "10.77.0/24",    "10.77.0.256/24", "010.77.0.0/24", "0x0a.77.0.0/24",
                "/24",           "",              " 10.77.0.0/24", "10.77.0.0/24 ",  "10.77.0.0/+8",
                "10.77.0.0//24", "a.b.c.d/24",    "10.77.0.0/100", "1.2.3.4.5/24",
        };
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                if (zero_ipv4_net_parse(bad[i], &net) != -EINVAL)
                        fail_msg("accepted \"%s\"", bad[i]);
        }
        assert_int_equal(zero_ipv4_net_parse(NULL, &net), -EINVAL);

        /* Overlaps, whichever holds the other; host bits do not count. */
        {
                struct zero_ipv4_net x, y;
                assert_int_equal(zero_ipv4_net_parse("10.77.0.0/16", &x), 0);
                assert_int_equal(zero_ipv4_net_parse("10.77.5.0/24", &y), 0);
                assert_true(zero_ipv4_net_overlaps(&x, &y) && zero_ipv4_net_overlaps(&y, &x));
                assert_int_equal(zero_ipv4_net_parse("10.78.0.0/16", &y), 0);
                assert_false(zero_ipv4_net_overlaps(&x, &y));
                y = (struct zero_ipv4_net) {ip("10.77.9.9"), 32};
                assert_true(zero_ipv4_net_overlaps(&x, &y));
        }
        /* Blocks no network may use (issue 10, row 12), and their neighbours that are fine. */
        static const char *const reserved[] = {"0.0.0.0/8", "127.0.0.0/8", "127.5.0.0/16", "169.254.0.0/16",
                                               "224.0.0.0/8", "239.255.0.0/16", "240.0.0.0/8",
                                               "255.255.255.0/24", "168.0.0.0/6"};
        for (size_t i = 0; i < ELEMENTSOF(reserved); i++) {
                assert_int_equal(zero_ipv4_net_parse(reserved[i], &net), 0);
                if (!zero_ipv4_net_reserved(&net))
                        fail_msg("%s is not reserved", reserved[i]);
        }
        assert_int_equal(zero_ipv4_net_parse("127.0.0.0/8", &net), 0);
        assert_string_equal(zero_ipv4_net_reserved(&net), "127.0.0.0/8 (loopback)");
        assert_int_equal(zero_ipv4_net_parse("255.255.255.248/29", &net), 0);
        assert_non_null(strstr(zero_ipv4_net_reserved(&net), "255.255.255.255"));
        static const char *const fine[] = {"1.0.0.0/8", "10.0.0.0/8", "126.0.0.0/8", "128.0.0.0/8",
                                           "169.253.0.0/16", "169.255.0.0/16", "172.16.0.0/12",
                                           "192.168.0.0/16", "223.255.255.0/24", "100.64.0.0/10"};
        for (size_t i = 0; i < ELEMENTSOF(fine); i++) {
                assert_int_equal(zero_ipv4_net_parse(fine[i], &net), 0);
                if (zero_ipv4_net_reserved(&net))
                        fail_msg("%s is reserved: %s", fine[i], zero_ipv4_net_reserved(&net));
        }

        net = (struct zero_ipv4_net) {.prefixlen = 33};
        assert_int_equal(zero_ipv4_net_hosts(&net), 0);
        assert_int_equal(zero_ipv4_net_host(&net, 1, &a), -EINVAL);
        assert_false(zero_ipv4_net_contains(&net, a));
}

/* ---- Against the kernel ---- */

static void test_open_netns(void **state) {
        struct fx *f = fx_get(state);
        _cleanup_(zero_nl_closep) struct zero_nl *inner = NULL;
        _cleanup_close_ int devnull = -EBADF;
        struct zero_nl_link *links = NULL;
        size_t n = 0;

        container_start(&f->c[0]);
        assert_int_equal(zero_nl_open_netns(f->c[0].netns_fd, &inner), 0);
        assert_int_equal(zero_nl_bridge_create(f->nl, "zb-outside", 0, NULL), 0);
        /* A fresh namespace: lo only, none of ours. */
        assert_int_equal(zero_nl_link_list(inner, NULL, &links, &n), 0);
        assert_int_equal(n, 1);
        assert_string_equal(links[0].name, "lo");
        free(links);
        assert_int_equal(zero_nl_link_index(inner, "zb-outside"), -ENODEV);

        assert_int_equal(zero_nl_open_netns(-1, &inner), -EINVAL);
        devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
        assert_true(devnull >= 0);
        assert_int_equal(zero_nl_open_netns(devnull, &inner), -EINVAL); /* setns() says so */
        assert_int_equal(zero_netns_open_pid(0), -EINVAL);
}

static void test_bridge(void **state) {
        struct fx *f = fx_get(state);
        uint8_t mac[ZERO_MAC_LEN];
        struct zero_nl_link l;

        assert_int_equal(zero_mac_from_id(ID_A, mac), 0);
        assert_int_equal(zero_nl_bridge_create(f->nl, "zb-test", 1400, mac), 0);
        l = get(f->nl, "zb-test");
        assert_string_equal(l.kind, "bridge");
        assert_int_equal(l.mtu, 1400);
        assert_true(l.has_mac);
        assert_memory_equal(l.mac, mac, ZERO_MAC_LEN);
        assert_false(l.flags & IFF_UP);
        assert_int_equal(zero_nl_link_index(f->nl, "zb-test"), l.ifindex);
        {
                struct zero_nl_link by_index;
                assert_int_equal(zero_nl_link_get_by_index(f->nl, l.ifindex, &by_index), 0);
                assert_string_equal(by_index.name, "zb-test");
                assert_int_equal(zero_nl_link_get_by_index(f->nl, 999999, &by_index), -ENODEV);
        }

        assert_int_equal(zero_nl_bridge_create(f->nl, "zb-test", 1400, mac), 0); /* idempotent */
        assert_int_equal(zero_nl_link_set_up(f->nl, "zb-test"), 0);
        assert_true(get(f->nl, "zb-test").flags & IFF_UP);

        assert_int_equal(zero_nl_addr_add(f->nl, "zb-test", ip("10.77.0.1"), 24), 0);
        assert_int_equal(zero_nl_addr_add(f->nl, "zb-test", ip("10.77.0.1"), 24), 0);
        assert_true(has_addr(f->nl, l.ifindex, "10.77.0.1", 24));
        assert_int_equal(zero_nl_addr_del(f->nl, "zb-test", ip("10.77.0.1"), 24), 0);
        assert_false(has_addr(f->nl, l.ifindex, "10.77.0.1", 24));
        assert_int_equal(zero_nl_addr_del(f->nl, "zb-test", ip("10.77.0.1"), 24), 0);
        assert_int_equal(zero_nl_addr_del(f->nl, "zb-nothere", ip("10.77.0.1"), 24), 0);
        assert_int_equal(zero_nl_addr_add(f->nl, "zb-nothere", ip("10.77.0.1"), 24), -ENODEV);
        assert_int_equal(zero_nl_addr_add(f->nl, "zb-test", ip("10.77.0.1"), 33), -EINVAL);

        /* A name taken by another kind. */
        assert_int_equal(veth(f->nl, "zv-x", "zp-x"), 0);
        assert_int_equal(zero_nl_bridge_create(f->nl, "zv-x", 0, NULL), -EEXIST);
        assert_int_equal(zero_nl_bridge_delete(f->nl, "zv-x"), -EMEDIUMTYPE);
        assert_int_equal(zero_nl_link_index(f->nl, "zv-x") > 0, true);
        assert_int_equal(zero_nl_bridge_create(f->nl, "zp-x", 0, NULL), -EEXIST);

        /* The kernel's own words travel back. */
        assert_int_equal(zero_nl_bridge_create(f->nl, "zb-big", 70000, NULL), -EINVAL);
        assert_non_null(strstr(zero_nl_last_error(f->nl), "mtu"));

        assert_int_equal(zero_nl_bridge_create(f->nl, "zb-0123456789abc", 0, NULL), -EINVAL); /* 16 */
        assert_int_equal(zero_nl_bridge_create(f->nl, NULL, 0, NULL), -EINVAL);

        assert_int_equal(zero_nl_bridge_delete(f->nl, "zb-test"), 0);
        assert_int_equal(zero_nl_link_get(f->nl, "zb-test", &l), -ENODEV);
        assert_int_equal(zero_nl_bridge_delete(f->nl, "zb-test"), 0);
        assert_int_equal(zero_nl_link_delete(f->nl, "zb-test"), 0);
}

static void test_list(void **state) {
        struct fx *f = fx_get(state);
        struct zero_nl_link *links = NULL;
        size_t n = 0;
        bool seen1 = false, seen2 = false;

        assert_int_equal(zero_nl_bridge_create(f->nl, "zb-list", 0, NULL), 0);
        assert_int_equal(veth(f->nl, "zv-1", "zp-1"), 0);
        assert_int_equal(veth(f->nl, "zv-2", "zp-2"), 0);
        assert_int_equal(zero_nl_link_list(f->nl, "zv-", &links, &n), 0);
        assert_int_equal(n, 2);
        for (size_t i = 0; i < n; i++) {
                seen1 |= streq(links[i].name, "zv-1");
                seen2 |= streq(links[i].name, "zv-2");
                assert_string_equal(links[i].kind, "veth");
        }
        free(links);
        assert_true(seen1 && seen2);
        assert_int_equal(zero_nl_link_list(f->nl, NULL, &links, &n), 0);
        assert_int_equal(n, 6); /* lo, zb-list, two pairs */
        free(links);
        assert_int_equal(zero_nl_link_list(f->nl, "zt-", &links, &n), 0);
        assert_int_equal(n, 0);
        free(links);

        /* Renamed down, as kernels before 6.2 want it; a veth's MAC changes while up. */
        uint8_t mac[ZERO_MAC_LEN];
        assert_int_equal(zero_mac_parse("02:00:00:00:00:01", mac), 0);
        assert_true(get(f->nl, "zv-1").flags & IFF_UP);
        assert_int_equal(zero_nl_link_set_down(f->nl, "zv-1"), 0);
        assert_false(get(f->nl, "zv-1").flags & IFF_UP);
        assert_int_equal(zero_nl_link_rename(f->nl, "zv-1", "zv-9"), 0);
        assert_int_equal(zero_nl_link_rename(f->nl, "zv-9", "zv-%d"), -EINVAL);
        assert_int_equal(zero_nl_link_set_mac(f->nl, "zv-2", mac), 0);
        assert_memory_equal(get(f->nl, "zv-2").mac, mac, ZERO_MAC_LEN);
        assert_int_equal(zero_nl_link_set_master(f->nl, "zv-2", "zb-list"), 0);
        assert_int_equal(get(f->nl, "zv-2").master, get(f->nl, "zb-list").ifindex);
        assert_int_equal(zero_nl_link_set_master(f->nl, "zv-2", "zb-none"), -ENODEV);
        assert_int_equal(zero_nl_link_delete(f->nl, "zp-9"), 0);
}

static void test_veth_into_container(void **state) {
        struct fx *f = fx_get(state);
        _cleanup_(zero_nl_closep) struct zero_nl *inner = NULL;
        struct zero_nl_link br, host, peer, eth0;
        struct zero_nl_ifconfig cfg;
        uint8_t mac[ZERO_MAC_LEN];
        struct in_addr gw;
        int oif;

        assert_int_equal(zero_mac_from_id(ID_A, mac), 0);
        assert_int_equal(zero_nl_bridge_create(f->nl, "zb-test", 0, NULL), 0);
        assert_int_equal(zero_nl_link_set_up(f->nl, "zb-test"), 0);
        br = get(f->nl, "zb-test");

        const struct zero_nl_veth v = {.name = "zv-a", .peer = "zp-a", .peer_mac = mac, .master = "zb-test"};
        assert_int_equal(zero_nl_veth_create(f->nl, &v), 0);
        host = get(f->nl, "zv-a");
        peer = get(f->nl, "zp-a");
        assert_string_equal(host.kind, "veth");
        assert_int_equal(host.master, br.ifindex);
        assert_true(host.flags & IFF_UP);
        assert_int_equal(host.peer_ifindex, peer.ifindex);
        assert_false(host.peer_netns);
        assert_true(peer.has_mac);
        assert_memory_equal(peer.mac, mac, ZERO_MAC_LEN);
        assert_false(peer.flags & IFF_UP);
        assert_int_equal(peer.master, 0);

        /* Again (a retried step): converges, even when detached and down meanwhile. */
        assert_int_equal(zero_nl_link_set_master(f->nl, "zv-a", NULL), 0);
        assert_int_equal(zero_nl_link_set_down(f->nl, "zv-a"), 0);
        assert_int_equal(get(f->nl, "zv-a").master, 0);
        assert_int_equal(zero_nl_veth_create(f->nl, &v), 0);
        host = get(f->nl, "zv-a");
        assert_int_equal(host.master, br.ifindex);
        assert_true(host.flags & IFF_UP);
        assert_int_equal(veth(f->nl, "zv-b", "zp-a"), -EEXIST);
        assert_int_equal(veth(f->nl, "zv-a", "zv-a"), -EINVAL);
        assert_int_equal(zero_nl_veth_create(f->nl, &(struct zero_nl_veth) {.name = "zv-c", .peer = "zp-c",
                                                                             .master = "zb-none"}),
                         -ENODEV);

        /* Into the container by pid, renamed on the way. */
        container_start(&f->c[0]);
        assert_int_equal(zero_nl_link_move_netns_pid(f->nl, "zp-a", f->c[0].pid, "eth0"), 0);
        assert_int_equal(zero_nl_link_index(f->nl, "zp-a"), -ENODEV);
        assert_int_equal(zero_nl_link_index(f->nl, "eth0"), -ENODEV);
        assert_true(get(f->nl, "zv-a").peer_netns);

        assert_int_equal(zero_nl_open_netns(f->c[0].netns_fd, &inner), 0);
        eth0 = get(inner, "eth0");
        assert_memory_equal(eth0.mac, mac, ZERO_MAC_LEN);
        cfg = (struct zero_nl_ifconfig) {.name = "eth0", .addr = ip("10.77.0.2"), .prefixlen = 24,
                                         .gateway = ip("10.77.0.1")};
        assert_int_equal(zero_nl_link_configure(inner, &cfg), 0);
        assert_int_equal(zero_nl_link_configure(inner, &cfg), 0); /* idempotent */

        /* Seen from inside the container's namespace. */
        eth0 = get(inner, "eth0");
        assert_true(eth0.flags & IFF_UP);
        assert_memory_equal(eth0.mac, mac, ZERO_MAC_LEN);
        assert_true(has_addr(inner, eth0.ifindex, "10.77.0.2", 24));
        assert_int_equal(zero_nl_route_get_default(inner, &gw, &oif), 0);
        assert_int_equal(gw.s_addr, ip("10.77.0.1").s_addr);
        assert_int_equal(oif, eth0.ifindex);
        assert_true(get(inner, "lo").flags & IFF_UP);
        assert_int_equal(zero_nl_route_get_default(f->nl, &gw, &oif), -ENOENT); /* not out here */
        {
                uint64_t start = zero_monotonic_usec();
                /* The carrier comes up asynchronously (linkwatch). */
                while (get(inner, "eth0").operstate != IF_OPER_UP && !deadline_passed(start))
                        (void) poll(NULL, 0, 10);
                assert_int_equal(get(inner, "eth0").operstate, IF_OPER_UP);
        }

        /* Deleting the host end takes the container's end with it. */
        assert_int_equal(zero_nl_veth_delete(f->nl, "zv-a"), 0);
        assert_int_equal(zero_nl_link_index(f->nl, "zv-a"), -ENODEV);
        assert_int_equal(zero_nl_link_index(inner, "eth0"), -ENODEV);
        assert_int_equal(zero_nl_veth_delete(f->nl, "zv-a"), 0);
        assert_int_equal(zero_nl_veth_delete(f->nl, "zb-test"), -EMEDIUMTYPE);
}

/* tcp_child() with this test's server address. */
_Noreturn static void tcp_child_here(int netns_fd, bool serve, int ready_fd) {
        tcp_child(netns_fd, "10.77.0.3", serve, ready_fd);
}

static void plug(struct fx *f, struct container *c, const char *host, const char *peer, const char *id,
                 const char *addr, bool by_pid) {
        _cleanup_(zero_nl_closep) struct zero_nl *inner = NULL;
        uint8_t mac[ZERO_MAC_LEN];
        struct zero_nl_veth v = {.name = host, .peer = peer, .peer_mac = mac, .master = "zb-net"};
        struct zero_nl_ifconfig cfg = {.name = peer, .new_name = "eth0", .addr = ip(addr), .prefixlen = 24,
                                       .gateway = ip("10.77.0.1")};

        assert_int_equal(zero_mac_from_id(id, mac), 0);
        assert_int_equal(zero_nl_veth_create(f->nl, &v), 0);
        container_start(c);
        if (by_pid)
                assert_int_equal(zero_nl_link_move_netns_pid(f->nl, peer, c->pid, "eth0"), 0);
        else /* moved under its own name, renamed by the configuration inside */
                assert_int_equal(zero_nl_link_move_netns_fd(f->nl, peer, c->netns_fd, NULL), 0);
        assert_int_equal(zero_nl_open_netns(c->netns_fd, &inner), 0);
        assert_int_equal(zero_nl_link_configure(inner, &cfg), 0);
        assert_true(has_addr(inner, get(inner, "eth0").ifindex, addr, 24));
        /* A retry after the rename finds the link under its new name. */
        assert_int_equal(zero_nl_link_configure(inner, &(struct zero_nl_ifconfig) {.name = peer,
                                                                                    .new_name = "eth0"}),
                         0);
}

static void test_traffic_between_containers(void **state) {
        struct fx *f = fx_get(state);
        pid_t *server, *client;
        int ready[2];
        struct pollfd p;
        char b;

        assert_int_equal(zero_nl_bridge_create(f->nl, "zb-net", 0, NULL), 0);
        assert_int_equal(zero_nl_addr_add(f->nl, "zb-net", ip("10.77.0.1"), 24), 0);
        assert_int_equal(zero_nl_link_set_up(f->nl, "zb-net"), 0);
        plug(f, &f->c[0], "zv-a", "zp-a", ID_A, "10.77.0.2", true);
        plug(f, &f->c[1], "zv-b", "zp-b", ID_B, "10.77.0.3", false);

        assert_int_equal(pipe2(ready, O_CLOEXEC), 0);
        server = new_helper(f);
        *server = fork();
        assert_true(*server >= 0);
        if (*server == 0)
                tcp_child_here(f->c[1].netns_fd, true, ready[1]);
        close(ready[1]);
        p = (struct pollfd) {.fd = ready[0], .events = POLLIN};
        assert_int_equal(poll(&p, 1, TIMEOUT_MS), 1);
        assert_int_equal(read(ready[0], &b, 1), 1);
        close(ready[0]);

        client = new_helper(f);
        *client = fork();
        assert_true(*client >= 0);
        if (*client == 0)
                tcp_child_here(f->c[0].netns_fd, false, -1);
        assert_int_equal(wait_exit(client), 0);
        assert_int_equal(wait_exit(server), 0);
}

static void test_tap(void **state) {
        struct fx *f = fx_get(state);
        _cleanup_(zero_nl_closep) struct zero_nl *inner = NULL;
        _cleanup_close_ int fd = -EBADF;
        struct zero_nl_link br, tap;
        struct ifreq ifr = {.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR};

        assert_int_equal(access("/dev/net/tun", R_OK | W_OK), 0);
        assert_int_equal(zero_nl_bridge_create(f->nl, "zb-vm", 0, NULL), 0);
        br = get(f->nl, "zb-vm");
        assert_int_equal(zero_nl_tap_create(f->nl, "zt-test", "zb-vm"), 0);
        tap = get(f->nl, "zt-test");
        assert_string_equal(tap.kind, "tun");
        assert_int_equal(tap.master, br.ifindex);
        assert_true(tap.flags & IFF_UP);

        /* Attach as QEMU would, then create again while attached: success, untouched. */
        fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
        assert_true(fd >= 0);
        snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "zt-test");
        assert_int_equal(ioctl(fd, TUNSETIFF, &ifr), 0);
        assert_int_equal(ioctl(fd, TUNGETIFF, &ifr), 0);
        assert_true(ifr.ifr_flags & IFF_PERSIST);
        assert_true(ifr.ifr_flags & IFF_VNET_HDR);
        assert_int_equal(zero_nl_tap_create(f->nl, "zt-test", "zb-vm"), 0);
        fd = safe_close(fd);
        assert_int_equal(get(f->nl, "zt-test").ifindex, tap.ifindex); /* persistent */

        assert_int_equal(zero_nl_tap_create(f->nl, "zb-vm", NULL), -EEXIST);
        assert_int_equal(zero_nl_tap_create(f->nl, "zt-2", "zb-none"), -ENODEV);
        assert_int_equal(zero_nl_link_index(f->nl, "zt-2"), -ENODEV);
        container_start(&f->c[0]);
        assert_int_equal(zero_nl_open_netns(f->c[0].netns_fd, &inner), 0);
        assert_int_equal(zero_nl_tap_create(inner, "zt-3", NULL), -EXDEV);

        assert_int_equal(zero_nl_tap_delete(f->nl, "zb-vm"), -EMEDIUMTYPE);
        assert_int_equal(zero_nl_tap_delete(f->nl, "zt-test"), 0);
        assert_int_equal(zero_nl_link_index(f->nl, "zt-test"), -ENODEV);
        assert_int_equal(zero_nl_tap_delete(f->nl, "zt-test"), 0);
}

static int netns_group_setup(_unused_ void **state) {
        struct zero_nl *nl = NULL;
        struct zero_nl_link *links = NULL;
        size_t n = 0;

        if (unshare(CLONE_NEWNET) < 0) {
                /* No silent skips: the project's tests run as root (crun, mounts, namespaces). */
                print_message("[ FAIL ] unshare(CLONE_NEWNET): %s: these tests need root\n", strerror(errno));
                return -1;
        }
        /* Sanity: a fresh namespace has lo and nothing else. */
        if (zero_nl_open(&nl) < 0 || zero_nl_link_list(nl, NULL, &links, &n) < 0 || n != 1) {
                free(links);
                zero_nl_close(nl);
                return -1;
        }
        free(links);
        zero_nl_close(nl);
        in_test_netns = true;
        return 0;
}

int main(void) {
        const struct CMUnitTest pure[] = {
                cmocka_unit_test(test_ifnames),
                cmocka_unit_test(test_mac),
                cmocka_unit_test(test_cidr),
        };
        const struct CMUnitTest kernel[] = {
                cmocka_unit_test_setup_teardown(test_open_netns, fx_setup, fx_teardown),
                cmocka_unit_test_setup_teardown(test_bridge, fx_setup, fx_teardown),
                cmocka_unit_test_setup_teardown(test_list, fx_setup, fx_teardown),
                cmocka_unit_test_setup_teardown(test_veth_into_container, fx_setup, fx_teardown),
                cmocka_unit_test_setup_teardown(test_traffic_between_containers, fx_setup, fx_teardown),
                cmocka_unit_test_setup_teardown(test_tap, fx_setup, fx_teardown),
        };
        int r = cmocka_run_group_tests_name("netlink pure helpers", pure, NULL, NULL);

        r |= cmocka_run_group_tests_name("netlink in network namespaces", kernel, netns_group_setup, NULL);
        return r;
}
