/* SPDX-License-Identifier: Apache-2.0 */
/*
 * POST /v1/instances/{name}/volumes and /nics bodies, checked as api_attach.c checks them before
 * the operation is recorded: the body parsed as http.c parses it, then zero_card_plan_attach() as
 * a volume and as a NIC for the instance "holder" of fuzz_agent(), which has the volume "held"
 * mounted at /data. Checked: a planned volume is mounted where no volume of the instance is, and
 * comes after the instance's last attachment.
 */
#include <jansson.h>

#include "agent/card_plan.h"
#include "agent/http.h"
#include "common/util.h"
#include "tests/fuzz/fuzz.h"

static void check_volume(struct zero_agent *a, const struct zero_instance_row *inst, const struct zero_card_plan *p) {
        struct zero_attachment_row *atts = NULL;
        size_t n = 0;

        FUZZ_ASSERT(p->n_atts == 1 && p->atts[0].path && streq(p->atts[0].role, "data"), "plan of %zu volumes",
                    p->n_atts);
        FUZZ_ASSERT(zero_store_attachment_list_for_instance(a->store, inst->id, &atts, &n) >= 0, "attachments");
        for (size_t i = 0; i < n; i++) {
                FUZZ_ASSERT(!atts[i].path || !streq(atts[i].path, p->atts[0].path), "%s mounted at %s as %s is",
                            p->atts[0].volume, p->atts[0].path, atts[i].volume);
                FUZZ_ASSERT(atts[i].idx < p->atts[0].idx, "idx %lld after %lld", (long long) p->atts[0].idx,
                            (long long) atts[i].idx);
        }
        zero_attachment_rows_free(atts, n);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        static struct zero_instance_row holder;
        struct zero_agent *a = fuzz_agent();
        struct zero_card_plan plan = {};
        struct zero_error err = {};
        json_auto_t *body = NULL;

        if (!holder.id)
                FUZZ_ASSERT(zero_store_instance_get(a->store, "holder", &holder) >= 0, "the instance holder");
        if (zero_http_body_parse(data, size, &body, &err) < 0)
                return 0;
        if (zero_card_plan_attach(a, &holder, body, NULL, &plan, &err) >= 0)
                check_volume(a, &holder, &plan);
        else
                FUZZ_ASSERT(err.message[0] && (unsigned) err.code < _ZERO_E_MAX, "volume: failed without an API error");
        zero_card_plan_done(&plan);
        err = (struct zero_error){};
        if (zero_card_plan_attach(a, &holder, NULL, body, &plan, &err) >= 0)
                FUZZ_ASSERT(plan.n_nics == 1 && plan.nics[0].mac, "plan of %zu NICs", plan.n_nics);
        else
                FUZZ_ASSERT(err.message[0] && (unsigned) err.code < _ZERO_E_MAX, "NIC: failed without an API error");
        zero_card_plan_done(&plan);
        return 0;
}
