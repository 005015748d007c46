/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/*
 * Helpers for the softcard's tests against the real daemon (test_softcard, test_softcard_async):
 * commands that must succeed, a block device's size, and what a test left in the kernel. Include
 * after cmocka.h.
 */
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/fs.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/ioctl.h>

#include "common/util.h"

static inline bool have_binary(const char *name) {
        _cleanup_free_ char *cmd = zero_strdup_printf("command -v %s >/dev/null", name);
        char *argv[] = {"sh", "-c", cmd, NULL};
        return cmd && zero_run_wait(argv, NULL) == 0;
}

static inline void run_ok(char *const argv[]) {
        _cleanup_free_ char *out = NULL;
        int r = zero_run_wait(argv, &out);
        if (r != 0)
                fail_msg("%s failed (%d): %s", argv[0], r, strempty(out));
}

static inline uint64_t dev_size(const char *dev) {
        _cleanup_close_ int fd = open(dev, O_RDONLY | O_CLOEXEC);
        uint64_t size = 0;
        assert_true(fd >= 0);
        assert_int_equal(ioctl(fd, BLKGETSIZE64, &size), 0);
        return size;
}

/* A process's state letter from /proc (R, S, D, T, Z, ...), or '\0' when there is no such process. */
static inline char proc_state(pid_t pid) {
        _cleanup_free_ char *path = zero_strdup_printf("/proc/%d/stat", (int) pid), *text = NULL;
        char *p;

        if (zero_read_file(path, 4096, &text, NULL) < 0 || !(p = strrchr(text, ')')))
                return '\0';
        return p[2];
}

/* What is left of a test's in the kernel: loop devices backed by files under dir, mounts under
 * it. Each is named; the count is returned. */
static inline int leftovers_under(const char *dir) {
        _cleanup_free_ char *info = NULL, *needle = zero_strdup_printf(" %s/", dir);
        DIR *d = opendir("/sys/block");
        struct dirent *de;
        int n = 0;

        assert_non_null(d);
        while ((de = readdir(d))) {
                _cleanup_free_ char *p = zero_strdup_printf("/sys/block/%s/loop/backing_file", de->d_name), *b = NULL;
                if (zero_read_file(p, PATH_MAX, &b, NULL) >= 0 && strncmp(b, dir, strlen(dir)) == 0) {
                        print_message("left: %s over %s", de->d_name, b);
                        n++;
                }
        }
        closedir(d);
        assert_true(zero_read_file("/proc/self/mountinfo", 16 << 20, &info, NULL) >= 0);
        if (strstr(info, needle)) {
                print_message("left: a mount under %s\n", dir);
                n++;
        }
        return n;
}
