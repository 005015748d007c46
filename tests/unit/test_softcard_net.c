/* SPDX-License-Identifier: Apache-2.0 */
/*
 * io/softcard/net.c (networks, NIC attachments, their sync) and netns.c (persistent network
 * namespaces) against the real kernel. The binary first unshare()s a network and a mount
 * namespace of its own (needs root), with / made private: its bridges, veths and taps, and the
 * nsfs mounts of the namespaces it binds (in a mkdtemp() directory with a tmpfs of its own on
 * it), live there and die with the process; the machine's interfaces and mounts are never seen.
 * Each test's teardown kills and reaps its children, removes its namespaces and deletes every
 * link but lo, even after a failed assertion. Every wait is bounded (TIMEOUT_MS).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/capability.h>
#include <linux/if.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "common/util.h"
#include "io/softcard/softcard.h"

#define TIMEOUT_MS 10000

#include "tests/unit/child_helpers.h"
#define PORT 7777

static const char *const ID_A = "0123456789abcdef0123456789abcdef";
static const char *const ID_B = "fedcba9876543210fedcba9876543210";
static const char *const HOST_A = "zv-0123456789ab";
static const char *const HOST_B = "zv-fedcba987654";
static const char *const TAP_A = "zt-0123456789ab";
static const char *const TAP_B = "zt-fedcba987654";

static const struct zero_card_network NET = {
        .size = sizeof(struct zero_card_network),
        .id = "00112233445566778899aabbccddeeff",
        .name = "test",
        .subnet = "10.77.0.0/24",
        .gateway = "10.77.0.1",
};
#define NET_BRIDGE "zb-test" /* the softcard's name for NET */

static char netns_dir[] = "/tmp/zero-test-softcard-net-XXXXXX";
static bool in_test_namespaces;

struct fx {
        struct zero_nl *nl;
        char ns[2][PATH_MAX]; /* namespace files of this test, removed by the teardown */
        int hold_fd;          /* keeps a namespace alive after its file is gone */
        pid_t helpers[4];
        size_t n_helpers;
};

static struct zero_card_nic nic_a(void) {
        return (struct zero_card_nic) {.size = sizeof(struct zero_card_nic), .id = ID_A, .mac = "02:00:00:00:00:0a",
                                       .ip = "10.77.0.2", .ifname = "eth0", .network = &NET};
}

static struct zero_card_nic nic_b(void) {
        return (struct zero_card_nic) {.size = sizeof(struct zero_card_nic), .id = ID_B, .mac = "02:00:00:00:00:0b",
                                       .ip = "10.77.0.3", .ifname = "eth0", .network = &NET};
}

static pid_t *new_helper(struct fx *f) {
        assert_true(f->n_helpers < ELEMENTSOF(f->helpers));
        return &f->helpers[f->n_helpers++];
}

static int fx_setup(void **state) {
        struct fx *f;

        *state = NULL;
        if (!in_test_namespaces)
                return -1; /* the group setup could not make the test namespaces */
        f = calloc(1, sizeof(*f));
        if (!f)
                return -1;
        for (size_t i = 0; i < ELEMENTSOF(f->ns); i++)
                snprintf(f->ns[i], sizeof(f->ns[i]), "%s/ns%zu", netns_dir, i);
        f->hold_fd = -EBADF;
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
        f->hold_fd = safe_close(f->hold_fd);
        for (size_t i = 0; i < ELEMENTSOF(f->ns); i++)
                (void) zero_netns_remove(f->ns[i]);
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

static struct zero_nl_link get(struct zero_nl *nl, const char *name) {
        struct zero_nl_link l;
        assert_int_equal(zero_nl_link_get(nl, name, &l), 0);
        return l;
}

static bool link_exists(struct zero_nl *nl, const char *name) {
        int r = zero_nl_link_index(nl, name);

        assert_true(r > 0 || r == -ENODEV);
        return r > 0;
}

/* How many addresses equal to addr/prefixlen the link has. */
static size_t count_addr(struct zero_nl *nl, int ifindex, const char *addr, unsigned prefixlen) {
        struct zero_nl_addr *v = NULL;
        size_t n = 0, found = 0;

        assert_int_equal(zero_nl_addr_list(nl, ifindex, &v, &n), 0);
        for (size_t i = 0; i < n; i++)
                found += v[i].ifindex == ifindex && v[i].addr.s_addr == ip(addr).s_addr && v[i].prefixlen == prefixlen;
        free(v);
        return found;
}

/* A handle inside the namespace bound at path. */
static struct zero_nl *open_inner(const char *path) {
        _cleanup_close_ int fd = zero_netns_open_path(path);
        struct zero_nl *inner = NULL;

        assert_true(fd >= 0);
        assert_int_equal(zero_nl_open_netns(fd, &inner), 0);
        return inner;
}

/* How many mounts /proc/self/mountinfo has on path (its fifth field). */
static unsigned mount_count(const char *path) {
        _cleanup_free_ char *data = NULL;
        unsigned n = 0;
        size_t len;

        assert_int_equal(zero_read_file("/proc/self/mountinfo", 1 << 20, &data, &len), 0);
        for (char *line = strtok(data, "\n"); line; line = strtok(NULL, "\n")) {
                char point[PATH_MAX];

                if (sscanf(line, "%*s %*s %*s %*s %4095s", point) == 1 && streq(point, path))
                        n++;
        }
        return n;
}

static ino_t netns_inode(int fd) {
        struct stat st;
        assert_int_equal(fstat(fd, &st), 0);
        return st.st_ino;
}

static void assert_configured(const char *netns_path, const struct zero_card_nic *nic) {
        _cleanup_(zero_nl_closep) struct zero_nl *inner = open_inner(netns_path);
        struct zero_nl_link eth;
        uint8_t mac[ZERO_MAC_LEN];
        struct in_addr gw;
        int oif;

        eth = get(inner, nic->ifname);
        assert_string_equal(eth.kind, "veth");
        assert_true(eth.flags & IFF_UP);
        assert_int_equal(zero_mac_parse(nic->mac, mac), 0);
        assert_memory_equal(eth.mac, mac, ZERO_MAC_LEN);
        assert_int_equal(count_addr(inner, eth.ifindex, nic->ip, 24), 1); /* NET's prefix */
        assert_int_equal(zero_nl_route_get_default(inner, &gw, &oif), 0);
        assert_int_equal(gw.s_addr, ip(nic->network->gateway).s_addr);
        assert_int_equal(oif, eth.ifindex);
        assert_true(get(inner, "lo").flags & IFF_UP);
}

/* The host end of a veth NIC: on the bridge, up, its other end in another namespace. */
static struct zero_nl_link assert_host_end(struct zero_nl *nl, const char *name) {
        struct zero_nl_link l = get(nl, name);

        assert_string_equal(l.kind, "veth");
        assert_int_equal(l.master, get(nl, NET_BRIDGE).ifindex);
        assert_true(l.flags & IFF_UP);
        assert_true(l.peer_netns);
        return l;
}

static void network_up(struct fx *f) {
        struct zero_error e = {};
        assert_int_equal(softcard_net_network_create(f->nl, &NET, &e), 0);
}

static void attach_veth(struct fx *f, const struct zero_card_nic *nic, const char *netns_path) {
        char ifname[ZERO_CARD_PATH_MAX] = "";
        struct zero_error e = {};
        int r;

        r = softcard_net_nic_attach(f->nl, nic, ZERO_CARD_NIC_VETH, netns_path, ifname, &e);
        if (r < 0)
                fail_msg("attach %s: %d %s", nic->id, r, e.message);
        assert_int_equal(strlen(ifname), 15);
        assert_memory_equal(ifname, "zv-", 3);
}

/* ---- netns.c ---- */

/* In a forked child without CAP_SYS_ADMIN: zero_netns_create() makes the file, its own child
 * cannot unshare(), and the file must be gone again. Exit 0 if so. */
_Noreturn static void create_without_cap_child(const char *path) {
        struct __user_cap_header_struct h = {.version = _LINUX_CAPABILITY_VERSION_3};
        struct __user_cap_data_struct d[2] = {};

        if (syscall(SYS_capget, &h, d) < 0)
                _exit(10);
        d[0].effective &= ~(1u << CAP_SYS_ADMIN);
        d[0].permitted &= ~(1u << CAP_SYS_ADMIN);
        if (syscall(SYS_capset, &h, d) < 0)
                _exit(11);
        if (zero_netns_create(path) != -EPERM)
                _exit(12);
        _exit(access(path, F_OK) < 0 && errno == ENOENT ? 0 : 13);
}

/* The links' names (ifname.c): pure. */
static void test_ifnames(_unused_ void **state) {
        char name[ZERO_IFNAMSIZ], other[ZERO_IFNAMSIZ];

        assert_int_equal(softcard_ifname_bridge("default", name), 0);
        assert_string_equal(name, "zb-default");
        assert_int_equal(softcard_ifname_bridge("abcdefghijkl", name), 0); /* 12: verbatim */
        assert_string_equal(name, "zb-abcdefghijkl");
        assert_int_equal(softcard_ifname_bridge("abcdefghijklm", name), 0); /* 13: hashed */
        assert_int_equal(strlen(name), 15);
        assert_memory_equal(name, "zb-abcdef_", 10);
        assert_true(zero_ifname_is_valid(name));
        assert_int_equal(softcard_ifname_bridge("abcdefghijkln", other), 0);
        assert_string_not_equal(name, other);
        assert_int_equal(softcard_ifname_bridge("abcdefghijklm", other), 0);
        assert_string_equal(name, other); /* stable */
        assert_int_equal(softcard_ifname_bridge("Bad_Name", name), -EINVAL);
        assert_int_equal(softcard_ifname_bridge("", name), -EINVAL);
        assert_int_equal(softcard_ifname_bridge(NULL, name), -EINVAL);

        assert_int_equal(softcard_ifname_nic(SOFTCARD_IFNAME_VETH, ID_A, name), 0);
        assert_string_equal(name, "zv-0123456789ab");
        assert_int_equal(softcard_ifname_nic(SOFTCARD_IFNAME_TAP, "0123456789ABCDEF0123456789ABCDEF", name), 0);
        assert_string_equal(name, "zt-0123456789ab");
        assert_int_equal(softcard_ifname_nic(SOFTCARD_IFNAME_PEER, "0123", name), -EINVAL);
        assert_int_equal(softcard_ifname_nic("zzz", ID_A, name), -EINVAL);
}

static void test_netns(void **state) {
        struct fx *f = fx_get(state);
        const char *path = f->ns[0];
        _cleanup_close_ int fd = -EBADF, fd2 = -EBADF, self = -EBADF;
        _cleanup_(zero_nl_closep) struct zero_nl *inner = NULL;
        struct zero_nl_link *links = NULL;
        char other[PATH_MAX + 8];
        struct stat st;
        size_t n = 0;
        pid_t *child;

        assert_int_equal(zero_netns_create(path), 0);
        assert_int_equal(mount_count(path), 1);
        fd = zero_netns_open_path(path);
        assert_true(fd >= 0);
        self = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
        assert_true(self >= 0);
        assert_int_not_equal(netns_inode(fd), netns_inode(self)); /* not ours: the caller stayed */

        /* A fresh namespace with lo up and nothing else. */
        assert_int_equal(zero_nl_open_netns(fd, &inner), 0);
        assert_int_equal(zero_nl_link_list(inner, NULL, &links, &n), 0);
        assert_int_equal(n, 1);
        assert_string_equal(links[0].name, "lo");
        assert_true(links[0].flags & IFF_UP);
        free(links);
        inner = zero_nl_close(inner);

        /* Again: the same namespace, no second mount. */
        assert_int_equal(zero_netns_create(path), 0);
        assert_int_equal(mount_count(path), 1);
        fd2 = zero_netns_open_path(path);
        assert_true(fd2 >= 0);
        assert_int_equal(netns_inode(fd2), netns_inode(fd));
        fd2 = safe_close(fd2);

        /* Under the mount, the file as `ip netns add` leaves it; an interrupted create's empty
         * file is used again. */
        assert_int_equal(umount2(path, MNT_DETACH), 0);
        assert_int_equal(stat(path, &st), 0);
        assert_true(S_ISREG(st.st_mode));
        assert_int_equal(st.st_mode & 07777, 0444);
        assert_int_equal(zero_netns_open_path(path), -EMEDIUMTYPE);
        assert_int_equal(zero_netns_create(path), 0);
        assert_int_equal(mount_count(path), 1);
        fd2 = zero_netns_open_path(path);
        assert_true(fd2 >= 0);
        assert_int_not_equal(netns_inode(fd2), netns_inode(fd)); /* a new one */

        /* Removed: no mount, no file, even with the namespace still held open by fd2. */
        assert_int_equal(zero_netns_remove(path), 0);
        assert_int_equal(mount_count(path), 0);
        assert_true(access(path, F_OK) < 0 && errno == ENOENT);
        assert_int_equal(zero_netns_remove(path), 0);
        assert_int_equal(zero_netns_open_path(path), -ENOENT);

        /* What is not ours stays as it is. */
        assert_int_equal(zero_write_file_replace(path, "x", 1, 0644), 0);
        assert_int_equal(zero_netns_create(path), -EEXIST);
        assert_int_equal(stat(path, &st), 0);
        assert_int_equal(st.st_size, 1);
        assert_int_equal(unlink(path), 0);
        assert_int_equal(mkdir(path, 0755), 0);
        assert_int_equal(zero_netns_create(path), -EEXIST);
        assert_int_equal(rmdir(path), 0);
        snprintf(other, sizeof(other), "%s/none/ns", netns_dir);
        assert_int_equal(zero_netns_create(other), -ENOENT);
        assert_int_equal(zero_netns_create(NULL), -EINVAL);

        /* A create that fails after making the file removes it. */
        child = new_helper(f);
        *child = fork();
        assert_true(*child >= 0);
        if (*child == 0)
                create_without_cap_child(path);
        assert_int_equal(wait_exit(child), 0);
        assert_true(access(path, F_OK) < 0 && errno == ENOENT);
}

/* ---- Networks ---- */

static void test_network(void **state) {
        struct fx *f = fx_get(state);
        struct zero_card_network bad = NET;
        struct zero_error e = {};
        struct zero_nl_link br;
        uint8_t mac[ZERO_MAC_LEN];

        assert_int_equal(softcard_net_network_create(f->nl, &NET, &e), 0);
        assert_int_equal(softcard_net_network_create(f->nl, &NET, &e), 0); /* idempotent */
        br = get(f->nl, "zb-test");
        assert_string_equal(br.kind, "bridge");
        assert_true(br.flags & IFF_UP);
        assert_int_equal(count_addr(f->nl, br.ifindex, "10.77.0.1", 24), 1);
        assert_int_equal(zero_mac_from_id(NET.id, mac), 0); /* stable, not its ports' */
        assert_memory_equal(br.mac, mac, ZERO_MAC_LEN);

        bad.subnet = "10.77.0.5/24";
        assert_int_equal(softcard_net_network_create(f->nl, &bad, &e), -EINVAL);
        assert_int_equal(e.code, ZERO_E_INVALID);
        bad = NET;
        bad.gateway = "10.78.0.1";
        assert_int_equal(softcard_net_network_create(f->nl, &bad, &e), -EINVAL);
        assert_non_null(strstr(e.message, "10.78.0.1"));

        /* A namesake of another kind is a conflict, and left alone. */
        assert_int_equal(zero_nl_veth_create(f->nl, &(struct zero_nl_veth) {.name = "zb-clash", .peer = "zp-clash"}),
                         0);
        bad = NET;
        bad.name = "clash"; /* its bridge: zb-clash */
        e = (struct zero_error) {};
        assert_int_equal(softcard_net_network_create(f->nl, &bad, &e), -EEXIST);
        assert_int_equal(e.code, ZERO_E_CONFLICT);
        assert_non_null(strstr(e.message, "zb-clash"));
        assert_int_equal(softcard_net_network_delete(f->nl, &bad, &e), -EMEDIUMTYPE);
        assert_string_equal(get(f->nl, "zb-clash").kind, "veth");

        /* Another network whose name gives the same bridge name (two long names can): refused,
         * not joined to NET's bridge, whose MAC tells it is NET's; and its delete leaves it. */
        bad = NET;
        bad.id = "ffeeddccbbaa99887766554433221100";
        bad.subnet = "10.99.0.0/24";
        bad.gateway = "10.99.0.1";
        e = (struct zero_error) {};
        assert_int_equal(softcard_net_network_create(f->nl, &bad, &e), -EEXIST);
        assert_int_equal(e.code, ZERO_E_CONFLICT);
        assert_non_null(strstr(e.message, "another network's"));
        assert_int_equal(count_addr(f->nl, br.ifindex, "10.99.0.1", 24), 0);
        assert_int_equal(softcard_net_network_delete(f->nl, &bad, &e), 0);
        assert_true(link_exists(f->nl, "zb-test"));
        {
                char name[ZERO_IFNAMSIZ];
                assert_int_equal(softcard_net_bridge(&NET, name), 0);
                assert_string_equal(name, "zb-test");
        }

        assert_int_equal(softcard_net_network_delete(f->nl, &NET, &e), 0);
        assert_false(link_exists(f->nl, "zb-test"));
        assert_int_equal(softcard_net_network_delete(f->nl, &NET, &e), 0); /* missing: success */
}

/* A subnet that an address or a route of the namespace already covers is a conflict naming it
 * (issue 10, row 12), and nothing is made; the card's own bridges do not count. */
static void test_network_overlap(void **state) {
        struct fx *f = fx_get(state);
        struct zero_card_network other = NET;
        _cleanup_free_ struct zero_nl_route *routes = NULL;
        struct zero_error e = {};
        size_t n = 0;
        bool found = false;

        assert_int_equal(zero_nl_veth_create(f->nl, &(struct zero_nl_veth) {.name = "lab0", .peer = "lab1"}), 0);
        assert_int_equal(zero_nl_link_set_up(f->nl, "lab0"), 0);
        assert_int_equal(zero_nl_link_set_up(f->nl, "lab1"), 0);
        assert_int_equal(zero_nl_addr_add(f->nl, "lab0", ip("10.77.0.200"), 24), 0);
        assert_int_equal(softcard_net_network_create(f->nl, &NET, &e), -EADDRINUSE);
        assert_int_equal(e.code, ZERO_E_CONFLICT);
        assert_non_null(strstr(e.message, "10.77.0.200/24 on lab0"));
        assert_false(link_exists(f->nl, "zb-test"));
        assert_int_equal(zero_nl_addr_del(f->nl, "lab0", ip("10.77.0.200"), 24), 0);

        /* A route to a wider block, via a gateway on lab0. */
        assert_int_equal(zero_nl_addr_add(f->nl, "lab0", ip("192.0.2.1"), 24), 0);
        assert_int_equal(zero_nl_route_list(f->nl, &routes, &n), 0);
        for (size_t i = 0; i < n; i++)
                found = found || (routes[i].prefixlen == 24 && routes[i].dst.s_addr == ip("192.0.2.0").s_addr);
        assert_true(found); /* the address's own route, proto kernel */
        other.subnet = "192.0.2.128/25";
        other.gateway = "192.0.2.129";
        e = (struct zero_error) {};
        assert_int_equal(softcard_net_network_create(f->nl, &other, &e), -EADDRINUSE);
        assert_non_null(strstr(e.message, "192.0.2.1/24 on lab0"));

        /* The card's own bridge is no conflict: a create done twice still succeeds. */
        assert_int_equal(zero_nl_link_delete(f->nl, "lab0"), 0);
        assert_int_equal(softcard_net_network_create(f->nl, &NET, &e), 0);
        assert_int_equal(softcard_net_network_create(f->nl, &NET, &e), 0);
        assert_int_equal(softcard_net_network_delete(f->nl, &NET, &e), 0);
}

/* ---- NICs ---- */

/* A TCP exchange from the namespace at client_ns to a listener on addr in server_ns. */
static void assert_tcp(struct fx *f, const char *client_ns, const char *server_ns, const char *addr) {
        _cleanup_close_ int cfd = zero_netns_open_path(client_ns), sfd = zero_netns_open_path(server_ns);
        pid_t *server, *client;
        int ready[2];
        struct pollfd p;
        char b;

        assert_true(cfd >= 0 && sfd >= 0);
        assert_int_equal(pipe2(ready, O_CLOEXEC), 0);
        server = new_helper(f);
        *server = fork();
        assert_true(*server >= 0);
        if (*server == 0)
                tcp_child(sfd, addr, true, ready[1]);
        close(ready[1]);
        p = (struct pollfd) {.fd = ready[0], .events = POLLIN};
        assert_int_equal(poll(&p, 1, TIMEOUT_MS), 1);
        assert_int_equal(read(ready[0], &b, 1), 1);
        close(ready[0]);

        client = new_helper(f);
        *client = fork();
        assert_true(*client >= 0);
        if (*client == 0)
                tcp_child(cfd, addr, false, -1);
        assert_int_equal(wait_exit(client), 0);
        assert_int_equal(wait_exit(server), 0);
}

static void test_veth_traffic(void **state) {
        struct fx *f = fx_get(state);
        const struct zero_card_nic a = nic_a(), b = nic_b();
        char ifname[ZERO_CARD_PATH_MAX] = "";
        struct zero_nl_link host_a, again;
        struct zero_error e = {};

        network_up(f);
        assert_int_equal(zero_netns_create(f->ns[0]), 0);
        assert_int_equal(zero_netns_create(f->ns[1]), 0);
        assert_int_equal(softcard_net_nic_attach(f->nl, &a, ZERO_CARD_NIC_VETH, f->ns[0], ifname, &e), 0);
        assert_string_equal(ifname, HOST_A);
        attach_veth(f, &b, f->ns[1]);

        host_a = assert_host_end(f->nl, HOST_A);
        assert_host_end(f->nl, HOST_B);
        assert_false(link_exists(f->nl, "zp-0123456789ab")); /* moved and renamed */
        assert_configured(f->ns[0], &a);
        assert_configured(f->ns[1], &b);

        /* Again (a retried step): success, the same pair, still configured. */
        assert_int_equal(softcard_net_nic_attach(f->nl, &a, ZERO_CARD_NIC_VETH, f->ns[0], ifname, &e), 0);
        again = assert_host_end(f->nl, HOST_A);
        assert_int_equal(again.ifindex, host_a.ifindex);
        assert_int_equal(again.peer_ifindex, host_a.peer_ifindex);
        assert_configured(f->ns[0], &a);

        /* Over the bridge, both ways of one connection. */
        assert_tcp(f, f->ns[0], f->ns[1], b.ip);

        /* Detached: both ends gone, the container's with the host's. */
        assert_int_equal(softcard_net_nic_detach(f->nl, &a, &e), 0);
        assert_false(link_exists(f->nl, HOST_A));
        {
                _cleanup_(zero_nl_closep) struct zero_nl *inner = open_inner(f->ns[0]);
                assert_false(link_exists(inner, "eth0"));
        }
        assert_int_equal(softcard_net_nic_detach(f->nl, &a, &e), 0); /* missing: success */
        assert_host_end(f->nl, HOST_B);                              /* the other NIC stays */
}

static void test_veth_recovery(void **state) {
        struct fx *f = fx_get(state);
        const struct zero_card_nic a = nic_a(), b = nic_b();
        struct zero_card_nic bad;
        char ifname[ZERO_CARD_PATH_MAX] = "";
        struct zero_error e = {};
        char gone[PATH_MAX + 8];

        network_up(f);
        assert_int_equal(zero_netns_create(f->ns[0]), 0);
        assert_int_equal(zero_netns_create(f->ns[1]), 0);

        /* An attach that stopped half way (the pair made, the peer still out here) is finished. */
        assert_int_equal(zero_nl_veth_create(f->nl, &(struct zero_nl_veth) {.name = HOST_A, .peer = "zp-0123456789ab",
                                                                             .master = NET_BRIDGE}),
                         0);
        assert_false(get(f->nl, HOST_A).peer_netns);
        attach_veth(f, &a, f->ns[0]);
        assert_host_end(f->nl, HOST_A);
        assert_false(link_exists(f->nl, "zp-0123456789ab"));
        assert_configured(f->ns[0], &a);

        /* The same NIC into another namespace: it moves there. */
        attach_veth(f, &a, f->ns[1]);
        assert_host_end(f->nl, HOST_A);
        assert_configured(f->ns[1], &a);
        {
                _cleanup_(zero_nl_closep) struct zero_nl *inner = open_inner(f->ns[0]);
                assert_false(link_exists(inner, "eth0"));
                /* A namesake in the namespace is a conflict, and nothing is left out here. */
                assert_int_equal(zero_nl_veth_create(inner, &(struct zero_nl_veth) {.name = "eth0", .peer = "other"}),
                                 0);
        }
        e = (struct zero_error) {};
        assert_int_equal(softcard_net_nic_attach(f->nl, &b, ZERO_CARD_NIC_VETH, f->ns[0], ifname, &e), -EEXIST);
        assert_int_equal(e.code, ZERO_E_CONFLICT);
        assert_false(link_exists(f->nl, HOST_B));
        assert_string_equal(ifname, ""); /* untouched on failure */

        /* Refused before touching anything. */
        assert_int_equal(softcard_net_nic_attach(f->nl, &b, ZERO_CARD_NIC_NONE, NULL, ifname, &e), -EINVAL);
        assert_int_equal(softcard_net_nic_attach(f->nl, &b, _ZERO_CARD_NIC_MAX, NULL, ifname, &e), -EINVAL);
        assert_int_equal(softcard_net_nic_attach(f->nl, &b, ZERO_CARD_NIC_VETH, NULL, ifname, &e), -EINVAL);
        assert_int_equal(e.code, ZERO_E_INVALID);
        bad = b;
        bad.mac = "02:00:00:00:00";
        assert_int_equal(softcard_net_nic_attach(f->nl, &bad, ZERO_CARD_NIC_VETH, f->ns[1], ifname, &e), -EINVAL);
        bad = b;
        bad.id = "0123";
        assert_int_equal(softcard_net_nic_attach(f->nl, &bad, ZERO_CARD_NIC_TAP, NULL, ifname, &e), -EINVAL);
        struct zero_card_network none = NET;
        none.name = "none"; /* a network whose bridge was never made: zb-none */
        bad = b;
        bad.network = &none;
        e = (struct zero_error) {};
        assert_int_equal(softcard_net_nic_attach(f->nl, &bad, ZERO_CARD_NIC_TAP, NULL, ifname, &e), -ENODEV);
        assert_non_null(strstr(e.message, "zb-none"));
        snprintf(gone, sizeof(gone), "%s/gone", netns_dir);
        e = (struct zero_error) {};
        assert_int_equal(softcard_net_nic_attach(f->nl, &b, ZERO_CARD_NIC_VETH, gone, ifname, &e), -ENOENT);
        assert_int_equal(e.code, ZERO_E_INTERNAL);
        assert_non_null(strstr(e.message, gone));
        assert_false(link_exists(f->nl, HOST_B));
        assert_false(link_exists(f->nl, TAP_B));
}

static void test_tap(void **state) {
        struct fx *f = fx_get(state);
        const struct zero_card_nic a = nic_a();
        char ifname[ZERO_CARD_PATH_MAX] = "";
        struct zero_error e = {};
        struct zero_nl_link tap;

        network_up(f);
        assert_int_equal(softcard_net_nic_attach(f->nl, &a, ZERO_CARD_NIC_TAP, NULL, ifname, &e), 0);
        assert_string_equal(ifname, TAP_A);
        tap = get(f->nl, TAP_A);
        assert_string_equal(tap.kind, "tun");
        assert_int_equal(tap.master, get(f->nl, NET_BRIDGE).ifindex);
        assert_true(tap.flags & IFF_UP);
        assert_int_equal(softcard_net_nic_attach(f->nl, &a, ZERO_CARD_NIC_TAP, NULL, ifname, &e), 0);
        assert_int_equal(get(f->nl, TAP_A).ifindex, tap.ifindex); /* the same tap */

        assert_int_equal(softcard_net_nic_detach(f->nl, &a, &e), 0);
        assert_false(link_exists(f->nl, TAP_A));
        assert_int_equal(softcard_net_nic_detach(f->nl, &a, &e), 0);
}

/* ---- sync ---- */

static void test_sync(void **state) {
        struct fx *f = fx_get(state);
        const struct zero_card_nic a = nic_a(), b = nic_b();
        struct zero_card_want_nic want[] = {
                {.nic = &a, .kind = ZERO_CARD_NIC_VETH, .netns_path = f->ns[0]},
                {.nic = &b, .kind = ZERO_CARD_NIC_TAP},
        };
        char ifname[ZERO_CARD_PATH_MAX];
        struct zero_error e = {};
        struct zero_nl_link host_a;
        int r;

        network_up(f);
        assert_int_equal(zero_netns_create(f->ns[0]), 0);
        attach_veth(f, &a, f->ns[0]);
        assert_int_equal(softcard_net_nic_attach(f->nl, &b, ZERO_CARD_NIC_TAP, NULL, ifname, &e), 0);

        /* What a crash and a few deleted instances leave: strays of each kind, A's tap from
         * before a mode switch, and A's host end gone (its container end went with it). The
         * tap of B fell off its bridge and went down. */
        assert_int_equal(zero_nl_veth_create(f->nl, &(struct zero_nl_veth) {.name = "zv-ffffffffffff",
                                                                             .peer = "zp-ffffffffffff",
                                                                             .master = NET_BRIDGE}),
                         0);
        assert_int_equal(zero_nl_veth_create(f->nl, &(struct zero_nl_veth) {.name = "zv-eeeeeeeeeeee",
                                                                             .peer = "other-end"}),
                         0);
        assert_int_equal(zero_nl_tap_create(f->nl, "zt-dddddddddddd", NET_BRIDGE), 0);
        assert_int_equal(zero_nl_tap_create(f->nl, TAP_A, NULL), 0);
        assert_int_equal(zero_nl_bridge_create(f->nl, "zb-stray", 0, NULL), 0);
        assert_int_equal(zero_nl_bridge_create(f->nl, "br-host", 0, NULL), 0); /* not ours */
        assert_int_equal(zero_nl_link_delete(f->nl, HOST_A), 0);
        assert_int_equal(zero_nl_link_set_master(f->nl, TAP_B, NULL), 0);
        assert_int_equal(zero_nl_link_set_down(f->nl, TAP_B), 0);

        e = (struct zero_error) {};
        r = softcard_net_sync(f->nl, &NET, 1, want, ELEMENTSOF(want), &e);
        if (r != 0)
                fail_msg("sync: %d failures, first: %s", r, e.message);
        assert_true(want[0].recreated);
        assert_false(want[1].recreated);
        host_a = assert_host_end(f->nl, HOST_A);
        assert_configured(f->ns[0], &a);
        assert_int_equal(get(f->nl, TAP_B).master, get(f->nl, NET_BRIDGE).ifindex);
        assert_true(get(f->nl, TAP_B).flags & IFF_UP);
        static const char *const strays[] = {"zv-ffffffffffff", "zp-ffffffffffff", "zv-eeeeeeeeeeee",
                                             "other-end",       "zt-dddddddddddd", "zt-0123456789ab",
                                             "zb-stray"};
        for (size_t i = 0; i < ELEMENTSOF(strays); i++)
                if (link_exists(f->nl, strays[i]))
                        fail_msg("stray %s survived", strays[i]);
        assert_true(link_exists(f->nl, "br-host"));
        assert_true(link_exists(f->nl, NET_BRIDGE));

        /* Nothing to do the second time. */
        r = softcard_net_sync(f->nl, &NET, 1, want, ELEMENTSOF(want), &e);
        assert_int_equal(r, 0);
        assert_false(want[0].recreated);
        assert_false(want[1].recreated);
        assert_int_equal(get(f->nl, HOST_A).ifindex, host_a.ifindex);

        /* Nothing wanted: all of ours go, the host's stay. */
        assert_int_equal(softcard_net_sync(f->nl, NULL, 0, NULL, 0, &e), 0);
        assert_false(link_exists(f->nl, HOST_A));
        assert_false(link_exists(f->nl, TAP_B));
        assert_false(link_exists(f->nl, NET_BRIDGE));
        assert_true(link_exists(f->nl, "br-host"));
}

static void test_sync_netns_gone(void **state) {
        struct fx *f = fx_get(state);
        const struct zero_card_nic a = nic_a(), b = nic_b();
        struct zero_card_want_nic want[] = {
                {.nic = &a, .kind = ZERO_CARD_NIC_VETH, .netns_path = f->ns[0]},
                {.nic = &b, .kind = ZERO_CARD_NIC_VETH, .netns_path = f->ns[1]},
        };
        struct zero_error e = {};
        int r;

        network_up(f);
        assert_int_equal(zero_netns_create(f->ns[0]), 0);
        assert_int_equal(zero_netns_create(f->ns[1]), 0);
        attach_veth(f, &a, f->ns[0]);
        attach_veth(f, &b, f->ns[1]);

        /* B's namespace file removed behind the store's back, the namespace itself kept alive
         * (as a process inside would), so that B's veth stays whole; the bridge deleted too (A
         * falls off). */
        f->hold_fd = zero_netns_open_path(f->ns[1]);
        assert_true(f->hold_fd >= 0);
        assert_int_equal(zero_netns_remove(f->ns[1]), 0);
        assert_int_equal(zero_nl_bridge_delete(f->nl, NET_BRIDGE), 0);
        assert_int_equal(get(f->nl, HOST_A).master, 0);

        r = softcard_net_sync(f->nl, &NET, 1, want, ELEMENTSOF(want), &e);
        assert_int_equal(r, 1);
        assert_non_null(strstr(e.message, f->ns[1]));
        assert_false(want[1].recreated);
        assert_false(want[0].recreated); /* whole, only put back on the new bridge */
        assert_true(get(f->nl, HOST_B).peer_netns); /* wanted still: reported, not deleted */
        assert_host_end(f->nl, HOST_A);
        assert_configured(f->ns[0], &a);
        assert_int_equal(count_addr(f->nl, get(f->nl, NET_BRIDGE).ifindex, "10.77.0.1", 24), 1);
}

/* ---- main ---- */

static int namespaces_setup(_unused_ void **state) {
        if (unshare(CLONE_NEWNET | CLONE_NEWNS) < 0) {
                /* No silent skips: the project's tests run as root (crun, mounts, namespaces). */
                print_message("[ FAIL ] unshare(CLONE_NEWNET|CLONE_NEWNS): %s: these tests need root\n",
                              strerror(errno));
                return -1;
        }
        /* Nothing mounted here may reach the host's mount namespace. */
        if (mount("none", "/", "none", MS_REC | MS_PRIVATE, NULL) < 0)
                return -1;
        if (!mkdtemp(netns_dir))
                return -1;
        /* A tmpfs of its own: the namespace files vanish with the process, even after a crash. */
        if (mount("tmpfs", netns_dir, "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755") < 0) {
                (void) rmdir(netns_dir);
                return -1;
        }
        in_test_namespaces = true;
        return 0;
}

static int namespaces_teardown(_unused_ void **state) {
        if (in_test_namespaces) {
                (void) umount2(netns_dir, MNT_DETACH);
                (void) rmdir(netns_dir);
        }
        return 0;
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_ifnames),
                cmocka_unit_test_setup_teardown(test_netns, fx_setup, fx_teardown),
                cmocka_unit_test_setup_teardown(test_network, fx_setup, fx_teardown),
                cmocka_unit_test_setup_teardown(test_network_overlap, fx_setup, fx_teardown),
                cmocka_unit_test_setup_teardown(test_veth_traffic, fx_setup, fx_teardown),
                cmocka_unit_test_setup_teardown(test_veth_recovery, fx_setup, fx_teardown),
                cmocka_unit_test_setup_teardown(test_tap, fx_setup, fx_teardown),
                cmocka_unit_test_setup_teardown(test_sync, fx_setup, fx_teardown),
                cmocka_unit_test_setup_teardown(test_sync_netns_gone, fx_setup, fx_teardown),
        };

        return cmocka_run_group_tests_name("softcard networks and NICs", tests, namespaces_setup,
                                           namespaces_teardown);
}
