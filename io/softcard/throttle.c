/* SPDX-License-Identifier: Apache-2.0 */
/*
 * QoS of a direct host block export (storage.h): the block layer's throttling on the volume's
 * loop device, by its major:minor, so that the limit costs nothing on the path it limits.
 *
 * Where the rule goes, and what it covers: cgroup v1 blkio, blkio.throttle.{read,write}_{iops,
 * bps}_device in the hierarchy's root and in this process's own blkio cgroup when it is another
 * one. v1's throttling is flat (a rule holds for the processes of its own cgroup only,
 * blk-throttle.c's throtl_pd_init()): the root's rule covers every process left in the root, and
 * the agent's own covers the containers crun starts with --cgroup-manager=disabled, which is how
 * crun runs where the controllers are v1 (they stay in the agent's blkio cgroup). it_card_qos and
 * test_qos measure it.
 *
 * Not cgroup v2: io.max has no root, and a container there lives in zero.slice or /zero, outside
 * the agent's cgroup, where the io controller may not even be enabled: a rule written somewhere
 * would be a limit nobody is held to. So where there is no v1 blkio this says "unavailable": a
 * volume with limits is exported through qemu-storage-daemon instead (volume_export.c), whose
 * throttle group holds every client, and a limit set on a direct export is refused (exported
 * again, the volume takes the daemon's path).
 *
 * The card's limits are totals (iops-total, bps-total, as QEMU's throttle group takes them); the
 * block layer's are per direction, so each direction gets the whole limit: a mixed workload may
 * reach twice a total limit.
 */
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "common/util.h"
#include "io/softcard/storage.h"

/* The mount point of the v1 hierarchy with the blkio controller (mountinfo's super options). */
static int blkio_mount(char ret[static PATH_MAX]) {
        _cleanup_free_ char *info = NULL;
        char *line, *save = NULL;
        int r = zero_read_file("/proc/self/mountinfo", 64U << 20, &info, NULL);

        if (r < 0)
                return r;
        for (line = strtok_r(info, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
                char point[PATH_MAX], type[32], super[256], *o, *osave = NULL;
                const char *sep = strstr(line, " - ");
                /* ID PARENT MAJ:MIN ROOT MOUNTPOINT ... - FSTYPE SOURCE SUPEROPTS */
                if (!sep || sscanf(line, "%*u %*u %*s %*s %4095s", point) != 1 ||
                    sscanf(sep + 3, "%31s %*s %255s", type, super) != 2 || !streq(type, "cgroup"))
                        continue;
                for (o = strtok_r(super, ",", &osave); o; o = strtok_r(NULL, ",", &osave))
                        if (streq(o, "blkio")) {
                                snprintf(ret, PATH_MAX, "%s", point);
                                return 0;
                        }
        }
        return -ENOENT;
}

/* This process's cgroup in the v1 blkio hierarchy ("N:blkio:/PATH" in /proc/self/cgroup). */
static int own_blkio_cgroup(char ret[static PATH_MAX]) {
        _cleanup_free_ char *text = NULL;
        char *line, *save = NULL;
        int r = zero_read_file("/proc/self/cgroup", 1U << 20, &text, NULL);

        if (r < 0)
                return r;
        for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
                char *c = strchr(line, ':'), *path = c ? strchr(c + 1, ':') : NULL, *o, *osave = NULL;
                if (!path)
                        continue;
                *path++ = '\0';
                for (o = strtok_r(c + 1, ",", &osave); o; o = strtok_r(NULL, ",", &osave))
                        if (streq(o, "blkio")) {
                                snprintf(ret, PATH_MAX, "%s", path);
                                return 0;
                        }
        }
        return -ENOENT;
}

/* Where the rules go, read once per process (mountinfo is long with 1,000 containers' mounts,
 * and an export read it twice: zerod's start with them took seconds): the hierarchy's mount
 * point, and this process's cgroup there ("" when it is the root). A child forked for an op's
 * work inherits what its parent read (softcard_throttle_available() at the card's open). */
static struct {
        bool read;
        int r; /* blkio_mount()'s */
        char mnt[PATH_MAX], cg[PATH_MAX];
} where;

static int blkio_where(void) {
        if (!where.read) {
                where.r = blkio_mount(where.mnt);
                if (where.r >= 0 && (own_blkio_cgroup(where.cg) < 0 || streq(where.cg, "/")))
                        where.cg[0] = '\0';
                where.read = true;
        }
        return where.r;
}

static int write_rule(const char *dir, const char *file, const char *text) {
        _cleanup_free_ char *path = zero_strdup_printf("%s/%s", dir, file);
        _cleanup_close_ int fd = -EBADF;

        if (!path)
                return -ENOMEM;
        fd = open(path, O_WRONLY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        return zero_write_all(fd, text, strlen(text));
}

static int v1_set(const char *dir, dev_t dev, uint64_t iops, uint64_t bps) {
        static const char *const files[] = {"blkio.throttle.read_iops_device", "blkio.throttle.write_iops_device",
                                            "blkio.throttle.read_bps_device", "blkio.throttle.write_bps_device"};
        int r = 0;

        for (size_t i = 0; i < ELEMENTSOF(files) && r >= 0; i++) {
                char text[64];
                /* 0 removes the rule (blk-throttle takes it for "no limit"). */
                snprintf(text, sizeof(text), "%u:%u %llu\n", major(dev), minor(dev),
                         (unsigned long long) (i < 2 ? iops : bps));
                r = write_rule(dir, files[i], text);
        }
        return r;
}

int softcard_throttle_set(const char *dev, uint64_t iops, uint64_t bps, struct zero_error *err) {
        char dir[PATH_MAX * 2];
        struct stat st;
        int r;

        if (stat(dev, &st) < 0 || !S_ISBLK(st.st_mode))
                return zero_error_default(err, -ENODEV, "Failed to find the device to throttle");
        if (blkio_where() < 0) {
                if (!iops && !bps)
                        return 0; /* nothing to lift where nothing could be set */
                return zero_error_set(err, -EOPNOTSUPP, ZERO_E_UNAVAILABLE,
                                      "this host has no cgroup v1 blkio throttling for the limits of a volume's "
                                      "direct host block device: export the volume again (one with limits is then "
                                      "exported through qemu-storage-daemon)");
        }
        r = v1_set(where.mnt, st.st_rdev, iops, bps);
        if (r >= 0 && where.cg[0]) {
                snprintf(dir, sizeof(dir), "%s%s", where.mnt, where.cg);
                r = v1_set(dir, st.st_rdev, iops, bps);
        }
        return r < 0 ? zero_error_default(err, r, "Failed to set the block layer's limits (blkio)") : 0;
}

bool softcard_throttle_available(void) {
        return blkio_where() >= 0;
}
