/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The API's reads that orchestrators poll: the node, the instances (a page of them, one of them),
 * answered from the instance view (instance_view.h) with ETags from its versions; and what every
 * list shares: the page's parameters (?limit=, ?after=, ?state=, ?mode=), checked before anything
 * is read, and the way to the next page ("next" in the body, a Link header).
 */
#include <stdio.h>
#include <string.h>

#include "agent/agent.h"
#include "agent/api.h"
#include "agent/instance_view.h"
#include "common/text.h"
#include "common/util.h"

/* A mode's name, as plugin_loader.c takes it: [a-z][a-z0-9_-]{0,31}. */
static bool mode_name_valid(const char *s) {
        size_t n = strlen(s);

        if (n == 0 || n > 32 || !(s[0] >= 'a' && s[0] <= 'z'))
                return false;
        for (size_t i = 1; i < n; i++)
                if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '_' || s[i] == '-'))
                        return false;
        return true;
}

int zero_api_page_params(struct zero_request *req, const struct zero_api_page_rules *rules, struct zero_api_page *ret) {
        const char *limit = zero_request_query(req, "limit"), *after = zero_request_query(req, "after");
        const char *state_key = rules->state_key ? rules->state_key : "state";
        const char *state = zero_request_query(req, state_key), *mode = zero_request_query(req, "mode");
        struct zero_api_page p = {.state_index = -1, .limit = rules->default_limit};
        int64_t n;

        if (limit) {
                if (zero_parse_int64(limit, 1, ZERO_API_PAGE_MAX, &n) < 0) {
                        zero_reply_error(req, 422, "invalid", "limit: expected 1..%d", ZERO_API_PAGE_MAX);
                        return -EINVAL;
                }
                p.limit = (size_t) n;
        }
        if (after) {
                if (!zero_name_is_valid(after)) {
                        zero_reply_error(req, 422, "invalid", "after: expected a name, as the last page's \"next\"");
                        return -EINVAL;
                }
                p.after = after;
        }
        if (state && rules->state_name) {
                for (int i = 0; i < rules->n_states && p.state_index < 0; i++)
                        if (rules->state_name(i) && streq(rules->state_name(i), state))
                                p.state_index = i;
                if (p.state_index < 0) {
                        char names[256] = "";
                        for (int i = 0; i < rules->n_states; i++)
                                if (rules->state_name(i))
                                        snprintf(names + strlen(names), sizeof(names) - strlen(names), "%s%s", i ? ", " : "",
                                                 rules->state_name(i));
                        zero_reply_error(req, 422, "invalid", "%s '%s': expected one of %s", state_key, ZERO_QUOTE(state),
                                         names);
                        return -EINVAL;
                }
                p.state = state;
                p.state_key = state_key;
        }
        if (mode && rules->modes) {
                if (!mode_name_valid(mode)) {
                        zero_reply_error(req, 422, "invalid", "mode: expected a mode's name ([a-z][a-z0-9_-]{0,31})");
                        return -EINVAL;
                }
                p.mode = mode;
        }
        *ret = p;
        return 0;
}

void zero_api_link_next(struct zero_request *req, const char *collection, const struct zero_api_page *p,
                        const char *next) {
        char link[512];

        /* The parameters were checked (names, states, modes: no character that needs quoting). */
        if (!next)
                return;
        snprintf(link, sizeof(link), "</v1/%s?limit=%zu&after=%s%s%s%s%s%s%s%s%s>; rel=\"next\"", collection, p->limit, next,
                 p->state ? "&" : "", p->state ? p->state_key : "", p->state ? "=" : "", strempty(p->state),
                 p->mode ? "&mode=" : "", strempty(p->mode), p->instance ? "&instance=" : "", strempty(p->instance));
        zero_reply_header(req, "Link", link);
}

/* --- the node --- */

void zero_api_get_node(struct zero_request *req) {
        struct zero_agent *a = zero_request_agent(req);
        char etag[ZERO_ETAG_MAX], *body = NULL;
        size_t len = 0;
        int r = zero_view_node(a, &body, &len, etag);

        if (r < 0)
                return zero_api_store_error(req, r, "reading the node's instances");
        if (zero_request_etag(req, etag)) {
                free(body);
                return;
        }
        zero_reply_text(req, 200, "application/json", body, len);
}

/* --- instances --- */

static const char *inst_state_name(int i) {
        return zero_inst_state_name((enum zero_inst_state) i);
}

void zero_api_list_instances(struct zero_request *req) {
        static const struct zero_api_page_rules rules = {.state_name = inst_state_name, .n_states = _ZERO_INST_STATE_MAX, .modes = true};
        struct zero_agent *a = zero_request_agent(req);
        struct zero_view_page page = {};
        struct zero_api_page p;
        char *body = NULL;
        size_t len = 0;
        int r;

        if (zero_api_page_params(req, &rules, &p) < 0)
                return;
        r = zero_view_page(a, &(struct zero_view_filter){p.after, p.state_index, p.mode, p.limit}, &page);
        if (r < 0)
                return zero_api_store_error(req, r, "listing instances");
        if (!zero_request_etag(req, page.etag)) {
                r = zero_view_page_json(&page, &body, &len);
                if (r < 0)
                        zero_reply_error(req, 500, "internal", "out of memory");
                else {
                        zero_reply_text(req, 200, "application/json", body, len);
                        zero_api_link_next(req, "instances", &p, page.next);
                }
        }
        zero_view_page_done(&page);
}

void zero_api_get_instance(struct zero_request *req) {
        struct zero_agent *a = zero_request_agent(req);
        const char *name = zero_request_param(req, 0);
        const struct zero_view_entry *e;
        char etag[ZERO_ETAG_MAX], *body = NULL;
        size_t len = 0;
        int r = zero_view_find(a, name, &e);

        if (r == -ENOENT)
                return zero_reply_error(req, 404, "not_found", "no instance named '%s'", ZERO_QUOTE(name));
        if (r < 0)
                return zero_api_store_error(req, r, "reading instance");
        zero_view_entry_etag(a, e, etag);
        if (zero_request_etag(req, etag))
                return;
        if (zero_view_entry_json(e, &body, &len) < 0)
                return zero_reply_error(req, 500, "internal", "out of memory");
        zero_reply_text(req, 200, "application/json", body, len);
}
