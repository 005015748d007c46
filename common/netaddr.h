/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/*
 * MACs and IPv4 subnets, as text and as numbers: pure helpers shared by the agent (which
 * allocates a NIC's address and MAC and checks a network's subnet) and the card drivers (which
 * configure them). No kernel calls here.
 */
#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>

/* A hash of a name or id (ASCII case folded), stable forever: MACs and a driver's derived
 * names (the softcard's bridge names) come from it, so it must never change. */
uint64_t zero_name_hash64(const char *s);
/* 32 hex digits, either case: the ids of volumes, networks and NICs. */
bool zero_hex_id_is_valid(const char *id);

#define ZERO_MAC_LEN 6
#define ZERO_MAC_STRSIZE 18 /* "02:00:00:00:00:00" + NUL */
/* A locally administered unicast MAC from a 32-hex id (either case): 46 bits of a 64-bit hash of
 * the id. Stable forever: a NIC keeps its MAC across restarts, mode switches and upgrades, so
 * this function must never change. */
int zero_mac_from_id(const char *id, uint8_t ret[static ZERO_MAC_LEN]);
/* "aa:bb:cc:dd:ee:ff", either case. */
int zero_mac_parse(const char *s, uint8_t ret[static ZERO_MAC_LEN]);
char *zero_mac_format(const uint8_t mac[static ZERO_MAC_LEN], char buf[static ZERO_MAC_STRSIZE]);

struct zero_ipv4_net {
        struct in_addr addr; /* network byte order, host bits zero */
        unsigned prefixlen;  /* 0..32 */
};
/* The netmask of a prefix length (0..32), in host byte order. */
uint32_t zero_ipv4_mask(unsigned prefixlen);
#define ZERO_IPV4_CIDR_STRSIZE 19 /* "255.255.255.255/32" + NUL */
/* "a.b.c.d/p": strict dotted quad, prefix 0..32 required; host bits allowed (an interface
 * address such as 10.77.0.2/24). */
int zero_ipv4_cidr_parse(const char *s, struct in_addr *ret_addr, unsigned *ret_prefixlen);
/* The same for a subnet: host bits must be zero ("10.77.0.5/24" is -EINVAL, likely a typo). */
int zero_ipv4_net_parse(const char *s, struct zero_ipv4_net *ret);
bool zero_ipv4_net_contains(const struct zero_ipv4_net *net, struct in_addr a);
/* Usable host addresses: 2^(32-p)-2 (network and broadcast excluded), 2 for a /31 (RFC 3021),
 * 1 for a /32. */
uint64_t zero_ipv4_net_hosts(const struct zero_ipv4_net *net);
/* The n-th host address, n in 1..zero_ipv4_net_hosts(); -ERANGE outside. */
int zero_ipv4_net_host(const struct zero_ipv4_net *net, uint64_t n, struct in_addr *ret);
/* The gateway (the bridge's address) is the first host; -ERANGE if that leaves no other host. */
int zero_ipv4_net_gateway(const struct zero_ipv4_net *net, struct in_addr *ret);
char *zero_ipv4_cidr_format(struct in_addr a, unsigned prefixlen, char buf[static ZERO_IPV4_CIDR_STRSIZE]);
/* Whether two subnets share an address (host bits of either are ignored). */
bool zero_ipv4_net_overlaps(const struct zero_ipv4_net *a, const struct zero_ipv4_net *b);
/* The special-purpose block (RFC 6890) that net overlaps and no network may use, as text
 * ("127.0.0.0/8 (loopback)"), or NULL: this network, loopback, link-local, multicast and the
 * reserved 240.0.0.0/4 with the limited broadcast 255.255.255.255. */
const char *zero_ipv4_net_reserved(const struct zero_ipv4_net *net);
