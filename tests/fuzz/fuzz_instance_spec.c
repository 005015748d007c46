/* SPDX-License-Identifier: Apache-2.0 */
/*
 * POST /v1/instances bodies, checked as the handler checks them before anything is stored: the
 * body parsed as http.c parses it, zero_spec_validate() (fields, name, mode, command, env, ...)
 * and, for a valid spec, zero_card_plan_build() (root volume, data volumes, NICs) against the
 * node of fuzz_agent().
 */
#include <jansson.h>

#include "agent/card_plan.h"
#include "agent/http.h"
#include "agent/instance_spec.h"
#include "common/util.h"
#include "tests/fuzz/fuzz.h"

static void check_error(int r, const struct zero_error *err, const char *what) {
        if (r == -ENOMEM)
                return;
        FUZZ_ASSERT(err->message[0] && (unsigned) err->code < _ZERO_E_MAX, "%s failed (%d) without an error: %d", what,
                    r, (int) err->code);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        struct zero_agent *a = fuzz_agent();
        struct zero_instance_row row = {};
        struct zero_card_plan plan = {};
        struct zero_error err = {};
        json_auto_t *body = NULL, *spec = NULL;
        int r;

        if (zero_http_body_parse(data, size, &body, &err) < 0)
                return 0;
        r = zero_spec_validate(a, body, &row, &err);
        if (r < 0) {
                check_error(r, &err, "zero_spec_validate");
                return 0;
        }
        /* What was accepted is what zero_info_build() reads back at every start. */
        spec = json_loads(row.spec, 0, NULL);
        FUZZ_ASSERT(json_is_array(json_object_get(spec, "command")) && json_is_object(json_object_get(spec, "env")),
                    "stored spec %s", row.spec);
        FUZZ_ASSERT(row.cpus >= 1 && row.cpus <= a->node_cpus, "cpus %lld", (long long) row.cpus);
        r = zero_card_plan_build(a, body, &row, &plan, &err);
        if (r < 0)
                check_error(r, &err, "zero_card_plan_build");
        else
                FUZZ_ASSERT(plan.n_atts >= 1 && streq(plan.atts[0].role, "root"), "a plan without its root volume");
        zero_card_plan_done(&plan);
        zero_instance_row_done(&row);
        return 0;
}
