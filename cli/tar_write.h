/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/*
 * A tar stream of a directory tree, made as it is read (zeroctl image import uploads it through
 * libcurl's read callback): the tree is walked with fts(3) one entry at a time and each file's
 * data read when its turn comes, so memory holds one header and one buffer, whatever the size.
 *
 * ustar, with GNU long names ('L', 'K') for paths and link targets past 100 bytes and base-256
 * for numbers past the octal fields; regular files, directories, symlinks, and hard links for
 * files with several names. What an image may not hold (device nodes, FIFOs, sockets) fails
 * the stream with a reason, before zerod refuses it. It stays on the tree's file system.
 */
#include <sys/types.h>

#include "zero/error.h"

struct zeroctl_tar;
/* The tree below dir; with prefix (e.g. "rootfs") its entries are prefix/..., else ./... */
int zeroctl_tar_new(const char *dir, const char *prefix, struct zeroctl_tar **ret, struct zero_error *reterr);
/* A regular file appended after the tree as name (at most two: vmlinuz, initrd.img). */
int zeroctl_tar_add_file(struct zeroctl_tar *t, const char *name, const char *path, struct zero_error *reterr);
/* The next bytes of the stream: > 0, 0 at its end, < 0 with *reterr. */
ssize_t zeroctl_tar_read(struct zeroctl_tar *t, void *buf, size_t len, struct zero_error *reterr);
struct zeroctl_tar *zeroctl_tar_free(struct zeroctl_tar *t);
