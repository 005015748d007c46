/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/*
 * What zero-shim and its client library share and nobody else needs: the socket address of
 * DIR/shim.sock and the text of the exit record and of the "exited" reply. Internal: zerod uses
 * client.h only.
 */
#include <stddef.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "shim/client.h"

#ifndef assert_return
/* Public entry points refuse bad arguments instead of crashing (systemd's assert_return). */
#define assert_return(expr, r)                                                                     \
        do {                                                                                       \
                if (!(expr))                                                                       \
                        return (r);                                                                \
        } while (0)
#endif

/* DIR/shim.sock as a sockaddr. sun_path holds 108 bytes; a longer path is reached through
 * /proc/self/fd/N/shim.sock of an O_PATH fd on DIR, returned in *ret_dir_fd (-EBADF when not
 * needed), which the caller closes after bind() or connect(). */
int zero_shim_sockaddr(const char *dir, struct sockaddr_un *ret, socklen_t *ret_len, int *ret_dir_fd);
/* That address, and a new socket for it (SOCK_SEQPACKET, non-blocking, close-on-exec) to
 * connect() or bind(): the fd, or -errno. */
int zero_shim_socket(const char *dir, struct sockaddr_un *ret, socklen_t *ret_len, int *ret_dir_fd);

/* The refusal of "attach" by a shim started without --stdin-pipe (after "error "): the client
 * tells it from others (-ENXIO). */
#define ZERO_SHIM_NO_STDIN "the instance's stdin is not kept (no --stdin-pipe)"

/* "pid=P\ncode=C\nsignal=S\ntime=USEC\n" (the exit file) or "exited pid=P code=C signal=S"
 * (the reply to status and wait). Return the length, or -ENOBUFS if size is too small. */
int zero_shim_format_exit_record(const struct zero_shim_exit *e, char *buf, size_t size);
int zero_shim_format_exited(const struct zero_shim_exit *e, char *buf, size_t size);
