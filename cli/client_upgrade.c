/* SPDX-License-Identifier: Apache-2.0 */
/*
 * An upgraded connection (zeroctl exec, console -i): curl connects (TLS included) and stops
 * there (CURLOPT_CONNECT_ONLY); the request and its 101 are then written and read by hand with
 * curl_easy_send/recv, which carry the framed stream afterwards, over the unix socket and TLS
 * alike.
 */
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cli/client_internal.h"
#include "common/util.h"

#ifndef ZERO_VERSION
#define ZERO_VERSION "0"
#endif

/* The 101 or an error's headers: more is not an answer zerod gives. */
#define UPGRADE_HEAD_MAX (16 * 1024)
#define UPGRADE_BODY_MAX (64 * 1024)

static int wait_socket(struct zeroctl_http *h, short events) {
        curl_socket_t fd;
        struct pollfd p;

        if (curl_easy_getinfo(h->curl, CURLINFO_ACTIVESOCKET, &fd) != CURLE_OK || fd == CURL_SOCKET_BAD)
                return -ENOTCONN;
        p = (struct pollfd){.fd = fd, .events = events};
        if (poll(&p, 1, ZEROCTL_CONNECT_TIMEOUT_S * 1000) < 0)
                return errno == EINTR ? 0 : -errno;
        return 0;
}

int zeroctl_conn_fd(struct zeroctl_http *h) {
        curl_socket_t fd;

        if (curl_easy_getinfo(h->curl, CURLINFO_ACTIVESOCKET, &fd) != CURLE_OK || fd == CURL_SOCKET_BAD)
                return -ENOTCONN;
        return (int) fd;
}

int zeroctl_conn_send(struct zeroctl_http *h, const void *buf, size_t len, size_t *ret_n) {
        size_t n = 0;
        CURLcode c = curl_easy_send(h->curl, buf, len, &n);

        *ret_n = n;
        if (c == CURLE_AGAIN)
                return -EAGAIN;
        return c == CURLE_OK ? 0 : -EIO;
}

int zeroctl_conn_recv(struct zeroctl_http *h, void *buf, size_t len, size_t *ret_n) {
        size_t n = 0;
        CURLcode c = curl_easy_recv(h->curl, buf, len, &n);

        *ret_n = n;
        if (c == CURLE_AGAIN)
                return -EAGAIN;
        return c == CURLE_OK ? 0 : -EIO;
}

static int send_all(struct zeroctl_http *h, const char *buf, size_t len) {
        while (len > 0) {
                size_t n;
                int r = zeroctl_conn_send(h, buf, len, &n);

                if (r == -EAGAIN) {
                        if ((r = wait_socket(h, POLLOUT)) < 0)
                                return r;
                        continue;
                }
                if (r < 0)
                        return r;
                buf += n;
                len -= n;
        }
        return 0;
}

/* The request as curl would have written it: the host and the path under the URL's base. */
static char *request_text(struct zeroctl_http *h, const char *path, const char *protocol, const char *payload) {
        const char *base = h->where.base, *host = strstr(base, "://");
        _cleanup_free_ char *auth = NULL;
        size_t n;

        host = host ? host + 3 : base;
        n = strcspn(host, "/");
        if (h->token && !h->where.unix_path)
                auth = zero_strdup_printf("Authorization: Bearer %s\r\n", h->token);
        return zero_strdup_printf("POST %s%s HTTP/1.1\r\nHost: %.*s\r\nUser-Agent: zeroctl/" ZERO_VERSION "\r\n"
                                  "%sContent-Type: application/json\r\nContent-Length: %zu\r\n"
                                  "Connection: Upgrade\r\nUpgrade: %s\r\n\r\n%s",
                                  host + n, path, (int) n, host, strempty(auth), strlen(payload), protocol, payload);
}

static const char *header_value(const char *head, const char *name) {
        size_t n = strlen(name);

        for (const char *p = strstr(head, "\r\n"); p && p[2]; p = strstr(p + 2, "\r\n"))
                if (strncasecmp(p + 2, name, n) == 0 && p[2 + n] == ':')
                        return p + 3 + n + strspn(p + 3 + n, " \t");
        return NULL;
}

int zeroctl_http_upgrade(struct zeroctl_http *h, const char *path, const json_t *body, const char *protocol,
                         char **ret_extra, size_t *ret_n_extra, struct zero_error *reterr) {
        _cleanup_free_ char *url = NULL, *payload = NULL, *req = NULL, *buf = NULL;
        size_t len = 0, cap = UPGRADE_HEAD_MAX + UPGRADE_BODY_MAX;
        const char *end = NULL, *cl;
        long status = 0;
        CURLcode cc;
        int r;

        url = zero_strdup_printf("%s%s", h->where.base, path);
        payload = json_dumps(body, JSON_COMPACT);
        buf = malloc(cap + 1);
        if (!url || !payload || !buf)
                return -ENOMEM;
        zeroctl_http_setup(h, url, NULL, ZEROCTL_TIMEOUT_NONE);
        curl_easy_setopt(h->curl, CURLOPT_CONNECT_ONLY, 1L);
        cc = curl_easy_perform(h->curl);
        if (cc != CURLE_OK)
                return zeroctl_http_failure(h, cc, reterr);
        req = request_text(h, path, protocol, payload);
        if (!req)
                return -ENOMEM;
        r = send_all(h, req, strlen(req));
        if (r < 0)
                return zero_error_set(reterr, r, ZERO_E_INTERNAL, "cannot send the request to zerod: %s", strerror(-r));
        /* The head, then (not a 101) the error's body, up to its Content-Length or the close. */
        for (;;) {
                size_t n;

                if (!end) {
                        buf[len] = '\0';
                        end = strstr(buf, "\r\n\r\n");
                        if (end && sscanf(buf, "HTTP/1.%*d %ld", &status) != 1)
                                return zero_error_set(reterr, -EBADMSG, ZERO_E_INTERNAL, "zerod's answer is not HTTP");
                        if (end && status == 101)
                                break;
                        if (!end && len >= UPGRADE_HEAD_MAX)
                                return zero_error_set(reterr, -EBADMSG, ZERO_E_INTERNAL, "zerod's answer is too long");
                }
                if (end && (cl = header_value(buf, "Content-Length")) &&
                    len >= (size_t) (end + 4 - buf) + strtoul(cl, NULL, 10))
                        break;
                if (len >= cap)
                        break;
                r = zeroctl_conn_recv(h, buf + len, cap - len, &n);
                if (r == -EAGAIN) {
                        if ((r = wait_socket(h, POLLIN)) < 0)
                                return r;
                        continue;
                }
                if (r < 0 || n == 0) {
                        if (end)
                                break;
                        return zero_error_set(reterr, -ECONNRESET, ZERO_E_INTERNAL,
                                              "zerod closed the connection without an answer");
                }
                len += n;
        }
        if (status != 101) {
                buf[len] = '\0';
                return zeroctl_http_error(status, end + 4, len - (size_t) (end + 4 - buf), reterr);
        }
        len -= (size_t) (end + 4 - buf);
        memmove(buf, end + 4, len);
        *ret_extra = TAKE_PTR(buf);
        *ret_n_extra = len;
        return 0;
}
