/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Conditional GETs (RFC 9110, 8.8.3 and 13.1.2): every 200 to a GET carries an ETag, and a GET
 * whose If-None-Match names the current one is answered 304 Not Modified without a body.
 * Orchestrators poll; a poll that finds nothing new then costs the headers only.
 *
 * Where the handler knows a version (zerod's instance view's, agent/instance_view.h) it gives the tag
 * before making the body, and a match ends the request there: nothing is rendered or copied.
 * Every other reply gets a tag made from its body (64-bit FNV-1a): correct whatever produced the
 * body, and across restarts (the same bytes, the same tag), at the price of hashing the body.
 */
#include <string.h>

#include "common/http_internal.h"
#include "common/util.h"

/* Whether an If-None-Match header value names etag: "*", or a list of entity tags compared
 * weakly (a W/ prefix ignored on either side, as the weak comparison RFC 9110 prescribes). */
static bool none_match_names(const char *header, const char *etag) {
        const char *tag = strncmp(etag, "W/", 2) == 0 ? etag + 2 : etag;
        size_t tl = strlen(tag);

        for (const char *p = header; *p;) {
                const char *end;

                p += strspn(p, " \t,");
                if (!*p)
                        break;
                if (*p == '*')
                        return true;
                if (strncmp(p, "W/", 2) == 0)
                        p += 2;
                if (*p != '"')
                        return false; /* not an entity tag: the header is malformed, ignore it */
                end = strchr(p + 1, '"');
                if (!end)
                        return false;
                if ((size_t) (end + 1 - p) == tl && strncmp(p, tag, tl) == 0)
                        return true;
                p = end + 1;
        }
        return false;
}

bool http_not_modified(struct zero_request *req, const char *etag) {
        const char *inm;

        if (!streq(req->method, "GET"))
                return false;
        inm = MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_IF_NONE_MATCH);
        return inm && none_match_names(inm, etag);
}

/* 304: the tag, no body (libmicrohttpd sends none for 304 whatever the response holds). */
void http_reply_not_modified(struct zero_request *req, const char *etag) {
        struct MHD_Response *resp = MHD_create_response_from_buffer(0, (void *) "", MHD_RESPMEM_PERSISTENT);

        http_set_response(req, 304, resp, NULL);
        if (resp)
                MHD_add_response_header(resp, MHD_HTTP_HEADER_ETAG, etag);
}

bool zero_request_etag(struct zero_request *req, const char *etag) {
        if (http_not_modified(req, etag)) {
                http_reply_not_modified(req, etag);
                return true;
        }
        free(req->etag);
        req->etag = strdup(etag); /* without it (no memory), the body's tag is made instead */
        return false;
}

void http_body_etag(const char *body, size_t len, char ret[HTTP_ETAG_MAX]) {
        uint64_t h = 0xcbf29ce484222325ULL;

        for (size_t i = 0; i < len; i++) {
                h ^= (unsigned char) body[i];
                h *= 0x100000001b3ULL;
        }
        snprintf(ret, HTTP_ETAG_MAX, "\"b%016llx-%zx\"", (unsigned long long) h, len);
}
