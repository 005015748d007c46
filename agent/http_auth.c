/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Who is asking, and may they. The API is root-equivalent, so every request names its caller:
 *  - the unix socket: the peer's credentials (SO_PEERCRED): root, the user zerod runs as, or a
 *    member of [api] socket_group; no token;
 *  - TCP: a client certificate that verifies against [api] tls_client_ca (mutual TLS), or a
 *    bearer token ("Authorization: Bearer SECRET", agent/token.h). Nothing else gets in.
 * A read role may GET and HEAD; everything else needs admin.
 */
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <microhttpd.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "agent/agent.h"
#include "agent/http_front.h"
#include "agent/token.h"
#include "common/log.h"
#include "common/util.h"

#define PEER_GROUPS_MAX 256

static bool set_actor(struct zero_request *req, enum zero_role role, const char *fmt, const char *what) {
        _cleanup_free_ char *actor = zero_strdup_printf(fmt, what);

        if (!actor) {
                zero_reply_error(req, 500, "internal", "out of memory");
                return false;
        }
        return zero_request_set_actor(req, (int) role, actor);
}

static bool in_group(int fd, gid_t gid) {
        gid_t groups[PEER_GROUPS_MAX];
        socklen_t len = sizeof(groups);

        if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups, &len) < 0)
                return false;
        for (size_t i = 0; i < len / sizeof(gid_t); i++)
                if (groups[i] == gid)
                        return true;
        return false;
}

static bool authenticate_unix(struct zero_front *h, struct zero_request *req) {
        const union MHD_ConnectionInfo *ci =
                MHD_get_connection_info(zero_request_connection(req), MHD_CONNECTION_INFO_CONNECTION_FD);
        struct ucred cred;
        socklen_t len = sizeof(cred);
        char uid[32];

        if (!ci || getsockopt(ci->connect_fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0) {
                zero_reply_error(req, 403, "forbidden", "the caller's credentials cannot be read");
                return false;
        }
        if (cred.uid != 0 && cred.uid != geteuid() &&
            !(h->socket_gid != (gid_t) -1 && (cred.gid == h->socket_gid || in_group(ci->connect_fd, h->socket_gid)))) {
                zero_reply_error(req, 403, "forbidden", "uid %u may not use this socket: root%s only",
                                 (unsigned) cred.uid, h->socket_gid != (gid_t) -1 ? " or [api] socket_group" : "");
                return false;
        }
        snprintf(uid, sizeof(uid), "%u", (unsigned) cred.uid);
        return set_actor(req, ZERO_ROLE_ADMIN, "uid:%s", uid);
}

/* A client certificate, when the client sent one: 1 and the actor set, 0 when there is none,
 * -1 when it does not verify (replied). */
static int authenticate_cert(struct zero_front *h, struct zero_request *req) {
        const union MHD_ConnectionInfo *ci =
                MHD_get_connection_info(zero_request_connection(req), MHD_CONNECTION_INFO_GNUTLS_SESSION);
        gnutls_session_t session;
        const gnutls_datum_t *chain;
        gnutls_x509_crt_t crt = NULL;
        unsigned n = 0, status = 0;
        char cn[128] = "";
        size_t cn_len = sizeof(cn);
        int g;

        if (!h->tls.trust_pem || !ci || !ci->tls_session)
                return 0;
        session = ci->tls_session;
        chain = gnutls_certificate_get_peers(session, &n);
        if (!chain || n == 0)
                return 0;
        g = gnutls_certificate_verify_peers2(session, &status);
        if (g < 0 || status != 0) {
                zero_reply_error(req, 401, "unauthorized", "the client certificate is not trusted");
                return -1;
        }
        if (gnutls_x509_crt_init(&crt) >= 0 && gnutls_x509_crt_import(crt, &chain[0], GNUTLS_X509_FMT_DER) >= 0)
                (void) gnutls_x509_crt_get_dn_by_oid(crt, GNUTLS_OID_X520_COMMON_NAME, 0, 0, cn, &cn_len);
        if (crt)
                gnutls_x509_crt_deinit(crt);
        return set_actor(req, zero_role_from_string(zero_config_get(h->agent->config, "api", "tls_client_role"))
                                              ?: ZERO_ROLE_ADMIN,
                         "cert:%s", cn[0] ? cn : "(no common name)")
                       ? 1
                       : -1;
}

static void reply_unauthorized(struct zero_request *req, const char *challenge, const char *message) {
        zero_reply_error(req, 401, "unauthorized", "%s", message);
        zero_reply_header(req, MHD_HTTP_HEADER_WWW_AUTHENTICATE, challenge);
}

static bool authenticate_token(struct zero_front *h, struct zero_request *req) {
        const char *auth = zero_request_header(req, MHD_HTTP_HEADER_AUTHORIZATION);
        struct zero_token_row row = {};
        bool ok;
        int r;

        if (!auth || strncasecmp(auth, "Bearer ", 7) != 0) {
                reply_unauthorized(req, "Bearer realm=\"zerod\"",
                                   "a bearer token is required: Authorization: Bearer SECRET (zerod token create)");
                return false;
        }
        auth += 7;
        auth += strspn(auth, " ");
        r = zero_token_check(h->agent->store, auth, &row);
        if (r == -EACCES) {
                log_notice("%s %s: refused an unknown or revoked bearer token", zero_request_method(req),
                           zero_request_url(req));
                reply_unauthorized(req, "Bearer realm=\"zerod\", error=\"invalid_token\"",
                                   "the bearer token is not valid (unknown or revoked)");
                return false;
        }
        if (r < 0) {
                zero_reply_error(req, r == -EBUSY ? 503 : 500, r == -EBUSY ? "busy" : "internal",
                                 "cannot check the token: %s", strerror(-r));
                return false;
        }
        ok = set_actor(req, zero_role_from_string(row.role), "token:%s", row.name);
        zero_token_row_done(&row);
        return ok;
}

bool http_authenticate(struct zero_request *req, void *userdata) {
        struct zero_front *h = userdata;
        int r;

        if (zero_request_is_unix(req))
                return authenticate_unix(h, req);
        r = authenticate_cert(h, req);
        if (r != 0)
                return r > 0;
        return authenticate_token(h, req);
}

bool http_authorize(struct zero_request *req, void *userdata) {
        const char *method = zero_request_method(req);
        bool reads = streq(method, "GET") || streq(method, "HEAD");
        enum zero_role need = reads && !zero_request_route(req)->admin ? ZERO_ROLE_READ : ZERO_ROLE_ADMIN;
        enum zero_role role = (enum zero_role) zero_request_role(req);

        if (role >= need)
                return true;
        zero_reply_error(req, 403, "forbidden", "%s (role %s) may not %s %s: that needs role %s", zero_request_actor(req),
                         zero_role_to_string(role), method, zero_request_url(req), zero_role_to_string(need));
        return false;
}
