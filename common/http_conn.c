/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Client connections, from accept to close: what libmicrohttpd does not bound itself.
 *
 *  - A header deadline. libmicrohttpd's timeout is an idle timeout, reset by every byte, so a
 *    client that sends a header byte every few seconds (slowloris) would hold its connection
 *    forever. A connection must have its request's headers in within header_timeout_s
 *    of being accepted (TLS handshake included), and the next request's within the idle timeout
 *    of the last one's end; past that it is shut down. One timer at the earliest deadline, off
 *    while no connection waits for headers: nothing wakes an idle server.
 *  - A parked connection (a long-poll, an event stream with nothing to send) is out of
 *    libmicrohttpd's sight: it would notice a client that went away only when it resumes. Its
 *    socket is watched for the peer's close (EPOLLRDHUP) meanwhile.
 */
#include <microhttpd.h>
#include <sys/epoll.h>
#include <sys/socket.h>

#include "common/http_internal.h"
#include "common/log.h"
#include "common/util.h"

static void sweep_arm(struct zero_http *h) {
        uint64_t next = 0;

        for (struct http_conn *c = h->conns; c; c = c->next)
                if (c->deadline && (!next || c->deadline < next))
                        next = c->deadline;
        if (!next) {
                (void) sd_event_source_set_enabled(h->sweep, SD_EVENT_OFF);
                return;
        }
        (void) sd_event_source_set_time(h->sweep, next);
        (void) sd_event_source_set_enabled(h->sweep, SD_EVENT_ONESHOT);
}

static int on_sweep(sd_event_source *s, uint64_t usec, void *userdata) {
        struct zero_http *h = userdata;
        uint64_t now = zero_monotonic_usec();

        for (struct http_conn *c = h->conns; c; c = c->next)
                if (c->deadline && c->deadline <= now) {
                        /* libmicrohttpd sees the end of the stream on its next read and closes. */
                        log_notice("Closing a connection that sent no complete request in time (fd %d)", c->fd);
                        (void) shutdown(c->fd, SHUT_RDWR);
                        c->deadline = 0;
                }
        sweep_arm(h);
        return 0;
}

static void set_deadline(struct http_conn *c, uint64_t timeout_s) {
        struct zero_http *h = c->http;

        c->deadline = zero_monotonic_usec() + timeout_s * USEC_PER_SEC;
        if (!h->sweep) {
                if (sd_event_add_time(h->s.event, &h->sweep, CLOCK_MONOTONIC, c->deadline, USEC_PER_SEC / 4,
                                      on_sweep, h) < 0) {
                        log_warning("Cannot arm the connection deadline timer");
                        return;
                }
        }
        sweep_arm(h);
}

void http_on_connection(void *cls, struct MHD_Connection *conn, void **socket_context,
                        enum MHD_ConnectionNotificationCode toe) {
        struct daemon *d = cls;
        struct zero_http *h = d->http;
        struct http_conn *c = *socket_context;

        if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
                const union MHD_ConnectionInfo *ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
                c = calloc(1, sizeof(*c));
                if (!c || !ci) {
                        /* Untracked: it still has libmicrohttpd's idle timeout. */
                        free(c);
                        return;
                }
                *c = (struct http_conn){.http = h, .fd = ci->connect_fd, .is_unix = d->is_unix, .next = h->conns};
                if (h->conns)
                        h->conns->prev = c;
                h->conns = c;
                *socket_context = c;
                set_deadline(c, (uint64_t) h->s.header_timeout_s);
                return;
        }
        if (!c)
                return;
        if (c->prev)
                c->prev->next = c->next;
        else
                h->conns = c->next;
        if (c->next)
                c->next->prev = c->prev;
        *socket_context = NULL;
        /* Its deadline goes with it: left armed, the timer woke an idle server idle_timeout_s
         * after its last client closed, to find nothing to do. */
        bool had_deadline = c->deadline != 0;
        free(c);
        if (had_deadline)
                sweep_arm(h);
}

struct http_conn *http_conn_of(struct MHD_Connection *conn) {
        const union MHD_ConnectionInfo *ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
        return ci ? ci->socket_context : NULL;
}

void http_conn_request_started(struct MHD_Connection *conn) {
        struct http_conn *c = http_conn_of(conn);

        if (c && c->deadline) {
                c->deadline = 0;
                sweep_arm(c->http);
        }
}

void http_conn_request_ended(struct MHD_Connection *conn) {
        struct http_conn *c = http_conn_of(conn);

        /* An upgraded connection is its owner's: no next request to wait for. */
        if (c && !c->upgraded)
                set_deadline(c, (uint64_t) c->http->s.idle_timeout_s);
}

int http_conn_watch_gone(struct zero_http *h, struct MHD_Connection *conn, sd_event_source **ret,
                         sd_event_io_handler_t fn, void *userdata) {
        const union MHD_ConnectionInfo *ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);

        if (!ci)
                return -EBADF;
        /* Only the peer's close: data the client pipelines meanwhile is libmicrohttpd's. */
        return sd_event_add_io(h->s.event, ret, ci->connect_fd, EPOLLRDHUP, fn, userdata);
}

void http_conns_free(struct zero_http *h) {
        h->sweep = sd_event_source_disable_unref(h->sweep);
}
