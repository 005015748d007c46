/* SPDX-License-Identifier: Apache-2.0 */
/* GET /v1/instances/{name}/attestation?nonce=N: the instance's last launch, signed (attest.h). */
#include "agent/api.h"
#include "agent/attest.h"
#include "common/http.h"

void zero_api_get_attestation(struct zero_request *req) {
        struct zero_agent *a = zero_request_agent(req);
        struct zero_instance_row row = {};
        struct zero_error err = {};
        json_t *body = NULL;
        int r;

        if (zero_api_load_instance(req, &row) < 0)
                return;
        r = zero_attest_answer(a, &row, zero_request_query(req, "nonce"), &body, &err);
        zero_instance_row_done(&row);
        if (r < 0)
                return zero_reply_zero_error(req, r, &err);
        zero_reply_json(req, 200, body);
}
