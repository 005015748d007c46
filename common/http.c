/* SPDX-License-Identifier: Apache-2.0 */
/* Requests of common/http.h: routing, the checks before the body, replies, parking. */
#include "common/http.h"

#include <assert.h>
#include <microhttpd.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <systemd/sd-event.h>

#include "common/http_errors.h"
#include "common/http_internal.h"
#include "common/log.h"
#include "common/text.h"
#include "common/util.h"

/* --- replies --- */

void http_set_response(struct zero_request *req, unsigned status, struct MHD_Response *resp, const char *ctype) {
        if (!resp)
                return;
        if (req->response)
                MHD_destroy_response(req->response);
        if (ctype)
                MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, ctype);
        req->response = resp;
        req->status = status;
}

void zero_reply_text(struct zero_request *req, unsigned status, const char *ctype, char *text, size_t len) {
        struct MHD_Response *resp;
        char body_tag[HTTP_ETAG_MAX];
        const char *etag = NULL;

        /* Every 200 to a GET has an ETag: the handler's, or one made of the body (http_etag.c). */
        if (status == 200 && streq(req->method, "GET")) {
                if (!(etag = req->etag)) {
                        http_body_etag(text, len, body_tag);
                        etag = body_tag;
                }
                if (http_not_modified(req, etag)) {
                        free(text);
                        return http_reply_not_modified(req, etag);
                }
        }
        resp = MHD_create_response_from_buffer(len, text, MHD_RESPMEM_MUST_FREE);
        if (!resp)
                free(text);
        http_set_response(req, status, resp, ctype);
        if (resp && etag)
                MHD_add_response_header(resp, MHD_HTTP_HEADER_ETAG, etag);
}

void zero_reply_json(struct zero_request *req, unsigned status, json_t *body) {
        char *s = json_dumps(body, JSON_COMPACT);
        json_decref(body);
        if (!s) {
                zero_reply_error(req, 500, "internal", "out of memory");
                return;
        }
        size_t n = strlen(s);
        s[n] = '\0';
        /* one trailing newline keeps curl output readable */
        char *t = realloc(s, n + 2);
        if (t) {
                t[n] = '\n';
                t[n + 1] = '\0';
                s = t;
                n++;
        }
        zero_reply_text(req, status, "application/json", s, n);
}

void zero_reply_empty(struct zero_request *req, unsigned status) {
        http_set_response(req, status, MHD_create_response_from_buffer(0, (void *) "", MHD_RESPMEM_PERSISTENT), NULL);
}

static void reply_errorv(struct zero_request *req, unsigned status, const char *code, const char *fmt, va_list ap) {
        char raw[1024], msg[1024];

        /* Messages quote what clients sent: escaped to valid UTF-8 without control characters
         * (JSON takes nothing else), cut on a character boundary. */
        vsnprintf(raw, sizeof(raw), fmt, ap);
        zero_text_escape(raw, msg, sizeof(msg));
        log_full_errno(status >= 500 ? LOG_ERR : LOG_INFO, 0, "%s %s: %u %s: %s", req->method, ZERO_QUOTE(req->url),
                       status, code, msg);
        zero_reply_json(req, status, json_pack("{s:{s:s,s:s}}", "error", "code", code, "message", msg));
}

void zero_reply_error(struct zero_request *req, unsigned status, const char *code, const char *fmt, ...) {
        va_list ap;
        va_start(ap, fmt);
        reply_errorv(req, status, code, fmt, ap);
        va_end(ap);
}

void zero_reply_zero_error(struct zero_request *req, int r, const struct zero_error *e) {
        if (e && e->message[0] && zero_http_code(e->code))
                zero_reply_error(req, zero_http_status(e->code), zero_http_code(e->code), "%s", e->message);
        else
                zero_reply_error(req, 500, "internal", "%s",
                                 e && e->message[0] ? e->message : strerror(r < 0 ? -r : r));
}

void zero_reply_header(struct zero_request *req, const char *name, const char *value) {
        if (req->response)
                MHD_add_response_header(req->response, name, value);
}

/* --- request accessors --- */

struct zero_http *zero_request_server(struct zero_request *req) {
        return req->http;
}

void *zero_http_userdata(struct zero_http *h) {
        return h->s.userdata;
}

const char *zero_request_method(struct zero_request *req) {
        return req->method;
}

const char *zero_request_url(struct zero_request *req) {
        return req->url;
}

const struct zero_route *zero_request_route(struct zero_request *req) {
        return req->route;
}

bool zero_request_is_unix(struct zero_request *req) {
        return req->daemon->is_unix;
}

unsigned zero_request_listener(struct zero_request *req) {
        return req->daemon->index;
}

struct MHD_Connection *zero_request_connection(struct zero_request *req) {
        return req->conn;
}

bool zero_request_set_actor(struct zero_request *req, int role, const char *actor) {
        free(req->actor);
        req->actor = strdup(actor);
        req->role = role;
        if (!req->actor) {
                zero_reply_error(req, 500, "internal", "out of memory");
                return false;
        }
        return true;
}

int zero_request_role(struct zero_request *req) {
        return req->role;
}

const char *zero_request_param(struct zero_request *req, unsigned idx) {
        return idx < MAX_PARAMS ? req->params[idx] : NULL;
}

const char *zero_request_query(struct zero_request *req, const char *key) {
        return MHD_lookup_connection_value(req->conn, MHD_GET_ARGUMENT_KIND, key);
}

const char *zero_request_actor(struct zero_request *req) {
        return req->actor;
}

const char *zero_request_header(struct zero_request *req, const char *name) {
        return MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, name);
}

json_t *zero_request_body(struct zero_request *req) {
        return req->json;
}

void *zero_request_upload(struct zero_request *req) {
        return req->upload_state;
}

/* --- routing --- */

/* Matches "/v1/instances/web/start" against "/v1/instances/{}/start", capturing "web". */
static bool route_match(const char *pattern, const char *path, char *params[MAX_PARAMS]) {
        unsigned n = 0;

        while (*pattern && *path) {
                if (pattern[0] == '{' && pattern[1] == '}') {
                        size_t len = strcspn(path, "/");
                        if (len == 0 || n >= MAX_PARAMS)
                                return false;
                        params[n] = strndup(path, len);
                        n++;
                        path += len;
                        pattern += 2;
                        continue;
                }
                if (*pattern != *path)
                        return false;
                pattern++;
                path++;
        }
        return *pattern == '\0' && (*path == '\0' || streq(path, "/"));
}

static void free_params(struct zero_request *req) {
        for (unsigned i = 0; i < MAX_PARAMS; i++) {
                free(req->params[i]);
                req->params[i] = NULL;
        }
}

/* Finds the route; distinguishes an unknown path (404) from a known one with another method (405). */
static int route_find(struct zero_request *req) {
        bool path_known = false;

        for (const struct zero_route *r = req->http->s.routes; r->pattern; r++) {
                if (!route_match(r->pattern, req->url, req->params)) {
                        free_params(req);
                        continue;
                }
                if (streq(r->method, req->method)) {
                        req->route = r;
                        return 0;
                }
                path_known = true;
                free_params(req);
        }
        return path_known ? -EOPNOTSUPP : -ENOENT;
}

static enum MHD_Result check_utf8(void *cls, enum MHD_ValueKind kind, const char *key, const char *value) {
        bool *ok = cls;
        if (!zero_utf8_valid(key, strlen(key)) || (value && !zero_utf8_valid(value, strlen(value)))) {
                *ok = false;
                return MHD_NO;
        }
        return MHD_YES;
}

/* The path and the query are text: names, ids, numbers. */
static bool request_is_utf8(struct zero_request *req) {
        bool ok = zero_utf8_valid(req->url, strlen(req->url));
        if (ok)
                (void) MHD_get_connection_values(req->conn, MHD_GET_ARGUMENT_KIND, check_utf8, &ok);
        return ok;
}

static bool is_json_type(const char *ctype) {
        size_t l = ctype ? strcspn(ctype, "; ") : 0;
        return ctype && l == strlen("application/json") && strncasecmp(ctype, "application/json", l) == 0;
}

/* Checks made from the headers alone, before any body byte is read. */
static bool request_precheck(struct zero_request *req) {
        struct zero_http *h = req->http;
        const char *len = MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
        const char *ctype = MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_TYPE);
        const char *te = MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_TRANSFER_ENCODING);
        bool has_body = (len && !streq(len, "0")) || te;
        unsigned body;
        int r;

        /* Who asks first: an unauthenticated client learns nothing, not even which paths exist. */
        if (!h->s.authenticate(req, h->s.userdata))
                return false;
        if (req->query_cut) {
                zero_reply_error(req, 414, "uri_too_long", "the query has more than %d parameters or %d bytes",
                                 HTTP_QUERY_ARGS_MAX, HTTP_QUERY_MAX);
                return false;
        }
        if (!request_is_utf8(req)) {
                zero_reply_error(req, 400, "malformed", "the request's path or query is not valid UTF-8");
                return false;
        }
        r = route_find(req);
        if (r == -ENOENT) {
                zero_reply_error(req, 404, "not_found", "no such endpoint: %s", ZERO_QUOTE(req->url));
                return false;
        }
        if (r == -EOPNOTSUPP) {
                zero_reply_error(req, 405, "method_not_allowed", "%s is not allowed on %s", ZERO_QUOTE(req->method),
                                 ZERO_QUOTE(req->url));
                return false;
        }
        if (h->s.authorize && !h->s.authorize(req, h->s.userdata))
                return false;
        int64_t n = -1;
        if (len && zero_parse_int64(len, 0, INT64_MAX, &n) < 0) {
                zero_reply_error(req, 400, "malformed", "bad Content-Length");
                return false;
        }
        if (!has_body)
                return true;
        body = req->route->body;
        if (body == ZERO_BODY_NONE) {
                zero_reply_error(req, 400, "malformed", "%s %s takes no request body", req->method, req->url);
                return false;
        }
        if ((body & ZERO_BODY_JSON) && (is_json_type(ctype) || !(body & ZERO_BODY_UPLOAD))) {
                if (!is_json_type(ctype)) {
                        zero_reply_error(req, 415, "unsupported_media_type",
                                         "request bodies must be application/json, not %s", ctype ? ctype : "(none)");
                        return false;
                }
                if (n >= 0 && (uint64_t) n > h->s.body_max) {
                        zero_reply_error(req, 413, "too_large",
                                         "request body of %lld bytes is over the limit of %llu bytes", (long long) n,
                                         (unsigned long long) h->s.body_max);
                        return false;
                }
                return true;
        }
        /* A streamed body: the route decides from the headers whether it takes it. */
        if (req->route->upload->begin(req, &req->upload_state) < 0) {
                if (!req->response)
                        zero_reply_error(req, 500, "internal", "upload refused without a reply");
                return false;
        }
        req->uploading = true;
        return true;
}

int zero_http_body_parse(const void *body, size_t len, json_t **ret, struct zero_error *err) {
        json_error_t jerr;
        json_t *j = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);

        if (!j)
                return zero_error_set(err, -EINVAL, ZERO_E_MALFORMED, "body is not valid JSON: %s (line %d, column %d)",
                                      jerr.text, jerr.line, jerr.column);
        if (!json_is_object(j)) {
                json_decref(j);
                return zero_error_set(err, -EINVAL, ZERO_E_MALFORMED, "body must be a JSON object");
        }
        *ret = j;
        return 0;
}

/* While fn runs, the caller's name is published where the server's user wants it. */
static void run_as_caller(struct zero_request *req, void (*fn)(struct zero_request *req, void *arg), void *arg) {
        const char **slot = req->http->s.actor, *saved = slot ? *slot : NULL;

        if (slot)
                *slot = req->actor;
        fn(req, arg);
        if (slot)
                *slot = saved;
}

static void run_route(struct zero_request *req, void *arg) {
        req->route->fn(req);
}

static void dispatch(struct zero_request *req) {
        struct zero_error err = {};

        if (req->body_len > 0 && zero_http_body_parse(req->body, req->body_len, &req->json, &err) < 0)
                return zero_reply_zero_error(req, -EINVAL, &err);
        /* What the handler records (operations, events) names who asked. */
        run_as_caller(req, run_route, NULL);
        if (!req->response && !req->suspended)
                zero_reply_error(req, 500, "internal", "handler gave no reply");
}

static enum MHD_Result queue(struct zero_request *req) {
        enum MHD_Result ret;

        if (req->http->s.completed)
                req->http->s.completed(req, req->status, zero_monotonic_usec() - req->begun, req->http->s.userdata);
        ret = MHD_queue_response(req->conn, req->status, req->response);
        MHD_destroy_response(req->response);
        req->response = NULL;
        return ret;
}

static struct zero_request *request_new(struct daemon *d, struct MHD_Connection *conn) {
        struct zero_request *req = calloc(1, sizeof(*req));

        if (req)
                *req = (struct zero_request){.http = d->http, .daemon = d, .conn = conn};
        return req;
}

/*
 * libmicrohttpd calls this with the request line's URI before it parses the query. 0.9.75 keeps
 * each argument in the connection's memory pool, and when they do not fit, it queues its 431
 * but goes on parsing the headers, and the connection then hangs until its timeout with no
 * answer at all (row 11 of issue 10). So the arguments are counted here first, and a query with
 * too many is cut off in the buffer (its first byte after '?' made the end: the buffer is
 * libmicrohttpd's writable request line, const only in this prototype), for a JSON 414 later.
 */
void *http_on_uri(void *cls, const char *uri, struct MHD_Connection *conn) {
        struct zero_request *req = request_new(cls, conn);
        char *q = strchr(uri, '?');
        size_t n = 0;

        if (!req || !q)
                return req;
        for (const char *p = q; *p; p++)
                n += *p == '&' || *p == ';';
        if (n + 1 > HTTP_QUERY_ARGS_MAX || strlen(q) > HTTP_QUERY_MAX) {
                q[1] = '\0';
                req->query_cut = true;
        }
        return req;
}

enum MHD_Result http_on_access(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
                               const char *version, const char *upload_data, size_t *upload_data_size, void **con_cls) {
        struct daemon *d = cls;
        struct zero_request *req = *con_cls;

        if (!req || !req->method) {
                if (!req)
                        req = request_new(d, conn);
                if (!req)
                        return MHD_NO;
                req->begun = zero_monotonic_usec();
                req->method = strdup(method);
                req->url = strdup(url);
                *con_cls = req;
                http_conn_request_started(conn);
                if (!req->method || !req->url)
                        return MHD_NO;
                if (!request_precheck(req))
                        return queue(req);
                return MHD_YES;
        }
        if (req->response) { /* decided already: drop whatever body is still coming */
                *upload_data_size = 0;
                return queue(req);
        }
        if (*upload_data_size > 0 && req->uploading) {
                size_t n = *upload_data_size;
                *upload_data_size = 0;
                if (req->route->upload->data(req, req->upload_state, upload_data, n) < 0 && !req->response)
                        zero_reply_error(req, 500, "internal", "upload stopped without a reply");
                return MHD_YES;
        }
        if (*upload_data_size > 0) {
                size_t n = *upload_data_size;
                *upload_data_size = 0;
                if (req->body_len + n > req->http->s.body_max) {
                        zero_reply_error(req, 413, "too_large", "request body is over the limit of %llu bytes",
                                         (unsigned long long) req->http->s.body_max);
                        return MHD_YES;
                }
                char *nb = realloc(req->body, req->body_len + n + 1);
                if (!nb)
                        return MHD_NO;
                req->body = nb;
                memcpy(req->body + req->body_len, upload_data, n);
                req->body_len += n;
                return MHD_YES;
        }
        if (req->suspended)
                return MHD_YES;
        dispatch(req);
        if (req->suspended)
                return MHD_YES;
        return queue(req);
}

static void request_unpark(struct zero_request *req) {
        struct zero_http *h = req->http;

        if (req->prev)
                req->prev->next = req->next;
        else if (h->suspended == req)
                h->suspended = req->next;
        if (req->next)
                req->next->prev = req->prev;
        req->next = req->prev = NULL;
        req->wake_timer = sd_event_source_disable_unref(req->wake_timer);
        req->gone = sd_event_source_disable_unref(req->gone);
        if (req->suspended)
                h->n_suspended--;
}

void http_on_completed(void *cls, struct MHD_Connection *conn, void **con_cls, enum MHD_RequestTerminationCode toe) {
        struct zero_request *req = *con_cls;

        if (!req)
                return;
        http_conn_request_ended(conn);
        http_upgrade_request_ended(req);
        request_unpark(req);
        if (req->response)
                MHD_destroy_response(req->response);
        if (req->upload_state)
                req->route->upload->free(req->upload_state);
        free_params(req);
        json_decref(req->json);
        free(req->body);
        free(req->method);
        free(req->url);
        free(req->wake_key);
        free(req->actor);
        free(req->etag);
        free(req);
        *con_cls = NULL;
}

static void run_wake(struct zero_request *req, void *arg) {
        req->on_wake(req, *(bool *) arg, req->wake_userdata);
}

static void request_wake(struct zero_request *req, bool timed_out) {
        struct zero_http *h = req->http;

        request_unpark(req);
        run_as_caller(req, run_wake, &timed_out);
        if (!req->response)
                zero_reply_error(req, 500, "internal", "long-poll gave no reply");
        req->suspended = false;
        MHD_resume_connection(req->conn);
        /* With an external event loop a resumed connection is only looked at by the next
         * MHD_run(): have one run soon rather than wait for unrelated traffic, from a defer
         * source (http_on_kick), as a wake may come from inside MHD_run() itself. */
        (void) sd_event_source_set_enabled(h->kick, SD_EVENT_ONESHOT);
}

static int on_wake_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        request_wake(userdata, true);
        return 0;
}

/* The client went away (or half-closed): answer now, as for a timeout; libmicrohttpd then finds
 * the socket closed and frees the request. */
static int on_request_gone(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        struct zero_request *req = userdata;

        log_debug("%s %s: the client closed a parked request", req->method, ZERO_QUOTE(req->url));
        request_wake(req, true);
        return 0;
}

const char *zero_request_wake_key(struct zero_request *req) {
        return req->wake_key;
}

int zero_request_suspend(struct zero_request *req, const char *key, uint64_t timeout_usec, zero_wake_fn on_wake,
                         const void *userdata) {
        struct zero_http *h = req->http;
        int r;

        if (h->n_suspended >= h->s.max_parked)
                return -EBUSY;
        req->wake_key = strdup(key);
        if (!req->wake_key)
                return -ENOMEM;
        r = sd_event_add_time_relative(h->s.event, &req->wake_timer, CLOCK_MONOTONIC, timeout_usec, 10 * USEC_PER_MSEC,
                                       on_wake_timer, req);
        if (r >= 0)
                r = http_conn_watch_gone(h, req->conn, &req->gone, on_request_gone, req);
        if (r < 0) {
                req->wake_timer = sd_event_source_disable_unref(req->wake_timer);
                return r;
        }
        req->on_wake = on_wake;
        req->wake_userdata = userdata;
        req->suspended = true;
        h->n_suspended++;
        req->next = h->suspended;
        if (h->suspended)
                h->suspended->prev = req;
        h->suspended = req;
        MHD_suspend_connection(req->conn);
        return 0;
}

void zero_http_wake(struct zero_http *h, const char *key) {
        struct zero_request *req, *next;

        if (!h)
                return;
        for (req = h->suspended; req; req = next) {
                next = req->next;
                if (streq(req->wake_key, key))
                        request_wake(req, false);
        }
}

int zero_http_server_new(const struct zero_http_settings *s, struct zero_http **ret) {
        struct zero_http *h;
        int r;

        if (!s || !s->event || !s->routes || !s->authenticate || !ret)
                return -EINVAL;
        h = calloc(1, sizeof(*h));
        if (!h)
                return -ENOMEM;
        h->s = *s;
        r = sd_event_add_defer(s->event, &h->kick, http_on_kick, h);
        if (r < 0) {
                free(h);
                return r;
        }
        (void) sd_event_source_set_enabled(h->kick, SD_EVENT_OFF);
        *ret = h;
        return 0;
}

struct zero_http *zero_http_server_free(struct zero_http *h) {
        if (!h)
                return NULL;
        /* MHD refuses to stop with parked connections: answer them first. */
        while (h->suspended) {
                struct zero_request *req = h->suspended;
                request_unpark(req);
                zero_reply_error(req, 503, "shutting_down", "the server is shutting down");
                req->suspended = false;
                MHD_resume_connection(req->conn);
        }
        http_streams_end(h);
        http_upgrades_end(h);
        h->kick = sd_event_source_disable_unref(h->kick);
        http_daemons_stop(h);
        http_conns_free(h);
        assert(!h->streams);
        free(h);
        return NULL;
}
