/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/* What http.c and http_stream.c share: the server's, a connection's and a stream's state. */
#include <microhttpd.h>
#include <systemd/sd-event.h>

#include "agent/config.h"
#include "agent/http.h"

#define MAX_PARAMS 4
struct daemon {
        struct zero_http *http;
        struct MHD_Daemon *mhd;
        sd_event_source *io, *timer;
        bool is_unix;
        char *unix_path; /* removed again on shutdown, unless it was handed to us */
};

struct zero_http {
        struct zero_agent *agent;
        const struct zero_route *routes;
        struct daemon daemons[ZERO_LISTEN_MAX + 8];
        size_t n_daemons;
        struct zero_request *suspended; /* list of parked long-polls */
        struct zero_stream *streams;    /* open event streams */
        unsigned n_streams;
        sd_event_source *kick; /* defer: MHD_run() for streams resumed by a wake */
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
        bool ending;        /* zerod is stopping: end the body */
        sd_event_source *keepalive;
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
        void *upload_state;

        struct MHD_Response *response;
        unsigned status;

        /* long-poll */
        bool suspended;
        char *wake_key;
        zero_wake_fn on_wake;
        sd_event_source *wake_timer;
        struct zero_request *next, *prev;
};

/* http.c */
void http_daemon_update_timer(struct daemon *d);
void http_set_response(struct zero_request *req, unsigned status, struct MHD_Response *resp, const char *ctype);

/* http_stream.c */
int http_on_kick(sd_event_source *s, void *userdata);
/* zerod stops: every stream ends its body; the daemons' stop then frees them. */
void http_streams_end(struct zero_http *h);
