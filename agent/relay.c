/* SPDX-License-Identifier: Apache-2.0 */
/* The relay between an upgraded connection and a process's fds (relay.h). */
#include "agent/relay.h"

#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <termios.h>
#include <unistd.h>

#include "common/frame.h"
#include "common/http.h"
#include "common/log.h"
#include "common/util.h"

/* Output is read in chunks of this, each one frame; the buffer to the client holds a few. */
#define RELAY_CHUNK (16 * 1024)
#define RELAY_OUT_MAX (4 * (ZERO_FRAME_HEADER + RELAY_CHUNK))
/* Room for one whole frame of the largest size, so a frame is always taken whole. */
#define RELAY_IN_MAX (ZERO_FRAME_HEADER + ZERO_FRAME_PAYLOAD_MAX)

struct zero_relay {
        struct zero_upgrade *u;
        int sock;
        struct zero_relay_fds f;
        sd_event_source *sock_src, *in_src, *out_src, *err_src;
        const struct zero_relay_ops *ops;
        void *userdata;

        uint8_t in[RELAY_IN_MAX]; /* from the client: frames not yet handled */
        size_t in_len;
        size_t stdin_off; /* of the first frame's payload, written to f.in already */
        uint8_t out[RELAY_OUT_MAX]; /* to the client: out[out_off..out_len) */
        size_t out_len, out_off;

        bool out_end, err_end; /* f.out, f.err reached their end (or there is none) */
        bool tty_pending; /* a terminal is to come (zero_relay_set_tty()): input waits for it */
        bool exited, exit_queued, over;
        int code, signal;
};

static bool out_room(struct zero_relay *r, size_t n) {
        if (r->out_off == r->out_len)
                r->out_off = r->out_len = 0;
        if (RELAY_OUT_MAX - r->out_len < n && r->out_off > 0) {
                memmove(r->out, r->out + r->out_off, r->out_len - r->out_off);
                r->out_len -= r->out_off;
                r->out_off = 0;
        }
        return RELAY_OUT_MAX - r->out_len >= n;
}

/* What each source waits for now; the exit frame once everything before it is queued. */
static void relay_update(struct zero_relay *r) {
        uint32_t ev = EPOLLRDHUP;

        if (r->exited && r->out_end && r->err_end && !r->exit_queued && out_room(r, ZERO_FRAME_HEADER + 8)) {
                zero_frame_header(ZERO_FRAME_EXIT, 8, r->out + r->out_len);
                zero_frame_exit_encode(r->code, r->signal, r->out + r->out_len + ZERO_FRAME_HEADER);
                r->out_len += ZERO_FRAME_HEADER + 8;
                r->exit_queued = true;
        }
        if (r->in_len < RELAY_IN_MAX)
                ev |= EPOLLIN;
        if (r->out_len > r->out_off)
                ev |= EPOLLOUT;
        (void) sd_event_source_set_io_events(r->sock_src, ev);
        bool room = out_room(r, ZERO_FRAME_HEADER + RELAY_CHUNK);
        if (r->out_src)
                (void) sd_event_source_set_enabled(r->out_src, room && !r->out_end ? SD_EVENT_ON : SD_EVENT_OFF);
        if (r->err_src)
                (void) sd_event_source_set_enabled(r->err_src, room && !r->err_end ? SD_EVENT_ON : SD_EVENT_OFF);
}

/* Ends the relay (once): the owner frees it in over(). The caller returns right after. */
static void relay_over(struct zero_relay *r, bool gone) {
        if (r->over)
                return;
        r->over = true;
        r->ops->over(r, gone, r->userdata);
}

static void close_in(struct zero_relay *r) {
        r->in_src = sd_event_source_disable_unref(r->in_src);
        r->f.in = safe_close(r->f.in);
}

/* Handles the client's complete frames: < 0 when the stream is broken. Stops at a STDIN frame
 * the process does not take yet (in_src then waits for it). */
static int consume(struct zero_relay *r) {
        for (;;) {
                struct zero_frame fr;
                int n = zero_frame_parse(r->in, r->in_len, &fr);

                if (n <= 0)
                        return n;
                if (r->tty_pending)
                        return 0;
                switch (fr.stream) {
                case ZERO_FRAME_STDIN:
                        while (r->f.in >= 0 && r->stdin_off < fr.len) {
                                ssize_t k = write(r->f.in, fr.payload + r->stdin_off, fr.len - r->stdin_off);
                                if (k < 0 && errno == EINTR)
                                        continue;
                                if (k < 0 && errno == EAGAIN) {
                                        (void) sd_event_source_set_enabled(r->in_src, SD_EVENT_ON);
                                        return 0;
                                }
                                if (k < 0) { /* EPIPE: the process closed its stdin; the rest is dropped */
                                        close_in(r);
                                        break;
                                }
                                r->stdin_off += (size_t) k;
                        }
                        break;
                case ZERO_FRAME_STDIN_EOF:
                        if (r->f.tty && r->f.in >= 0) /* a terminal's end of input: ^D */
                                (void) write(r->f.in, "\x04", 1);
                        else
                                close_in(r);
                        break;
                case ZERO_FRAME_RESIZE:
                        if (r->f.tty && r->f.in >= 0) {
                                struct winsize ws = {};
                                unsigned rows, cols;

                                zero_frame_resize_decode(&fr, &rows, &cols);
                                ws.ws_row = (unsigned short) rows;
                                ws.ws_col = (unsigned short) cols;
                                (void) ioctl(r->f.in, TIOCSWINSZ, &ws);
                        }
                        break;
                default:
                        return -EBADMSG; /* only the server sends the others */
                }
                r->stdin_off = 0;
                memmove(r->in, r->in + n, r->in_len - (size_t) n);
                r->in_len -= (size_t) n;
                if (r->in_src)
                        (void) sd_event_source_set_enabled(r->in_src, SD_EVENT_OFF);
        }
}

static int on_in(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        struct zero_relay *r = userdata;

        (void) sd_event_source_set_enabled(s, SD_EVENT_OFF);
        if (consume(r) < 0) {
                log_notice("exec: the client broke its stream");
                relay_over(r, true);
                return 0;
        }
        relay_update(r);
        return 0;
}

static int on_sock(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        struct zero_relay *r = userdata;

        if (revents & EPOLLOUT) {
                while (r->out_len > r->out_off) {
                        ssize_t k = send(fd, r->out + r->out_off, r->out_len - r->out_off, MSG_NOSIGNAL | MSG_DONTWAIT);
                        if (k < 0 && errno == EINTR)
                                continue;
                        if (k < 0 && errno == EAGAIN)
                                break;
                        if (k < 0) {
                                relay_over(r, true);
                                return 0;
                        }
                        r->out_off += (size_t) k;
                }
                if (r->exit_queued && r->out_off == r->out_len) {
                        relay_over(r, false);
                        return 0;
                }
        }
        if ((revents & EPOLLIN) && r->in_len < RELAY_IN_MAX) {
                ssize_t k = recv(fd, r->in + r->in_len, RELAY_IN_MAX - r->in_len, MSG_DONTWAIT);
                if (k == 0 || (k < 0 && errno != EAGAIN && errno != EINTR)) {
                        relay_over(r, true);
                        return 0;
                }
                if (k > 0)
                        r->in_len += (size_t) k;
                if (consume(r) < 0) {
                        log_notice("exec: the client broke its stream");
                        relay_over(r, true);
                        return 0;
                }
        } else if (revents & (EPOLLRDHUP | EPOLLHUP | EPOLLERR)) {
                /* Gone while its input waits for the process: nothing more will be read. */
                relay_over(r, true);
                return 0;
        }
        relay_update(r);
        return 0;
}

static int on_output(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        struct zero_relay *r = userdata;
        bool is_err = s == r->err_src;
        ssize_t k;

        if (!out_room(r, ZERO_FRAME_HEADER + RELAY_CHUNK)) {
                relay_update(r);
                return 0;
        }
        k = read(fd, r->out + r->out_len + ZERO_FRAME_HEADER, RELAY_CHUNK);
        if (k < 0 && (errno == EAGAIN || errno == EINTR))
                return 0;
        if (k <= 0) { /* the end; EIO for a pty whose other side closed */
                if (is_err)
                        r->err_end = true;
                else
                        r->out_end = true;
                (void) sd_event_source_set_enabled(s, SD_EVENT_OFF);
        } else {
                zero_frame_header(is_err ? ZERO_FRAME_STDERR : ZERO_FRAME_STDOUT, (uint32_t) k, r->out + r->out_len);
                r->out_len += ZERO_FRAME_HEADER + (size_t) k;
        }
        relay_update(r);
        return 0;
}

static int add_sources(struct zero_relay *r, sd_event *e) {
        int k = 0;

        if (r->f.in >= 0 && !r->in_src) {
                k = sd_event_add_io(e, &r->in_src, r->f.in, EPOLLOUT, on_in, r);
                if (k >= 0)
                        k = sd_event_source_set_enabled(r->in_src, SD_EVENT_OFF);
        }
        if (k >= 0 && r->f.out >= 0 && !r->out_src)
                k = sd_event_add_io(e, &r->out_src, r->f.out, EPOLLIN, on_output, r);
        if (k >= 0 && r->f.err >= 0 && !r->err_src)
                k = sd_event_add_io(e, &r->err_src, r->f.err, EPOLLIN, on_output, r);
        return k;
}

int zero_relay_set_tty(struct zero_relay *r, int master, int dup) {
        int k;

        assert(r->f.in < 0 && r->f.out < 0);
        r->f.out = master;
        r->f.in = dup;
        r->tty_pending = false;
        r->out_end = false;
        k = add_sources(r, sd_event_source_get_event(r->sock_src));
        if (k >= 0)
                k = consume(r);
        if (k < 0)
                return k;
        relay_update(r);
        return 0;
}

int zero_relay_new(sd_event *e, struct zero_upgrade *u, int fd, const char *extra, size_t n_extra,
                   const struct zero_relay_fds *f, const struct zero_relay_ops *ops, void *userdata,
                   struct zero_relay **ret) {
        struct zero_relay *r = calloc(1, sizeof(*r));
        int k;

        if (!r) {
                zero_upgrade_close(u);
                safe_close(f->in);
                safe_close(f->out);
                safe_close(f->err);
                return -ENOMEM;
        }
        r->u = u;
        r->sock = fd;
        r->f = *f;
        r->ops = ops;
        r->userdata = userdata;
        r->tty_pending = f->tty && f->out < 0;
        r->out_end = f->out < 0 && !r->tty_pending;
        r->err_end = f->err < 0;
        k = sd_event_add_io(e, &r->sock_src, fd, EPOLLIN | EPOLLRDHUP, on_sock, r);
        if (k >= 0)
                k = add_sources(r, e);
        if (k >= 0 && n_extra > 0) {
                if (n_extra > RELAY_IN_MAX)
                        k = -EBADMSG;
                else {
                        memcpy(r->in, extra, n_extra);
                        r->in_len = n_extra;
                        k = consume(r);
                }
        }
        if (k < 0) {
                zero_relay_free(r);
                return k;
        }
        relay_update(r);
        *ret = r;
        return 0;
}

int zero_relay_start(sd_event *e, struct zero_upgrade *u, int fd, const char *extra, size_t n_extra,
                     struct zero_relay_fds *pending, const struct zero_relay_ops *ops, void *userdata,
                     struct zero_relay **ret) {
        struct zero_relay_fds f = *pending;

        *pending = (struct zero_relay_fds){.in = -EBADF, .out = -EBADF, .err = -EBADF};
        return zero_relay_new(e, u, fd, extra, n_extra, &f, ops, userdata, ret);
}

void zero_relay_exited(struct zero_relay *r, int code, int signal) {
        if (!r || r->exited)
                return;
        r->exited = true;
        r->code = code;
        r->signal = signal;
        if (r->tty_pending) { /* it ended before its terminal came: none will */
                r->tty_pending = false;
                r->out_end = true;
                r->in_len = 0; /* its input has nowhere to go */
        }
        relay_update(r);
}

struct zero_relay *zero_relay_free(struct zero_relay *r) {
        if (!r)
                return NULL;
        r->sock_src = sd_event_source_disable_unref(r->sock_src);
        r->in_src = sd_event_source_disable_unref(r->in_src);
        r->out_src = sd_event_source_disable_unref(r->out_src);
        r->err_src = sd_event_source_disable_unref(r->err_src);
        safe_close(r->f.in);
        safe_close(r->f.out);
        safe_close(r->f.err);
        zero_upgrade_close(r->u);
        free(r);
        return NULL;
}
