/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Upgraded connections (http.h, "Upgrades"): a 101 Switching Protocols reply, after which the
 * connection's socket is the route's. libmicrohttpd keeps the connection (and with TLS relays
 * it through a socketpair on its own MHD_run()s) until the owner says it is done.
 */
#include <microhttpd.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/http_internal.h"
#include "common/log.h"
#include "common/util.h"

struct zero_upgrade {
        struct zero_http *http;
        const struct zero_upgrade_ops *ops;
        void *userdata;
        struct zero_request *req; /* until the upgrade */
        struct MHD_UpgradeResponseHandle *urh;
        struct zero_upgrade *next, *prev;
};

static void upgrade_unlink(struct zero_upgrade *u) {
        struct zero_http *h = u->http;

        if (u->prev)
                u->prev->next = u->next;
        else if (h->upgrades == u)
                h->upgrades = u->next;
        if (u->next)
                u->next->prev = u->prev;
        u->next = u->prev = NULL;
        h->n_upgrades--;
}

bool zero_http_upgrade_room(struct zero_http *h) {
        return h->n_upgrades < ZERO_UPGRADES_MAX;
}

/* Whether a comma-separated header value has token (case-insensitive). */
static bool header_has(const char *value, const char *token) {
        size_t n = strlen(token);

        for (const char *p = value; p && *p;) {
                p += strspn(p, " \t,");
                size_t len = strcspn(p, ",");
                size_t l = len;
                while (l > 0 && (p[l - 1] == ' ' || p[l - 1] == '\t'))
                        l--;
                if (l == n && strncasecmp(p, token, n) == 0)
                        return true;
                p += len;
        }
        return false;
}

bool zero_request_wants_upgrade(struct zero_request *req, const char *protocol) {
        const char *conn = zero_request_header(req, MHD_HTTP_HEADER_CONNECTION);
        const char *up = zero_request_header(req, MHD_HTTP_HEADER_UPGRADE);

        return conn && up && header_has(conn, "upgrade") && header_has(up, protocol);
}

static void on_upgrade(void *cls, struct MHD_Connection *conn, void *con_cls, const char *extra, size_t n_extra,
                       MHD_socket sock, struct MHD_UpgradeResponseHandle *urh) {
        struct zero_upgrade *u = cls;

        u->urh = urh;
        if (u->req)
                u->req->upgrade = NULL;
        u->req = NULL;
        u->ops->upgraded(u, sock, extra, n_extra, u->userdata);
}

void zero_reply_upgrade(struct zero_request *req, const char *protocol, const struct zero_upgrade_ops *ops,
                        void *userdata) {
        struct zero_http *h = req->http;
        struct MHD_Response *resp;
        struct http_conn *c;
        struct zero_upgrade *u;

        if (!zero_http_upgrade_room(h)) {
                ops->free_userdata(userdata);
                return zero_reply_error(req, 503, "busy", "too many upgraded connections (at most %d)",
                                        ZERO_UPGRADES_MAX);
        }
        u = calloc(1, sizeof(*u));
        resp = u ? MHD_create_response_for_upgrade(on_upgrade, u) : NULL;
        if (!resp || MHD_add_response_header(resp, MHD_HTTP_HEADER_UPGRADE, protocol) != MHD_YES) {
                if (resp)
                        MHD_destroy_response(resp);
                free(u);
                ops->free_userdata(userdata);
                return zero_reply_error(req, 500, "internal", "out of memory");
        }
        *u = (struct zero_upgrade){.http = h, .ops = ops, .userdata = userdata, .req = req, .next = h->upgrades};
        if (h->upgrades)
                h->upgrades->prev = u;
        h->upgrades = u;
        h->n_upgrades++;
        req->upgrade = u;
        c = http_conn_of(req->conn);
        if (c)
                c->upgraded = true;
        http_set_response(req, MHD_HTTP_SWITCHING_PROTOCOLS, resp, NULL);
}

void http_upgrade_request_ended(struct zero_request *req) {
        struct zero_upgrade *u = req->upgrade;

        if (!u)
                return;
        /* The 101 never went out: the client went away first. */
        req->upgrade = NULL;
        upgrade_unlink(u);
        u->ops->free_userdata(u->userdata);
        free(u);
}

void zero_upgrade_close(struct zero_upgrade *u) {
        struct zero_http *h;

        if (!u)
                return;
        h = u->http;
        upgrade_unlink(u);
        if (u->urh)
                (void) MHD_upgrade_action(u->urh, MHD_UPGRADE_ACTION_CLOSE);
        free(u);
        /* libmicrohttpd cleans the connection up on its next run: have one soon. */
        if (h->kick)
                (void) sd_event_source_set_enabled(h->kick, SD_EVENT_ONESHOT);
}

void http_upgrades_end(struct zero_http *h) {
        /* Each stop() ends its upgrade (zero_upgrade_close() unlinks it). */
        while (h->upgrades) {
                struct zero_upgrade *u = h->upgrades;

                if (!u->urh) { /* its 101 is queued: the daemons' stop drops it */
                        if (u->req)
                                u->req->upgrade = NULL;
                        upgrade_unlink(u);
                        u->ops->free_userdata(u->userdata);
                        free(u);
                        continue;
                }
                u->ops->stop(u->userdata);
                if (h->upgrades == u) { /* it did not end: do it for it */
                        log_warning("An upgraded connection did not end when asked: closing it");
                        zero_upgrade_close(u);
                }
        }
}
