/* SPDX-License-Identifier: Apache-2.0 */
/*
 * QoS of a direct host block export (storage.h): the block layer's throttling
 * on the volume's loop device, by its major:minor, so that the limit costs
 * nothing on the path it limits.
 *
 * Where the rule goes, and what it covers:
 *  - cgroup v1 blkio: blkio.throttle.{read,write}_{iops,bps}_device in the
 * hierarchy's root and in this process's own blkio cgroup when it is another
 * one. v1's throttling is flat (a rule holds for the processes of its own
 * cgroup only, blk-throttle.c's throtl_pd_init()): the root's rule covers every
 * process left in the root, and the agent's own covers the containers crun
 * starts with --cgroup-manager=disabled (they stay in the agent's cgroups).
 * it_card_qos measures it.
 *  - cgroup v2: io.max of this process's own cgroup (v2 has none in the root,
 * and is hierarchical: it covers what runs below the agent's cgroup). The
 * card's limits are totals (iops-total, bps-total, as QEMU's throttle group
 * takes them); the block layer's are per direction, so each direction gets the
 * whole limit: a mixed workload may reach twice a total limit. Where neither
 * kind is there, a volume with limits is exported through qemu-storage-daemon
 * instead (volume_export.c), whose throttle group enforces them.
 */
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "common/util.h"
#include "io/softcard/storage.h"

/* The mount point of the first mount of fstype whose super options contain opt
 * (NULL: any). */
static int cgroup_mount(const char *fstype, const char *opt,
                        char ret[static PATH_MAX]) {
  _cleanup_free_ char *info = NULL;
  char *line, *save = NULL;
  int r = zero_read_file("/proc/self/mountinfo", 64U << 20, &info, NULL);

  if (r < 0)
    return r;
  for (line = strtok_r(info, "\n", &save); line;
       line = strtok_r(NULL, "\n", &save)) {
    char point[PATH_MAX], type[32], super[256];
    const char *sep = strstr(line, " - ");
    /* ID PARENT MAJ:MIN ROOT MOUNTPOINT ... - FSTYPE SOURCE SUPEROPTS */
    if (!sep || sscanf(line, "%*u %*u %*s %*s %4095s", point) != 1 ||
        sscanf(sep + 3, "%31s %*s %255s", type, super) != 2 ||
        !streq(type, fstype))
      continue;
    if (opt) {
      bool found = false;
      for (char *o = strtok(super, ","); o && !found; o = strtok(NULL, ","))
        found = streq(o, opt);
      if (!found)
        continue;
    }
    snprintf(ret, PATH_MAX, "%s", point);
    return 0;
  }
  return -ENOENT;
}

/* This process's cgroup in the hierarchy of controller (v1; NULL: v2's "0::").
 */
static int own_cgroup(const char *controller, char ret[static PATH_MAX]) {
  _cleanup_free_ char *text = NULL;
  char *line, *save = NULL;
  int r = zero_read_file("/proc/self/cgroup", 1U << 20, &text, NULL);

  if (r < 0)
    return r;
  for (line = strtok_r(text, "\n", &save); line;
       line = strtok_r(NULL, "\n", &save)) {
    char *c = strchr(line, ':'), *path = c ? strchr(c + 1, ':') : NULL;
    bool match = false;
    if (!path)
      continue;
    *path++ = '\0';
    c++;
    if (!controller)
      match = *c == '\0' && strncmp(line, "0", 1) == 0;
    else
      for (char *o = strtok(c, ","); o && !match; o = strtok(NULL, ","))
        match = streq(o, controller);
    if (match) {
      snprintf(ret, PATH_MAX, "%s", path);
      return 0;
    }
  }
  return -ENOENT;
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

static int v1_set(const char *dir, unsigned maj, unsigned min, uint64_t iops,
                  uint64_t bps) {
  static const char *const files[] = {
      "blkio.throttle.read_iops_device", "blkio.throttle.write_iops_device",
      "blkio.throttle.read_bps_device", "blkio.throttle.write_bps_device"};
  int r = 0;

  for (size_t i = 0; i < ELEMENTSOF(files) && r >= 0; i++) {
    char text[64];
    /* 0 removes the rule (blk-throttle takes it for "no limit"). */
    snprintf(text, sizeof(text), "%u:%u %llu\n", maj, min,
             (unsigned long long)(i < 2 ? iops : bps));
    r = write_rule(dir, files[i], text);
  }
  return r;
}

static void v2_value(char *buf, size_t size, const char *key, uint64_t v) {
  if (v)
    snprintf(buf, size, "%s=%llu", key, (unsigned long long)v);
  else
    snprintf(buf, size, "%s=max", key);
}

int softcard_throttle_set(const char *dev, uint64_t iops, uint64_t bps,
                          struct zero_error *err) {
  char mnt[PATH_MAX], cg[PATH_MAX], dir[PATH_MAX * 2];
  struct stat st;
  unsigned maj, min;
  int r;

  if (stat(dev, &st) < 0 || !S_ISBLK(st.st_mode))
    return zero_error_default(err, -ENODEV,
                              "Failed to find the device to throttle");
  maj = major(st.st_rdev);
  min = minor(st.st_rdev);
  if (cgroup_mount("cgroup", "blkio", mnt) >= 0) {
    r = v1_set(mnt, maj, min, iops, bps);
    if (r >= 0 && own_cgroup("blkio", cg) >= 0 && !streq(cg, "/")) {
      snprintf(dir, sizeof(dir), "%s%s", mnt, cg);
      r = v1_set(dir, maj, min, iops, bps);
    }
    return r < 0 ? zero_error_default(
                       err, r, "Failed to set the block layer's limits (blkio)")
                 : 0;
  }
  if (cgroup_mount("cgroup2", NULL, mnt) >= 0 && own_cgroup(NULL, cg) >= 0 &&
      !streq(cg, "/")) {
    char riops[40], wiops[40], rbps[40], wbps[40], text[256];
    snprintf(dir, sizeof(dir), "%s%s", mnt, cg);
    v2_value(riops, sizeof(riops), "riops", iops);
    v2_value(wiops, sizeof(wiops), "wiops", iops);
    v2_value(rbps, sizeof(rbps), "rbps", bps);
    v2_value(wbps, sizeof(wbps), "wbps", bps);
    snprintf(text, sizeof(text), "%u:%u %s %s %s %s\n", maj, min, rbps, wbps,
             riops, wiops);
    r = write_rule(dir, "io.max", text);
    if (r >= 0 || (!iops && !bps))
      return 0; /* nothing to lift where nothing could be set */
    return zero_error_default(
        err, r, "Failed to set the block layer's limits (io.max)");
  }
  if (!iops && !bps)
    return 0;
  return zero_error_set(err, -EOPNOTSUPP, ZERO_E_UNAVAILABLE,
                        "this host has no block-layer throttling (cgroup blkio "
                        "or io.max) for a volume's limits");
}

bool softcard_throttle_available(void) {
  char mnt[PATH_MAX], cg[PATH_MAX], path[PATH_MAX * 2 + 16];

  if (cgroup_mount("cgroup", "blkio", mnt) >= 0)
    return true;
  if (cgroup_mount("cgroup2", NULL, mnt) < 0 || own_cgroup(NULL, cg) < 0 ||
      streq(cg, "/"))
    return false;
  snprintf(path, sizeof(path), "%s%s/io.max", mnt, cg);
  return access(path, W_OK) >= 0;
}
