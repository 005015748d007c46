/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/* What http.c, http_server.c, http_conn.c and http_stream.c share: the server's, a
 * connection's and a stream's state. */
#include <microhttpd.h>
#include <systemd/sd-event.h>

#include "common/http.h"

#define MAX_PARAMS 4
/* Query arguments a request may have: the API takes a handful. */
#define HTTP_QUERY_ARGS_MAX 64
#define HTTP_QUERY_MAX 8192
struct daemon {
        struct zero_http *http;
        struct MHD_Daemon *mhd;
        sd_event_source *io, *timer;
        bool is_unix;
        bool tls;
        unsigned index; /* the order of zero_http_server_listen() calls: zero_request_listener() */
        char *unix_path; /* removed again on shutdown, unless it was handed to us */
};

/* One client connection, from accept to close (MHD's socket context). */
struct http_conn {
        struct zero_http *http;
        int fd;
        bool is_unix;
        bool upgraded; /* a 101 was queued: no more requests, no header deadline */
        /* CLOCK_MONOTONIC µs by which the next request's headers must be in; 0 while a request
         * is being served. Past it the connection is shut down (a slowloris client). */
        uint64_t deadline;
        struct http_conn *next, *prev;
};

#define HTTP_DAEMONS_MAX 24

struct zero_http {
        struct zero_http_settings s;
        struct daemon daemons[HTTP_DAEMONS_MAX];
        size_t n_daemons;
        struct zero_request *suspended; /* list of parked long-polls */
        unsigned n_suspended;
        struct zero_stream *streams;    /* open event streams */
        unsigned n_streams;
        sd_event_source *kick; /* defer: MHD_run() for streams resumed by a wake */
        struct zero_upgrade *upgrades; /* open upgraded connections (and 101s being sent) */
        unsigned n_upgrades;
        struct http_conn *conns;
        sd_event_source *sweep; /* at the earliest connection deadline */
};

struct zero_stream {
        struct zero_http *http;
        struct MHD_Connection *conn;
        zero_stream_fill_fn fill;
        void (*free_userdata)(void *);
        void *userdata;
        char *buf; /* bytes not yet handed to libmicrohttpd: buf[off..len) */
        size_t len, off;
        bool parked;        /* suspended after the reader had nothing to give */
        bool dirty;         /* fill may have something: ask it when the buffer is empty */
        bool keepalive_due; /* idle for the keepalive interval */
        bool ending;        /* the server stops, or the client went away: end the body */
        bool raw;           /* the body as fill writes it: no comment lines, no keepalive */
        sd_event_source *keepalive;
        sd_event_source *gone; /* while parked: the client closing its end */
        struct zero_stream *next, *prev;
};

struct zero_request {
        struct zero_http *http;
        struct daemon *daemon;
        struct MHD_Connection *conn;
        char *method, *url;
        const struct zero_route *route;
        char *params[MAX_PARAMS];
        char *body; /* a JSON body as it comes */
        size_t body_len;
        json_t *json;
        bool uploading; /* the body goes to route->upload */
        bool query_cut; /* it had more than HTTP_QUERY_ARGS_MAX query arguments */
        void *upload_state;

        struct MHD_Response *response;
        unsigned status;
        struct zero_upgrade *upgrade; /* its 101, until the upgrade happened */
        char *etag; /* the reply's entity tag, given by the handler (zero_request_etag()) */

        uint64_t begun; /* CLOCK_MONOTONIC µs at its headers (the completed hook's duration) */
        char *actor; /* "uid:0", "token:ci", "cert:CN" */
        int role;    /* the server's own numbers (its authenticate hook's) */

        /* long-poll */
        bool suspended;
        char *wake_key;
        zero_wake_fn on_wake;
        const void *wake_userdata;
        sd_event_source *wake_timer;
        sd_event_source *gone; /* the client closing its end while parked */
        struct zero_request *next, *prev;
};

/* http.c */
void http_daemon_update_timer(struct daemon *d);
void http_set_response(struct zero_request *req, unsigned status, struct MHD_Response *resp, const char *ctype);
void *http_on_uri(void *cls, const char *uri, struct MHD_Connection *conn);
enum MHD_Result http_on_access(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
                               const char *version, const char *upload_data, size_t *upload_data_size, void **con_cls);
void http_on_completed(void *cls, struct MHD_Connection *conn, void **con_cls, enum MHD_RequestTerminationCode toe);
void http_requests_end(struct zero_http *h);

/* http_etag.c: conditional GETs */
#define HTTP_ETAG_MAX 64
/* The request is a GET whose If-None-Match names etag. */
bool http_not_modified(struct zero_request *req, const char *etag);
void http_reply_not_modified(struct zero_request *req, const char *etag);
/* A tag made from a body's bytes (quoted). */
void http_body_etag(const char *body, size_t len, char ret[HTTP_ETAG_MAX]);

/* http_server.c: the libmicrohttpd daemons */
void http_daemons_stop(struct zero_http *h);

/* http_conn.c: client connections */
void http_on_connection(void *cls, struct MHD_Connection *conn, void **socket_context,
                        enum MHD_ConnectionNotificationCode toe);
struct http_conn *http_conn_of(struct MHD_Connection *conn);
/* The request's headers are in (deadline off), or it ended (the next one's deadline on). */
void http_conn_request_started(struct MHD_Connection *conn);
void http_conn_request_ended(struct MHD_Connection *conn);
/* Calls fn(userdata) once when the client closes its end of a parked connection. */
int http_conn_watch_gone(struct zero_http *h, struct MHD_Connection *conn, sd_event_source **ret,
                         sd_event_io_handler_t fn, void *userdata);
void http_conns_free(struct zero_http *h);

/* http_upgrade.c */
/* The request ends: an upgrade that never happened is dropped. */
void http_upgrade_request_ended(struct zero_request *req);
/* The server stops: every open upgrade is told to end. */
void http_upgrades_end(struct zero_http *h);

/* http_stream.c */
int http_on_kick(sd_event_source *s, void *userdata);
/* The server stops: every stream ends its body; the daemons' stop then frees them. */
void http_streams_end(struct zero_http *h);
