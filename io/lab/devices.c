/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What the card's presentations become in the host (lab.h): the host has no udev, so disks are
 * found in sysfs by the serial the card gave them, as host-init finds its state volume, and
 * their node is devtmpfs's /dev/NAME; NICs are found over rtnetlink by their MAC.
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <stdio.h>
#include <string.h>

#include "common/netaddr.h"
#include "common/util.h"
#include "io/lab/lab.h"

#define SYSFS_BLOCK "/sys/block"

DEFINE_TRIVIAL_CLEANUP_FUNC(DIR *, closedir)

/* A sysfs attribute's first line, blanks around it trimmed (NVMe pads its serial). */
static int read_attr(const char *path, char *buf, size_t size, size_t skip) {
        _cleanup_free_ char *text = NULL;
        size_t len, a, b;

        if (zero_read_file(path, 4096, &text, &len) < 0 || len <= skip)
                return -ENOENT;
        a = skip;
        while (a < len && (text[a] == ' ' || text[a] == '\0'))
                a++;
        b = a;
        while (b < len && text[b] != '\n' && text[b] != '\0')
                b++;
        while (b > a && text[b - 1] == ' ')
                b--;
        snprintf(buf, size, "%.*s", (int) (b - a), text + a);
        return 0;
}

/* The serial of /sys/block/NAME: virtio-blk's own, NVMe's controller's, SCSI's unit serial
 * number (VPD page 0x80, after its 4-byte header). */
static int serial_of(const char *name, char *buf, size_t size) {
        static const struct {
                const char *attr;
                size_t skip;
        } attrs[] = {{"serial", 0}, {"device/serial", 0}, {"device/vpd_pg80", 4}};

        for (size_t i = 0; i < ELEMENTSOF(attrs); i++) {
                char path[512];
                snprintf(path, sizeof(path), SYSFS_BLOCK "/%s/%s", name, attrs[i].attr);
                if (read_attr(path, buf, size, attrs[i].skip) >= 0)
                        return 0;
        }
        return -ENOENT;
}

int lab_block_find(const char *serial, char ret[static ZERO_CARD_PATH_MAX]) {
        _cleanup_(closedirp) DIR *d = opendir(SYSFS_BLOCK);
        struct dirent *de;

        if (!d)
                return -errno;
        while ((de = readdir(d))) {
                char s[64];
                if (de->d_name[0] == '.' || strlen(de->d_name) > 64 || serial_of(de->d_name, s, sizeof(s)) < 0 ||
                    !streq(s, serial))
                        continue;
                snprintf(ret, ZERO_CARD_PATH_MAX, "/dev/%.64s", de->d_name);
                return 0;
        }
        return -ENODEV;
}

/* The link with mac in the namespace of nl, -ENODEV if none. */
static int link_by_mac(struct zero_nl *nl, const uint8_t mac[static ZERO_MAC_LEN], struct zero_nl_link *ret) {
        _cleanup_free_ struct zero_nl_link *links = NULL;
        size_t n = 0;
        int r = zero_nl_link_list(nl, NULL, &links, &n);

        if (r < 0)
                return r;
        for (size_t i = 0; i < n; i++)
                if (links[i].has_mac && memcmp(links[i].mac, mac, ZERO_MAC_LEN) == 0) {
                        *ret = links[i];
                        return 0;
                }
        return -ENODEV;
}

int lab_nic_settle(struct zero_nl *nl, const char *mac, const char *netns_path, const char *ifname, const char *addr,
                   const char *gateway, struct zero_error *err) {
        _cleanup_close_ int ns = -EBADF;
        struct zero_nl *inner = NULL;
        struct zero_nl_ifconfig cfg = {.new_name = ifname};
        struct zero_nl_link l;
        uint8_t m[ZERO_MAC_LEN];
        int r;

        if (zero_mac_parse(mac, m) < 0 || zero_ipv4_cidr_parse(addr, &cfg.addr, &cfg.prefixlen) < 0 ||
            inet_pton(AF_INET, gateway, &cfg.gateway) != 1)
                return zero_error_set(err, -EINVAL, ZERO_E_INVALID, "NIC %s: a bad MAC, address or gateway", mac);
        cfg.mac = m;
        ns = zero_netns_open_path(netns_path);
        if (ns < 0)
                return zero_error_set(err, ns, ZERO_E_INTERNAL, "NIC %s: network namespace %s: %s", mac, netns_path,
                                      strerror(-ns));
        r = zero_nl_open_netns(ns, &inner);
        if (r < 0)
                return zero_error_set(err, r, ZERO_E_INTERNAL, "NIC %s: entering %s: %s", mac, netns_path,
                                      strerror(-r));
        /* Moved already (a step run again after a crash), or still in the host's namespace. */
        r = link_by_mac(inner, m, &l);
        if (r == -ENODEV) {
                r = link_by_mac(nl, m, &l);
                if (r >= 0)
                        r = zero_nl_link_move_netns_fd(nl, l.name, ns, ifname);
                if (r >= 0)
                        r = link_by_mac(inner, m, &l);
        }
        if (r >= 0) {
                cfg.name = l.name;
                r = zero_nl_link_configure(inner, &cfg);
                if (r < 0)
                        zero_error_set(err, r, ZERO_E_RUNTIME, "NIC %s: configuring %s in %s: %s", mac, ifname,
                                       netns_path, strerror(-r));
        }
        zero_nl_close(inner);
        return r;
}
