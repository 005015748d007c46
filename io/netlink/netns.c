/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Persistent network namespaces, bound to a file as `ip netns add` does with /run/netns/NAME: the
 * namespace lives as long as that bind mount, whatever processes come and go in it, so a
 * container's NIC can be attached before its runtime starts and outlive a restart of it.
 *
 * zerod must never change its own namespace (it has no threads, so a setns() that went wrong
 * half way would leave the whole daemon in a container's network): a short-lived forked child
 * makes the namespace and binds it, the parent only waits for it.
 */
#include "io/netlink/netlink.h"

#include <fcntl.h>
#include <linux/magic.h>
#include <linux/nsfs.h>
#include <net/if.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/wait.h>

/* A namespace stacked more than this often on one path is someone else's doing: give up. */
#define ZERO_NETNS_MAX_UNMOUNTS 16

/* 0 if fd is a network namespace (an nsfs file of type net), -EMEDIUMTYPE if it is anything else:
 * a file whose mount went away (a remove, a reboot of /run) or another kind of namespace. */
static int netns_fd_check(int fd) {
        struct statfs s;
        int type;

        if (fstatfs(fd, &s) < 0)
                return -errno;
        if (s.f_type != NSFS_MAGIC)
                return -EMEDIUMTYPE;
        type = ioctl(fd, NS_GET_NSTYPE);
        if (type < 0)
                return -errno;
        return type == CLONE_NEWNET ? 0 : -EMEDIUMTYPE;
}

int zero_netns_open_path(const char *path) {
        _cleanup_close_ int fd = -EBADF;
        int r;

        if (!path || !*path)
                return -EINVAL;
        fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        r = netns_fd_check(fd);
        return r < 0 ? r : TAKE_FD(fd);
}

/* The mount point: a new empty file, or an empty regular file that a create interrupted between
 * making the file and binding it left behind. Anything else at path is not ours: -EEXIST. */
static int netns_file_make(const char *path) {
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0444);
        struct statfs sfs;
        struct stat st;

        if (fd >= 0)
                return 0;
        if (errno != EEXIST)
                return -errno;
        fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
                return errno == ELOOP ? -EEXIST : -errno;
        if (fstat(fd, &st) < 0 || fstatfs(fd, &sfs) < 0)
                return -errno;
        /* An nsfs file looks like an empty regular file too: never stack a namespace on one. */
        if (!S_ISREG(st.st_mode) || st.st_size != 0 || sfs.f_type == NSFS_MAGIC)
                return -EEXIST;
        return 0;
}

/* In the child, which has a network namespace of its own by now. An ioctl and no rtnetlink: the
 * child of a forked process makes only system calls (no allocation), and lo needs only IFF_UP. */
static int loopback_up(void) {
        struct ifreq ifr = {.ifr_name = "lo"};
        int fd, r = 0;

        fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return errno;
        if (ioctl(fd, SIOCGIFFLAGS, &ifr) < 0)
                r = errno;
        else {
                ifr.ifr_flags |= IFF_UP;
                if (ioctl(fd, SIOCSIFFLAGS, &ifr) < 0)
                        r = errno;
        }
        close(fd);
        return r;
}

/* Exits with 0 or the errno that stopped it. */
_Noreturn static void netns_child(const char *path) {
        int r;

        if (unshare(CLONE_NEWNET) < 0)
                _exit(errno);
        r = loopback_up();
        if (r != 0)
                _exit(r);
        /* The child shares the parent's mount namespace, so the parent sees this mount. */
        if (mount("/proc/self/ns/net", path, "none", MS_BIND, NULL) < 0)
                _exit(errno);
        _exit(0);
}

static int netns_bind(const char *path) {
        pid_t pid;
        int status;

        /* Reaped right here by its own pid, like zero_nl_open_netns()'s child: other children of
         * zerod (watched by sd-event) are left alone. */
        pid = fork();
        if (pid < 0)
                return -errno;
        if (pid == 0)
                netns_child(path);
        while (waitpid(pid, &status, 0) < 0)
                if (errno != EINTR)
                        return -errno;
        if (!WIFEXITED(status))
                return -EIO;
        return -WEXITSTATUS(status);
}

int zero_netns_create(const char *path) {
        int fd, r;

        fd = zero_netns_open_path(path);
        if (fd >= 0) { /* made by an earlier attempt: one namespace per path, not a new one */
                safe_close(fd);
                return 0;
        }
        if (fd != -ENOENT && fd != -EMEDIUMTYPE)
                return fd;

        r = netns_file_make(path);
        if (r < 0)
                return r;
        r = netns_bind(path);
        if (r < 0) {
                /* All or nothing. The unmount only matters if the child died after binding, and
                 * may well fail (EINVAL: nothing bound; EPERM: the reason the child failed), which
                 * must not keep the file. */
                (void) umount2(path, MNT_DETACH | UMOUNT_NOFOLLOW);
                (void) unlink(path);
        }
        return r;
}

int zero_netns_remove(const char *path) {
        if (!path || !*path)
                return -EINVAL;
        /* Lazily: a process still inside keeps the namespace alive, the path goes now. Each call
         * takes off one mount, so repeat until the path is no mount point (EINVAL). */
        for (unsigned i = 0; i < ZERO_NETNS_MAX_UNMOUNTS; i++)
                if (umount2(path, MNT_DETACH | UMOUNT_NOFOLLOW) < 0) {
                        if (errno == EINVAL || errno == ENOENT)
                                break;
                        return -errno;
                }
        if (unlink(path) < 0 && errno != ENOENT)
                return -errno;
        return 0;
}
