/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/*
 * The HTTP front: libmicrohttpd driven from the agent's sd-event loop (its epoll fd is an
 * sd-event io source, its timeout an sd-event timer; no thread per request), routes in one
 * table, limits checked from the headers before a body is read.
 */
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "zero/error.h"

struct zero_agent;
struct zero_http;
struct zero_request;

typedef void (*zero_route_fn)(struct zero_request *req);

/* What a route does with a request body, decided from the headers before a body byte is read.
 * A route that takes none answers a request with a body 400; nothing is buffered for it. */
enum {
        ZERO_BODY_NONE = 0,
        ZERO_BODY_JSON = 1 << 0,   /* application/json, a single object of at most [limits] body_max
                                    * bytes, parsed before fn runs (zero_request_body) */
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
        bool admin;                          /* a GET that only the admin role may make */
};

int zero_http_new(struct zero_agent *a, const struct zero_route *routes, struct zero_http **ret);
struct zero_http *zero_http_free(struct zero_http *h);

struct zero_agent *zero_request_agent(struct zero_request *req);
const char *zero_request_param(struct zero_request *req, unsigned idx);
const char *zero_request_query(struct zero_request *req, const char *key);
const char *zero_request_header(struct zero_request *req, const char *name);
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
 * answered once the operation it made has ended (key: the operation's id, woken by the core's
 * "operation ended"). -EBUSY when [limits] max_parked requests are parked already. */
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
 * more for now (the connection is then parked until the next wake), < 0 to end the stream.
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
/* Appends to the stream's buffer; -ENOBUFS when it holds something already and len would take it
 * over ZERO_STREAM_BUFFER_MAX (call again after the next fill: a single write always fits). */
int zero_stream_write(struct zero_stream *s, const char *data, size_t len);
/* Something new may be there for the streams: every parked one asks its fill again. Safe to
 * call from anywhere, also from inside a request handler: the work happens from the loop. */
void zero_http_streams_wake(struct zero_http *h);
