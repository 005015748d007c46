/* SPDX-License-Identifier: Apache-2.0 */
/*
 * zero-nodev-hook [--ro] PATH: the container's createContainer hook (oci.h, nodev_hook). crun
 * 1.8 binds the rootfs onto itself and remounts that bind with no flags, which drops the nodev of
 * the host's mount of the root volume; this puts it back (and ro for a read-only rootfs) on the
 * mount at PATH, in the container's mount namespace, before pivot_root.
 *
 * It replaces `sh -c 'read the state; exec mount -o remount,bind,nodev PATH'`: two execs, one of
 * them dynamically linked with libmount, on every container's start (docs/benchmarks.md,
 * "container_start"). Static and libc-only like zero-shim: one exec of a few pages.
 *
 * crun writes the container's state to a hook's stdin and fails the start ("writing to pipe:
 * Broken pipe") when the hook exited before that write: it is read to its end first.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/statvfs.h>
#include <unistd.h>

/* Only the flags named change (mount_setattr, Linux 5.12); before it, a bind remount that keeps
 * the flags the mount has. */
static int set_nodev(const char *path, int ro) {
        struct mount_attr attr = {.attr_set = MOUNT_ATTR_NODEV | (ro ? MOUNT_ATTR_RDONLY : 0)};
        struct statvfs st;
        unsigned long flags = MS_REMOUNT | MS_BIND | MS_NODEV | (ro ? MS_RDONLY : 0);

        if (mount_setattr(AT_FDCWD, path, 0, &attr, sizeof(attr)) == 0)
                return 0;
        if (errno != ENOSYS)
                return -errno;
        if (statvfs(path, &st) < 0)
                return -errno;
        flags |= st.f_flag & (ST_RDONLY | ST_NOSUID | ST_NOEXEC | ST_NOATIME | ST_NODIRATIME | ST_RELATIME);
        return mount(NULL, path, NULL, flags, NULL) < 0 ? -errno : 0;
}

int main(int argc, char *argv[]) {
        int ro = argc == 3 && strcmp(argv[1], "--ro") == 0;
        const char *path = argv[argc - 1];
        char buf[4096];
        ssize_t n;
        int r;

        if (argc != 2 + ro || path[0] != '/') {
                fprintf(stderr, "usage: zero-nodev-hook [--ro] ABSOLUTE-PATH\n");
                return 2;
        }
        do
                n = read(STDIN_FILENO, buf, sizeof(buf));
        while (n > 0 || (n < 0 && errno == EINTR));
        r = set_nodev(path, ro);
        if (r < 0) {
                fprintf(stderr, "zero-nodev-hook: cannot remount %s nodev%s: %s\n", path, ro ? ",ro" : "", strerror(-r));
                return 1;
        }
        return 0;
}
