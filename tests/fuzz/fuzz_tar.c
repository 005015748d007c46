/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What an image upload is before zero-unpack writes a byte: a tar archive read by common/tar.c
 * (zero_tar_new_buffer(), zero_tar_next(), zero_tar_read() to the end or an error), each entry
 * judged by the extraction rules (zero_extract_check(), agent/extract.c). The contract: every
 * input ends in the archive's end or an error with a reason; an entry has a non-empty path of
 * at most ZERO_TAR_PATH_MAX bytes, a link target exactly when it is a link; what the rules let
 * through never leaves the image (no absolute path, no ".." component) and is never a device,
 * FIFO or an unknown type.
 */
#include <string.h>

#include "agent/extract.h"
#include "common/tar.h"
#include "common/util.h"
#include "tests/fuzz/fuzz.h"

/* An accepted path, normalized: relative, no "." or ".." component, no empty one. */
static void check_path(const char *p) {
        FUZZ_ASSERT(p[0] != '/', "accepted absolute path '%s'", p);
        for (const char *c = p; *c;) {
                size_t n = strcspn(c, "/");
                FUZZ_ASSERT(n > 0, "empty component in '%s'", p);
                FUZZ_ASSERT(!(n == 2 && c[0] == '.' && c[1] == '.'), "'..' in accepted path '%s'", p);
                FUZZ_ASSERT(!(n == 1 && c[0] == '.'), "'.' in accepted path '%s'", p);
                c += n;
                c += *c == '/';
        }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        struct zero_tar *t = NULL;
        const struct zero_tar_entry *e;
        struct zero_error err = {};
        char buf[4096];
        int r;

        (void) fuzz_scratch_dir(); /* logs silenced */
        FUZZ_ASSERT(zero_tar_new_buffer(data, size, &t) >= 0, "zero_tar_new_buffer");
        while ((r = zero_tar_next(t, &e, &err)) > 0) {
                _cleanup_free_ char *path = NULL;
                struct zero_error xerr = {};
                ssize_t n;

                FUZZ_ASSERT(e->path && e->path[0] && strlen(e->path) < ZERO_TAR_PATH_MAX, "entry path");
                FUZZ_ASSERT(!!e->linkpath == (e->type == ZERO_TAR_HARDLINK || e->type == ZERO_TAR_SYMLINK),
                            "linkpath %s for type %d", e->linkpath ? "set" : "unset", (int) e->type);
                FUZZ_ASSERT((e->mode & ~07777u) == 0, "mode %o", e->mode);
                if (zero_extract_check(e, &path, &xerr) >= 0) {
                        FUZZ_ASSERT(path, "accepted without a path");
                        check_path(path);
                        FUZZ_ASSERT(e->type != ZERO_TAR_CHAR && e->type != ZERO_TAR_BLOCK_DEV &&
                                            e->type != ZERO_TAR_FIFO && e->type != ZERO_TAR_OTHER,
                                    "accepted entry '%s' of type %d", e->path, (int) e->type);
                } else
                        FUZZ_ASSERT(xerr.message[0], "refused without a reason");
                while ((n = zero_tar_read(t, buf, sizeof(buf), &err)) > 0)
                        ;
                if (n < 0) {
                        r = (int) n;
                        break;
                }
        }
        FUZZ_ASSERT(r >= 0 || err.message[0], "an error without a reason (%d)", r);
        zero_tar_free(t);
        return 0;
}
