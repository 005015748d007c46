/* SPDX-License-Identifier: Apache-2.0 */
#include "agent/http.h"

#include <arpa/inet.h>
#include <assert.h>
#include <microhttpd.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <systemd/sd-daemon.h>
#include <systemd/sd-event.h>

#include "agent/agent.h"
#include "agent/http_internal.h"
#include "common/log.h"
#include "common/util.h"

#define HTTP_LISTEN_BACKLOG 512
/* Per connection: headers and the response; request bodies are accumulated by us. */
#define CONNECTION_MEMORY_LIMIT (64 * 1024)
#define CONNECTION_TIMEOUT_S 60

void http_daemon_update_timer(struct daemon *d) {
        MHD_UNSIGNED_LONG_LONG ms;

        if (MHD_get_timeout(d->mhd, &ms) == MHD_YES) {
                (void) sd_event_source_set_time_relative(d->timer, ms * USEC_PER_MSEC);
                (void) sd_event_source_set_enabled(d->timer, SD_EVENT_ONESHOT);
        } else
                (void) sd_event_source_set_enabled(d->timer, SD_EVENT_OFF);
}

static int on_daemon_io(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        struct daemon *d = userdata;
        (void) MHD_run(d->mhd);
        http_daemon_update_timer(d);
        return 0;
}

static int on_daemon_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        return on_daemon_io(NULL, -1, 0, userdata);
}

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
        struct MHD_Response *resp = MHD_create_response_from_buffer(len, text, MHD_RESPMEM_MUST_FREE);
        if (!resp)
                free(text);
        http_set_response(req, status, resp, ctype);
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
        char msg[1024];

        vsnprintf(msg, sizeof(msg), fmt, ap);
        log_full_errno(status >= 500 ? LOG_ERR : LOG_INFO, 0, "%s %s: %u %s: %s", req->method, req->url, status,
                       code, msg);
        zero_reply_json(req, status, json_pack("{s:{s:s,s:s}}", "error", "code", code, "message", msg));
}

void zero_reply_error(struct zero_request *req, unsigned status, const char *code, const char *fmt, ...) {
        va_list ap;
        va_start(ap, fmt);
        reply_errorv(req, status, code, fmt, ap);
        va_end(ap);
}

void zero_reply_zero_error(struct zero_request *req, int r, const struct zero_error *e) {
        if (e && e->message[0])
                zero_reply_error(req, e->status ? (unsigned) e->status : 500, e->code[0] ? e->code : "internal", "%s",
                                 e->message);
        else
                zero_reply_error(req, 500, "internal", "%s", strerror(r < 0 ? -r : r));
}

void zero_reply_header(struct zero_request *req, const char *name, const char *value) {
        if (req->response)
                MHD_add_response_header(req->response, name, value);
}

/* --- request accessors --- */

struct zero_agent *zero_request_agent(struct zero_request *req) {
        return req->http->agent;
}

const char *zero_request_method(struct zero_request *req) {
        return req->method;
}

const char *zero_request_param(struct zero_request *req, unsigned idx) {
        return idx < MAX_PARAMS ? req->params[idx] : NULL;
}

const char *zero_request_query(struct zero_request *req, const char *key) {
        return MHD_lookup_connection_value(req->conn, MHD_GET_ARGUMENT_KIND, key);
}

const char *zero_request_header(struct zero_request *req, const char *name) {
        return MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, name);
}

json_t *zero_request_body(struct zero_request *req) {
        return req->json;
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

        for (const struct zero_route *r = req->http->routes; r->pattern; r++) {
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

static bool peer_allowed(struct zero_request *req) {
        const union MHD_ConnectionInfo *ci;
        struct ucred cred;
        socklen_t len = sizeof(cred);

        if (!req->daemon->is_unix)
                return true;
        ci = MHD_get_connection_info(req->conn, MHD_CONNECTION_INFO_CONNECTION_FD);
        if (!ci || getsockopt(ci->connect_fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0)
                return false;
        /* The unix socket is the privileged door: root, or the user zerod runs as. */
        return cred.uid == 0 || cred.uid == geteuid();
}

/* Checks made from the headers alone, before any body byte is read. */
static bool request_precheck(struct zero_request *req) {
        struct zero_config *cfg = req->http->agent->config;
        const char *len = MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
        const char *ctype = MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_TYPE);
        const char *te = MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_TRANSFER_ENCODING);
        bool has_body = (len && !streq(len, "0")) || te;
        int r;

        if (!peer_allowed(req)) {
                zero_reply_error(req, 403, "forbidden", "only root may use this socket");
                return false;
        }
        r = route_find(req);
        if (r == -ENOENT) {
                zero_reply_error(req, 404, "not_found", "no such endpoint: %s", req->url);
                return false;
        }
        if (r == -EOPNOTSUPP) {
                zero_reply_error(req, 405, "method_not_allowed", "%s is not allowed on %s", req->method, req->url);
                return false;
        }
        if (len) {
                int64_t n;
                if (zero_parse_int64(len, 0, INT64_MAX, &n) < 0) {
                        zero_reply_error(req, 400, "malformed", "bad Content-Length");
                        return false;
                }
                if ((uint64_t) n > cfg->body_max) {
                        zero_reply_error(req, 413, "too_large", "request body of %lld bytes is over the limit of %llu bytes",
                                         (long long) n, (unsigned long long) cfg->body_max);
                        return false;
                }
        }
        if (has_body) {
                size_t l = ctype ? strcspn(ctype, "; ") : 0;
                if (!ctype || l != strlen("application/json") || strncasecmp(ctype, "application/json", l) != 0) {
                        zero_reply_error(req, 415, "unsupported_media_type",
                                         "request bodies must be application/json, not %s", ctype ? ctype : "(none)");
                        return false;
                }
        }
        return true;
}

int zero_http_body_parse(const void *body, size_t len, json_t **ret, struct zero_error *err) {
        json_error_t jerr;
        json_t *j = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);

        if (!j)
                return zero_error_set(err, -EINVAL, 400, "malformed", "body is not valid JSON: %s (line %d, column %d)",
                                      jerr.text, jerr.line, jerr.column);
        if (!json_is_object(j)) {
                json_decref(j);
                return zero_error_set(err, -EINVAL, 400, "malformed", "body must be a JSON object");
        }
        *ret = j;
        return 0;
}

static void dispatch(struct zero_request *req) {
        struct zero_error err = {};

        if (req->body_len > 0 && zero_http_body_parse(req->body, req->body_len, &req->json, &err) < 0)
                return zero_reply_zero_error(req, -EINVAL, &err);
        req->route->fn(req);
        if (!req->response && !req->suspended)
                zero_reply_error(req, 500, "internal", "handler gave no reply");
}

static enum MHD_Result queue(struct zero_request *req) {
        enum MHD_Result ret = MHD_queue_response(req->conn, req->status, req->response);
        MHD_destroy_response(req->response);
        req->response = NULL;
        return ret;
}

static enum MHD_Result on_access(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
                                 const char *version, const char *upload_data, size_t *upload_data_size,
                                 void **con_cls) {
        struct daemon *d = cls;
        struct zero_request *req = *con_cls;

        if (!req) {
                req = calloc(1, sizeof(*req));
                if (!req)
                        return MHD_NO;
                req->http = d->http;
                req->daemon = d;
                req->conn = conn;
                req->method = strdup(method);
                req->url = strdup(url);
                *con_cls = req;
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
        if (*upload_data_size > 0) {
                size_t n = *upload_data_size;
                *upload_data_size = 0;
                if (req->body_len + n > req->http->agent->config->body_max) {
                        zero_reply_error(req, 413, "too_large", "request body is over the limit of %llu bytes",
                                         (unsigned long long) req->http->agent->config->body_max);
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
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls, enum MHD_RequestTerminationCode toe) {
        struct zero_request *req = *con_cls;

        if (!req)
                return;
        request_unpark(req);
        if (req->response)
                MHD_destroy_response(req->response);
        free_params(req);
        json_decref(req->json);
        free(req->body);
        free(req->method);
        free(req->url);
        free(req->wake_key);
        free(req);
        *con_cls = NULL;
}

static void request_wake(struct zero_request *req, bool timed_out) {
        struct zero_http *h = req->http;

        request_unpark(req);
        req->on_wake(req, timed_out);
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

int zero_request_suspend(struct zero_request *req, const char *key, uint64_t timeout_usec, zero_wake_fn on_wake) {
        struct zero_http *h = req->http;
        int r;

        req->wake_key = strdup(key);
        if (!req->wake_key)
                return -ENOMEM;
        r = sd_event_add_time_relative(h->agent->event, &req->wake_timer, CLOCK_MONOTONIC, timeout_usec, 10 * USEC_PER_MSEC,
                                       on_wake_timer, req);
        if (r < 0)
                return r;
        req->on_wake = on_wake;
        req->suspended = true;
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

/* --- listening --- */

static int listen_unix(const char *path, int *ret_fd) {
        struct sockaddr_un sa = {.sun_family = AF_UNIX};
        _cleanup_close_ int fd = -EBADF;
        _cleanup_free_ char *dir = NULL;
        char *slash;

        if (strlen(path) >= sizeof(sa.sun_path))
                return log_error_errno(ENAMETOOLONG, "Socket path too long: %s", path);
        dir = strdup(path);
        if (!dir)
                return -ENOMEM;
        slash = strrchr(dir, '/');
        if (slash && slash != dir) {
                *slash = '\0';
                (void) zero_mkdir_p(dir, 0755);
        }
        strcpy(sa.sun_path, path);
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (fd < 0)
                return log_error_errno(errno, "Failed to create socket: %m");
        (void) unlink(path);
        if (bind(fd, (struct sockaddr *) &sa, sizeof(sa)) < 0)
                return log_error_errno(errno, "Failed to bind %s: %m", path);
        (void) chmod(path, 0660);
        if (listen(fd, HTTP_LISTEN_BACKLOG) < 0)
                return log_error_errno(errno, "Failed to listen on %s: %m", path);
        *ret_fd = TAKE_FD(fd);
        return 0;
}

static int listen_tcp(const char *spec, int *ret_fd) {
        _cleanup_free_ char *host = strdup(spec);
        struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE | AI_NUMERICSERV};
        struct addrinfo *res = NULL;
        _cleanup_close_ int fd = -EBADF;
        char *port;
        int r, one = 1;

        if (!host)
                return -ENOMEM;
        port = strrchr(host, ':');
        if (!port)
                return log_error_errno(EINVAL, "Listen address tcp:%s lacks a port", spec);
        *port++ = '\0';
        if (host[0] == '[' && host[strlen(host) - 1] == ']') {
                host[strlen(host) - 1] = '\0';
                memmove(host, host + 1, strlen(host));
        }
        r = getaddrinfo(host[0] ? host : NULL, port, &hints, &res);
        if (r != 0)
                return log_error_errno(EINVAL, "Cannot resolve listen address %s: %s", spec, gai_strerror(r));
        fd = socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
            bind(fd, res->ai_addr, res->ai_addrlen) < 0 || listen(fd, HTTP_LISTEN_BACKLOG) < 0) {
                r = -errno;
                freeaddrinfo(res);
                return log_error_errno(r, "Failed to listen on tcp:%s: %m", spec);
        }
        freeaddrinfo(res);
        *ret_fd = TAKE_FD(fd);
        return 0;
}

static void mhd_logger(void *cls, const char *fmt, va_list ap) {
        char buf[512];
        vsnprintf(buf, sizeof(buf), fmt, ap);
        buf[strcspn(buf, "\n")] = '\0';
        log_debug("microhttpd: %s", buf);
}

static int daemon_add(struct zero_http *h, int fd, bool is_unix, const char *unix_path) {
        struct zero_config *cfg = h->agent->config;
        struct daemon *d;
        const union MHD_DaemonInfo *info;
        int r;

        if (h->n_daemons >= ELEMENTSOF(h->daemons)) {
                safe_close(fd);
                return -E2BIG;
        }
        d = &h->daemons[h->n_daemons];
        *d = (struct daemon){.http = h, .is_unix = is_unix};
        d->mhd = MHD_start_daemon(MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_TURBO | MHD_USE_ERROR_LOG, 0, NULL,
                                  NULL, on_access, d, MHD_OPTION_EXTERNAL_LOGGER, mhd_logger, NULL, MHD_OPTION_LISTEN_SOCKET, fd, MHD_OPTION_NOTIFY_COMPLETED,
                                  on_completed, d, MHD_OPTION_CONNECTION_LIMIT, (unsigned) cfg->max_connections,
                                  MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t) CONNECTION_MEMORY_LIMIT,
                                  MHD_OPTION_CONNECTION_TIMEOUT, (unsigned) CONNECTION_TIMEOUT_S, MHD_OPTION_END);
        if (!d->mhd) {
                safe_close(fd);
                return log_error_errno(EIO, "Failed to start the HTTP server");
        }
        info = MHD_get_daemon_info(d->mhd, MHD_DAEMON_INFO_EPOLL_FD);
        if (!info)
                return log_error_errno(EIO, "HTTP server has no epoll fd");
        r = sd_event_add_io(h->agent->event, &d->io, info->epoll_fd, EPOLLIN, on_daemon_io, d);
        if (r < 0)
                return r;
        /* Accuracy 1 µs: libmicrohttpd asks for "now" (timeout 0) when a resumed connection needs
         * work; the default accuracy (250 ms) would delay the next request on it that long. */
        r = sd_event_add_time_relative(h->agent->event, &d->timer, CLOCK_MONOTONIC, 0, 1, on_daemon_timer, d);
        if (r < 0)
                return r;
        (void) sd_event_source_set_enabled(d->timer, SD_EVENT_OFF);
        if (unix_path && !(d->unix_path = strdup(unix_path)))
                return -ENOMEM;
        h->n_daemons++;
        return 0;
}

int zero_http_new(struct zero_agent *a, const struct zero_route *routes, struct zero_http **ret) {
        struct zero_http *h = calloc(1, sizeof(*h));
        int n_activated, r;

        if (!h)
                return -ENOMEM;
        h->agent = a;
        h->routes = routes;
        r = sd_event_add_defer(a->event, &h->kick, http_on_kick, h);
        if (r < 0) {
                free(h);
                return r;
        }
        (void) sd_event_source_set_enabled(h->kick, SD_EVENT_OFF);

        /* systemd socket activation: the passed sockets replace our own unix listeners. */
        n_activated = sd_listen_fds(1);
        for (int i = 0; i < n_activated; i++) {
                int fd = SD_LISTEN_FDS_START + i;
                bool is_unix = sd_is_socket(fd, AF_UNIX, SOCK_STREAM, 1) > 0;
                r = daemon_add(h, fd, is_unix, NULL);
                if (r < 0)
                        goto fail;
                log_info("Listening on socket-activated fd %d", fd);
        }
        for (size_t i = 0; i < a->config->n_listen; i++) {
                const char *l = a->config->listen[i];
                int fd = -EBADF;
                bool is_unix = strncmp(l, "unix:", 5) == 0;

                if (is_unix && n_activated > 0)
                        continue;
                r = is_unix ? listen_unix(l + 5, &fd) : listen_tcp(l + 4, &fd);
                if (r < 0)
                        goto fail;
                r = daemon_add(h, fd, is_unix, is_unix ? l + 5 : NULL);
                if (r < 0)
                        goto fail;
                log_info("Listening on %s", l);
        }
        *ret = h;
        return 0;
fail:
        zero_http_free(h);
        return r;
}

struct zero_http *zero_http_free(struct zero_http *h) {
        if (!h)
                return NULL;
        /* MHD refuses to stop with parked connections: answer them first. */
        while (h->suspended) {
                struct zero_request *req = h->suspended;
                request_unpark(req);
                zero_reply_error(req, 503, "shutting_down", "zerod is shutting down");
                req->suspended = false;
                MHD_resume_connection(req->conn);
        }
        http_streams_end(h);
        h->kick = sd_event_source_disable_unref(h->kick);
        for (size_t i = 0; i < h->n_daemons; i++) {
                struct daemon *d = &h->daemons[i];
                d->io = sd_event_source_disable_unref(d->io);
                d->timer = sd_event_source_disable_unref(d->timer);
                if (d->mhd) {
                        (void) MHD_run(d->mhd);
                        MHD_stop_daemon(d->mhd);
                }
                if (d->unix_path)
                        (void) unlink(d->unix_path);
                free(d->unix_path);
        }
        assert(!h->streams);
        free(h);
        return NULL;
}
