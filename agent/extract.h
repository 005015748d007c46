/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/*
 * Safe extraction of an image's files under a root directory (zero-unpack's core). Whatever the
 * source, a tar archive or a host directory, each entry passes the same rules before anything
 * is written, and every write is resolved inside the root:
 *
 *   - regular files, directories, symlinks, and hard links to files of the same tree only;
 *     device nodes, FIFOs, sockets and unknown types are refused, naming the entry;
 *   - a path is relative, without "..": "/etc/x" and "../x" are refused, leading "./" dropped;
 *   - no write goes through a symlink: parents are resolved with openat2(RESOLVE_IN_ROOT |
 *     RESOLVE_NO_SYMLINKS) from the root's fd (a planted "evil -> /etc" then "evil/passwd" is
 *     refused), the last component is created with O_EXCL / O_NOFOLLOW after removing what a
 *     previous entry of the same name left (as tar does when a name comes twice);
 *   - setuid and setgid bits of files are cleared unless keep_setuid (a directory's setgid only
 *     says which group new files get, and stays); owners are kept numerically; extended
 *     attributes (file capabilities among them) are never taken.
 *
 * Errors: -errno with *err, ZERO_E_INVALID for what the rules refuse, ZERO_E_INTERNAL
 * for what the file system refuses.
 */
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/tar.h"
#include "zero/error.h"

/* More entries than this are refused (mkfs.ext4 -d would take hours over them). */
#define ZERO_EXTRACT_ENTRIES_MAX 4000000

struct zero_extract_options {
        bool keep_setuid;
        uint64_t max_bytes; /* of file data in all; 0: no bound */
};

struct zero_extract;
/* root_fd: the directory the image's tree goes into (borrowed; empty). */
int zero_extract_new(int root_fd, const struct zero_extract_options *opts, struct zero_extract **ret);
struct zero_extract *zero_extract_free(struct zero_extract *x);

/* Whether the rules allow the entry, as a pure check (unit-tested): 0, or -errno with *err.
 * *ret_path is the path to create, normalized ("" for the root itself), pointing into a copy
 * that the caller frees. */
int zero_extract_check(const struct zero_tar_entry *e, char **ret_path, struct zero_error *err);

/* Every entry of the archive, to its end. */
int zero_extract_tar(struct zero_extract *x, struct zero_tar *t, struct zero_error *err);
/* A host directory's tree (src_fd, borrowed), under the same rules; it stays on src_fd's file
 * system (a mount point inside it becomes an empty directory, as tar --one-file-system does). */
int zero_extract_dir(struct zero_extract *x, int src_fd, struct zero_error *err);

/* What went in so far: bytes of file data, and the disk space the tree takes (4 KiB blocks). */
uint64_t zero_extract_bytes(const struct zero_extract *x);
uint64_t zero_extract_disk_bytes(const struct zero_extract *x);
uint64_t zero_extract_entries(const struct zero_extract *x);
