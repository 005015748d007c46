/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/*
 * A relay between an upgraded connection, which speaks frames (common/frame.h), and a process's
 * fds, on zerod's loop: STDIN frames written to one fd, two fds read into STDOUT and STDERR
 * frames, and once the process has ended and both have reached their end, the EXIT frame. Never
 * blocking: every fd non-blocking, each direction one bounded buffer, and a full buffer stops
 * the reading that fills it (backpressure both ways: a client that reads slowly stops the
 * process's output, a process that reads slowly stops the client's input).
 * What runs is the owner's (agent/api_exec.c): the relay only says when it is over.
 */
#include <stdbool.h>
#include <stddef.h>
#include <systemd/sd-event.h>

struct zero_upgrade;
struct zero_relay;

struct zero_relay_fds {
        int in;   /* where STDIN frames go; -1: none (they are dropped) */
        int out;  /* read into STDOUT frames; -1: none */
        int err;  /* read into STDERR frames; -1: none */
        bool tty; /* out is a pty master and in a dup of it (epoll takes an fd once): EIO is its
                   * end, RESIZE frames size it, STDIN_EOF is a ^D. With out and in -1: the
                   * terminal comes later (zero_relay_set_tty()), the client's frames wait */
};

struct zero_relay_ops {
        /* The relay is over: gone is true when the client went away or broke the stream before
         * the EXIT frame was sent (what runs should then be killed), false once it was sent.
         * Called once, last: the owner frees the relay here (zero_relay_free()). */
        void (*over)(struct zero_relay *r, bool gone, void *userdata);
};

/* Takes fd, u and the fds in f (closed by zero_relay_free(), also on failure). extra: the bytes
 * the client sent after its request's headers (frames already). */
int zero_relay_new(sd_event *e, struct zero_upgrade *u, int fd, const char *extra, size_t n_extra,
                   const struct zero_relay_fds *f, const struct zero_relay_ops *ops, void *userdata,
                   struct zero_relay **ret);
/* zero_relay_new() with the fds an owner kept until the upgrade: taken from *pending (left -1). */
int zero_relay_start(sd_event *e, struct zero_upgrade *u, int fd, const char *extra, size_t n_extra,
                     struct zero_relay_fds *pending, const struct zero_relay_ops *ops, void *userdata,
                     struct zero_relay **ret);
/* The terminal that was to come (crun exec hands its pty master over once it made it): master
 * and dup (of it) taken, the client's waiting frames go to it. */
int zero_relay_set_tty(struct zero_relay *r, int master, int dup);
/* The process ended (code: 128+signal for a signal): the EXIT frame follows the output. */
void zero_relay_exited(struct zero_relay *r, int code, int signal);
/* Closes everything and ends the upgraded connection (zero_upgrade_close()). */
struct zero_relay *zero_relay_free(struct zero_relay *r);
