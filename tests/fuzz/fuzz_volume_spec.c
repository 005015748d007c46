/* SPDX-License-Identifier: Apache-2.0 */
/*
 * POST /v1/volumes bodies, checked as the handler checks them before the driver makes anything:
 * the body parsed as http.c parses it, zero_volume_spec_parse() and zero_volume_spec_check()
 * against the node of fuzz_agent().
 */
#include <jansson.h>

#include "agent/card_spec.h"
#include "agent/http.h"
#include "common/util.h"
#include "tests/fuzz/fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        struct zero_agent *a = fuzz_agent();
        struct zero_volume_spec spec;
        struct zero_error err = {};
        json_auto_t *body = NULL;
        int r;

        if (zero_http_body_parse(data, size, &body, &err) < 0)
                return 0;
        r = zero_volume_spec_parse(body, &spec, &err);
        if (r >= 0)
                r = zero_volume_spec_check(a, &spec, &err);
        if (r < 0) {
                FUZZ_ASSERT(err.message[0] && (unsigned) err.code < _ZERO_E_MAX, "failed (%d) without an API error", r);
                return 0;
        }
        FUZZ_ASSERT(zero_name_is_valid(spec.name), "name '%s'", spec.name);
        FUZZ_ASSERT(spec.size_bytes >= (spec.image ? FUZZ_IMAGE_BASE_SIZE : ZERO_VOLUME_SIZE_MIN) &&
                            spec.size_bytes <= ZERO_VOLUME_SIZE_MAX,
                    "size_bytes %lld", (long long) spec.size_bytes);
        return 0;
}
