/* SPDX-License-Identifier: Apache-2.0 */
#include "plugins/container/idmap.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/util.h"

static int write_map(pid_t pid, const char *file, uint32_t base, uint32_t size) {
        char path[64], map[64];
        _cleanup_close_ int fd = -EBADF;
        int n;

        snprintf(path, sizeof(path), "/proc/%d/%s", (int) pid, file);
        n = snprintf(map, sizeof(map), "0 %u %u\n", base, size);
        fd = open(path, O_WRONLY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        /* One write: the kernel takes a map in a single write(2) only. */
        return write(fd, map, (size_t) n) == n ? 0 : -errno;
}

int zero_userns_open(uint32_t base, uint32_t size) {
        _cleanup_close_ int ready_r = -EBADF, ready_w = -EBADF;
        char path[64], byte;
        int fds[2], fd, r, status;
        pid_t pid;

        if (size == 0 || base > UINT32_MAX - size)
                return -EINVAL;
        if (pipe2(fds, O_CLOEXEC) < 0)
                return -errno;
        ready_r = fds[0];
        ready_w = fds[1];
        /* The namespace needs a process to be made in and to write its maps for; it lives on
         * in the fd. Reaped right here by its pid, like the netns helper's child. */
        pid = fork();
        if (pid < 0)
                return -errno;
        if (pid == 0) {
                if (unshare(CLONE_NEWUSER) < 0)
                        _exit(1);
                (void) !write(ready_w, "u", 1);
                for (;;)
                        pause();
        }
        ready_w = safe_close(ready_w);
        r = read(ready_r, &byte, 1) == 1 ? 0 : -EPERM;
        if (r >= 0)
                r = write_map(pid, "uid_map", base, size);
        if (r >= 0)
                r = write_map(pid, "gid_map", base, size);
        if (r >= 0) {
                snprintf(path, sizeof(path), "/proc/%d/ns/user", (int) pid);
                fd = open(path, O_RDONLY | O_CLOEXEC);
                r = fd < 0 ? -errno : fd;
        }
        (void) kill(pid, SIGKILL);
        while (waitpid(pid, &status, 0) < 0)
                if (errno != EINTR)
                        break;
        return r;
}

int zero_mount_idmapped(const char *device, const char *fstype, const char *target, int userns_fd, unsigned attrs) {
        struct mount_attr attr = {.attr_set = MOUNT_ATTR_IDMAP, .userns_fd = (uint64_t) userns_fd};
        _cleanup_close_ int fs = -EBADF, mnt = -EBADF;

        if (!device || !fstype || !target || userns_fd < 0)
                return -EINVAL;
        /* The new mount API: only a mount not yet attached anywhere can be idmapped. */
        fs = fsopen(fstype, FSOPEN_CLOEXEC);
        if (fs < 0)
                return -errno;
        if (fsconfig(fs, FSCONFIG_SET_STRING, "source", device, 0) < 0 ||
            fsconfig(fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0)
                return -errno;
        mnt = fsmount(fs, FSMOUNT_CLOEXEC, attrs);
        if (mnt < 0)
                return -errno;
        if (mount_setattr(mnt, "", AT_EMPTY_PATH, &attr, sizeof(attr)) < 0)
                return -errno;
        if (move_mount(mnt, "", AT_FDCWD, target, MOVE_MOUNT_F_EMPTY_PATH) < 0)
                return -errno;
        return 0;
}
