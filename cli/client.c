/* SPDX-License-Identifier: Apache-2.0 */
#include "cli/client.h"
#include "cli/client_internal.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>

#include "common/util.h"

#ifndef ZERO_VERSION
#define ZERO_VERSION "0"
#endif


DEFINE_TRIVIAL_CLEANUP_FUNC(struct curl_slist *, curl_slist_free_all);

static int url_error(struct zero_error *reterr, const char *url, const char *why) {
        return zero_error_set(reterr, -EINVAL, ZERO_E_USAGE,
                              "invalid URL '%s': %s (expected http://HOST:PORT or unix:/PATH)", url,
                              why);
}

static int parse_http_url(const char *url, char **ret_base, struct zero_error *reterr) {
        const char *host = strstr(url, "://") + 3;
        const char *end = host + strcspn(host, "/?#");
        const char *colon;
        size_t n;

        if (end == host || *host == ':')
                return url_error(reterr, url, "no host");
        if (strpbrk(host, "?#"))
                return url_error(reterr, url, "query or fragment not allowed");
        /* The port, if any, follows the last ':' that is not inside an IPv6 literal. */
        colon = memrchr(host, ':', (size_t) (end - host));
        if (colon && !memchr(colon, ']', (size_t) (end - colon))) {
                _cleanup_free_ char *port = strndup(colon + 1, (size_t) (end - colon - 1));
                int64_t v;

                if (!port)
                        return -ENOMEM;
                if (zero_parse_int64(port, 1, 65535, &v) < 0)
                        return url_error(reterr, url, "bad port");
        }
        n = strlen(url);
        while (n > 0 && url[n - 1] == '/')
                n--;
        *ret_base = strndup(url, n);
        return *ret_base ? 0 : -ENOMEM;
}

int zeroctl_url_parse(const char *url, struct zeroctl_url *ret, struct zero_error *reterr) {
        _cleanup_free_ char *base = NULL, *unix_path = NULL;
        int r;

        if (!url || !*url)
                return url_error(reterr, "", "empty");

        if (strncmp(url, "unix:", 5) == 0) {
                const char *p = url + 5;

                /* unix:///run/x.sock is the URI spelling of unix:/run/x.sock */
                if (strncmp(p, "//", 2) == 0)
                        p += 2;
                if (*p == '\0')
                        return url_error(reterr, url, "no socket path");
                if (strlen(p) > ZEROCTL_UNIX_PATH_MAX)
                        return url_error(reterr, url, "socket path too long");
                unix_path = strdup(p);
                /* curl needs a host in the URL; it only ends up in the Host header. */
                base = strdup("http://localhost");
                if (!unix_path || !base)
                        return -ENOMEM;
        } else if (strncmp(url, "http://", 7) == 0 || strncmp(url, "https://", 8) == 0) {
                r = parse_http_url(url, &base, reterr);
                if (r < 0)
                        return r;
        } else
                return url_error(reterr, url, "unsupported scheme");

        ret->base = TAKE_PTR(base);
        ret->unix_path = TAKE_PTR(unix_path);
        return 0;
}

void zeroctl_url_done(struct zeroctl_url *u) {
        if (!u)
                return;
        free(u->base);
        free(u->unix_path);
        u->base = u->unix_path = NULL;
}

char *zeroctl_path_escape(const char *s) {
        static const char hex[] = "0123456789ABCDEF";
        char *ret = malloc(strlen(s) * 3 + 1), *o = ret;

        if (!ret)
                return NULL;
        for (const unsigned char *p = (const unsigned char *) s; *p; p++) {
                unsigned char c = *p;
                if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '-' || c == '.' || c == '_' || c == '~')
                        *o++ = (char) c;
                else {
                        *o++ = '%';
                        *o++ = hex[c >> 4];
                        *o++ = hex[c & 15];
                }
        }
        *o = '\0';
        return ret;
}

void zeroctl_response_done(struct zeroctl_response *r) {
        if (!r)
                return;
        free(r->body);
        free(r->location);
        free(r->content_type);
        *r = (struct zeroctl_response){0};
}

int zeroctl_http_new(const char *url, unsigned timeout_s, struct zeroctl_http **ret,
                     struct zero_error *reterr) {
        struct zeroctl_http *h;
        int r;

        h = calloc(1, sizeof(*h));
        if (!h)
                return -ENOMEM;
        r = zeroctl_url_parse(url, &h->where, reterr);
        if (r < 0) {
                free(h);
                return r;
        }
        h->url = strdup(url);
        h->curl = curl_easy_init();
        h->timeout_s = timeout_s;
        if (!h->url || !h->curl) {
                zeroctl_http_free(h);
                return zero_error_set(reterr, -ENOMEM, ZERO_E_INTERNAL, "cannot set up the HTTP client");
        }
        *ret = h;
        return 0;
}

struct zeroctl_http *zeroctl_http_free(struct zeroctl_http *h) {
        if (!h)
                return NULL;
        if (h->token)
                explicit_bzero(h->token, strlen(h->token));
        free(h->token);
        free(h->cacert);
        if (h->curl)
                curl_easy_cleanup(h->curl);
        zeroctl_url_done(&h->where);
        free(h->url);
        free(h);
        return NULL;
}

struct sink {
        struct zeroctl_response *resp;
        size_t cap;
        bool too_big;
};

static size_t on_body(char *data, size_t size, size_t nmemb, void *userdata) {
        struct sink *s = userdata;
        struct zeroctl_response *resp = s->resp;
        size_t n = size * nmemb;

        if (n > ZEROCTL_RESPONSE_MAX - resp->len) {
                s->too_big = true;
                return 0; /* makes curl fail with CURLE_WRITE_ERROR */
        }
        return zero_buf_append(&resp->body, &resp->len, &s->cap, data, n) < 0 ? 0 : n;
}

/* Keeps the value of one header, "Name: value\r\n", if it is the one we want. */
static void take_header(const char *line, size_t n, const char *name, char **slot) {
        size_t k = strlen(name);
        char *v;

        if (n <= k || strncasecmp(line, name, k) != 0 || line[k] != ':')
                return;
        line += k + 1;
        n -= k + 1;
        while (n > 0 && (*line == ' ' || *line == '\t'))
                line++, n--;
        while (n > 0 && (line[n - 1] == '\r' || line[n - 1] == '\n' || line[n - 1] == ' '))
                n--;
        v = strndup(line, n);
        if (v) {
                free(*slot);
                *slot = v;
        }
}

static size_t on_header(char *data, size_t size, size_t nmemb, void *userdata) {
        struct zeroctl_response *resp = userdata;
        size_t n = size * nmemb;

        /* A new status line (after a 1xx interim response) starts a new set of headers. */
        if (n >= 5 && strncmp(data, "HTTP/", 5) == 0) {
                free(resp->location);
                free(resp->content_type);
                resp->location = resp->content_type = NULL;
                return n;
        }
        take_header(data, n, "Location", &resp->location);
        take_header(data, n, "Content-Type", &resp->content_type);
        return n;
}

int zeroctl_http_failure(struct zeroctl_http *h, CURLcode c, struct zero_error *reterr) {
        long os_errno = 0;
        const char *why = h->errbuf[0] ? h->errbuf : curl_easy_strerror(c);

        (void) curl_easy_getinfo(h->curl, CURLINFO_OS_ERRNO, &os_errno);
        switch (c) {
        case CURLE_COULDNT_CONNECT:
        case CURLE_COULDNT_RESOLVE_HOST:
        case CURLE_SSL_CONNECT_ERROR:
                if (os_errno > 0)
                        why = strerror((int) os_errno);
                return zero_error_set(reterr, os_errno > 0 ? -(int) os_errno : -ECONNREFUSED, ZERO_E_INTERNAL,
                                      "cannot connect to zerod at %s: %s%s", h->url, why,
                                      os_errno == ENOENT || os_errno == ECONNREFUSED
                                              ? " (is zerod running?)"
                                              : "");
        case CURLE_OPERATION_TIMEDOUT:
                return zero_error_set(reterr, -ETIMEDOUT, ZERO_E_INTERNAL, "request to zerod at %s: %s",
                                      h->url, why);
        default:
                return zero_error_set(reterr, -EIO, ZERO_E_INTERNAL, "request to zerod at %s failed: %s",
                                      h->url, why);
        }
}

/* The options every request has; the caller adds how the body is read. */
void zeroctl_http_setup(struct zeroctl_http *h, const char *url, struct curl_slist *headers,
                  unsigned timeout_s) {
        CURL *c = h->curl;

        /* Reset per request, so no option leaks from one method into the next; the connection
         * cache survives a reset, so a polling loop keeps its connection. */
        curl_easy_reset(c);
        h->errbuf[0] = '\0';
        curl_easy_setopt(c, CURLOPT_URL, url);
        if (h->where.unix_path)
                curl_easy_setopt(c, CURLOPT_UNIX_SOCKET_PATH, h->where.unix_path);
        /* zeroctl talks to the agent directly: an http_proxy meant for the web must not catch
         * it. */
        curl_easy_setopt(c, CURLOPT_PROXY, "");
        curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
        curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(c, CURLOPT_ERRORBUFFER, h->errbuf);
        curl_easy_setopt(c, CURLOPT_USERAGENT, "zeroctl/" ZERO_VERSION);
        curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
        curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, (long) ZEROCTL_CONNECT_TIMEOUT_S);
        curl_easy_setopt(c, CURLOPT_TIMEOUT,
                         timeout_s == ZEROCTL_TIMEOUT_NONE ? 0L : (long) (timeout_s ? timeout_s : h->timeout_s));
        /* The unix socket knows its caller by credentials; a token is for TCP only. */
        if (h->token && !h->where.unix_path) {
                curl_easy_setopt(c, CURLOPT_HTTPAUTH, (long) CURLAUTH_BEARER);
                curl_easy_setopt(c, CURLOPT_XOAUTH2_BEARER, h->token);
        }
        if (h->cacert)
                curl_easy_setopt(c, CURLOPT_CAINFO, h->cacert);
}

int zeroctl_http_set_auth(struct zeroctl_http *h, const char *token, const char *cacert) {
        free(h->token);
        free(h->cacert);
        h->token = token && *token ? strdup(token) : NULL;
        h->cacert = cacert && *cacert ? strdup(cacert) : NULL;
        return (token && *token && !h->token) || (cacert && *cacert && !h->cacert) ? -ENOMEM : 0;
}

int zeroctl_http_request(struct zeroctl_http *h, const char *method, const char *path,
                         const json_t *body, unsigned timeout_s, struct zeroctl_response *ret,
                         struct zero_error *reterr) {
        _cleanup_(curl_slist_free_allp) struct curl_slist *headers = NULL;
        _cleanup_free_ char *url = NULL, *payload = NULL;
        struct zeroctl_response resp = {0};
        struct sink sink = {.resp = &resp};
        bool post = streq(method, "POST") || streq(method, "PUT");
        CURL *c = h->curl;
        CURLcode cc;
        int r;

        url = zero_strdup_printf("%s%s", h->where.base, path);
        if (!url)
                return -ENOMEM;
        if (post) {
                payload = body ? json_dumps(body, JSON_COMPACT) : strdup("{}");
                if (!payload)
                        return -ENOMEM;
        }
        headers = curl_slist_append(headers, "Accept: application/json");
        if (headers && post)
                headers = curl_slist_append(headers, "Content-Type: application/json");
        /* Bodies are small; never wait for a 100-continue that zerod does not send. */
        if (headers)
                headers = curl_slist_append(headers, "Expect:");
        if (!headers)
                return -ENOMEM;

        zeroctl_http_setup(h, url, headers, timeout_s);
        curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
        curl_easy_setopt(c, CURLOPT_WRITEDATA, &sink);
        curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
        curl_easy_setopt(c, CURLOPT_HEADERDATA, &resp);
        if (post) {
                curl_easy_setopt(c, CURLOPT_POSTFIELDS, payload);
                curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long) strlen(payload));
                if (!streq(method, "POST"))
                        curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
        } else if (streq(method, "GET"))
                curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
        else
                curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);

        cc = curl_easy_perform(c);
        if (cc != CURLE_OK) {
                if (sink.too_big)
                        r = zero_error_set(reterr, -EFBIG, ZERO_E_INTERNAL,
                                           "response from zerod at %s exceeds %u MiB", h->url,
                                           ZEROCTL_RESPONSE_MAX >> 20);
                else
                        r = zeroctl_http_failure(h, cc, reterr);
                zeroctl_response_done(&resp);
                return r;
        }
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &resp.status);
        if (!resp.body && !(resp.body = strdup(""))) {
                zeroctl_response_done(&resp);
                return -ENOMEM;
        }
        *ret = resp;
        return 0;
}

static int status_to_errno(long status) {
        switch (status) {
        case 404:
                return -ENOENT;
        case 409:
                return -EBUSY;
        case 413:
                return -E2BIG;
        case 415:
                return -EPROTONOSUPPORT;
        case 503:
                return -EAGAIN;
        default:
                return status >= 500 ? -EIO : -EINVAL;
        }
}

/* The error zerod (or whatever answered) gave: its code, and for the message's reader the code
 * as it was spelt and the HTTP status ("conflict, HTTP 409") in detail. */
_printf_(5, 6) static int api_error(struct zero_error *reterr, int r, long status, const char *code, const char *fmt,
                                    ...) {
        va_list ap;

        va_start(ap, fmt);
        r = zero_error_setv(reterr, r, zero_errc_from_name(code), fmt, ap);
        va_end(ap);
        if (reterr)
                snprintf(reterr->detail, sizeof(reterr->detail), "%s%sHTTP %ld", strempty(code), code ? ", " : "",
                         status);
        return r;
}

int zeroctl_http_error(long status, const char *body, size_t len, struct zero_error *reterr) {
        json_auto_t *j = NULL;
        const char *code = NULL, *message = NULL;
        int r = status_to_errno(status);

        j = len > 0 ? json_loadb(body, len, 0, NULL) : NULL;
        if (j) {
                json_t *e = json_object_get(j, "error");
                code = json_string_value(json_object_get(e, "code"));
                message = json_string_value(json_object_get(e, "message"));
        }
        if (message && *message)
                return api_error(reterr, r, status, code, "%s", message);

        /* Not our error format (a proxy, or a server that is not zerod): show the first line. */
        if (len > 0) {
                size_t n = strcspn(body, "\r\n");
                if (n > 200)
                        n = 200;
                if (n > 0)
                        return api_error(reterr, r, status, code, "%.*s", (int) n, body);
        }
        return api_error(reterr, r, status, code, "request failed");
}

/* An answer as zeroctl_http_call() gives it: errors >= 400 into *reterr, JSON parsed. */
static int call_result(struct zeroctl_http *h, const char *method, const char *path, struct zeroctl_response *resp,
                       json_t **ret_json, char **ret_location, struct zero_error *reterr) {
        json_t *j = NULL;
        json_error_t jerr;
        int r = 0;

        if (resp->status >= 400 || resp->status < 200)
                r = zeroctl_http_error(resp->status, resp->body, resp->len, reterr);
        else if (resp->len > 0 && ret_json && !(j = json_loadb(resp->body, resp->len, 0, &jerr)))
                r = zero_error_set(reterr, -EBADMSG, ZERO_E_INTERNAL, "invalid JSON from zerod at %s (%s %s): %s", h->url,
                                   method, path, jerr.text);
        if (r >= 0 && ret_json)
                *ret_json = j;
        if (r >= 0 && ret_location)
                *ret_location = TAKE_PTR(resp->location);
        zeroctl_response_done(resp);
        return r;
}

int zeroctl_http_call(struct zeroctl_http *h, const char *method, const char *path,
                      const json_t *body, unsigned timeout_s, json_t **ret_json,
                      char **ret_location, struct zero_error *reterr) {
        struct zeroctl_response resp = {0};
        int r;

        r = zeroctl_http_request(h, method, path, body, timeout_s, &resp, reterr);
        if (r < 0)
                return r;
        return call_result(h, method, path, &resp, ret_json, ret_location, reterr);
}

struct upload_source {
        zeroctl_http_read_fn read;
        void *userdata;
        struct zero_error *reterr;
        int r; /* why the read ended the transfer */
};

static size_t on_upload_read(char *buf, size_t size, size_t nitems, void *userdata) {
        struct upload_source *u = userdata;
        ssize_t n = u->read(u->userdata, buf, size * nitems, u->reterr);

        if (n < 0) {
                u->r = (int) n;
                return CURL_READFUNC_ABORT;
        }
        return (size_t) n;
}

int zeroctl_http_upload(struct zeroctl_http *h, const char *path, const char *content_type, int64_t size,
                        zeroctl_http_read_fn read, void *userdata, json_t **ret_json, char **ret_location,
                        struct zero_error *reterr) {
        _cleanup_(curl_slist_free_allp) struct curl_slist *headers = NULL;
        _cleanup_free_ char *url = zero_strdup_printf("%s%s", h->where.base, path);
        _cleanup_free_ char *ctype = zero_strdup_printf("Content-Type: %s", content_type);
        struct zeroctl_response resp = {0};
        struct sink sink = {.resp = &resp};
        struct upload_source src = {read, userdata, reterr, 0};
        CURLcode cc;

        if (!url || !ctype)
                return -ENOMEM;
        headers = curl_slist_append(headers, "Accept: application/json");
        if (headers)
                headers = curl_slist_append(headers, ctype);
        /* curl asks "Expect: 100-continue" itself: a refusal (a taken name, too large) comes
         * before the body is sent */
        if (headers && size < 0)
                headers = curl_slist_append(headers, "Transfer-Encoding: chunked");
        if (!headers)
                return -ENOMEM;
        zeroctl_http_setup(h, url, headers, 0);
        /* as long as it takes, while it moves: at least a byte a second over any minute */
        curl_easy_setopt(h->curl, CURLOPT_TIMEOUT, 0L);
        curl_easy_setopt(h->curl, CURLOPT_LOW_SPEED_LIMIT, 1L);
        curl_easy_setopt(h->curl, CURLOPT_LOW_SPEED_TIME, 60L);
        curl_easy_setopt(h->curl, CURLOPT_POST, 1L);
        curl_easy_setopt(h->curl, CURLOPT_READFUNCTION, on_upload_read);
        curl_easy_setopt(h->curl, CURLOPT_READDATA, &src);
        if (size >= 0)
                curl_easy_setopt(h->curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t) size);
        curl_easy_setopt(h->curl, CURLOPT_WRITEFUNCTION, on_body);
        curl_easy_setopt(h->curl, CURLOPT_WRITEDATA, &sink);
        curl_easy_setopt(h->curl, CURLOPT_HEADERFUNCTION, on_header);
        curl_easy_setopt(h->curl, CURLOPT_HEADERDATA, &resp);
        cc = curl_easy_perform(h->curl);
        if (cc != CURLE_OK) {
                zeroctl_response_done(&resp);
                return src.r < 0 ? src.r : zeroctl_http_failure(h, cc, reterr);
        }
        curl_easy_getinfo(h->curl, CURLINFO_RESPONSE_CODE, &resp.status);
        if (!resp.body && !(resp.body = strdup(""))) {
                zeroctl_response_done(&resp);
                return -ENOMEM;
        }
        return call_result(h, "POST", path, &resp, ret_json, ret_location, reterr);
}

struct stream {
        const char *content_type;
        zeroctl_http_stream_fn on_data;
        void *userdata;
        int state; /* 0: no byte yet; 1: streaming to on_data; -1: an error body, kept */
        int r;     /* why the write callback ended the transfer: on_data's return or a -errno */
        struct zeroctl_response err;
        struct sink err_sink;
        CURL *curl;
        uint64_t idle_usec; /* 0: no bound */
        uint64_t last_byte_usec; /* CLOCK_MONOTONIC */
        bool idle;
};

/* Whether the response's Content-Type is the media type we asked for (parameters aside). */
static bool content_type_is(CURL *c, const char *want) {
        const char *ct = NULL;
        size_t n = strlen(want);

        if (curl_easy_getinfo(c, CURLINFO_CONTENT_TYPE, &ct) != CURLE_OK || !ct)
                return false;
        return strncasecmp(ct, want, n) == 0 && (ct[n] == '\0' || ct[n] == ';' || ct[n] == ' ');
}

static size_t on_stream(char *data, size_t size, size_t nmemb, void *userdata) {
        struct stream *s = userdata;
        size_t n = size * nmemb;
        long status = 0;

        s->last_byte_usec = zero_monotonic_usec();
        if (s->state == 0) {
                /* The first byte of the body: the status and headers are in. */
                (void) curl_easy_getinfo(s->curl, CURLINFO_RESPONSE_CODE, &status);
                if (status < 200 || status >= 300)
                        s->state = -1;
                else if (!content_type_is(s->curl, s->content_type)) {
                        s->r = -EPROTONOSUPPORT;
                        return 0;
                } else
                        s->state = 1;
        }
        if (s->state < 0)
                return on_body(data, size, nmemb, &s->err_sink);
        s->r = s->on_data(data, n, s->userdata);
        return s->r != 0 ? 0 : n;
}

/* curl calls this about once a second while a transfer runs. CURLOPT_LOW_SPEED_* would do
 * for a dead stream, but it averages the speed over a few seconds: whether zerod's 13-byte
 * keepalives count as "moving" would depend on curl's sampling. */
static int on_progress(void *userdata, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
                       curl_off_t ulnow) {
        struct stream *s = userdata;

        (void) dltotal, (void) dlnow, (void) ultotal, (void) ulnow;
        if (s->idle_usec > 0 && zero_monotonic_usec() - s->last_byte_usec > s->idle_usec) {
                s->idle = true;
                return 1; /* CURLE_ABORTED_BY_CALLBACK */
        }
        return 0;
}

int zeroctl_http_stream(struct zeroctl_http *h, const char *path, const char *content_type,
                        unsigned timeout_s, unsigned idle_s, zeroctl_http_stream_fn on_data,
                        void *userdata, struct zero_error *reterr) {
        _cleanup_(curl_slist_free_allp) struct curl_slist *headers = NULL;
        _cleanup_free_ char *url = NULL, *accept = NULL;
        struct stream s = {.content_type = content_type,
                           .on_data = on_data,
                           .userdata = userdata,
                           .curl = h->curl,
                           .idle_usec = (uint64_t) idle_s * USEC_PER_SEC,
                           .last_byte_usec = zero_monotonic_usec()};
        long status = 0;
        CURLcode cc;
        int r;

        s.err_sink.resp = &s.err;
        url = zero_strdup_printf("%s%s", h->where.base, path);
        accept = zero_strdup_printf("Accept: %s", content_type);
        if (!url || !accept)
                return -ENOMEM;
        headers = curl_slist_append(headers, accept);
        if (!headers)
                return -ENOMEM;

        zeroctl_http_setup(h, url, headers, timeout_s);
        curl_easy_setopt(h->curl, CURLOPT_HTTPGET, 1L);
        curl_easy_setopt(h->curl, CURLOPT_WRITEFUNCTION, on_stream);
        curl_easy_setopt(h->curl, CURLOPT_WRITEDATA, &s);
        /* zerod sends a comment at least every 15 s: a stream silent for idle_s is dead. */
        curl_easy_setopt(h->curl, CURLOPT_XFERINFOFUNCTION, on_progress);
        curl_easy_setopt(h->curl, CURLOPT_XFERINFODATA, &s);
        curl_easy_setopt(h->curl, CURLOPT_NOPROGRESS, 0L);

        cc = curl_easy_perform(h->curl);
        (void) curl_easy_getinfo(h->curl, CURLINFO_RESPONSE_CODE, &status);
        if (cc != CURLE_OK && s.r > 0)
                r = 1; /* on_data had what it wanted */
        else if (cc != CURLE_OK && s.r == -EPROTONOSUPPORT)
                r = zero_error_set(reterr, s.r, ZERO_E_INTERNAL, "zerod at %s answered %s without %s", h->url,
                                   path, content_type);
        else if (cc != CURLE_OK && s.r < 0)
                r = zero_error_set(reterr, s.r, ZERO_E_INTERNAL, "bad stream from zerod at %s (%s): %s",
                                   h->url, path, strerror(-s.r));
        else if (cc != CURLE_OK && s.idle)
                r = zero_error_set(reterr, -ETIMEDOUT, ZERO_E_INTERNAL,
                                   "stream from zerod at %s (%s): nothing for %u s", h->url, path,
                                   idle_s);
        else if (cc != CURLE_OK && !s.err_sink.too_big)
                r = zeroctl_http_failure(h, cc, reterr);
        else if (status < 200 || status >= 300)
                r = zeroctl_http_error(status, strempty(s.err.body), s.err.len, reterr);
        else if (s.state == 0 && !content_type_is(h->curl, content_type))
                r = zero_error_set(reterr, -EPROTONOSUPPORT, ZERO_E_INTERNAL,
                                   "zerod at %s answered %s without %s", h->url, path,
                                   content_type);
        else
                r = 0; /* zerod closed the stream */
        zeroctl_response_done(&s.err);
        return r;
}
