/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/*
 * A tar reader: POSIX ustar, pax extended headers (per entry 'x' and global 'g': path,
 * linkpath, size, uid, gid, mtime), GNU long names and long link names ('L', 'K'), GNU
 * base-256 numbers, old GNU and v7 headers.
 *
 * Pure: bytes come from a read callback and nothing touches the file system, so the reader
 * can be fed any bytes (fuzzing: zero_tar_new_buffer() + zero_tar_next() + zero_tar_read()
 * until an error or the end; every input must end in one of the two, bounded in memory).
 * It checks the archive's form (checksums, numbers, sizes, name lengths, the end-of-archive
 * block); what an entry may be (no device nodes, no "..") is the caller's rule.
 *
 * Errors are -errno with a reason in *err (status 422, code "invalid", the entry's offset in
 * the archive), except a failing read callback, whose -errno comes back with its own reason.
 */
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "zero/error.h"

#define ZERO_TAR_BLOCK 512
/* Longest path or link target accepted (Linux's PATH_MAX, NUL included). */
#define ZERO_TAR_PATH_MAX 4096
/* Largest pax extended header accepted; real ones are a few hundred bytes. */
#define ZERO_TAR_PAX_MAX (1u << 20)

enum zero_tar_type {
        ZERO_TAR_FILE,     /* '0', '\0', '7' (contiguous) */
        ZERO_TAR_HARDLINK, /* '1': linkpath names an earlier entry */
        ZERO_TAR_SYMLINK,  /* '2' */
        ZERO_TAR_CHAR,     /* '3' */
        ZERO_TAR_BLOCK_DEV, /* '4' */
        ZERO_TAR_DIR,      /* '5', or an old-style '0' whose name ends in '/' */
        ZERO_TAR_FIFO,     /* '6' */
        ZERO_TAR_OTHER,    /* anything else (GNU 'D', 'M', 'V', vendor types): typeflag says */
};

struct zero_tar_entry {
        enum zero_tar_type type;
        char typeflag;  /* as in the header */
        char *path;     /* never empty; pax and GNU long names applied; trailing '/' removed */
        char *linkpath; /* hard link and symlink targets; NULL for other types */
        uint32_t mode;  /* permission bits with setuid, setgid and sticky (07777) */
        uint64_t uid, gid;
        uint64_t size;  /* bytes of data: regular files, hard links with data, other types */
        int64_t mtime;  /* seconds since the epoch */
        uint32_t devmajor, devminor;
        uint64_t offset; /* of the entry's (first) header in the archive */
};

/* Reads up to len bytes: > 0 bytes read, 0 at the end of the input, < 0 -errno. */
typedef ssize_t (*zero_tar_read_fn)(void *userdata, void *buf, size_t len);

struct zero_tar;
int zero_tar_new(zero_tar_read_fn read, void *userdata, struct zero_tar **ret);
/* The same over bytes in memory (borrowed until zero_tar_free). */
int zero_tar_new_buffer(const void *data, size_t len, struct zero_tar **ret);
struct zero_tar *zero_tar_free(struct zero_tar *t);

/* The next entry: 1 with *ret (valid until the next call), 0 at the end of the archive, < 0 on
 * error. The rest of the previous entry's data is skipped. */
int zero_tar_next(struct zero_tar *t, const struct zero_tar_entry **ret, struct zero_error *err);
/* The current entry's data: > 0 bytes, 0 at its end, < 0 on error (a truncated archive). */
ssize_t zero_tar_read(struct zero_tar *t, void *buf, size_t len, struct zero_error *err);
/* Bytes of the archive consumed so far. */
uint64_t zero_tar_offset(const struct zero_tar *t);
