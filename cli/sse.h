/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/*
 * An incremental parser for Server-Sent Events (the WHATWG "event stream" format), for
 * GET /v1/events with Accept: text/event-stream. Bytes go in as the network hands them over,
 * split anywhere (inside a line, inside a "\r\n"); each complete event comes out once its
 * blank line arrives. Comment lines (": keepalive") and the "retry" field are skipped.
 * Pure: no network, so the unit tests can feed it byte by byte.
 */
#include <stdbool.h>
#include <stddef.h>

#include "common/macro.h"

/* A line longer than this is refused: zerod's frames are one event, a few KiB at most. */
#define ZEROCTL_SSE_LINE_MAX (1u << 20)

/* One event: id is the stream's last id ("" before any), type "" when the frame had none (the
 * spec's "message", which zerod never sends), data the data lines joined with '\n'. Returns 0
 * to go on, > 0 to stop the stream (zeroctl_sse_feed returns it), < 0 to fail. */
typedef int (*zeroctl_sse_fn)(const char *id, const char *type, const char *data,
                              void *userdata);

struct zeroctl_sse {
        zeroctl_sse_fn on_event;
        void *userdata;
        char *line; /* the line read so far, without its end */
        size_t line_len, line_cap;
        bool after_cr; /* the last byte ended a line with '\r': a '\n' next belongs to it */
        char *id, *type, *data;
        size_t data_len;
        bool has_data; /* a frame with no data line dispatches nothing, as the spec says */
};

void zeroctl_sse_init(struct zeroctl_sse *p, zeroctl_sse_fn on_event, void *userdata);
void zeroctl_sse_done(struct zeroctl_sse *p);
/* Parses len more bytes. Returns 0, the first non-zero return of on_event (the bytes after
 * that event are not parsed), -EMSGSIZE for an over-long line or -ENOMEM. */
int zeroctl_sse_feed(struct zeroctl_sse *p, const char *buf, size_t len);
