/* SPDX-License-Identifier: Apache-2.0 */
/* Requests to another node's zerod: libcurl's multi interface on the agent's loop (peer.h). */
#include "agent/peer.h"

#include <string.h>

#include "agent/curl_load.h"
#include "common/log.h"
#include "common/util.h"

/* A peer's answer is a small JSON document: more is a broken peer. */
#define PEER_BODY_MAX (1024 * 1024)
#define PEER_CONNECT_TIMEOUT_MS 5000L

struct zero_peers {
        struct zero_agent *agent;
        const struct zero_curl *curl; /* loaded with the first call (curl_load.h) */
        CURLM *multi;
        sd_event_source *timer;
        struct zero_peer_call *calls;
        /* The io sources of the sockets curl watches, so that none outlives the multi handle
         * (curl does not always say REMOVE for a cached connection it closes at cleanup). */
        sd_event_source **sources;
        size_t n_sources;
};

struct zero_peer_call {
        struct zero_peers *peers;
        struct zero_peer_call *next;
        CURL *easy;
        struct curl_slist *headers;
        char *body_out; /* the request's body, kept until it is sent */
        char *buf;      /* the answer's body */
        size_t len;
        bool too_long;
        char errbuf[CURL_ERROR_SIZE];
        zero_peer_fn cb;
        void *userdata;
};

bool zero_peer_url_valid(const char *url) {
        const char *host;
        size_t n;

        if (!url)
                return false;
        if (strncmp(url, "https://", 8) == 0)
                host = url + 8;
        else if (strncmp(url, "http://", 7) == 0)
                host = url + 7;
        else
                return false;
        n = strlen(host);
        if (n == 0 || n > 255 || host[0] == ':' || host[0] == '/')
                return false;
        /* A host (a name, an IPv4 address, an IPv6 one in brackets) and an optional port. */
        return strspn(host, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-:[]") == n;
}

static void call_unlink(struct zero_peer_call *c) {
        for (struct zero_peer_call **p = &c->peers->calls; *p; p = &(*p)->next)
                if (*p == c) {
                        *p = c->next;
                        break;
                }
        c->next = NULL;
}

struct zero_peer_call *zero_peer_call_free(struct zero_peer_call *c) {
        if (!c)
                return NULL;
        const struct zero_curl *cu = c->peers->curl;

        call_unlink(c);
        if (c->easy) {
                (void) cu->multi_remove_handle(c->peers->multi, c->easy);
                cu->easy_cleanup(c->easy);
        }
        cu->slist_free_all(c->headers);
        free(c->body_out);
        free(c->buf);
        free(c);
        return NULL;
}

static size_t on_data(char *ptr, size_t size, size_t nmemb, void *userdata) {
        struct zero_peer_call *c = userdata;
        size_t n = size * nmemb;
        char *b;

        if (c->len + n > PEER_BODY_MAX) {
                c->too_long = true;
                return 0; /* curl fails the transfer (CURLE_WRITE_ERROR) */
        }
        b = realloc(c->buf, c->len + n + 1);
        if (!b)
                return 0;
        memcpy(b + c->len, ptr, n);
        c->buf = b;
        c->len += n;
        c->buf[c->len] = '\0';
        return n;
}

/* The call ended (from the loop): its answer to the caller, then it goes. */
static void call_end(struct zero_peer_call *c, CURLcode code) {
        const struct zero_curl *cu = c->peers->curl;
        struct zero_error err = {};
        json_auto_t *body = NULL;
        long status = 0;
        int r = 0;

        (void) cu->easy_getinfo(c->easy, CURLINFO_RESPONSE_CODE, &status);
        if (c->len > 0)
                body = json_loadb(c->buf, c->len, 0, NULL);
        if (code == CURLE_OPERATION_TIMEDOUT)
                r = zero_error_set(&err, -ETIMEDOUT, ZERO_E_TIMEOUT, "the peer did not answer in time: %s", c->errbuf);
        else if (code == CURLE_PEER_FAILED_VERIFICATION || code == CURLE_SSL_CACERT_BADFILE ||
                 code == CURLE_SSL_CERTPROBLEM)
                r = zero_error_set(&err, -EPERM, ZERO_E_FORBIDDEN, "the peer's TLS certificate does not verify: %s",
                                   c->errbuf[0] ? c->errbuf : cu->easy_strerror(code));
        else if (c->too_long)
                r = zero_error_set(&err, -EPROTO, ZERO_E_RUNTIME, "the peer's answer is over %d bytes", PEER_BODY_MAX);
        else if (code != CURLE_OK)
                r = zero_error_set(&err, -EHOSTUNREACH, ZERO_E_UNAVAILABLE, "cannot reach the peer: %s",
                                   c->errbuf[0] ? c->errbuf : cu->easy_strerror(code));
        else if (status < 200 || status > 299) {
                json_t *e = json_object_get(body, "error");
                const char *code_name = json_string_value(json_object_get(e, "code"));

                r = zero_error_set(&err, -EIO, code_name ? zero_errc_from_name(code_name) : ZERO_E_RUNTIME,
                                   "the peer answered %ld: %s", status,
                                   json_string_value(json_object_get(e, "message")) ?: "(no reason)");
                if (code_name)
                        snprintf(err.detail, sizeof(err.detail), "%s", code_name);
        }
        zero_peer_fn cb = c->cb;
        void *userdata = c->userdata;
        zero_peer_call_free(c);
        cb(userdata, r, status, r >= 0 ? body : NULL, &err);
}

static void peers_check(struct zero_peers *p) {
        CURLMsg *m;
        int left;

        while ((m = p->curl->multi_info_read(p->multi, &left)))
                if (m->msg == CURLMSG_DONE) {
                        struct zero_peer_call *c = NULL;
                        (void) p->curl->easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **) &c);
                        if (c)
                                call_end(c, m->data.result);
                }
}

static int on_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        struct zero_peers *p = userdata;
        int running;

        (void) p->curl->multi_socket_action(p->multi, CURL_SOCKET_TIMEOUT, 0, &running);
        peers_check(p);
        return 0;
}

static int on_io(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        struct zero_peers *p = userdata;
        int running, what = 0;

        if (revents & EPOLLIN)
                what |= CURL_CSELECT_IN;
        if (revents & EPOLLOUT)
                what |= CURL_CSELECT_OUT;
        if (revents & (EPOLLERR | EPOLLHUP))
                what |= CURL_CSELECT_ERR;
        (void) p->curl->multi_socket_action(p->multi, fd, what, &running);
        peers_check(p);
        return 0;
}

/* curl says which events of a socket it wants: its io source follows (the source hangs off the
 * socket with curl_multi_assign()). */
static int on_socket(CURL *easy, curl_socket_t fd, int what, void *userp, void *socketp) {
        struct zero_peers *p = userp;
        sd_event_source *s = socketp;
        uint32_t events = (what & CURL_POLL_IN ? EPOLLIN : 0) | (what & CURL_POLL_OUT ? EPOLLOUT : 0);

        sd_event_source **n;

        if (what == CURL_POLL_REMOVE) {
                for (size_t i = 0; s && i < p->n_sources; i++)
                        if (p->sources[i] == s)
                                p->sources[i] = p->sources[--p->n_sources];
                sd_event_source_disable_unref(s);
                (void) p->curl->multi_assign(p->multi, fd, NULL);
                return 0;
        }
        if (s)
                return sd_event_source_set_io_events(s, events) < 0 ? -1 : 0;
        n = realloc(p->sources, (p->n_sources + 1) * sizeof(*n));
        if (!n)
                return -1;
        p->sources = n;
        if (sd_event_add_io(p->agent->event, &s, fd, events, on_io, p) < 0)
                return -1;
        (void) sd_event_source_set_description(s, "peer-http");
        p->sources[p->n_sources++] = s;
        (void) p->curl->multi_assign(p->multi, fd, s);
        return 0;
}

static int on_curl_timer(CURLM *multi, long timeout_ms, void *userp) {
        struct zero_peers *p = userp;

        if (timeout_ms < 0)
                return sd_event_source_set_enabled(p->timer, SD_EVENT_OFF) < 0 ? -1 : 0;
        /* 0 too goes through the loop: never a socket action from inside this callback. */
        if (sd_event_source_set_time_relative(p->timer, (uint64_t) timeout_ms * USEC_PER_MSEC) < 0)
                return -1;
        return sd_event_source_set_enabled(p->timer, SD_EVENT_ONESHOT) < 0 ? -1 : 0;
}

static int peers_get(struct zero_agent *a, struct zero_peers **ret, struct zero_error *err) {
        struct zero_peers *p = a->peers;
        const struct zero_curl *cu;
        int r;

        if (p) {
                *ret = p;
                return 0;
        }
        cu = zero_curl_get(err);
        if (!cu)
                return -ENOENT;
        p = calloc(1, sizeof(*p));
        if (!p)
                return zero_error_set(err, -ENOMEM, ZERO_E_INTERNAL, "out of memory");
        p->agent = a;
        p->curl = cu;
        p->multi = cu->multi_init();
        r = p->multi ? sd_event_add_time_relative(a->event, &p->timer, CLOCK_MONOTONIC, 0, 1, on_timer, p) : -ENOMEM;
        if (r < 0) {
                if (p->multi)
                        cu->multi_cleanup(p->multi);
                free(p);
                return zero_error_set(err, r, ZERO_E_INTERNAL, "cannot make an HTTP client: %s", strerror(-r));
        }
        (void) sd_event_source_set_enabled(p->timer, SD_EVENT_OFF);
        (void) cu->multi_setopt(p->multi, CURLMOPT_SOCKETFUNCTION, on_socket);
        (void) cu->multi_setopt(p->multi, CURLMOPT_SOCKETDATA, p);
        (void) cu->multi_setopt(p->multi, CURLMOPT_TIMERFUNCTION, on_curl_timer);
        (void) cu->multi_setopt(p->multi, CURLMOPT_TIMERDATA, p);
        a->peers = p;
        *ret = p;
        return 0;
}

void zero_peers_free(struct zero_agent *a) {
        struct zero_peers *p = a->peers;

        if (!p)
                return;
        while (p->calls)
                zero_peer_call_free(p->calls);
        /* Closes the cached connections, which removes their sockets' sources (on_socket). */
        p->curl->multi_cleanup(p->multi);
        for (size_t i = 0; i < p->n_sources; i++)
                sd_event_source_disable_unref(p->sources[i]);
        free(p->sources);
        p->timer = sd_event_source_disable_unref(p->timer);
        free(p);
        a->peers = NULL;
}

int zero_peer_call(struct zero_agent *a, const struct zero_peer_target *t, const char *method, const char *path,
                   json_t *body, uint64_t timeout_usec, zero_peer_fn cb, void *userdata, struct zero_peer_call **ret,
                   struct zero_error *err) {
        _cleanup_free_ char *url = NULL, *auth = NULL;
        struct zero_peers *p = NULL;
        struct zero_peer_call *c;
        int r;

        if (!t || !zero_peer_url_valid(t->url) || !path || path[0] != '/' || !cb) {
                json_decref(body);
                return zero_error_set(err, -EINVAL, ZERO_E_INVALID, "target '%s': expected https://HOST[:PORT]",
                                      t && t->url ? t->url : "");
        }
        r = peers_get(a, &p, err);
        if (r < 0) {
                json_decref(body);
                return r;
        }
        c = calloc(1, sizeof(*c));
        if (!c) {
                json_decref(body);
                return zero_error_set(err, -ENOMEM, ZERO_E_INTERNAL, "cannot make an HTTP request");
        }
        c->peers = p;
        c->cb = cb;
        c->userdata = userdata;
        const struct zero_curl *cu = p->curl;
        c->easy = cu->easy_init();
        url = zero_strdup_printf("%s%s", t->url, path);
        auth = t->token ? zero_strdup_printf("Authorization: Bearer %s", t->token) : NULL;
        c->body_out = body ? json_dumps(body, JSON_COMPACT) : NULL;
        json_decref(body);
        c->headers = cu->slist_append(NULL, "Content-Type: application/json");
        if (c->headers && auth)
                c->headers = cu->slist_append(c->headers, auth);
        if (!c->easy || !url || (t->token && !auth) || (body && !c->body_out) || !c->headers) {
                zero_peer_call_free(c);
                return zero_error_set(err, -ENOMEM, ZERO_E_INTERNAL, "out of memory");
        }
        CURL *e = c->easy;
        r = cu->easy_setopt(e, CURLOPT_URL, url) != CURLE_OK ||
            cu->easy_setopt(e, CURLOPT_CUSTOMREQUEST, method) != CURLE_OK ||
            cu->easy_setopt(e, CURLOPT_HTTPHEADER, c->headers) != CURLE_OK ||
            cu->easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https") != CURLE_OK ||
            cu->easy_setopt(e, CURLOPT_NOSIGNAL, 1L) != CURLE_OK ||
            cu->easy_setopt(e, CURLOPT_TIMEOUT_MS, (long) (timeout_usec / USEC_PER_MSEC)) != CURLE_OK ||
            cu->easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, PEER_CONNECT_TIMEOUT_MS) != CURLE_OK ||
            cu->easy_setopt(e, CURLOPT_WRITEFUNCTION, on_data) != CURLE_OK ||
            cu->easy_setopt(e, CURLOPT_WRITEDATA, c) != CURLE_OK ||
            cu->easy_setopt(e, CURLOPT_ERRORBUFFER, c->errbuf) != CURLE_OK ||
            cu->easy_setopt(e, CURLOPT_PRIVATE, c) != CURLE_OK ||
            /* Verified, always: the peer is another node's zerod, root-equivalent. */
            cu->easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 1L) != CURLE_OK ||
            cu->easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 2L) != CURLE_OK ||
            (t->ca_file && cu->easy_setopt(e, CURLOPT_CAINFO, t->ca_file) != CURLE_OK) ||
            (c->body_out && cu->easy_setopt(e, CURLOPT_POSTFIELDS, c->body_out) != CURLE_OK)
                    ? -EINVAL
                    : 0;
        if (r >= 0 && cu->multi_add_handle(p->multi, e) != CURLM_OK)
                r = -EIO;
        if (r < 0) {
                zero_peer_call_free(c);
                return zero_error_set(err, r, ZERO_E_INTERNAL, "cannot set up the request to %s", url);
        }
        c->next = p->calls;
        p->calls = c;
        log_debug("Peer request %s %s", method, url);
        *ret = c;
        return 0;
}
