/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/*
 * An HTTP/JSON server on an sd-event loop: libmicrohttpd in external-epoll mode (its epoll fd an
 * sd-event io source, its timeout an sd-event timer; no thread per request), routes in one
 * table, limits checked from the headers before a body is read, requests parked until their
 * answer is ready, Server-Sent Event streams. zerod's API (agent/http.c) and the card's
 * (card/api.c) are two users: each brings its routes, its listeners and who may ask (the
 * authenticate and authorize hooks); nothing here knows either.
 *
 * A request's life: the headers are in -> authenticate (the caller named: actor, role) -> the
 * query's size, UTF-8, the route (404, 405) -> authorize -> Content-Length, Content-Type and the
 * route's body kind (400, 413, 415) -> the body, JSON accumulated up to body_max or streamed to
 * the route's upload ops -> the route's fn, which replies or parks the request.
 */
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/http_errors.h"
#include "zero/error.h"

struct zero_http;
struct zero_request;
struct MHD_Connection;
typedef struct sd_event sd_event;

typedef void (*zero_route_fn)(struct zero_request *req);

/* What a route does with a request body, decided from the headers before a body byte is read.
 * A route that takes none answers a request with a body 400; nothing is buffered for it. */
enum {
        ZERO_BODY_NONE = 0,
        ZERO_BODY_JSON = 1 << 0,   /* application/json, a single object of at most body_max bytes,
                                    * parsed before fn runs (zero_request_body) */
        ZERO_BODY_UPLOAD = 1 << 1, /* any other type: streamed to the route's upload ops as it comes
                                    * (with ZERO_BODY_JSON too, application/json still means JSON) */
};

/* A streamed body (ZERO_BODY_UPLOAD). The route bounds its size itself: begin() sees
 * Content-Length (if any), data() sees every byte. */
struct zero_upload_ops {
        /* The headers are in (params, query and headers can be read), no body byte yet. 0: take the
         * body, with *ret_state the upload's state (not NULL). < 0: refused; begin() has replied, and the
         * body is dropped unread. */
        int (*begin)(struct zero_request *req, void **ret_state);
        /* The next chunk of the body. < 0: stop; data() has replied, the rest is dropped. */
        int (*data)(struct zero_request *req, void *state, const char *buf, size_t len);
        /* Called exactly once for every state begin() made, when the request ends (after fn, after a
         * refusal, or when the client went away): frees it, and removes what fn did not take. */
        void (*free)(void *state);
};

struct zero_route {
        const char *method;
        const char *pattern; /* "/v1/instances/{}/start": each {} captures one path segment */
        zero_route_fn fn;
        unsigned body;                       /* ZERO_BODY_* */
        const struct zero_upload_ops *upload; /* with ZERO_BODY_UPLOAD */
        bool admin; /* the server's higher role only, whatever the method (its authorize hook) */
};

/* What a server is: its loop, its routes, its limits and who may ask. */
struct zero_http_settings {
        sd_event *event;
        const struct zero_route *routes; /* ends with a route whose pattern is NULL */
        uint64_t body_max;               /* a JSON body's bytes (413 past it) */
        unsigned max_parked;             /* requests parked at once (zero_request_suspend) */
        unsigned max_connections;
        unsigned max_connections_per_client; /* per TCP client address; 0: no limit */
        unsigned header_timeout_s; /* a connection's request headers must be in within this */
        unsigned idle_timeout_s;   /* an idle connection is closed after this */
        /* Who asks, before anything else is looked at: names the caller with
         * zero_request_set_actor(), or replies (401, 403) and returns false. */
        bool (*authenticate)(struct zero_request *req, void *userdata);
        /* Once the route is known: whether the caller may take it; replies 403 and returns false
         * otherwise. NULL: everyone authenticated may. */
        bool (*authorize)(struct zero_request *req, void *userdata);
        /* Where the caller's name is published while its handler (or its wake) runs, NULL: nowhere.
         * zerod's core records it with the operations and events the request makes. */
        const char **actor;
        /* Each reply as it is queued: its status and the µs from the request's headers to it
         * (a parked request's wait included; a stream's is its opening). The route is
         * zero_request_route(), NULL for a request answered before it was routed (401, 404).
         * NULL: nothing. For counters: it must be quick, and must not reply. */
        void (*completed)(struct zero_request *req, unsigned status, uint64_t usec, void *userdata);
        void *userdata; /* for the hooks, and zero_http_userdata() */
};

/* TLS for a TCP listener (PEM strings, copied by libmicrohttpd's GnuTLS at the start). */
struct zero_http_tls {
        const char *cert_pem, *key_pem;
        const char *trust_pem;  /* client certificates signed by these are asked for; NULL: none */
        const char *priorities; /* GnuTLS priorities; NULL: TLS 1.2 and 1.3, GnuTLS's defaults */
};

int zero_http_server_new(const struct zero_http_settings *s, struct zero_http **ret);
/* Answers the parked requests (503 "shutting_down"), ends the streams, stops the listeners. */
struct zero_http *zero_http_server_free(struct zero_http *h);
/* Serves a listening socket (taken, also on failure): is_unix for an AF_UNIX one, unix_path
 * removed again when the server stops (NULL: leave it); tls for TLS on it (NULL: plain). */
int zero_http_server_listen(struct zero_http *h, int fd, bool is_unix, const char *unix_path,
                            const struct zero_http_tls *tls);
void *zero_http_userdata(struct zero_http *h);

/* Listening sockets (O_CLOEXEC, non-blocking). A unix one replaces what is at path (its directory
 * made if need be), owned by root and group gid (0660), or root's alone (0600) with gid -1. A TCP
 * one: "HOST:PORT", "[V6]:PORT", ":PORT" (every address); port 0 picks a free one. */
int zero_http_listen_unix(const char *path, gid_t gid, int *ret_fd);
int zero_http_listen_tcp(const char *spec, int *ret_fd);

struct zero_http *zero_request_server(struct zero_request *req);
const char *zero_request_method(struct zero_request *req);
const char *zero_request_url(struct zero_request *req);
const char *zero_request_param(struct zero_request *req, unsigned idx);
const char *zero_request_query(struct zero_request *req, const char *key);
const char *zero_request_header(struct zero_request *req, const char *name);
/* The route taken (NULL before routing: in authenticate). */
const struct zero_route *zero_request_route(struct zero_request *req);
/* Whether it came on a unix socket, and its connection (for peer credentials, TLS sessions). */
bool zero_request_is_unix(struct zero_request *req);
/* Which listener it came on: 0 for the first zero_http_server_listen(), 1 for the next... */
unsigned zero_request_listener(struct zero_request *req);
struct MHD_Connection *zero_request_connection(struct zero_request *req);
/* For authenticate: who asks (copied) and with which role (the server's own numbers). False
 * when out of memory (replied 500). */
bool zero_request_set_actor(struct zero_request *req, int role, const char *actor);
int zero_request_role(struct zero_request *req);
/* Who made the request: "uid:0" (the unix socket), "token:NAME", "cert:COMMON-NAME". */
const char *zero_request_actor(struct zero_request *req);
/* The parsed JSON body, or NULL when the request had none. */
json_t *zero_request_body(struct zero_request *req);
/* The state begin() made for a streamed body, or NULL when the request had none. */
void *zero_request_upload(struct zero_request *req);
/* How a request body becomes that: JSON (duplicate keys refused) holding an object; 400 otherwise. */
int zero_http_body_parse(const void *body, size_t len, json_t **ret, struct zero_error *err);

/* Replies (exactly one per request). The json is stolen. */
void zero_reply_json(struct zero_request *req, unsigned status, json_t *body);
void zero_reply_text(struct zero_request *req, unsigned status, const char *content_type, char *text, size_t len);
void zero_reply_empty(struct zero_request *req, unsigned status);
void zero_reply_error(struct zero_request *req, unsigned status, const char *code, const char *fmt, ...)
        __attribute__((format(printf, 4, 5)));
/* Answers e with the status and API code its domain code maps to (500 internal without one). */
void zero_reply_zero_error(struct zero_request *req, int r, const struct zero_error *e);
/* Conditional GETs (http_etag.c). Every 200 to a GET carries an ETag and is answered 304 Not
 * Modified, without a body, when the request's If-None-Match names it. By default the tag is made
 * from the body; a handler that knows a version of what it shows gives the tag here first (a
 * quoted string that changes whenever the body would): when If-None-Match names it, this has
 * replied 304 and returns true, and the handler makes no body. */
bool zero_request_etag(struct zero_request *req, const char *etag);
/* Adds a header to the reply that is about to be sent (call after zero_reply_*). */
void zero_reply_header(struct zero_request *req, const char *name, const char *value);

/* Parks the request until zero_http_wake(key) or the timeout (or the client's close, as a
 * timeout), then calls on_wake with userdata, which must reply: a long-poll, or a request that is
 * answered once the work it started has ended. -EBUSY when max_parked requests are parked
 * already. */
typedef void (*zero_wake_fn)(struct zero_request *req, bool timed_out, const void *userdata);
int zero_request_suspend(struct zero_request *req, const char *key, uint64_t timeout_usec, zero_wake_fn on_wake,
                         const void *userdata);
/* The key a parked request waits for (zero_request_suspend()), NULL for others. */
const char *zero_request_wake_key(struct zero_request *req);
void zero_http_wake(struct zero_http *h, const char *key);

/*
 * Streaming replies (Server-Sent Events): 200 with a chunked body that stays open. The stream
 * asks fill for more whenever its buffer is empty and something may have changed (it was just
 * opened, fill said it has more, or zero_http_streams_wake() was called); fill appends with
 * zero_stream_write() and returns 1 when it may have more right away, 0 when it has nothing
 * more for now (the connection is then parked until the next wake), ZERO_STREAM_END when the
 * body ends there, < 0 to break the stream off (an error).
 * When idle for ZERO_STREAM_KEEPALIVE_USEC the stream sends ": keepalive" itself, which is
 * also how a client that went away is noticed (a parked connection is not watched).
 * At most ZERO_STREAMS_MAX streams at once; beyond that the reply is 503 "busy".
 * userdata is owned by the stream and freed with free_userdata when it ends, also when it
 * could not be opened.
 */
#define ZERO_STREAMS_MAX 64
#define ZERO_STREAM_BUFFER_MAX (64 * 1024)
#define ZERO_STREAM_KEEPALIVE_USEC (15 * 1000000ULL)

struct zero_stream;
typedef int (*zero_stream_fill_fn)(struct zero_stream *s, void *userdata);
void zero_reply_stream(struct zero_request *req, const char *content_type, zero_stream_fill_fn fill,
                       void (*free_userdata)(void *), void *userdata);
/* The same for a body that is bytes as they come (a console followed): nothing but what fill
 * writes is sent, so no keepalive either (a client that goes away is noticed while the stream is
 * parked, by its connection's close). The status and headers go with the first bytes. */
void zero_reply_stream_raw(struct zero_request *req, const char *content_type, zero_stream_fill_fn fill,
                           void (*free_userdata)(void *), void *userdata);
/* fill's answer for the body's end: what it wrote is sent, then the body ends cleanly. */
#define ZERO_STREAM_END 2
/* Asks this stream's fill again (it follows something of its own that changed), from the loop. */
void zero_stream_wake(struct zero_stream *s);
/* Appends to the stream's buffer; -ENOBUFS when it holds something already and len would take it
 * over ZERO_STREAM_BUFFER_MAX (call again after the next fill: a single write always fits). */
int zero_stream_write(struct zero_stream *s, const char *data, size_t len);
/*
 * Upgrades (101 Switching Protocols): the connection leaves HTTP for a protocol of the route's
 * (zerod's exec and interactive console: common/frame.h). The handler checks everything first
 * and answers errors as usual; zero_reply_upgrade() is its answer once all is ready. When the
 * 101 has gone out, upgraded() is called from the loop with the connection's socket (with TLS,
 * the end of a socketpair libmicrohttpd relays through: read and write it, never close it) and
 * the bytes the client sent after its headers; from then on the owner drives the socket on the
 * loop, and ends with zero_upgrade_close(), which takes the socket back. When the 101 never goes
 * out (the client went away first), free_userdata is called instead. When the server stops,
 * stop(userdata) is called for each open upgrade, which must end it (zero_upgrade_close()).
 * At most ZERO_UPGRADES_MAX at once; a request's Upgrade header must name the protocol (400).
 */
#define ZERO_UPGRADES_MAX 64
struct zero_upgrade;
struct zero_upgrade_ops {
        void (*upgraded)(struct zero_upgrade *u, int fd, const char *extra, size_t n_extra, void *userdata);
        void (*free_userdata)(void *userdata);
        void (*stop)(void *userdata);
};
/* Whether the server has room for one more (else reply 503 before doing anything). */
bool zero_http_upgrade_room(struct zero_http *h);
/* Whether the request asks to be upgraded to protocol (Connection: Upgrade, Upgrade: protocol). */
bool zero_request_wants_upgrade(struct zero_request *req, const char *protocol);
/* The 101. On failure (out of memory, no room) the request is answered with an error and
 * free_userdata is called. */
void zero_reply_upgrade(struct zero_request *req, const char *protocol, const struct zero_upgrade_ops *ops,
                        void *userdata);
/* Done with the socket: libmicrohttpd closes the connection. Frees u. */
void zero_upgrade_close(struct zero_upgrade *u);

/* Something new may be there for the streams: every parked one asks its fill again. Safe to
 * call from anywhere, also from inside a request handler: the work happens from the loop. */
void zero_http_streams_wake(struct zero_http *h);
