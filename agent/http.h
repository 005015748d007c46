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

struct zero_route {
        const char *method;
        const char *pattern; /* "/v1/instances/{}/start": each {} captures one path segment */
        zero_route_fn fn;
};

int zero_http_new(struct zero_agent *a, const struct zero_route *routes, struct zero_http **ret);
struct zero_http *zero_http_free(struct zero_http *h);

struct zero_agent *zero_request_agent(struct zero_request *req);
const char *zero_request_method(struct zero_request *req);
const char *zero_request_param(struct zero_request *req, unsigned idx);
const char *zero_request_query(struct zero_request *req, const char *key);
/* The parsed JSON body, or NULL when the request had none. */
json_t *zero_request_body(struct zero_request *req);

/* Replies (exactly one per request). The json is stolen. */
void zero_reply_json(struct zero_request *req, unsigned status, json_t *body);
void zero_reply_text(struct zero_request *req, unsigned status, const char *content_type, char *text, size_t len);
void zero_reply_empty(struct zero_request *req, unsigned status);
void zero_reply_error(struct zero_request *req, unsigned status, const char *code, const char *fmt, ...)
        __attribute__((format(printf, 4, 5)));
void zero_reply_zero_error(struct zero_request *req, int r, const struct zero_error *e);
/* Adds a header to the reply that is about to be sent (call after zero_reply_*). */
void zero_reply_header(struct zero_request *req, const char *name, const char *value);

/* Long-poll: parks the request until zero_http_wake(key) or the timeout, then calls on_wake,
 * which must reply. */
typedef void (*zero_wake_fn)(struct zero_request *req, bool timed_out);
int zero_request_suspend(struct zero_request *req, const char *key, uint64_t timeout_usec, zero_wake_fn on_wake);
void zero_http_wake(struct zero_http *h, const char *key);
