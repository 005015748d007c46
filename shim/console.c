/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The console log: everything the runtime, the instance and the shim itself print, in
 * DIR/console.log, capped at --log-max bytes. When a write would pass the cap, the current file
 * becomes console.log.1 (replacing the previous one) and a new one starts: the disk use stays
 * at or below twice the cap, and the newest --log-max bytes are always kept.
 */
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "common/util.h"
#include "shim/shim.h"

/* Read size for the console pipe; on the stack, small enough for the 1 MiB RSS budget. */
#define CONSOLE_CHUNK 8192

static int open_log(struct console *c, bool truncate) {
        struct stat st;
        int fd;

        fd = openat(c->dir_fd, ZERO_SHIM_FILE_CONSOLE,
                    O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC | O_NOCTTY | O_NOFOLLOW | (truncate ? O_TRUNC : 0),
                    0640);
        if (fd < 0)
                return -errno;
        if (fstat(fd, &st) < 0) {
                int r = -errno;
                safe_close(fd);
                return r;
        }
        c->log_fd = safe_close(c->log_fd);
        c->log_fd = fd;
        c->size = (uint64_t) st.st_size;
        return 0;
}

int console_open(struct console *c, int dir_fd, uint64_t max) {
        int pipefd[2];
        int r;

        *c = (struct console){.dir_fd = dir_fd, .log_fd = -EBADF, .max = max, .pipe_r = -EBADF, .pipe_w = -EBADF};
        /* A log kept from an earlier run of the instance is appended to (and rotated as usual). */
        r = open_log(c, false);
        if (r < 0)
                return r;
        if (pipe2(pipefd, O_CLOEXEC) < 0) {
                r = -errno;
                c->log_fd = safe_close(c->log_fd);
                return r;
        }
        c->pipe_r = pipefd[0];
        c->pipe_w = pipefd[1];
        if (fcntl(c->pipe_r, F_SETFL, O_NONBLOCK) < 0) {
                r = -errno;
                console_close(c);
                return r;
        }
        return 0;
}

void console_close(struct console *c) {
        c->log_fd = safe_close(c->log_fd);
        c->pipe_r = safe_close(c->pipe_r);
        c->pipe_w = safe_close(c->pipe_w);
}

static void rotate(struct console *c) {
        /* rename() replaces console.log.1 atomically; a reader sees the old or the new one. */
        if (renameat(c->dir_fd, ZERO_SHIM_FILE_CONSOLE, c->dir_fd, ZERO_SHIM_FILE_CONSOLE_OLD) >= 0) {
                if (open_log(c, true) < 0)
                        c->log_fd = safe_close(c->log_fd);
                return;
        }
        /* Cannot rotate: lose the older half rather than pass the cap. */
        if (ftruncate(c->log_fd, 0) >= 0)
                c->size = 0;
}

static void capture(struct console *c, const char *buf, size_t len) {
        if (!c->capturing)
                return;
        if (len >= sizeof(c->capture)) {
                memcpy(c->capture, buf + len - sizeof(c->capture), sizeof(c->capture));
                c->capture_len = sizeof(c->capture);
                return;
        }
        if (c->capture_len + len > sizeof(c->capture)) {
                size_t drop = c->capture_len + len - sizeof(c->capture);
                memmove(c->capture, c->capture + drop, c->capture_len - drop);
                c->capture_len -= drop;
        }
        memcpy(c->capture + c->capture_len, buf, len);
        c->capture_len += len;
}

void console_write(struct console *c, const void *buf, size_t len) {
        const char *p = buf;

        capture(c, buf, len);
        while (len > 0 && c->log_fd >= 0) {
                size_t chunk;

                if (c->size >= c->max)
                        rotate(c);
                if (c->log_fd < 0 || c->size >= c->max)
                        return; /* nowhere to write: drop the output, keep the cap */
                chunk = c->max - c->size < len ? (size_t) (c->max - c->size) : len;
                /* A full disk loses console output, never the instance. */
                if (zero_write_all(c->log_fd, p, chunk) < 0)
                        return;
                c->size += chunk;
                p += chunk;
                len -= chunk;
        }
}

void console_log(struct console *c, const char *fmt, ...) {
        char buf[640];
        va_list ap;
        int n;

        n = snprintf(buf, sizeof(buf), "zero-shim: ");
        va_start(ap, fmt);
        n += vsnprintf(buf + n, sizeof(buf) - (size_t) n - 1, fmt, ap);
        va_end(ap);
        if ((size_t) n > sizeof(buf) - 2)
                n = sizeof(buf) - 2;
        buf[n++] = '\n';
        console_write(c, buf, (size_t) n);
}

void console_pump(struct console *c, size_t limit) {
        char buf[CONSOLE_CHUNK];
        size_t total = 0;

        /* limit bounds the work per call: a descendant that writes without pause must neither
         * starve the control socket nor keep an exiting shim draining for ever. */
        while (total < limit) {
                ssize_t n = read(c->pipe_r, buf, sizeof(buf));
                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0)
                        return; /* EAGAIN: drained. EOF cannot happen while we hold pipe_w. */
                console_write(c, buf, (size_t) n);
                total += (size_t) n;
        }
}

static int pread_all(int fd, char *buf, size_t len, off_t off) {
        while (len > 0) {
                ssize_t n = pread(fd, buf, len, off);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return -errno;
                if (n == 0)
                        return -EIO; /* truncated under us */
                buf += n;
                len -= (size_t) n;
                off += n;
        }
        return 0;
}

int console_tail(struct console *c, size_t len, char *buf, size_t *ret_len) {
        _cleanup_close_ int old_fd = -EBADF;
        struct stat st;
        size_t cur, old = 0;
        int r;

        if (c->log_fd < 0 || fstat(c->log_fd, &st) < 0)
                return -EBADF;
        cur = (uint64_t) st.st_size < len ? (size_t) st.st_size : len;
        if (cur < len) {
                old_fd = openat(c->dir_fd, ZERO_SHIM_FILE_CONSOLE_OLD, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
                if (old_fd >= 0 && fstat(old_fd, &st) >= 0) {
                        old = (uint64_t) st.st_size < len - cur ? (size_t) st.st_size : len - cur;
                        r = pread_all(old_fd, buf, old, st.st_size - (off_t) old);
                        if (r < 0)
                                return r;
                }
        }
        if (fstat(c->log_fd, &st) < 0)
                return -errno;
        if ((uint64_t) st.st_size < cur)
                return -EIO;
        r = pread_all(c->log_fd, buf + old, cur, st.st_size - (off_t) cur);
        if (r < 0)
                return r;
        *ret_len = old + cur;
        return 0;
}

void console_capture_begin(struct console *c) {
        c->capturing = true;
        c->capture_len = 0;
}

void console_capture_end(struct console *c, char *buf, size_t size) {
        /* The last few lines of output usually carry the reason (crun and QEMU print one line). */
        const size_t lines_max = 3;
        size_t end = c->capture_len, start, lines = 0, n = 0;
        bool sep = false;

        c->capturing = false;
        while (end > 0 && (c->capture[end - 1] == '\n' || c->capture[end - 1] == ' ' ||
                           c->capture[end - 1] == '\r' || c->capture[end - 1] == '\t'))
                end--;
        for (start = end; start > 0; start--)
                if (c->capture[start - 1] == '\n' && ++lines == lines_max)
                        break;
        if (size == 0)
                return;
        for (size_t i = start; i < end && n + 3 < size; i++) {
                unsigned char ch = (unsigned char) c->capture[i];
                if (ch == '\n') {
                        sep = n > 0; /* join non-empty lines with "; " */
                        continue;
                }
                if (sep) {
                        buf[n++] = ';';
                        buf[n++] = ' ';
                        sep = false;
                        if (n + 3 >= size)
                                break;
                }
                buf[n++] = (ch < 0x20 || ch == 0x7f) ? ' ' : (char) ch;
        }
        buf[n] = '\0';
}
