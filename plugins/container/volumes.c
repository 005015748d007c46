/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The card's volumes and NICs as a container's (internal.h): the root volume's host block device
 * mounted as the bundle's rootfs, data volumes mounted for crun to bind (idmapped under a user
 * namespace), the NICs in the instance's network namespace; and their unmount, flushed first in
 * a child so that a card that stopped answering never holds the agent's loop.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/util.h"
#include "plugins/container/idmap.h"
#include "plugins/container/internal.h"

/* path has a file system of its own mounted, not parent's. */
static int is_mount_point(const char *path, const char *parent) {
        struct stat a, b;

        if (lstat(path, &a) < 0)
                return errno == ENOENT ? 0 : -errno;
        if (lstat(parent, &b) < 0)
                return -errno;
        return a.st_dev != b.st_dev;
}

/* bundle/rootfs has a file system of its own mounted (the root volume, from an earlier prepare). */
static int is_mounted(const struct ctr *c) {
        return is_mount_point(c->rootfs, c->bundle);
}

int mkdir_mode(const char *path, mode_t mode) {
        if (mkdir(path, mode) >= 0)
                return chmod(path, mode) < 0 ? -errno : 1; /* past the umask */
        return errno == EEXIST ? 0 : -errno;
}

/* The root volume's host block device (what card_up made: the store's answer). */
static int root_device(struct zero_plugin_ctx *ctx, const struct zero_instance_info *info,
                       const struct zero_volume_info **ret_root, char dev[static DEVICE_PATH_MAX],
                       struct zero_error *err) {
        const struct zero_volume_info *root = NULL;
        int r;

        for (size_t i = 0; i < info->n_volumes && !root; i++)
                if (streq(info->volumes[i].role, "root"))
                        root = &info->volumes[i];
        if (!root)
                return zero_error_set(err, -EINVAL, ZERO_E_INTERNAL, "instance %s has no root volume", info->name);
        r = plugin.svc->volume_export(ctx, root->name, "host-block", dev, DEVICE_PATH_MAX, err);
        if (r < 0)
                return zero_error_default(err, r, "cannot export the root volume");
        *ret_root = root;
        return 0;
}

int root_mount_argv(struct zero_plugin_ctx *ctx, const struct zero_instance_info *info, const struct ctr *c,
                    char dev[static DEVICE_PATH_MAX], const char *argv[static 5], struct zero_error *err) {
        const struct zero_volume_info *root;
        int r;

        argv[0] = NULL;
        if (!plugin.shim_mounts_root || zero_oci_wants_userns(info))
                return 0;
        r = is_mounted(c);
        if (r < 0)
                return runtime_error(err, r, "cannot inspect %s: %s", c->rootfs, strerror(-r));
        if (r > 0)
                return 0; /* by an earlier shim: a spawn resumed after a crash */
        r = root_device(ctx, info, &root, dev, err);
        if (r < 0)
                return r;
        argv[0] = plugin.mount_helper;
        argv[1] = "ext4";
        argv[2] = dev;
        argv[3] = c->rootfs;
        argv[4] = NULL;
        return 0;
}

/* The root volume as bundle/rootfs: its host block device, mounted ext4 (idmapped through
 * userns_fd when the container has a user namespace, else -EBADF). With shim_mounts_root the
 * mount is the shim's (root_mount_argv()): the spawn's exec of the shim is there anyway, where
 * a child of zerod here cost a fork of zerod, the loop's round trip for its end, and prepare's
 * second call (docs/benchmarks.md, container_start). */
static int mount_root_volume(struct zero_plugin_ctx *ctx, const struct zero_instance_info *info, const struct ctr *c,
                             int userns_fd, struct zero_error *err) {
        const struct zero_volume_info *root = NULL;
        char dev[DEVICE_PATH_MAX];
        int r;

        r = root_device(ctx, info, &root, dev, err);
        if (r < 0)
                return r;
        if (userns_fd < 0 && plugin.shim_mounts_root)
                return 0;
        r = is_mounted(c);
        if (r < 0)
                return runtime_error(err, r, "cannot inspect %s: %s", c->rootfs, strerror(-r));
        /* nodev: a device node on the volume (made by a VM of the same instance, or by a
         * container given CAP_MKNOD) opens no device, neither through this mount nor through
         * the container's copy of it (oci.h: nodev_hook). Not nosuid: the flag would hold
         * inside the container too, and its setuid binaries are the image's business (they
         * gain nothing today: config.json sets noNewPrivileges; Docker's rootfs is not nosuid
         * either). The mount is only reachable through RUN, which is root's alone (0700). */
        if (r > 0)
                (void) child_ended_well(ctx, CHILD_MOUNT); /* mounted by the child, or before */
        /* By the helper, in a child watched on the loop: the mount reads the filesystem's
         * superblock and journal through the card, milliseconds (tens under load) during which
         * the loop served nobody, every other create included. Called again once it ended. */
        if (r == 0 && userns_fd < 0 && plugin.mount_helper) {
                const char *argv[] = {plugin.mount_helper, "ext4", dev, c->rootfs, NULL};

                r = child_run(ctx, CHILD_MOUNT, c->id, argv, err);
                if (r != 0)
                        return r;
                return runtime_error(err, -EIO, "the root volume %s (%s) is not mounted on %s after its mount ended",
                                     root->name, dev, c->rootfs);
        }
        if (r == 0) {
                if (userns_fd >= 0)
                        r = zero_mount_idmapped(dev, "ext4", c->rootfs, userns_fd, MOUNT_ATTR_NOATIME | MOUNT_ATTR_NODEV);
                else
                        r = mount(dev, c->rootfs, "ext4", MS_NOATIME | MS_NODEV, NULL) < 0 ? -errno : 0;
                if (r < 0)
                        return runtime_error(err, r, "cannot mount root volume %s (%s) on %s%s: %s", root->name, dev,
                                             c->rootfs, userns_fd >= 0 ? " idmapped" : "", strerror(-r));
        }
        return 0;
}

DEFINE_TRIVIAL_CLEANUP_FUNC(DIR *, closedir);

/* A data volume, mounted here at bundle/volumes/N (idmapped through userns_fd when the container
 * has a user namespace) and bound by crun (zero_oci_options.volume_binds). Not crun's own mount of
 * the device: under a cgroup v2 that enforces limits (the lab's host) crun applies the container's
 * device policy to its cgroup first, which refuses the card's disk (EPERM; lab_card), and in a
 * user namespace crun could not mount ext4 at all. The container gets a filesystem, never the
 * device. */
static int mount_volume_dir(const struct ctr *c, size_t n, const char *dev, int userns_fd, char *ret_dir,
                            struct zero_error *err) {
        int r;

        snprintf(ret_dir, DEVICE_PATH_MAX, "%s/%zu", c->volumes, n);
        r = mkdir_mode(c->volumes, 0755);
        if (r >= 0)
                r = mkdir_mode(ret_dir, 0755);
        if (r >= 0)
                r = is_mount_point(ret_dir, c->volumes);
        if (r == 0 && userns_fd >= 0)
                r = zero_mount_idmapped(dev, "ext4", ret_dir, userns_fd,
                                        MOUNT_ATTR_NOATIME | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV);
        else if (r == 0)
                r = mount(dev, ret_dir, "ext4", MS_NOATIME | MS_NOSUID | MS_NODEV, NULL) < 0 ? -errno : 0;
        if (r < 0)
                return runtime_error(err, r, "cannot mount data volume %s%s on %s: %s", dev,
                                     userns_fd >= 0 ? " idmapped" : "", ret_dir, strerror(-r));
        return 0;
}

/* Appends s (taken; NULL: out of memory) to the NULL-terminated list *l of *n entries. */
static int list_add(char ***l, size_t *n, char *s) {
        char **nl = s ? reallocarray(*l, *n + 2, sizeof(char *)) : NULL;

        if (!nl) {
                free(s);
                return -ENOMEM;
        }
        nl[(*n)++] = s;
        nl[*n] = NULL;
        *l = nl;
        return 0;
}

/* The container's filesystems that zerod's mount namespace holds: the root volume's mount and
 * the data volumes mount_volume_dir() mounted. NULL-terminated; NULL on failure. */
static char **ctr_mounts(const struct ctr *c) {
        _cleanup_(closedirp) DIR *d = opendir(c->volumes);
        _cleanup_strv_free_ char **list = calloc(1, sizeof(char *));
        struct dirent *e;
        size_t n = 0;

        if (!list)
                return NULL;
        if (is_mounted(c) > 0 && list_add(&list, &n, strdup(c->rootfs)) < 0)
                return NULL;
        while (d && (e = readdir(d))) {
                char *p;

                if (e->d_name[0] == '.')
                        continue;
                p = zero_strdup_printf("%s/%s", c->volumes, e->d_name);
                if (!p || (is_mount_point(p, c->volumes) > 0 ? list_add(&list, &n, p) : (free(p), 0)) < 0)
                        return NULL;
        }
        return TAKE_PTR(list);
}

/* What the instance wrote is flushed to the card's devices before they go (the card_down step
 * unexports them after cleanup); the lazy unmount then returns at once, and the filesystem lives
 * on while anything still holds it (a crun command's private mount namespace, say). The flush is
 * `sync -f` in a child (child_run()): 0 once it ended well and everything is unmounted,
 * ZERO_PLUGIN_PENDING while it runs. */
int unmount_flushed(struct zero_plugin_ctx *ctx, const struct ctr *c, struct zero_error *err) {
        _cleanup_strv_free_ char **mounts = ctr_mounts(c);
        _cleanup_free_ const char **argv = NULL;
        size_t n = 0;
        int r = 0;

        if (!mounts)
                return -ENOMEM;
        while (mounts[n])
                n++;
        if (n == 0)
                return 0;
        argv = calloc(n + 3, sizeof(*argv));
        if (!argv)
                return -ENOMEM;
        argv[0] = "sync";
        argv[1] = "-f";
        for (size_t i = 0; i < n; i++)
                argv[i + 2] = mounts[i];
        r = child_run(ctx, CHILD_SYNC, c->id, argv, err);
        if (r != 0)
                return r;
        for (size_t i = 0; i < n; i++)
                if (umount2(mounts[i], MNT_DETACH) < 0 && errno != EINVAL && errno != ENOENT && r >= 0)
                        r = runtime_error(err, -errno, "cannot unmount %s: %s", mounts[i], strerror(errno));
        return r;
}

int card_prepare(struct zero_plugin_ctx *ctx, const struct zero_instance_info *info, const struct ctr *c,
                        struct card_plan *p, struct zero_error *err) {
        _cleanup_close_ int userns = -EBADF;
        char dev[DEVICE_PATH_MAX];
        int r;

        if (zero_oci_wants_userns(info)) {
                userns = zero_userns_open(plugin.userns_base, ZERO_OCI_USERNS_SIZE);
                if (userns < 0)
                        return runtime_error(err, userns, "cannot make a user namespace for the idmapped mounts: %s",
                                             strerror(-userns));
        }
        r = mount_root_volume(ctx, info, c, userns, err);
        if (r != 0) /* or ZERO_PLUGIN_PENDING: its mount runs */
                return r;
        p->mounts = calloc(info->n_volumes, sizeof(*p->mounts));
        p->devices = calloc(info->n_volumes, sizeof(*p->devices));
        if (!p->mounts || !p->devices)
                return -ENOMEM;
        for (size_t i = 0; i < info->n_volumes; i++) {
                const struct zero_volume_info *v = &info->volumes[i];

                if (streq(v->role, "root") || !v->path)
                        continue;
                r = plugin.svc->volume_export(ctx, v->name, "host-block", dev, sizeof(dev), err);
                if (r < 0)
                        return zero_error_default(err, r, "cannot export a data volume");
                r = mount_volume_dir(c, p->n_mounts, dev, userns, p->devices[p->n_mounts], err);
                if (r < 0)
                        return r;
                p->mounts[p->n_mounts] = (struct zero_oci_volume_mount){v->path, p->devices[p->n_mounts]};
                p->n_mounts++;
        }
        if (info->n_nics == 0)
                return 0;
        /* A namespace of our own, bound in the run directory, so that the NICs are in place
         * before the container's first instruction; crun joins it. */
        r = plugin.svc->netns_create(ctx, c->netns, err);
        if (r < 0)
                return zero_error_default(err, r, "cannot create the network namespace");
        for (size_t i = 0; i < info->n_nics; i++) {
                r = plugin.svc->nic_attach(ctx, info->nics[i].id, "veth", c->netns, NULL, 0, err);
                if (r < 0)
                        return zero_error_default(err, r, "cannot attach a NIC");
        }
        return 0;
}

/* Gives everything back to the card; carries on past failures and reports the first. */
int card_cleanup(struct zero_plugin_ctx *ctx, const struct zero_instance_info *info, const struct ctr *c,
                        struct zero_error *err) {
        int r, ret = 0;

        for (size_t i = 0; i < info->n_volumes; i++) {
                r = plugin.svc->volume_unexport(ctx, info->volumes[i].name, ret < 0 ? NULL : err);
                if (r < 0 && ret >= 0)
                        ret = zero_error_default(err, r, "cannot unexport a volume");
        }
        for (size_t i = 0; i < info->n_nics; i++) {
                r = plugin.svc->nic_detach(ctx, info->nics[i].id, ret < 0 ? NULL : err);
                if (r < 0 && ret >= 0)
                        ret = zero_error_default(err, r, "cannot detach a NIC");
        }
        r = plugin.svc->netns_remove(ctx, c->netns, ret < 0 ? NULL : err);
        if (r < 0 && ret >= 0)
                ret = zero_error_default(err, r, "cannot remove the network namespace");
        return ret;
}

