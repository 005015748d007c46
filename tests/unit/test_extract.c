/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests of agent/extract.c: the rules (a pure check), and extraction into a directory,
 * from archives and from a directory tree, with nothing written outside it. Runs as root (the
 * owners are set). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cmocka.h>

#include "agent/extract.h"
#include "common/macro.h"
#include "common/util.h"
#include "tests/unit/tar_build.h"

struct sandbox {
        char dir[64];  /* the test's directory */
        char root[96]; /* the extraction root inside it */
        int root_fd;
};

static int setup(void **state) {
        struct sandbox *s = calloc(1, sizeof(*s));
        snprintf(s->dir, sizeof(s->dir), "/tmp/test-extract.XXXXXX");
        assert_non_null(mkdtemp(s->dir));
        snprintf(s->root, sizeof(s->root), "%s/root", s->dir);
        assert_int_equal(mkdir(s->root, 0755), 0);
        s->root_fd = open(s->root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        assert_true(s->root_fd >= 0);
        *state = s;
        return 0;
}

static int teardown(void **state) {
        struct sandbox *s = *state;
        safe_close(s->root_fd);
        assert_int_equal(zero_rm_rf(s->dir), 0);
        free(s);
        return 0;
}

/* Entries of the sandbox besides root/ (and src/, a directory test's source): must stay none. */
static void assert_nothing_outside(const struct sandbox *s) {
        char cmd[256];
        snprintf(cmd, sizeof(cmd), "test \"$(ls -A %s | grep -vx src)\" = root && ! test -e /tmp/zero-extract-escape",
                 s->dir);
        assert_int_equal(system(cmd), 0);
}

static int extract_buf(struct sandbox *s, const struct buf *b, bool keep_setuid, struct zero_error *err) {
        struct zero_extract_options o = {.keep_setuid = keep_setuid};
        struct zero_extract *x = NULL;
        struct zero_tar *t = NULL;
        int r;

        assert_int_equal(zero_extract_new(s->root_fd, &o, &x), 0);
        assert_int_equal(zero_tar_new_buffer(b->p, b->len, &t), 0);
        r = zero_extract_tar(x, t, err);
        zero_tar_free(t);
        zero_extract_free(x);
        return r;
}

static void check_refused(const struct zero_tar_entry *e, const char *message) {
        struct zero_error err = {};
        char *path = NULL;

        assert_int_equal(zero_extract_check(e, &path, &err) < 0, 1);
        assert_null(path);
        assert_string_equal(err.message, message);
        assert_int_equal(err.code, ZERO_E_INVALID);
}

static void check_allowed(const struct zero_tar_entry *e, const char *want) {
        struct zero_error err = {};
        char *path = NULL;

        assert_int_equal(zero_extract_check(e, &path, &err), 0);
        assert_string_equal(path, want);
        free(path);
}

static void test_rules(void **state) {
        struct zero_tar_entry e = {.type = ZERO_TAR_FILE, .path = (char *) "./usr//bin/./x/"};

        check_allowed(&e, "usr/bin/x");
        e.path = (char *) ".";
        e.type = ZERO_TAR_DIR;
        check_allowed(&e, "");
        e.type = ZERO_TAR_FILE;
        check_refused(&e, "image entry '.' names the image's root, which is a directory");
        e.path = (char *) "/etc/passwd";
        check_refused(&e, "image entry '/etc/passwd' is an absolute path: entries are relative to the image's root");
        e.path = (char *) "a/../../escape";
        check_refused(&e, "image entry 'a/../../escape' leaves the image: '..' is not allowed");
        e.path = (char *) "dev/sda";
        e.type = ZERO_TAR_BLOCK_DEV;
        check_refused(&e, "image entry 'dev/sda' is a block device: images may not hold device nodes, FIFOs or sockets");
        e.type = ZERO_TAR_CHAR;
        check_refused(&e, "image entry 'dev/sda' is a character device: images may not hold device nodes, FIFOs or "
                          "sockets");
        e.type = ZERO_TAR_FIFO;
        check_refused(&e, "image entry 'dev/sda' is a FIFO: images may not hold device nodes, FIFOs or sockets");
        e.type = ZERO_TAR_OTHER;
        e.typeflag = 'V';
        check_refused(&e, "image entry 'dev/sda' has the unsupported entry type 'V'");
        e.type = ZERO_TAR_HARDLINK;
        e.path = (char *) "bin/h";
        e.linkpath = (char *) "../../etc/shadow";
        check_refused(&e, "image entry 'bin/h' is a hard link to '../../etc/shadow', which leaves the image: '..' "
                          "is not allowed");
        e.linkpath = (char *) "/etc/shadow";
        check_refused(&e, "image entry 'bin/h' is a hard link to the absolute path '/etc/shadow'");
        e.linkpath = (char *) "./bin/h";
        check_refused(&e, "image entry 'bin/h' is a hard link to itself or to the image's root");
        e.type = ZERO_TAR_FILE;
        e.path = (char *) "a\nb\xff";
        e.uid = UINT32_MAX;
        check_refused(&e, "image entry 'a\\x0ab\\xff' has an owner or group beyond 2^32-2");
}

static void test_simplify(void **state) {
        static const char *const cases[][2] = {
                {"/a/./b//c/../d/", "/a/b/d"}, {"/../..", "/"}, {"a/./b", "a/b"}, {"./", ""}, {"/", "/"}, {"//x", "/x"},
        };
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_free_ char *p = zero_path_simplify(cases[i][0]);
                assert_string_equal(p, cases[i][1]);
        }
        assert_true(zero_path_has_dotdot("a/../b"));
        assert_true(zero_path_has_dotdot(".."));
        assert_false(zero_path_has_dotdot("a/..b/c.."));
}

static void stat_at(const struct sandbox *s, const char *path, struct stat *st) {
        assert_int_equal(fstatat(s->root_fd, path, st, AT_SYMLINK_NOFOLLOW), 0);
}

static void test_tree(void **state) {
        struct sandbox *s = *state;
        struct buf b = {};
        struct zero_error err = {};
        struct stat st, st2;
        char target[64] = "";

        hdr(&b, "./", '5', 0, NULL, 0750);
        hdr(&b, "usr/bin/", '5', 0, NULL, 02755); /* a directory's setgid stays */
        hdr(&b, "usr/bin/su", '0', 4, NULL, 04755);
        data(&b, "suid", 4);
        hdr(&b, "usr/bin/su2", '1', 0, "usr/bin/su", 0644);
        hdr(&b, "bin", '2', 0, "usr/bin", 0777);
        hdr(&b, "deep/missing/parents/f", '0', 1, NULL, 0600);
        data(&b, "x", 1);
        hdr(&b, "twice", '0', 1, NULL, 0644); /* a second entry of a name replaces the first */
        data(&b, "1", 1);
        hdr(&b, "twice", '2', 0, "usr", 0777);
        end(&b);
        assert_int_equal(extract_buf(s, &b, false, &err), 0);
        stat_at(s, ".", &st);
        assert_int_equal(st.st_mode & 07777, 0750);
        stat_at(s, "usr/bin", &st);
        assert_int_equal(st.st_mode & 07777, 02755);
        stat_at(s, "usr/bin/su", &st);
        assert_int_equal(st.st_mode & 07777, 0755); /* setuid cleared */
        assert_int_equal(st.st_uid, 1000);
        assert_int_equal(st.st_gid, 1000);
        assert_int_equal(st.st_mtime, 1700000000);
        stat_at(s, "usr/bin/su2", &st2);
        assert_int_equal(st.st_ino, st2.st_ino);
        assert_int_equal(readlinkat(s->root_fd, "bin", target, sizeof(target) - 1), 7);
        assert_string_equal(target, "usr/bin");
        stat_at(s, "deep/missing/parents", &st);
        assert_int_equal(st.st_mode & 07777, 0755);
        stat_at(s, "twice", &st);
        assert_true(S_ISLNK(st.st_mode));
        assert_nothing_outside(s);
        free(b.p);
}

static void test_keep_setuid(void **state) {
        struct sandbox *s = *state;
        struct buf b = {};
        struct zero_error err = {};
        struct stat st;

        hdr(&b, "su", '0', 0, NULL, 06755);
        end(&b);
        assert_int_equal(extract_buf(s, &b, true, &err), 0);
        stat_at(s, "su", &st);
        assert_int_equal(st.st_mode & 07777, 06755);
        free(b.p);
}

/* Each archive is refused with its message, and writes nothing outside the root. */
static void refused(struct sandbox *s, const struct buf *b, const char *message) {
        struct zero_error err = {};

        assert_true(extract_buf(s, b, false, &err) < 0);
        assert_string_equal(err.message, message);
        assert_nothing_outside(s);
}

static void test_escapes(void **state) {
        struct sandbox *s = *state;
        struct buf b = {};

        /* a symlink planted first, then written through: absolute, relative, and to a dir */
        hdr(&b, "evil", '2', 0, "/tmp", 0777);
        hdr(&b, "evil/zero-extract-escape", '0', 0, NULL, 0644);
        end(&b);
        refused(s, &b, "image entry 'evil/zero-extract-escape' goes through the symlink 'evil': entries may not be "
                       "written through symlinks");
        free(b.p);
        b = (struct buf){};
        hdr(&b, "d/", '5', 0, NULL, 0755);
        hdr(&b, "d/up", '2', 0, "../..", 0777);
        hdr(&b, "d/up/tmp/zero-extract-escape", '5', 0, NULL, 0755);
        end(&b);
        refused(s, &b, "image entry 'd/up/tmp/zero-extract-escape' goes through the symlink 'd/up': entries may not be "
                       "written through symlinks");
        free(b.p);
        /* a hard link to a file outside, and to what is not there */
        b = (struct buf){};
        hdr(&b, "h", '1', 0, "../../../../etc/passwd", 0644);
        end(&b);
        refused(s, &b, "image entry 'h' is a hard link to '../../../../etc/passwd', which leaves the image: '..' is not "
                       "allowed");
        free(b.p);
        b = (struct buf){};
        hdr(&b, "h2", '1', 0, "etc/passwd", 0644);
        end(&b);
        refused(s, &b, "image entry 'h2' is a hard link to a file the image does not have before it");
        free(b.p);
        /* a hard link through a planted symlink */
        b = (struct buf){};
        hdr(&b, "l", '2', 0, "/etc", 0777);
        hdr(&b, "h3", '1', 0, "l/passwd", 0644);
        end(&b);
        refused(s, &b, "image entry 'h3' goes through the symlink 'l': entries may not be written through symlinks");
        free(b.p);
        /* a file where a directory with files is */
        b = (struct buf){};
        hdr(&b, "full/", '5', 0, NULL, 0755);
        hdr(&b, "full/f", '0', 0, NULL, 0644);
        hdr(&b, "full", '0', 0, NULL, 0644);
        end(&b);
        refused(s, &b, "image entry 'full' replaces a directory that is not empty");
        free(b.p);
        /* under a file */
        b = (struct buf){};
        hdr(&b, "file", '0', 0, NULL, 0644);
        hdr(&b, "file/x", '0', 0, NULL, 0644);
        end(&b);
        refused(s, &b, "image entry 'file/x' is under 'file', which is not a directory");
        free(b.p);
}

static void test_limits(void **state) {
        struct sandbox *s = *state;
        struct zero_extract_options o = {.max_bytes = 1000};
        struct zero_extract *x = NULL;
        struct zero_tar *t = NULL;
        struct zero_error err = {};
        struct buf b = {};
        char d[1500];

        memset(d, 'a', sizeof(d));
        hdr(&b, "big", '0', sizeof(d), NULL, 0644);
        data(&b, d, sizeof(d));
        end(&b);
        assert_int_equal(zero_extract_new(s->root_fd, &o, &x), 0);
        assert_int_equal(zero_tar_new_buffer(b.p, b.len, &t), 0);
        assert_int_equal(zero_extract_tar(x, t, &err), -EFBIG);
        assert_string_equal(err.message, "the image's files are larger than the limit of 1000 bytes ([images] image_max)");
        zero_tar_free(t);
        zero_extract_free(x);
        free(b.p);
}

static int extract_dir(struct sandbox *s, const char *src, struct zero_error *err) {
        struct zero_extract_options o = {};
        struct zero_extract *x = NULL;
        int fd = open(src, O_RDONLY | O_DIRECTORY | O_CLOEXEC), r;

        assert_true(fd >= 0);
        assert_int_equal(zero_extract_new(s->root_fd, &o, &x), 0);
        r = zero_extract_dir(x, fd, err);
        zero_extract_free(x);
        close(fd);
        return r;
}

static void test_directory(void **state) {
        struct sandbox *s = *state;
        char src[80], cmd[1024];
        struct zero_error err = {};
        struct sockaddr_un sa = {.sun_family = AF_UNIX};
        struct stat a, b;
        int fd;

        snprintf(src, sizeof(src), "%s/src", s->dir);
        snprintf(cmd, sizeof(cmd),
                 "set -e; mkdir -p %s/etc; echo hi > %s/etc/f; ln %s/etc/f %s/etc/g; ln -s /etc/f %s/abs; chmod 4755 "
                 "%s/etc/f",
                 src, src, src, src, src, src);
        assert_int_equal(system(cmd), 0);
        assert_int_equal(extract_dir(s, src, &err), 0);
        stat_at(s, "etc/f", &a);
        stat_at(s, "etc/g", &b);
        assert_int_equal(a.st_ino, b.st_ino); /* a hard link stays one */
        assert_int_equal(a.st_mode & 07777, 0755);
        stat_at(s, "abs", &a);
        assert_true(S_ISLNK(a.st_mode));
        /* the directory is not a rule's way around: FIFOs, sockets, devices are refused too */
        snprintf(cmd, sizeof(cmd), "mkfifo %s/etc/fifo", src);
        assert_int_equal(system(cmd), 0);
        assert_true(extract_dir(s, src, &err) < 0);
        assert_string_equal(err.message, "image entry 'etc/fifo' is a FIFO: images may not hold device nodes, FIFOs or "
                                         "sockets");
        snprintf(cmd, sizeof(cmd), "rm %s/etc/fifo", src);
        assert_int_equal(system(cmd), 0);
        snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/sock", src);
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        assert_int_equal(bind(fd, (struct sockaddr *) &sa, sizeof(sa)), 0);
        close(fd);
        assert_true(extract_dir(s, src, &err) < 0);
        assert_string_equal(err.message, "image entry 'sock' is a socket: images may not hold device nodes, FIFOs or "
                                         "sockets");
        unlink(sa.sun_path);
        snprintf(cmd, sizeof(cmd), "mknod %s/null c 1 3", src);
        assert_int_equal(system(cmd), 0);
        assert_true(extract_dir(s, src, &err) < 0);
        assert_string_equal(err.message, "image entry 'null' is a character device: images may not hold device nodes, "
                                         "FIFOs or sockets");
        assert_nothing_outside(s);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_rules),
                cmocka_unit_test(test_simplify),
                cmocka_unit_test_setup_teardown(test_tree, setup, teardown),
                cmocka_unit_test_setup_teardown(test_keep_setuid, setup, teardown),
                cmocka_unit_test_setup_teardown(test_escapes, setup, teardown),
                cmocka_unit_test_setup_teardown(test_limits, setup, teardown),
                cmocka_unit_test_setup_teardown(test_directory, setup, teardown),
        };
        umask(022);
        return cmocka_run_group_tests(tests, NULL, NULL);
}
