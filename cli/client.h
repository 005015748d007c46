/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/*
 * zeroctl's HTTP client: one libcurl easy handle reused for every request (so a long-poll loop
 * keeps its connection), talking to zerod over TCP or over its unix socket.
 */
#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <jansson.h>

#include "common/macro.h"
#include "zero/error.h"

/* A response larger than this is refused: the largest legitimate one, the instance list at the
 * node's instance limit, is a few MiB. */
#define ZEROCTL_RESPONSE_MAX (64u << 20)
#define ZEROCTL_CONNECT_TIMEOUT_S 10
/* A request's timeout_s for no bound at all (a console followed). */
#define ZEROCTL_TIMEOUT_NONE UINT_MAX
/* sun_path is 108 bytes including the NUL. */
#define ZEROCTL_UNIX_PATH_MAX 107

/* Where zerod listens: "http://HOST[:PORT]" or "unix:/path" (also "unix:///path"). */
struct zeroctl_url {
        char *base;      /* what request paths are appended to, no trailing '/' */
        char *unix_path; /* NULL for TCP; then base is http://localhost */
};
int zeroctl_url_parse(const char *url, struct zeroctl_url *ret, struct zero_error *reterr);
void zeroctl_url_done(struct zeroctl_url *u);

/* Percent-encodes everything but RFC 3986 unreserved characters, for one path segment. */
char *zeroctl_path_escape(const char *s);

struct zeroctl_response {
        long status;
        char *body; /* NUL-terminated, never NULL after a successful request */
        size_t len;
        char *location;     /* Location header or NULL */
        char *content_type; /* Content-Type header or NULL */
};
void zeroctl_response_done(struct zeroctl_response *r);

struct zeroctl_http;
/* timeout_s bounds a request that is not a long-poll (image import copies a whole rootfs). */
/* A bearer token sent on TCP (never on the unix socket) and the CA file to check zerod's
 * certificate with; NULL or "" for none. */
int zeroctl_http_set_auth(struct zeroctl_http *h, const char *token, const char *cacert);
int zeroctl_http_new(const char *url, unsigned timeout_s, struct zeroctl_http **ret,
                     struct zero_error *reterr);
struct zeroctl_http *zeroctl_http_free(struct zeroctl_http *h);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct zeroctl_http *, zeroctl_http_free);

/* One request; body may be NULL (a POST then sends "{}"). timeout_s 0 means the handle's
 * default. Fails only when no HTTP response came back: any status is success here. */
int zeroctl_http_request(struct zeroctl_http *h, const char *method, const char *path,
                         const json_t *body, unsigned timeout_s, struct zeroctl_response *ret,
                         struct zero_error *reterr);

/* Turns an error response (status >= 400) into *reterr: the server's {"error":{...}} when it
 * sent one, else the first line of the body. Returns a -errno matching the status. */
int zeroctl_http_error(long status, const char *body, size_t len, struct zero_error *reterr);

/* A request whose answer is JSON (or nothing, for 204): errors >= 400 become *reterr,
 * 2xx bodies are parsed into *ret_json (NULL when empty). ret_ arguments may be NULL. */
int zeroctl_http_call(struct zeroctl_http *h, const char *method, const char *path,
                      const json_t *body, unsigned timeout_s, json_t **ret_json,
                      char **ret_location, struct zero_error *reterr);

/* Where an upload's body comes from: > 0 bytes, 0 at its end, < 0 to fail (with *reterr). */
typedef ssize_t (*zeroctl_http_read_fn)(void *userdata, void *buf, size_t len, struct zero_error *reterr);

/* POST path with a body read as it is sent (never held whole): size bytes, or chunked when size
 * is -1. No overall timeout, as an image of some GiB takes its time; a transfer that moves
 * nothing for a minute fails. The answer as zeroctl_http_call() gives it. */
int zeroctl_http_upload(struct zeroctl_http *h, const char *path, const char *content_type, int64_t size,
                        zeroctl_http_read_fn read, void *userdata, json_t **ret_json, char **ret_location,
                        struct zero_error *reterr);

/* What a stream's body goes to, chunk by chunk as it arrives: 0 goes on, > 0 ends the stream
 * (not an error), < 0 fails it. */
typedef int (*zeroctl_http_stream_fn)(const char *data, size_t len, void *userdata);

/* GET path with "Accept: content_type", for a body that does not end (Server-Sent Events):
 * each chunk goes to on_data as it comes. Returns 1 when on_data ended the stream, 0 when zerod
 * closed it; < 0 with *reterr when no connection was made, for an HTTP error (as
 * zeroctl_http_error says), an answer of another Content-Type (-EPROTONOSUPPORT), -ETIMEDOUT
 * after timeout_s (0: the handle's default) or idle_s (0: no bound) without a byte, or on_data's
 * error. */
int zeroctl_http_stream(struct zeroctl_http *h, const char *path, const char *content_type,
                        unsigned timeout_s, unsigned idle_s, zeroctl_http_stream_fn on_data,
                        void *userdata, struct zero_error *reterr);

/* client_upgrade.c: a request answered 101 Switching Protocols (POST path with body, asking for
 * protocol), after which the handle's connection is the caller's, read and written with
 * zeroctl_conn_recv/send (non-blocking: -EAGAIN; poll zeroctl_conn_fd()). *ret_extra (malloc'd)
 * holds the n bytes zerod sent after its 101. Another answer is an error as zeroctl_http_error()
 * makes it. */
int zeroctl_http_upgrade(struct zeroctl_http *h, const char *path, const json_t *body, const char *protocol,
                         char **ret_extra, size_t *ret_n_extra, struct zero_error *reterr);
int zeroctl_conn_fd(struct zeroctl_http *h);
/* *ret_n bytes went (send) or came (recv; 0 at the connection's end); -EAGAIN: none now. */
int zeroctl_conn_send(struct zeroctl_http *h, const void *buf, size_t len, size_t *ret_n);
int zeroctl_conn_recv(struct zeroctl_http *h, void *buf, size_t len, size_t *ret_n);
