/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Who may ask the card. Nothing of the card listens on a network: its API is three unix sockets,
 * each with a bearer token of its own.
 *
 *   listener 0  [card] api_socket (0600, root's): the lab's operator, with STATE/operator.token:
 *               everything, the host's power, console and devices too;
 *   listener 1  RUN/host-api.sock: the host, through its management link (QEMU's guestfwd
 *               connects there for each connection to 10.0.2.100:80), with the token the card
 *               handed it over fw_cfg (STATE/host/card-token): volumes, images, networks, NICs
 *               and presentations.
 *
 *   listener 2  RUN/orchestrator.sock: TLS with zerod's certificate (STATE/host/tls.crt, which the
 *               card made for the orchestrator's address) and the orchestrator's token for zerod
 *               (STATE/host/token): the forward (forward.c) connects the orchestrator's
 *               connections there, rather than to zerod, while a tenant holds the host. Only the
 *               node as the card answers for it (GET /v1/node, /v1/instances/NAME and its console,
 *               POST /v1/instances/NAME/stop and /switch, GET /v1/operations/ID of its own); every
 *               other route of the card's is 503, and every route once no tenant holds the host
 *               (with Connection: close: the client's next connection is zerod's).
 *
 * A token is only good on its own socket: the host's opens nothing on the operator's.
 */
#include <microhttpd.h>
#include <string.h>
#include <strings.h>

#include "card/card.h"
#include "common/log.h"
#include "common/util.h"

bool zc_authenticate(struct zero_request *req, void *userdata) {
        struct zc *zc = userdata;
        const char *auth = zero_request_header(req, MHD_HTTP_HEADER_AUTHORIZATION);
        unsigned listener = zero_request_listener(req);
        bool host = listener == ZC_LISTENER_HOST, orch = listener == ZC_LISTENER_ORCHESTRATOR;
        const char *want = orch ? zc->orchestrator_token : host ? zc->host_token : zc->operator_token;

        if (!auth || strncasecmp(auth, "Bearer ", 7) != 0) {
                zero_reply_error(req, 401, "unauthorized", "a bearer token is required: Authorization: Bearer SECRET");
                zero_reply_header(req, MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Bearer realm=\"zero-card\"");
                return false;
        }
        auth += 7;
        auth += strspn(auth, " ");
        if (!want[0] || !zero_secret_equal(auth, want)) {
                log_notice("%s %s: refused a bearer token on the %s socket", zero_request_method(req),
                           zero_request_url(req), orch ? "orchestrator's" : host ? "host's" : "operator's");
                zero_reply_error(req, 401, "unauthorized", "the bearer token is not valid here");
                zero_reply_header(req, MHD_HTTP_HEADER_WWW_AUTHENTICATE,
                                  "Bearer realm=\"zero-card\", error=\"invalid_token\"");
                return false;
        }
        if (orch)
                return zero_request_set_actor(req, ZC_ROLE_NONE, "orchestrator");
        return zero_request_set_actor(req, host ? ZC_ROLE_HOST : ZC_ROLE_OPERATOR, host ? "host" : "operator");
}

bool zc_authorize(struct zero_request *req, void *userdata) {
        if (zero_request_listener(req) == ZC_LISTENER_ORCHESTRATOR) {
                const char *name = strempty(json_string_value(json_object_get(zc_tenant(userdata), "name")));
                /* A connection opened under the tenant, asked again once the host is back: closed
                 * after this answer, so that the client's next one reaches zerod (a client that
                 * keeps its connections would otherwise ask the card forever). */
                if (!zc_tenant(userdata)) {
                        zero_reply_error(req, 503, "unavailable",
                                         "the host is back: its zerod answers at this address again (ask again)");
                        zero_reply_header(req, "Retry-After", "1");
                        zero_reply_header(req, MHD_HTTP_HEADER_CONNECTION, "close");
                        return false;
                }
                if (zc_api_is_tenant_route(zero_request_route(req)))
                        return true;
                zero_reply_error(req, 503, "unavailable",
                                 "the node is held by bms instance '%s': the host's zerod is gone until the "
                                 "tenant is stopped; meanwhile the card answers GET /v1/node, GET /v1/instances/%s, "
                                 "GET /v1/instances/%s/console, POST /v1/instances/%s/stop and POST "
                                 "/v1/instances/%s/switch",
                                 name, name, name, name, name);
                zero_reply_header(req, "Retry-After", "5");
                return false;
        }
        if (!zero_request_route(req)->admin || zero_request_role(req) >= ZC_ROLE_OPERATOR)
                return true;
        zero_reply_error(req, 403, "forbidden", "%s %s is the lab operator's (its socket and token)",
                         zero_request_method(req), zero_request_url(req));
        return false;
}
