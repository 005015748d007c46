/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/*
 * Idmapped mounts for containers in a user namespace ("userns": true). The root volume's files
 * are owned by host uid 0 in the image's ext4; the container's root is an unprivileged host uid
 * (the plugin's userns_base). An idmapped mount (mount_setattr(MOUNT_ATTR_IDMAP), ext4 supports
 * it since Linux 5.12) shows the files through the namespace's mapping: uid 0 on disk is the
 * container's root, and what the container writes is stored as uid 0 again, so the same volume
 * still serves a VM or a container without a user namespace.
 */
#include <stdint.h>

/* A user namespace mapping ids 0..size-1 to base..base+size-1 (uids and gids alike), held by
 * the returned fd (O_CLOEXEC) only. */
int zero_userns_open(uint32_t base, uint32_t size);

/* Mounts the file system fstype on device at target with the MOUNT_ATTR_* attrs (NOATIME, NOSUID,
 * NODEV, ...), its ids mapped through the user namespace userns_fd. */
int zero_mount_idmapped(const char *device, const char *fstype, const char *target, int userns_fd, unsigned attrs);
