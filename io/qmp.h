/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/*
 * An asynchronous QMP client on sd-event, for qemu-storage-daemon (softcard) and QEMU (vm plugin).
 *
 * The connection never blocks the loop: connect, reads and writes are non-blocking, and every
 * answer arrives through a callback from the loop. Life of a connection:
 *
 *   zero_qmp_new()       connect (or adopt a connected fd); wait for the greeting {"QMP": ...},
 *                        send qmp_capabilities; when it returns, the connection is ready:
 *                        callbacks.ready() is called and the commands queued so far are sent,
 *                        in order. The handshake is bounded by the default command timeout.
 *   zero_qmp_command()   queue {"execute", "arguments", "id": "zero-N"}; the reply is matched by
 *                        id, so any number of commands may be in flight and answered in any order.
 *   events               {"event": ...} messages go to callbacks.event(), in stream order with
 *                        the replies.
 *   closed               EOF, an I/O error, a protocol error or a handshake timeout: every pending
 *                        command is answered with the reason, then callbacks.closed() is called
 *                        once. Later commands fail with -ENOTCONN. The object stays until freed.
 *   zero_qmp_call()      a command sent and waited for, bounded: see below.
 *   zero_qmp_free()      pending commands are answered with -ECANCELED; closed() is not called.
 *
 * Reply callbacks get r = 0 and the "return" value (borrowed: json_incref() it to keep it), or
 * r < 0 with err set (never NULL then) and return_value NULL:
 *   -EIO          QMP answered {"error": ...}: err->code = its class ("GenericError", ...),
 *                 err->message = its desc;
 *   -ECONNRESET   the connection died before the reply;
 *   -ETIMEDOUT    no reply within the command's timeout (a late reply is dropped; the
 *                 connection stays usable). A command that was sent may still take effect:
 *                 callers query the state (query-block-exports, ...) before retrying;
 *   -EPROTO       the peer broke the protocol (the connection is closed), or this command's reply
 *                 could not be parsed (only this command fails; see below);
 *   -ECANCELED    zero_qmp_free() was called first.
 *
 * Invariants for callers:
 *  - Callbacks are only called from the event loop, or from zero_qmp_free() (-ECANCELED): never
 *    from inside zero_qmp_command(), which only queues, nor from inside zero_qmp_call(). So a
 *    callback may queue further commands, make a synchronous call, and may call zero_qmp_free()
 *    on its own connection.
 *  - Messages are newline-delimited JSON. A received line longer than ZERO_QMP_MESSAGE_MAX is a
 *    protocol error, which bounds what one connection buffers for reading (about 16 MiB + 128 KiB);
 *    a longer command is refused with -EMSGSIZE.
 *  - jansson has no unsigned 64-bit integers: a reply with an integer beyond INT64_MAX cannot be
 *    parsed. Framing by newline keeps the stream in sync, so only the command whose id the line
 *    carries fails (-EPROTO); an unparsable line without a known id closes the connection.
 *  - Every command and every received message is logged at debug level (cut at the logger's
 *    2 KiB line), as libvirt does: do not put secrets in arguments (pass files or fds instead).
 */
#include <jansson.h>
#include <stdint.h>
#include <systemd/sd-event.h>

#include "common/macro.h"
#include "zero/error.h"

/* Longest message accepted in either direction, newline excluded. */
#define ZERO_QMP_MESSAGE_MAX (16U * 1024U * 1024U)
/* Default per-command timeout, also the bound on the greeting + capabilities handshake. */
#define ZERO_QMP_TIMEOUT_USEC_DEFAULT (30ULL * 1000000ULL)

struct zero_qmp;

/* return_value: the "return" member when r >= 0 (borrowed), else NULL. err: set when r < 0. */
typedef void (*zero_qmp_reply_fn)(struct zero_qmp *q, int r, json_t *return_value,
                                  const struct zero_error *err, void *userdata);

struct zero_qmp_callbacks {
        /* Handshake done; commands queued before this have just been sent. */
        void (*ready)(struct zero_qmp *q, void *userdata);
        /* name: "BLOCK_EXPORT_DELETED", ...; data: the "data" member, may be NULL (borrowed);
         * timestamp_usec: QEMU's wall-clock timestamp of the event (CLOCK_REALTIME), 0 if none. */
        void (*event)(struct zero_qmp *q, const char *name, json_t *data, uint64_t timestamp_usec,
                      void *userdata);
        /* The connection is gone (r: -ECONNRESET, -EPROTO, -ETIMEDOUT, -ENOMEM), after the pending
         * commands were answered. Not called by zero_qmp_free(). */
        void (*closed)(struct zero_qmp *q, int r, const struct zero_error *err, void *userdata);
};

/* Connects to the unix stream socket at socket_path without blocking. Nobody listening yet gives
 * -ENOENT or -ECONNREFUSED at once (and -EAGAIN when the listen backlog is full): a caller that
 * has just started the daemon retries from a timer, or better hands the daemon a socket it
 * already listens on (QEMU: -chardev socket,fd=N,server=on), which leaves no race at all.
 * callbacks may be NULL (copied); userdata is passed to them. */
int zero_qmp_new(sd_event *e, const char *socket_path, const struct zero_qmp_callbacks *callbacks,
                 void *userdata, struct zero_qmp **ret);
/* The same over an already connected stream socket (socketpair, passed fd). Takes fd, also on
 * failure; it is made O_NONBLOCK, and should already be O_CLOEXEC. */
int zero_qmp_new_fd(sd_event *e, int fd, const struct zero_qmp_callbacks *callbacks, void *userdata,
                    struct zero_qmp **ret);
/* Accepts NULL; returns NULL. Safe from within any callback of q. */
struct zero_qmp *zero_qmp_free(struct zero_qmp *q);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct zero_qmp *, zero_qmp_free);

/* Queues a command; arguments (an object, or NULL) is stolen, also on failure. cb may be NULL.
 * Returns 0, or -ENOTCONN once closed, -EINVAL, -EMSGSIZE, -ENOMEM (cb is not called then). */
int zero_qmp_command(struct zero_qmp *q, const char *execute, json_t *arguments, zero_qmp_reply_fn cb,
                     void *userdata);
/* The same with its own timeout (0 = none). The timer runs from the call, so time spent waiting
 * for the handshake counts. */
int zero_qmp_command_timeout(struct zero_qmp *q, const char *execute, json_t *arguments,
                             uint64_t timeout_usec, zero_qmp_reply_fn cb, void *userdata);

/* The same command on the same connection, waited for: like sd_bus_call(), it reads the socket
 * itself (poll(), never the loop) until the reply or timeout_usec (0: the connection's timeout,
 * or the default if that is none; a call is always bounded), sending what is queued before it
 * and completing the handshake if need be. What arrives first (events, replies to commands
 * queued before, ready, closed) is kept in stream order and delivered from the loop once the
 * call returned, as sd-bus queues what it reads while it waits: no callback runs inside the
 * call, so the caller's state cannot change under it. While such deliveries are pending, later
 * arrivals queue behind them: callbacks see the stream's order. A reply so kept is no longer
 * pending (its timeout is off). Other commands' timeouts and the handshake's bound fire from
 * the loop only, so not during the call.
 * arguments (an object, or NULL) is stolen. Returns 0 and *ret (may be NULL; the caller's
 * reference) the "return" value, or the reply callback's r with err filled in: -EIO (QMP's
 * class in err->detail), -ETIMEDOUT (ZERO_E_TIMEOUT; a late reply is dropped, the connection
 * stays usable, the command may still take effect), -ECONNRESET, -EPROTO; -ENOTCONN once
 * closed, -EINVAL, -EMSGSIZE, -ENOMEM. It blocks its caller for up to timeout_usec: on an event
 * loop that is a stall for everybody, so callers bound it by what they can afford. */
int zero_qmp_call(struct zero_qmp *q, const char *execute, json_t *arguments, uint64_t timeout_usec, json_t **ret,
                  struct zero_error *err);

/* Waits, as zero_qmp_call() does, until the handshake is done: 0 once ready (ready() is then
 * delivered from the loop); the reason closed() gets once closed; -ETIMEDOUT after timeout_usec
 * (0: as zero_qmp_call()), the connection still waiting for its handshake's own bound. */
int zero_qmp_wait_ready(struct zero_qmp *q, uint64_t timeout_usec, struct zero_error *err);

/* Timeout for commands queued from now on (0 = none); during the handshake it also re-arms the
 * handshake's bound, from now. */
void zero_qmp_set_timeout(struct zero_qmp *q, uint64_t timeout_usec);
/* 1 when ready, 0 during the handshake, -ENOTCONN once closed. */
int zero_qmp_is_ready(const struct zero_qmp *q);
/* The peer's version from its greeting as major * 1000000 + minor * 1000 + micro (7.2.22 is
 * 7002022, as libvirt counts), for feature checks; -ENODATA before the greeting, or when the
 * greeting's version does not fit that (minor or micro above 999, major above 1999). */
int zero_qmp_version(const struct zero_qmp *q);
