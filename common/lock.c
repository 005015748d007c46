/* SPDX-License-Identifier: Apache-2.0 */
/* The single-owner locks of the state and run directories (lock.h). */
#include "common/lock.h"

#include <fcntl.h>
#include <stdio.h>
#include <sys/file.h>
#include <sys/stat.h>

#include "common/util.h"

/* The pid the holder wrote, 0 when it has not written it yet (it locks first, then writes). */
static long holder_pid(int fd) {
        char buf[24] = "";
        ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);
        long pid = 0;

        if (n > 0 && sscanf(buf, "%ld", &pid) != 1)
                pid = 0;
        return pid > 0 ? pid : 0;
}

int zero_lock_dir(const char *dir, const char *who, int *ret_fd, struct zero_error *err) {
        _cleanup_free_ char *path = zero_strdup_printf("%s/%s.lock", dir, who);
        _cleanup_close_ int fd = -EBADF;
        char pid[24];
        int len;

        if (!path)
                return zero_error_default(err, -ENOMEM, "Failed to lock");
        fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
        if (fd < 0)
                return zero_error_set(err, -errno, ZERO_E_INTERNAL, "cannot open the lock file %s: %s", path,
                                      strerror(errno));
        if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
                int r = -errno;
                long holder = holder_pid(fd);

                if (r != -EWOULDBLOCK)
                        return zero_error_set(err, r, ZERO_E_INTERNAL, "cannot lock %s: %s", path, strerror(-r));
                if (holder > 0)
                        return zero_error_set(err, -EBUSY, ZERO_E_CONFLICT,
                                              "another %s (pid %ld) holds %s (lock %s): one %s per directory",
                                              who, holder, dir, path, who);
                return zero_error_set(err, -EBUSY, ZERO_E_CONFLICT,
                                      "another %s (pid not written yet) holds %s (lock %s): one %s per directory",
                                      who, dir, path, who);
        }
        len = snprintf(pid, sizeof(pid), "%ld\n", (long) getpid());
        if (ftruncate(fd, 0) < 0 || pwrite(fd, pid, (size_t) len, 0) != len)
                return zero_error_set(err, -errno, ZERO_E_INTERNAL, "cannot write our pid into %s: %s", path,
                                      strerror(errno));
        *ret_fd = TAKE_FD(fd);
        return 0;
}

static bool same_dir(const char *a, const char *b) {
        struct stat sa, sb;

        return stat(a, &sa) >= 0 && stat(b, &sb) >= 0 && sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

int zero_lock_dirs(const char *state_dir, const char *run_dir, const char *who, int ret_fds[static 2],
                   struct zero_error *err) {
        int fds[2] = {-EBADF, -EBADF};
        int r;

        r = zero_lock_dir(state_dir, who, &fds[0], err);
        if (r < 0)
                return r;
        /* Two locks of one file from one process would conflict with each other. */
        if (!same_dir(state_dir, run_dir)) {
                r = zero_lock_dir(run_dir, who, &fds[1], err);
                if (r < 0) {
                        safe_close(fds[0]);
                        return r;
                }
        }
        ret_fds[0] = fds[0];
        ret_fds[1] = fds[1];
        return 0;
}
