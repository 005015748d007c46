/* SPDX-License-Identifier: Apache-2.0 */
/*
 * zero-container-mount: the container plugin's two mounts that must not cost zerod's loop nor a
 * shell and mount(8) (docs/benchmarks.md, "container_start"). Static and libc-only like
 * zero-shim: one exec of a few pages.
 *
 *   zero-container-mount ext4 DEVICE PATH
 *      the root volume's host block device mounted ext4 at PATH, nodev and noatime, unless it is
 *      mounted there already: zero-shim's prepare command (plugin ABI 4.10), or on an older agent
 *      the plugin's prepare in a child watched on zerod's loop (a mount reads the filesystem's
 *      superblock and journal through the card, milliseconds the loop must not wait).
 *   zero-container-mount nodev [--ro] PATH
 *      the createContainer hook (oci.h, nodev_helper): crun 1.8 binds the rootfs onto itself and
 *      remounts that bind with no flags, which drops the nodev of the host's mount of the root
 *      volume; this puts it back (and ro for a read-only rootfs) on the mount at PATH, in the
 *      container's mount namespace, before pivot_root. crun writes the container's state to a
 *      hook's stdin and fails the start ("writing to pipe: Broken pipe") when the hook exited
 *      before that write: it is read to its end first.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
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

#define USAGE 2

/* Exit codes: 0, 1 (failed: why on stderr), USAGE. */
static int nodev_hook(int argc, char *argv[]) {
        int ro = argc == 4 && strcmp(argv[2], "--ro") == 0;
        const char *path = argv[argc - 1];
        char buf[4096];
        ssize_t n;
        int r;

        if (argc != 3 + ro || path[0] != '/')
                return USAGE;
        do
                n = read(STDIN_FILENO, buf, sizeof(buf));
        while (n > 0 || (n < 0 && errno == EINTR));
        r = set_nodev(path, ro);
        if (r == 0)
                return 0;
        fprintf(stderr, "zero-container-mount: cannot remount %s nodev%s: %s\n", path, ro ? ",ro" : "", strerror(-r));
        return 1;
}

/* Whether path is the root of a mount of block device dev already (a spawn resumed after a crash
 * of zerod: the shim that mounted it is gone): a second mount would stack on the first, and the
 * cleanup's one unmount would leave that one behind. */
static int mounted_from(const char *dev, const char *path) {
        struct stat d, p, parent;
        char up[4096];

        if (stat(dev, &d) < 0 || stat(path, &p) < 0 || !S_ISBLK(d.st_mode))
                return 0;
        if (snprintf(up, sizeof(up), "%s/..", path) >= (int) sizeof(up) || stat(up, &parent) < 0)
                return 0;
        return p.st_dev == d.st_rdev && p.st_dev != parent.st_dev;
}

static int mount_ext4(int argc, char *argv[]) {
        if (argc != 4 || argv[2][0] != '/' || argv[3][0] != '/')
                return USAGE;
        if (mounted_from(argv[2], argv[3]))
                return 0;
        if (mount(argv[2], argv[3], "ext4", MS_NOATIME | MS_NODEV, NULL) == 0)
                return 0;
        fprintf(stderr, "zero-container-mount: cannot mount %s on %s: %s\n", argv[2], argv[3], strerror(errno));
        return 1;
}

int main(int argc, char *argv[]) {
        int r = USAGE;

        if (argc >= 2 && strcmp(argv[1], "nodev") == 0)
                r = nodev_hook(argc, argv);
        else if (argc >= 2 && strcmp(argv[1], "ext4") == 0)
                r = mount_ext4(argc, argv);
        if (r == USAGE)
                fprintf(stderr, "usage: zero-container-mount nodev [--ro] ABSOLUTE-PATH\n"
                                "       zero-container-mount ext4 DEVICE ABSOLUTE-PATH\n");
        return r;
}
