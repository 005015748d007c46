/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/*
 * The create bodies of volumes and networks, validated before anything is made: first the body
 * alone (fields, names, ranges: no node needed, which is what tests/fuzz reaches), then against
 * the store (the image, names taken, overlapping subnets). api_card.c replies with the error;
 * the messages and codes are the API's (malformed for a body that is no object, invalid, conflict).
 */
#include <jansson.h>
#include <netinet/in.h>
#include <stdint.h>

#include "agent/agent.h"
#include "common/netaddr.h"
#include "zero/error.h"

/* A JSON object holding no other field than known (NULL-terminated): malformed / invalid. */
int zero_json_only_fields(json_t *body, const char *const *known, struct zero_error *err);
/* An optional integer field in [min, max]: 1 and *ret when present, 0 and *ret untouched when
 * absent, invalid otherwise. */
int zero_json_int_field(json_t *body, const char *key, int64_t min, int64_t max, int64_t *ret,
                        struct zero_error *err);

#define ZERO_VOLUME_SIZE_MIN (1LL << 20)
/* The API's own bound; the card may hold less (its pool's filesystem), and says so (invalid). */
#define ZERO_VOLUME_SIZE_MAX (1LL << 50) /* 1 PiB */

/* POST /v1/volumes {"name", "size_bytes", "image"}. Strings are borrowed from the body. */
struct zero_volume_spec {
        const char *name;
        const char *image;  /* NULL: a blank volume */
        int64_t size_bytes; /* 0 until checked: the image's size */
};
int zero_volume_spec_parse(json_t *body, struct zero_volume_spec *ret, struct zero_error *err);
/* The image exists and has its base filesystem (size_bytes becomes at least its size: invalid), and
 * no volume has the name (conflict). */
int zero_volume_spec_check(struct zero_agent *a, struct zero_volume_spec *spec, struct zero_error *err);

/* POST /v1/networks {"name", "subnet"}. */
struct zero_network_spec {
        const char *name;
        const char *subnet;
        struct zero_ipv4_net sub;
        struct in_addr gateway;
};
/* Invalid: a subnet out of /8../29 or in a range no network may use (loopback, multicast, ...). */
int zero_network_spec_parse(json_t *body, struct zero_network_spec *ret, struct zero_error *err);
/* No network has the name or a subnet overlapping this one (conflict). What the card makes of the
 * network (the softcard: a bridge named after it) is the driver's to check, at its create. */
int zero_network_spec_check(struct zero_agent *a, const struct zero_network_spec *spec, struct zero_error *err);
