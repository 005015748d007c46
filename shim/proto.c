/* SPDX-License-Identifier: Apache-2.0 */
#include "shim/proto.h"

#include <fcntl.h>
#include <stdio.h>
#include <string.h>

#include "common/macro.h"

int zero_shim_sockaddr(const char *dir, struct sockaddr_un *ret, socklen_t *ret_len, int *ret_dir_fd) {
        struct sockaddr_un sa = {.sun_family = AF_UNIX};
        int dir_fd = -EBADF;
        int n;

        assert_return(dir && ret && ret_len && ret_dir_fd, -EINVAL);

        n = snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/%s", dir, ZERO_SHIM_FILE_SOCKET);
        if (n < 0)
                return -EINVAL;
        if ((size_t) n >= sizeof(sa.sun_path)) {
                /* Run directories can be deep; the kernel resolves the magic link for us. */
                dir_fd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
                if (dir_fd < 0)
                        return -errno;
                snprintf(sa.sun_path, sizeof(sa.sun_path), "/proc/self/fd/%d/%s", dir_fd,
                         ZERO_SHIM_FILE_SOCKET);
        }
        *ret = sa;
        *ret_len = (socklen_t) (offsetof(struct sockaddr_un, sun_path) + strlen(sa.sun_path) + 1);
        *ret_dir_fd = dir_fd;
        return 0;
}

int zero_shim_socket(const char *dir, struct sockaddr_un *ret, socklen_t *ret_len, int *ret_dir_fd) {
        int r = zero_shim_sockaddr(dir, ret, ret_len, ret_dir_fd);
        int fd;

        if (r < 0)
                return r;
        fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        return fd < 0 ? -errno : fd;
}

int zero_shim_format_exit_record(const struct zero_shim_exit *e, char *buf, size_t size) {
        int n;

        assert_return(e && buf, -EINVAL);
        n = snprintf(buf, size, "pid=%d\ncode=%d\nsignal=%d\ntime=%llu\n", (int) e->pid, e->code,
                     e->signal, (unsigned long long) e->time);
        if (n < 0 || (size_t) n >= size)
                return -ENOBUFS;
        return n;
}

int zero_shim_format_exited(const struct zero_shim_exit *e, char *buf, size_t size) {
        int n;

        assert_return(e && buf, -EINVAL);
        n = snprintf(buf, size, "exited pid=%d code=%d signal=%d", (int) e->pid, e->code, e->signal);
        if (n < 0 || (size_t) n >= size)
                return -ENOBUFS;
        return n;
}
