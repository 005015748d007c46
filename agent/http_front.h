/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/* What http.c, http_listen.c and http_auth.c share: the front's state. */
#include <sys/types.h>

#include "agent/http.h"
#include "agent/tls.h"

struct zero_front {
        struct zero_agent *agent;
        struct zero_http *http;
        struct zero_tls tls;
        bool have_tls;
        gid_t socket_gid; /* [api] socket_group; (gid_t) -1 when unset */
        /* The requests by route (api_metrics.c): one per route of the table, and one more for
         * the requests answered before they were routed. */
        const struct zero_route *routes;
        size_t n_routes;
        struct http_route_stats *route_stats;
};

/* api_metrics.c: the requests counted for GET /metrics */
int http_metrics_init(struct zero_front *f, const struct zero_route *routes);
void http_metrics_done(struct zero_front *f);
/* The server's completed hook (common/http.h); userdata is the front. */
void http_request_completed(struct zero_request *req, unsigned status, uint64_t usec, void *userdata);

/* http_listen.c: the listening sockets of [agent] listen and systemd's */
int http_listen_all(struct zero_front *f);

/* http_auth.c: who is asking, and may they (the server's hooks; userdata is the front) */
/* From the connection (unix peer credentials, a TLS client certificate) or the Authorization
 * header: names the caller and its role (enum zero_role), or replies 401/403 and returns false. */
bool http_authenticate(struct zero_request *req, void *userdata);
/* Once the route is known: a read role only reads. Replies 403 and returns false otherwise. */
bool http_authorize(struct zero_request *req, void *userdata);
