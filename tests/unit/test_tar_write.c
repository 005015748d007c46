/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests of cli/tar_write.c: the stream zeroctl uploads, read back with common/tar.c (the
 * reader zero-unpack uses) and with GNU tar. Runs as root (owners beyond the octal fields). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "cli/tar_write.h"
#include "common/macro.h"
#include "common/tar.h"
#include "common/util.h"
#include "tests/unit/skip.h"

static char dir[] = "/tmp/test-tar-write.XXXXXX";

static void sh(const char *fmt, ...) {
        char cmd[2048];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(cmd, sizeof(cmd), fmt, ap);
        va_end(ap);
        assert_int_equal(system(cmd), 0);
}

static int setup(void **state) {
        assert_non_null(mkdtemp(dir));
        return 0;
}

static int teardown(void **state) {
        return zero_rm_rf(dir);
}

/* The tar reader pulls straight from the writer, in odd-sized reads. */
static ssize_t pull(void *userdata, void *buf, size_t len) {
        struct zero_error e = {};
        return zeroctl_tar_read(userdata, buf, len > 333 ? 333 : len, &e);
}

static void test_round_trip(void **state) {
        char longname[200], longlink[150], line[512];
        struct zeroctl_tar *w = NULL;
        struct zero_tar *t = NULL;
        struct zero_error e = {};
        const struct zero_tar_entry *en;
        char listing[8192] = "";
        size_t off = 0;
        int r;

        memset(longname, 'n', sizeof(longname) - 1);
        longname[sizeof(longname) - 1] = '\0';
        memset(longlink, 't', sizeof(longlink) - 1);
        longlink[sizeof(longlink) - 1] = '\0';
        sh("set -e; cd %s; mkdir -p src/etc src/bin; printf hello > src/etc/hosts; ln src/etc/hosts src/etc/hosts2; "
           "ln -s ../etc/hosts src/bin/l; ln -s %s src/bin/longlink; printf x > src/etc/%s; "
           "head -c 100000 /dev/urandom > src/bin/big; chown 3000000:5 src/bin/big; chmod 4755 src/bin/big; "
           "printf K > k",
           dir, longlink, longname);
        snprintf(line, sizeof(line), "%s/src", dir);
        assert_int_equal(zeroctl_tar_new(line, "rootfs", &w, &e), 0);
        snprintf(line, sizeof(line), "%s/k", dir);
        assert_int_equal(zeroctl_tar_add_file(w, "vmlinuz", line, &e), 0);
        assert_int_equal(zero_tar_new(pull, w, &t), 0);
        while ((r = zero_tar_next(t, &en, &e)) > 0) {
                char d[8] = "";
                ssize_t n = zero_tar_read(t, d, sizeof(d) - 1, &e);
                assert_true(n >= 0);
                d[n] = '\0';
                off += (size_t) snprintf(listing + off, sizeof(listing) - off, "%d %s%s%s %o %llu %llu:%s\n",
                                         en->type, en->path, en->linkpath ? "->" : "", strempty(en->linkpath),
                                         en->mode, (unsigned long long) en->uid, (unsigned long long) en->size,
                                         en->type == ZERO_TAR_FILE && n ? d : "");
        }
        assert_int_equal(r, 0);
        snprintf(line, sizeof(line), "0 rootfs/etc/%s 644 0 1:x\n", longname);
        assert_non_null(strstr(listing, line));
        snprintf(line, sizeof(line), "2 rootfs/bin/longlink->%s 777 0 0:\n", longlink);
        assert_non_null(strstr(listing, line));
        assert_non_null(strstr(listing, "5 rootfs 755 0 0:\n"));
        assert_non_null(strstr(listing, "2 rootfs/bin/l->../etc/hosts 777 0 0:\n"));
        assert_non_null(strstr(listing, "0 rootfs/bin/big 4755 3000000 100000:"));
        assert_true(strstr(listing, "1 rootfs/etc/hosts2->rootfs/etc/hosts 644 0 0:\n") ||
                    strstr(listing, "1 rootfs/etc/hosts->rootfs/etc/hosts2 644 0 0:\n"));
        assert_true(strstr(listing, "0 rootfs/etc/hosts 644 0 5:hello\n") || strstr(listing, "0 rootfs/etc/hosts2 644 0 5:hello\n"));
        assert_non_null(strstr(listing, "0 vmlinuz 644 0 1:K\n"));
        zero_tar_free(t);
        zeroctl_tar_free(w);
}

/* GNU tar reads the stream too, and extracts the same tree. */
static void test_gnu_tar_reads_it(void **state) {
        struct zeroctl_tar *w = NULL;
        struct zero_error e = {};
        char path[256], buf[4096];
        FILE *f;
        ssize_t n;

        if (system("tar --version >/dev/null 2>&1") != 0)
                zero_skip("GNU tar is not installed: skipped\n");
        snprintf(path, sizeof(path), "%s/src", dir);
        assert_int_equal(zeroctl_tar_new(path, NULL, &w, &e), 0);
        snprintf(path, sizeof(path), "%s/out.tar", dir);
        f = fopen(path, "we");
        assert_non_null(f);
        while ((n = zeroctl_tar_read(w, buf, sizeof(buf), &e)) > 0)
                assert_int_equal(fwrite(buf, 1, (size_t) n, f), (size_t) n);
        assert_int_equal(n, 0);
        fclose(f);
        zeroctl_tar_free(w);
        sh("set -e; cd %s; mkdir x; tar --numeric-owner -xpf out.tar -C x; diff -r --no-dereference src x; "
           "test \"$(stat -c '%%u %%a' x/bin/big)\" = '3000000 4755'; test \"$(stat -c %%i x/etc/hosts)\" = \"$(stat -c %%i x/etc/hosts2)\"",
           dir);
}

/* What an image may not hold fails the stream here already, with the reason. */
static void test_refused(void **state) {
        struct zeroctl_tar *w = NULL;
        struct zero_error e = {};
        char path[256], buf[4096];
        ssize_t n;

        sh("set -e; cd %s; mkdir -p bad/dev; mkfifo bad/dev/fifo", dir);
        snprintf(path, sizeof(path), "%s/bad", dir);
        assert_int_equal(zeroctl_tar_new(path, NULL, &w, &e), 0);
        while ((n = zeroctl_tar_read(w, buf, sizeof(buf), &e)) > 0)
                ;
        assert_int_equal(n, -EPERM);
        snprintf(path, sizeof(path), "%s/bad/dev/fifo is a FIFO: images may not hold device nodes, FIFOs or sockets", dir);
        assert_string_equal(e.message, path);
        zeroctl_tar_free(w);
        snprintf(path, sizeof(path), "%s/k", dir);
        assert_int_equal(zeroctl_tar_new(path, NULL, &w, &e), -ENOTDIR);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_round_trip),
                cmocka_unit_test(test_gnu_tar_reads_it),
                cmocka_unit_test(test_refused),
        };
        umask(022);
        return zero_tests_exit(cmocka_run_group_tests(tests, setup, teardown));
}
