/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests of common/tar.c, the tar reader: archives written header by header here, and
 * archives of GNU tar in its three formats. */
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

#include "common/macro.h"
#include "common/tar.h"
#include "common/util.h"
#include "tests/unit/skip.h"
#include "tests/unit/tar_build.h"

/* Reads every entry into "TYPE PATH[->LINK] MODE UID SIZE[:DATA]" lines. */
static int list(struct zero_tar *t, char *out, size_t outlen, struct zero_error *err) {
        const struct zero_tar_entry *e;
        size_t off = 0;
        int r;

        out[0] = '\0';
        while ((r = zero_tar_next(t, &e, err)) > 0) {
                char d[64] = "";
                ssize_t n = zero_tar_read(t, d, sizeof(d) - 1, err);
                if (n < 0)
                        return (int) n;
                d[n] = '\0';
                off += (size_t) snprintf(out + off, outlen - off, "%d %s%s%s %o %llu %llu%s%s\n", e->type, e->path,
                                         e->linkpath ? "->" : "", strempty(e->linkpath), e->mode,
                                         (unsigned long long) e->uid, (unsigned long long) e->size, n ? ":" : "", d);
        }
        return r;
}

static int list_buf(const struct buf *b, char *out, size_t outlen, struct zero_error *err) {
        struct zero_tar *t = NULL;
        int r;

        assert_int_equal(zero_tar_new_buffer(b->p, b->len, &t), 0);
        r = list(t, out, outlen, err);
        zero_tar_free(t);
        return r;
}

static void test_ustar(void **state) {
        struct buf b = {};
        struct zero_error e = {};
        char out[2048];

        hdr(&b, "etc/", '5', 0, NULL, 0755);
        hdr(&b, "etc/hosts", '0', 6, NULL, 0644);
        data(&b, "hello\n", 6);
        hdr(&b, "etc/big", '0', 700, NULL, 04755); /* data not read: skipped */
        char big[700];
        memset(big, 'x', sizeof(big));
        data(&b, big, sizeof(big));
        hdr(&b, "etc/l", '2', 0, "hosts", 0777);
        hdr(&b, "etc/h", '1', 0, "etc/hosts", 0644);
        hdr(&b, "dev/sda", '4', 0, NULL, 0660);
        hdr(&b, "dev/tty", '3', 0, NULL, 0620);
        hdr(&b, "fifo", '6', 0, NULL, 0600);
        hdr(&b, "old-dir/", '0', 0, NULL, 0755);
        hdr(&b, "vendor", 'V', 0, NULL, 0644);
        end(&b);
        assert_int_equal(list_buf(&b, out, sizeof(out), &e), 0);
        assert_string_equal(out, "5 etc 755 1000 0\n"
                                 "0 etc/hosts 644 1000 6:hello\n\n"
                                 "0 etc/big 4755 1000 700:xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\n"
                                 "2 etc/l->hosts 777 1000 0\n"
                                 "1 etc/h->etc/hosts 644 1000 0\n"
                                 "4 dev/sda 660 1000 0\n"
                                 "3 dev/tty 620 1000 0\n"
                                 "6 fifo 600 1000 0\n"
                                 "5 old-dir 755 1000 0\n"
                                 "7 vendor 644 1000 0\n");
        free(b.p);
}

static void test_device_numbers_and_prefix(void **state) {
        struct buf b = {};
        struct zero_error e = {};
        struct zero_tar *t = NULL;
        const struct zero_tar_entry *en;
        char longdir[151];

        memset(longdir, 'd', 150);
        longdir[150] = '\0';
        hdr(&b, "sda", '4', 0, NULL, 0660);
        hdr(&b, "file", '0', 0, NULL, 0644);
        memcpy(b.p + 512 + 345, longdir, 150); /* the ustar prefix */
        checksum(b.p + 512);
        end(&b);
        assert_int_equal(zero_tar_new_buffer(b.p, b.len, &t), 0);
        assert_int_equal(zero_tar_next(t, &en, &e), 1);
        assert_int_equal(en->type, ZERO_TAR_BLOCK_DEV);
        assert_int_equal(en->devmajor, 8);
        assert_int_equal(en->devminor, 1);
        assert_int_equal(en->mtime, 1700000000);
        assert_int_equal(en->offset, 0);
        assert_int_equal(zero_tar_next(t, &en, &e), 1);
        assert_int_equal(strlen(en->path), 150 + 1 + 4);
        assert_memory_equal(en->path, longdir, 150);
        assert_string_equal(en->path + 150, "/file");
        assert_int_equal(en->offset, 512);
        assert_int_equal(zero_tar_next(t, &en, &e), 0);
        assert_int_equal(zero_tar_next(t, &en, &e), 0); /* the end stays the end */
        zero_tar_free(t);
        free(b.p);
}

static void test_pax(void **state) {
        struct buf b = {}, g = {}, x = {};
        struct zero_error e = {};
        char out[8192], name[300];

        memset(name, 'n', sizeof(name) - 1);
        name[sizeof(name) - 1] = '\0';
        pax_record(&g, "uid", "4242");
        pax(&b, 'g', &g);
        pax_record(&x, "path", name);
        pax_record(&x, "size", "3");
        pax_record(&x, "mtime", "1600000000.5");
        pax_record(&x, "SCHILY.xattr.security.capability", "ignored");
        pax(&b, 'x', &x);
        hdr(&b, "short", '0', 999, NULL, 0644); /* pax's size wins over the header's */
        data(&b, "abc", 3);
        free(x.p);
        x = (struct buf){};
        pax_record(&x, "linkpath", "/a/very/long/target");
        pax_record(&x, "uid", ""); /* unset: the global value goes, the header's comes back */
        pax(&b, 'x', &x);
        hdr(&b, "sym", '2', 0, "short", 0777);
        hdr(&b, "plain", '0', 0, NULL, 0600); /* only the global header applies */
        end(&b);
        assert_int_equal(list_buf(&b, out, sizeof(out), &e), 0);
        char want[8192];
        snprintf(want, sizeof(want), "0 %s 644 4242 3:abc\n2 sym->/a/very/long/target 777 1000 0\n0 plain 600 4242 0\n",
                 name);
        assert_string_equal(out, want);
        free(b.p);
        free(g.p);
        free(x.p);
}

static void test_gnu_long_names(void **state) {
        struct buf b = {};
        struct zero_error e = {};
        char out[8192], name[200], link[150], want[8192];

        memset(name, 'L', sizeof(name) - 1);
        name[sizeof(name) - 1] = '\0';
        memset(link, 'K', sizeof(link) - 1);
        link[sizeof(link) - 1] = '\0';
        hdr(&b, "././@LongLink", 'L', strlen(name) + 1, NULL, 0644);
        data(&b, name, strlen(name) + 1);
        hdr(&b, "././@LongLink", 'K', strlen(link) + 1, NULL, 0644);
        data(&b, link, strlen(link) + 1);
        hdr(&b, "truncated-name", '2', 0, "truncated-link", 0777);
        end(&b);
        assert_int_equal(list_buf(&b, out, sizeof(out), &e), 0);
        snprintf(want, sizeof(want), "2 %s->%s 777 1000 0\n", name, link);
        assert_string_equal(out, want);
        free(b.p);
}

static void test_base256(void **state) {
        struct buf b = {};
        struct zero_error e = {};
        struct zero_tar *t = NULL;
        const struct zero_tar_entry *en;

        hdr(&b, "huge-uid", '0', 0, NULL, 0644);
        memset(b.p + 108, 0, 8);
        b.p[108] = 0x80;
        b.p[115] = 0x07; /* uid 0x01_0000_0007 */
        b.p[114] = 0x00;
        b.p[111] = 0x01;
        checksum(b.p);
        end(&b);
        assert_int_equal(zero_tar_new_buffer(b.p, b.len, &t), 0);
        assert_int_equal(zero_tar_next(t, &en, &e), 1);
        assert_int_equal(en->uid, 0x0100000007ULL);
        zero_tar_free(t);
        /* negative: refused */
        b.p[108] = 0xff;
        checksum(b.p);
        assert_int_equal(zero_tar_new_buffer(b.p, b.len, &t), 0);
        assert_int_equal(zero_tar_next(t, &en, &e), -EBADMSG);
        assert_string_equal(e.message, "not a valid tar archive: bad number in header (at byte 0)");
        zero_tar_free(t);
        free(b.p);
}

/* Each broken archive fails with this message and never crashes. */
static void expect_bad(const struct buf *b, const char *message) {
        struct zero_error e = {};
        char out[8192];
        int r = list_buf(b, out, sizeof(out), &e);

        assert_true(r < 0);
        assert_string_equal(e.message, message);
        assert_int_equal(e.code, ZERO_E_INVALID);
}

static void test_broken(void **state) {
        struct buf b = {};

        hdr(&b, "f", '0', 0, NULL, 0644);
        b.p[0] = 'g'; /* checksum no longer matches */
        end(&b);
        expect_bad(&b, "not a valid tar archive: header checksum mismatch (at byte 0)");
        free(b.p);

        b = (struct buf){};
        hdr(&b, "f", '0', 10, NULL, 0644);
        append(&b, "12345", 5);
        expect_bad(&b, "not a valid tar archive: truncated (at byte 517)");
        /* read to the end of what is there, then once more */
        {
                struct zero_tar *t = NULL;
                const struct zero_tar_entry *en;
                struct zero_error e = {};
                char d[16];
                assert_int_equal(zero_tar_new_buffer(b.p, b.len, &t), 0);
                assert_int_equal(zero_tar_next(t, &en, &e), 1);
                assert_int_equal(zero_tar_read(t, d, sizeof(d), &e), 5);
                assert_int_equal(zero_tar_read(t, d, sizeof(d), &e), -EBADMSG);
                assert_string_equal(e.message, "not a valid tar archive: truncated in the data of an entry (at byte 517)");
                zero_tar_free(t);
        }
        free(b.p);

        b = (struct buf){};
        hdr(&b, "f", '0', 5, NULL, 0644);
        data(&b, "12345", 5);
        expect_bad(&b, "not a valid tar archive: the archive ends without its end-of-archive block (at byte 1024)");
        append(&b, "xx", 2);
        expect_bad(&b, "not a valid tar archive: truncated (at byte 1026)");
        free(b.p);

        b = (struct buf){};
        hdr(&b, "x", 'x', ZERO_TAR_PAX_MAX + 1, NULL, 0644);
        end(&b);
        expect_bad(&b, "not a valid tar archive: extended header too large (at byte 0)");
        free(b.p);

        b = (struct buf){};
        hdr(&b, "L", 'L', ZERO_TAR_PATH_MAX + 1, NULL, 0644);
        end(&b);
        expect_bad(&b, "not a valid tar archive: extended header too large (at byte 0)");
        free(b.p);

        b = (struct buf){};
        struct buf x = {};
        append(&x, "99 path=x\n", 10);
        pax(&b, 'x', &x);
        hdr(&b, "f", '0', 0, NULL, 0644);
        end(&b);
        expect_bad(&b, "not a valid tar archive: bad pax record (at byte 0)");
        free(b.p);
        free(x.p);

        b = (struct buf){};
        x = (struct buf){};
        pax_record(&x, "path", "aXb");
        x.p[x.len - 3] = '\0'; /* the X: a NUL inside the value */
        pax(&b, 'x', &x);
        hdr(&b, "f", '0', 0, NULL, 0644);
        end(&b);
        expect_bad(&b, "not a valid tar archive: bad pax value (at byte 0)");
        free(b.p);
        free(x.p);

        b = (struct buf){};
        x = (struct buf){};
        pax_record(&x, "path", "p");
        pax(&b, 'x', &x);
        end(&b);
        expect_bad(&b, "not a valid tar archive: an extended header without its entry (at byte 1024)");
        free(b.p);
        free(x.p);

        b = (struct buf){};
        x = (struct buf){};
        pax_record(&x, "GNU.sparse.size", "100");
        pax(&b, 'x', &x);
        hdr(&b, "f", '0', 0, NULL, 0644);
        end(&b);
        expect_bad(&b, "sparse files are not supported (pax GNU.sparse at byte 0)");
        free(b.p);
        free(x.p);

        b = (struct buf){};
        hdr(&b, "s", 'S', 0, NULL, 0644);
        end(&b);
        expect_bad(&b, "sparse files are not supported (GNU 'S' entry at byte 0)");
        free(b.p);

        b = (struct buf){};
        hdr(&b, "", '0', 0, NULL, 0644);
        end(&b);
        expect_bad(&b, "not a valid tar archive: entry without a name (at byte 0)");
        free(b.p);

        b = (struct buf){};
        hdr(&b, "l", '2', 0, "", 0644);
        end(&b);
        expect_bad(&b, "not a valid tar archive: link without a target (at byte 0)");
        free(b.p);

        b = (struct buf){};
        hdr(&b, "f", '0', 0, NULL, 0644);
        memcpy(b.p + 124, "12x", 3);
        checksum(b.p);
        end(&b);
        expect_bad(&b, "not a valid tar archive: bad size (at byte 0)");
        free(b.p);
}

/* A reader that hands out one byte at a time: nothing may assume a full block per read. */
static ssize_t trickle(void *userdata, void *buf, size_t len) {
        struct buf *b = userdata;
        if (b->len == 0)
                return 0;
        *(uint8_t *) buf = *b->p;
        b->p++;
        b->len--;
        return 1;
}

static ssize_t failing(void *userdata, void *buf, size_t len) {
        return -EIO;
}

static void test_callback(void **state) {
        struct buf b = {}, cursor;
        struct zero_error e = {};
        struct zero_tar *t = NULL;
        char out[1024];

        hdr(&b, "a", '0', 600, NULL, 0644);
        char d[600];
        memset(d, 'q', sizeof(d));
        data(&b, d, sizeof(d));
        hdr(&b, "b", '5', 0, NULL, 0700);
        end(&b);
        cursor = b;
        assert_int_equal(zero_tar_new(trickle, &cursor, &t), 0);
        assert_int_equal(list(t, out, sizeof(out), &e), 0);
        assert_true(strncmp(out, "0 a 644 1000 600:q", 18) == 0);
        assert_non_null(strstr(out, "\n5 b 700 1000 0\n"));
        assert_int_equal(zero_tar_offset(t), 512 * 5); /* the end block is read, not the one after */
        zero_tar_free(t);

        assert_int_equal(zero_tar_new(failing, NULL, &t), 0);
        assert_int_equal(list(t, out, sizeof(out), &e), -EIO);
        assert_string_equal(e.message, "cannot read the archive: Input/output error");
        zero_tar_free(t);
        free(b.p);
}

/* Mutated archives: every byte flipped in turn and random garbage, each read to its end or to
 * an error (AddressSanitizer watches). */
static void test_mutations(void **state) {
        struct buf b = {}, x = {};
        struct zero_error e = {};
        char out[65536];
        unsigned seed = 1;

        pax_record(&x, "path", "pax/name");
        pax_record(&x, "linkpath", "target");
        pax(&b, 'x', &x);
        hdr(&b, "l", '2', 0, "t", 0777);
        hdr(&b, "././@LongLink", 'L', 5, NULL, 0644);
        data(&b, "long", 5);
        hdr(&b, "f", '0', 3, NULL, 0644);
        data(&b, "abc", 3);
        end(&b);
        for (size_t i = 0; i < b.len; i += 7) {
                uint8_t saved = b.p[i];
                b.p[i] ^= (uint8_t) (1u << (i % 8));
                (void) list_buf(&b, out, sizeof(out), &e);
                b.p[i] = saved;
        }
        for (int k = 0; k < 200; k++) {
                for (size_t i = 0; i < b.len; i++)
                        if (rand_r(&seed) % 64 == 0)
                                b.p[i] = (uint8_t) rand_r(&seed);
                (void) list_buf(&b, out, sizeof(out), &e);
        }
        free(b.p);
        free(x.p);
}

/* GNU tar's own archives in its formats, with names past 100 bytes, links and a FIFO. */
static void test_gnu_tar(void **state) {
        char dir[] = "/tmp/test-tar.XXXXXX", cmd[1024], path[512], out[8192];
        static const char *const formats[] = {"gnu", "pax", "ustar"};
        char longname[128];

        if (system("tar --version >/dev/null 2>&1") != 0)
                zero_skip("GNU tar is not installed: skipped\n");
        assert_non_null(mkdtemp(dir));
        /* a path of 123 bytes that ustar splits between its prefix and name fields */
        memset(longname, 'z', 127);
        longname[70] = '/';
        longname[127] = '\0';
        snprintf(path, sizeof(path), "%s/t/%s", dir, longname);
        snprintf(cmd, sizeof(cmd),
                 "set -e; cd %s; mkdir -p t/sub; printf data > t/sub/f; ln t/sub/f t/hard; ln -s sub/f t/sym; "
                 "mkfifo t/fifo; mkdir t/%.70s; printf x > t/%s",
                 dir, longname, longname);
        assert_int_equal(system(cmd), 0);
        for (size_t i = 0; i < ELEMENTSOF(formats); i++) {
                _cleanup_free_ char *archive = NULL;
                size_t len = 0;
                struct buf b;
                struct zero_error e = {};

                snprintf(cmd, sizeof(cmd), "cd %s && tar --format=%s --numeric-owner --sort=name -cf a.tar t", dir,
                         formats[i]);
                assert_int_equal(system(cmd), 0);
                snprintf(path, sizeof(path), "%s/a.tar", dir);
                assert_int_equal(zero_read_file(path, 1 << 20, &archive, &len), 0);
                b = (struct buf){(uint8_t *) archive, len};
                assert_int_equal(list_buf(&b, out, sizeof(out), &e), 0);
                assert_non_null(strstr(out, "5 t 755 0 0\n"));
                assert_non_null(strstr(out, "6 t/fifo 644 0 0\n"));
                assert_non_null(strstr(out, "1 t/sub/f->t/hard 644 0 0\n") ?: strstr(out, "1 t/hard->t/sub/f 644 0 0\n"));
                assert_non_null(strstr(out, "2 t/sym->sub/f 777 0 0\n"));
                assert_non_null(strstr(out, "0 t/sub/f 644 0 4:data\n") ?: strstr(out, "0 t/hard 644 0 4:data\n"));
                snprintf(path, sizeof(path), "0 t/%s 644 0 1:x\n", longname);
                assert_non_null(strstr(out, path));
        }
        snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
        assert_int_equal(system(cmd), 0);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_ustar),
                cmocka_unit_test(test_device_numbers_and_prefix),
                cmocka_unit_test(test_pax),
                cmocka_unit_test(test_gnu_long_names),
                cmocka_unit_test(test_base256),
                cmocka_unit_test(test_broken),
                cmocka_unit_test(test_callback),
                cmocka_unit_test(test_mutations),
                cmocka_unit_test(test_gnu_tar),
        };
        umask(022);
        return zero_tests_exit(cmocka_run_group_tests(tests, NULL, NULL));
}
