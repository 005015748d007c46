/* SPDX-License-Identifier: Apache-2.0 */
/*
 * /v1/tokens: bearer tokens, for the admin role only (reading the list too: names and roles
 * tell an attacker what to aim for). The secret is in the 201 of the create, and nowhere else.
 */
#include <string.h>

#include "agent/agent.h"
#include "agent/api.h"
#include "agent/token.h"
#include "common/log.h"
#include "common/text.h"
#include "common/util.h"

void zero_api_list_tokens(struct zero_request *req) {
        struct zero_agent *a = zero_request_agent(req);
        struct zero_token_row *rows = NULL;
        size_t n = 0;
        json_t *arr;
        int r = zero_store_token_list(a->store, &rows, &n);

        if (r < 0)
                return zero_reply_error(req, r == -EBUSY ? 503 : 500, r == -EBUSY ? "busy" : "internal",
                                        "listing tokens: %s", strerror(-r));
        arr = json_array();
        for (size_t i = 0; i < n; i++)
                json_array_append_new(arr, zero_token_to_json(&rows[i]));
        zero_token_rows_free(rows, n);
        zero_reply_json(req, 200, json_pack("{s:o}", "tokens", arr));
}

void zero_api_post_token(struct zero_request *req) {
        struct zero_agent *a = zero_request_agent(req);
        json_t *body = zero_api_require_body(req, "{\"name\", \"role\"}"), *v, *reply;
        struct zero_token_row row = {};
        struct zero_error err = {};
        char secret[ZERO_TOKEN_SECRET_SIZE];
        const char *key, *name, *role;
        int r;

        if (!body)
                return;
        json_object_foreach(body, key, v) {
                if (!streq(key, "name") && !streq(key, "role"))
                        return zero_reply_error(req, 422, "invalid", "unknown field '%s'", ZERO_QUOTE(key));
                if (!json_is_string(v))
                        return zero_reply_error(req, 422, "invalid", "%s: a string is expected", key);
        }
        name = json_string_value(json_object_get(body, "name"));
        role = json_string_value(json_object_get(body, "role"));
        if (role && zero_role_from_string(role) == ZERO_ROLE_NONE)
                return zero_reply_error(req, 422, "invalid", "role '%s': admin or read", ZERO_QUOTE(role));
        r = zero_token_create(a->store, name, role ? zero_role_from_string(role) : ZERO_ROLE_ADMIN,
                              zero_request_actor(req), secret, &err);
        if (r < 0)
                return zero_reply_zero_error(req, r, &err);
        row = (struct zero_token_row){.name = (char *) name, .role = (char *) (role ? role : "admin"),
                                      .created_by = (char *) zero_request_actor(req),
                                      .created_at = (int64_t) zero_now_usec()};
        reply = zero_token_to_json(&row);
        json_object_set_new(reply, "secret", json_string(secret));
        explicit_bzero(secret, sizeof(secret));
        log_info("Token %s (role %s) made by %s", name, row.role, zero_request_actor(req));
        zero_agent_event(a, "token.created", NULL, json_pack("{s:s,s:s}", "name", name, "role", row.role));
        zero_reply_json(req, 201, reply);
}

void zero_api_delete_token(struct zero_request *req) {
        struct zero_agent *a = zero_request_agent(req);
        const char *name = zero_request_param(req, 0);
        struct zero_error err = {};
        int r = zero_token_revoke(a->store, name, &err);

        if (r < 0)
                return zero_reply_zero_error(req, r, &err);
        log_info("Token %s revoked by %s", name, zero_request_actor(req));
        zero_agent_event(a, "token.revoked", NULL, json_pack("{s:s}", "name", name));
        zero_reply_empty(req, 204);
}
