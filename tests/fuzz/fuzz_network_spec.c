/* SPDX-License-Identifier: Apache-2.0 */
/*
 * POST /v1/networks bodies, checked as the handler checks them before the bridge is made: the
 * body parsed as http.c parses it, zero_network_spec_parse() and zero_network_spec_check()
 * against the networks of fuzz_agent().
 */
#include <arpa/inet.h>
#include <jansson.h>
#include <string.h>

#include "agent/card_spec.h"
#include "agent/http.h"
#include "tests/fuzz/fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        struct zero_agent *a = fuzz_agent();
        struct zero_network_spec spec;
        struct zero_error err = {};
        json_auto_t *body = NULL;
        int r;

        if (zero_http_body_parse(data, size, &body, &err) < 0)
                return 0;
        r = zero_network_spec_parse(body, &spec, &err);
        if (r >= 0)
                r = zero_network_spec_check(a, &spec, &err);
        if (r < 0) {
                FUZZ_ASSERT(err.message[0] && (unsigned) err.code < _ZERO_E_MAX, "failed (%d) without an API error", r);
                return 0;
        }
        /* What the bridge gets: its name fits an interface name, its address is in the subnet. */
        FUZZ_ASSERT(strlen(spec.bridge) > 3 && strlen(spec.bridge) < ZERO_IFNAMSIZ && !strncmp(spec.bridge, "zb-", 3),
                    "bridge '%s'", spec.bridge);
        FUZZ_ASSERT(spec.sub.prefixlen >= 8 && spec.sub.prefixlen <= 29 && zero_ipv4_net_contains(&spec.sub, spec.gateway) &&
                            spec.gateway.s_addr != spec.sub.addr.s_addr,
                    "gateway of %s", spec.subnet);
        return 0;
}
