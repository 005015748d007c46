/* SPDX-License-Identifier: Apache-2.0 */
/* MACs and IPv4 subnets (netaddr.h): pure helpers, no kernel. */
#include "common/netaddr.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "common/macro.h"

/* FNV-1a over the lowercased string, then splitmix64's finalizer so that every output bit
 * depends on every input bit. MACs and bridge names derive from it: never change it. */
uint64_t zero_name_hash64(const char *s) {
        uint64_t h = 0xcbf29ce484222325ULL;

        for (; *s; s++) {
                h ^= (uint8_t) tolower((unsigned char) *s);
                h *= 0x100000001b3ULL;
        }
        h ^= h >> 30;
        h *= 0xbf58476d1ce4e5b9ULL;
        h ^= h >> 27;
        h *= 0x94d049bb133111ebULL;
        h ^= h >> 31;
        return h;
}

bool zero_hex_id_is_valid(const char *id) {
        size_t i;

        if (!id)
                return false;
        for (i = 0; id[i]; i++)
                if (!isxdigit((unsigned char) id[i]))
                        return false;
        return i == 32;
}

/* ---- MACs ---- */

int zero_mac_from_id(const char *id, uint8_t ret[static ZERO_MAC_LEN]) {
        uint64_t h;

        if (!zero_hex_id_is_valid(id))
                return -EINVAL;
        h = zero_name_hash64(id);
        for (size_t i = 0; i < ZERO_MAC_LEN; i++)
                ret[i] = (uint8_t) (h >> (8 * (ZERO_MAC_LEN - 1 - i)));
        /* Unicast (bit 0 clear), locally administered (bit 1 set): never a vendor's address. */
        ret[0] = (uint8_t) ((ret[0] & 0xfc) | 0x02);
        return 0;
}

static int hexval(char c) {
        if (c >= '0' && c <= '9')
                return c - '0';
        c = (char) tolower((unsigned char) c);
        return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

int zero_mac_parse(const char *s, uint8_t ret[static ZERO_MAC_LEN]) {
        uint8_t mac[ZERO_MAC_LEN];

        if (!s || strlen(s) != ZERO_MAC_STRSIZE - 1)
                return -EINVAL;
        for (size_t i = 0; i < ZERO_MAC_LEN; i++) {
                int hi = hexval(s[3 * i]), lo = hexval(s[3 * i + 1]);

                if (hi < 0 || lo < 0 || (i < ZERO_MAC_LEN - 1 && s[3 * i + 2] != ':'))
                        return -EINVAL;
                mac[i] = (uint8_t) (hi << 4 | lo);
        }
        memcpy(ret, mac, sizeof(mac));
        return 0;
}

char *zero_mac_format(const uint8_t mac[static ZERO_MAC_LEN], char buf[static ZERO_MAC_STRSIZE]) {
        snprintf(buf, ZERO_MAC_STRSIZE, "%02x:%02x:%02x:%02x:%02x:%02x", mac[0], mac[1], mac[2], mac[3],
                 mac[4], mac[5]);
        return buf;
}

/* ---- IPv4 subnets ---- */

uint32_t zero_ipv4_mask(unsigned prefixlen) {
        return prefixlen == 0 ? 0 : UINT32_MAX << (32 - prefixlen);
}

int zero_ipv4_cidr_parse(const char *s, struct in_addr *ret_addr, unsigned *ret_prefixlen) {
        char a[INET_ADDRSTRLEN], *end;
        const char *slash, *p;
        unsigned long prefixlen;
        struct in_addr addr;
        size_t len;

        if (!s || !ret_addr || !ret_prefixlen)
                return -EINVAL;
        slash = strchr(s, '/');
        if (!slash)
                return -EINVAL;
        len = (size_t) (slash - s);
        if (len == 0 || len >= sizeof(a))
                return -EINVAL;
        memcpy(a, s, len);
        a[len] = '\0';
        /* inet_pton() takes only the dotted quad: no "10.1", no octal, no hex. */
        if (inet_pton(AF_INET, a, &addr) != 1)
                return -EINVAL;
        /* 0..32 in decimal: no sign, no white space, no leading zero, nothing after. */
        p = slash + 1;
        if (!isdigit((unsigned char) p[0]) || (p[0] == '0' && p[1] != '\0'))
                return -EINVAL;
        prefixlen = strtoul(p, &end, 10);
        if (*end != '\0' || prefixlen > 32)
                return -EINVAL;
        *ret_addr = addr;
        *ret_prefixlen = (unsigned) prefixlen;
        return 0;
}

int zero_ipv4_net_parse(const char *s, struct zero_ipv4_net *ret) {
        struct in_addr a;
        unsigned p;
        int r;

        if (!ret)
                return -EINVAL;
        r = zero_ipv4_cidr_parse(s, &a, &p);
        if (r < 0)
                return r;
        if ((ntohl(a.s_addr) & ~zero_ipv4_mask(p)) != 0)
                return -EINVAL;
        *ret = (struct zero_ipv4_net) {.addr = a, .prefixlen = p};
        return 0;
}

bool zero_ipv4_net_contains(const struct zero_ipv4_net *net, struct in_addr a) {
        uint32_t mask;

        if (!net || net->prefixlen > 32)
                return false;
        mask = zero_ipv4_mask(net->prefixlen);
        return (ntohl(a.s_addr) & mask) == (ntohl(net->addr.s_addr) & mask);
}

uint64_t zero_ipv4_net_hosts(const struct zero_ipv4_net *net) {
        if (!net || net->prefixlen > 32)
                return 0;
        if (net->prefixlen >= 31)
                return 33 - net->prefixlen; /* /31: 2, /32: 1 */
        return (UINT64_C(1) << (32 - net->prefixlen)) - 2;
}

int zero_ipv4_net_host(const struct zero_ipv4_net *net, uint64_t n, struct in_addr *ret) {
        uint64_t hosts = zero_ipv4_net_hosts(net);
        uint32_t base;

        if (hosts == 0 || !ret)
                return -EINVAL;
        if (n < 1 || n > hosts)
                return -ERANGE;
        base = ntohl(net->addr.s_addr) & zero_ipv4_mask(net->prefixlen);
        /* Below /31, host 0 is the network's own address. */
        ret->s_addr = htonl(base + (uint32_t) (net->prefixlen >= 31 ? n - 1 : n));
        return 0;
}

int zero_ipv4_net_gateway(const struct zero_ipv4_net *net, struct in_addr *ret) {
        uint64_t hosts = zero_ipv4_net_hosts(net);

        if (hosts == 0)
                return -EINVAL;
        if (hosts < 2)
                return -ERANGE;
        return zero_ipv4_net_host(net, 1, ret);
}

char *zero_ipv4_cidr_format(struct in_addr a, unsigned prefixlen, char buf[static ZERO_IPV4_CIDR_STRSIZE]) {
        char s[INET_ADDRSTRLEN];

        inet_ntop(AF_INET, &a, s, sizeof(s));
        snprintf(buf, ZERO_IPV4_CIDR_STRSIZE, "%s/%u", s, prefixlen);
        return buf;
}

bool zero_ipv4_net_overlaps(const struct zero_ipv4_net *a, const struct zero_ipv4_net *b) {
        uint32_t mask = zero_ipv4_mask(a->prefixlen < b->prefixlen ? a->prefixlen : b->prefixlen);

        return (ntohl(a->addr.s_addr) & mask) == (ntohl(b->addr.s_addr) & mask);
}

const char *zero_ipv4_net_reserved(const struct zero_ipv4_net *net) {
        /* RFC 6890's blocks that no host may take as a LAN of its own: their addresses mean
         * something else to every IP stack (and a bridge on one would break the node's own). */
        static const struct {
                uint32_t addr;
                unsigned prefixlen;
                const char *what;
        } blocks[] = {
                {0x00000000, 8, "0.0.0.0/8 (\"this network\")"},
                {0x7f000000, 8, "127.0.0.0/8 (loopback)"},
                {0xa9fe0000, 16, "169.254.0.0/16 (link-local)"},
                {0xe0000000, 4, "224.0.0.0/4 (multicast)"},
                {0xf0000000, 4, "240.0.0.0/4 (reserved; it holds the broadcast address 255.255.255.255)"},
        };

        for (size_t i = 0; i < ELEMENTSOF(blocks); i++) {
                struct zero_ipv4_net b = {.addr.s_addr = htonl(blocks[i].addr), .prefixlen = blocks[i].prefixlen};
                if (zero_ipv4_net_overlaps(net, &b))
                        return blocks[i].what;
        }
        return NULL;
}
