/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Streamed replies (Server-Sent Events): a chunked body that a fill callback writes into as
 * there is something to say, on libmicrohttpd's content reader; a connection with nothing to send
 * is suspended until a wake, its keepalive or the server's stop.
 */
#include <string.h>

#include "common/http_internal.h"
#include "common/log.h"
#include "common/util.h"

/* The MHD_run() for resumed streams happens from a defer source rather than right away: a wake
 * can come from inside a request handler, that is from inside MHD_run() itself. */
int http_on_kick(sd_event_source *s, void *userdata) {
        struct zero_http *h = userdata;

        for (size_t i = 0; i < h->n_daemons; i++) {
                (void) MHD_run(h->daemons[i].mhd);
                http_daemon_update_timer(&h->daemons[i]);
        }
        return 0;
}

static void stream_resume(struct zero_stream *s) {
        if (!s->parked)
                return;
        s->parked = false;
        s->gone = sd_event_source_disable_unref(s->gone);
        MHD_resume_connection(s->conn);
        (void) sd_event_source_set_enabled(s->http->kick, SD_EVENT_ONESHOT);
}

int zero_stream_write(struct zero_stream *s, const char *data, size_t len) {
        size_t keep = s->len - s->off;
        char *nb;

        if (keep > 0 && keep + len > ZERO_STREAM_BUFFER_MAX)
                return -ENOBUFS;
        if (s->off > 0) { /* drop what was handed on already */
                memmove(s->buf, s->buf + s->off, keep);
                s->off = 0;
                s->len = keep;
        }
        nb = realloc(s->buf, s->len + len);
        if (!nb)
                return -ENOMEM;
        memcpy(nb + s->len, data, len);
        s->buf = nb;
        s->len += len;
        return 0;
}

static int on_stream_gone(sd_event_source *src, int fd, uint32_t revents, void *userdata) {
        struct zero_stream *s = userdata;

        s->ending = true;
        stream_resume(s);
        return 0;
}

/* libmicrohttpd's content reader. Returning 0 bytes makes it ask again on every MHD_run(), so
 * with nothing to give the connection is suspended until a wake, the keepalive or shutdown. */
static ssize_t stream_read(void *cls, uint64_t pos, char *out, size_t max) {
        struct zero_stream *s = cls;
        size_t n;

        if (s->off == s->len) {
                s->off = s->len = 0;
                if (s->ending)
                        return MHD_CONTENT_READER_END_OF_STREAM;
                while (s->dirty && s->len == 0 && !s->ending) {
                        int r = s->fill(s, s->userdata);
                        if (r < 0) {
                                log_warning_errno(r, "Ending an event stream: %m");
                                return MHD_CONTENT_READER_END_WITH_ERROR;
                        }
                        s->dirty = r == 1;
                        s->ending = r == ZERO_STREAM_END;
                }
                if (s->len == 0 && s->ending)
                        return MHD_CONTENT_READER_END_OF_STREAM;
                if (s->len == 0 && s->keepalive_due && !s->raw && zero_stream_write(s, ": keepalive\n\n", 13) < 0)
                        return MHD_CONTENT_READER_END_WITH_ERROR;
                s->keepalive_due = false;
        }
        if (s->off == s->len) {
                s->parked = true;
                /* A client that goes away while nothing is to be sent is noticed at once, not at
                 * the next keepalive. */
                if (http_conn_watch_gone(s->http, s->conn, &s->gone, on_stream_gone, s) < 0)
                        log_debug("Cannot watch an event stream's client; its keepalive will find out");
                MHD_suspend_connection(s->conn);
                return 0;
        }
        n = s->len - s->off < max ? s->len - s->off : max;
        memcpy(out, s->buf + s->off, n);
        s->off += n;
        if (s->off == s->len && s->len > ZERO_STREAM_BUFFER_MAX / 4) { /* no big buffer kept while idle */
                s->buf = mfree(s->buf);
                s->off = s->len = 0;
        }
        (void) sd_event_source_set_time_relative(s->keepalive, ZERO_STREAM_KEEPALIVE_USEC);
        (void) sd_event_source_set_enabled(s->keepalive, SD_EVENT_ONESHOT);
        return (ssize_t) n;
}

static int on_stream_keepalive(sd_event_source *src, uint64_t usec, void *userdata) {
        struct zero_stream *s = userdata;

        s->keepalive_due = true;
        stream_resume(s);
        return 0;
}

/* The response's free callback: called when libmicrohttpd is done with the connection's
 * response, whether the client went away, the body ended or the daemon stopped. A stream is
 * never parked here: connections are resumed before they can close. */
static void stream_free(void *cls) {
        struct zero_stream *s = cls;
        struct zero_http *h = s->http;

        if (s->prev)
                s->prev->next = s->next;
        else if (h->streams == s)
                h->streams = s->next;
        if (s->next)
                s->next->prev = s->prev;
        h->n_streams--;
        s->keepalive = sd_event_source_disable_unref(s->keepalive);
        s->gone = sd_event_source_disable_unref(s->gone);
        if (s->free_userdata)
                s->free_userdata(s->userdata);
        free(s->buf);
        free(s);
}

static void reply_stream(struct zero_request *req, const char *content_type, zero_stream_fill_fn fill,
                         void (*free_userdata)(void *), void *userdata, bool raw) {
        struct zero_http *h = req->http;
        struct MHD_Response *resp;
        struct zero_stream *s;
        int r;

        if (h->n_streams >= ZERO_STREAMS_MAX) {
                if (free_userdata)
                        free_userdata(userdata);
                return zero_reply_error(req, 503, "busy", "too many event streams open (at most %d)", ZERO_STREAMS_MAX);
        }
        s = calloc(1, sizeof(*s));
        if (!s) {
                if (free_userdata)
                        free_userdata(userdata);
                return zero_reply_error(req, 500, "internal", "out of memory");
        }
        *s = (struct zero_stream){.http = h, .conn = req->conn, .fill = fill, .free_userdata = free_userdata,
                                  .userdata = userdata, .dirty = true, .raw = raw};
        r = sd_event_add_time_relative(h->s.event, &s->keepalive, CLOCK_MONOTONIC, ZERO_STREAM_KEEPALIVE_USEC,
                                       USEC_PER_SEC, on_stream_keepalive, s);
        /* From here on stream_free() undoes everything, through the response when there is one. */
        s->next = h->streams;
        if (h->streams)
                h->streams->prev = s;
        h->streams = s;
        h->n_streams++;
        if (r < 0) {
                stream_free(s);
                return zero_reply_error(req, 500, "internal", "cannot arm the keepalive: %s", strerror(-r));
        }
        /* libmicrohttpd sends the status and headers with the first body bytes: a comment line
         * lets a client see the stream open before the first event. */
        r = raw ? 0 : zero_stream_write(s, ": open\n\n", 8);
        if (r < 0) {
                stream_free(s);
                return zero_reply_error(req, 500, "internal", "out of memory");
        }
        resp = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 4096, stream_read, s, stream_free);
        if (!resp) {
                stream_free(s);
                return zero_reply_error(req, 500, "internal", "out of memory");
        }
        http_set_response(req, 200, resp, content_type);
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-cache");
}

void zero_reply_stream(struct zero_request *req, const char *content_type, zero_stream_fill_fn fill,
                       void (*free_userdata)(void *), void *userdata) {
        reply_stream(req, content_type, fill, free_userdata, userdata, false);
}

void zero_reply_stream_raw(struct zero_request *req, const char *content_type, zero_stream_fill_fn fill,
                           void (*free_userdata)(void *), void *userdata) {
        reply_stream(req, content_type, fill, free_userdata, userdata, true);
}

void zero_stream_wake(struct zero_stream *s) {
        if (!s)
                return;
        s->dirty = true;
        stream_resume(s);
}

void zero_http_streams_wake(struct zero_http *h) {
        if (!h)
                return;
        for (struct zero_stream *s = h->streams; s; s = s->next) {
                s->dirty = true;
                stream_resume(s);
        }
}

void http_streams_end(struct zero_http *h) {
        for (struct zero_stream *s = h->streams; s; s = s->next) {
                s->ending = true;
                s->dirty = s->keepalive_due = false;
                stream_resume(s);
        }
}
