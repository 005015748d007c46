/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Images: a root filesystem imported once from a directory or a tarball on the node into
 * STATE/images/NAME/rootfs. Import unpacks into a temporary directory and renames it into place,
 * so a crash never leaves a half image under a real name.
 */
#include "agent/image.h"

#include <ftw.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/log.h"
#include "common/util.h"

static bool has_suffix(const char *s, const char *suffix) {
        size_t n = strlen(s), m = strlen(suffix);
        return n >= m && streq(s + n - m, suffix);
}

static __thread uint64_t du_total;

static int du_one(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
        if (flag == FTW_F)
                du_total += (uint64_t) st->st_size;
        return 0;
}

static uint64_t du(const char *path) {
        du_total = 0;
        (void) nftw(path, du_one, 16, FTW_PHYS);
        return du_total;
}

/* The image's root filesystem as an ext4 file, made once at import: the base that volumes are
 * cloned from copy-on-write, so one image serves containers, VMs and bms alike (docs/
 * architecture.md, "Images"). Sized for the files plus headroom; a volume grows it later. */
static int make_base_filesystem(const char *dir, uint64_t content_bytes, struct zero_error *err) {
        _cleanup_free_ char *rootfs = zero_strdup_printf("%s/rootfs", dir);
        _cleanup_free_ char *base = zero_strdup_printf("%s/" ZERO_IMAGE_BASE_FILE, dir);
        _cleanup_free_ char *out = NULL;
        uint64_t mib = content_bytes / (1024 * 1024);
        char size[32];
        int r;

        if (!rootfs || !base)
                return -ENOMEM;
        /* files plus half again for metadata and small writes, and at least 64 MiB */
        mib = mib + mib / 2 + 64;
        snprintf(size, sizeof(size), "%lluM", (unsigned long long) mib);
        char *argv[] = {"mkfs.ext4", "-q", "-F", "-L", "zero-root", "-E", "root_owner=0:0", "-d", rootfs, base, size, NULL};
        r = zero_run_wait(argv, &out);
        if (r != 0) {
                if (out)
                        out[strcspn(out, "\n")] = '\0';
                return zero_error_set(err, r < 0 ? r : -EIO, 500, "internal", "mkfs.ext4 of the image failed: %s",
                                      out && out[0] ? out : "(no output)");
        }
        return 0;
}

/* A regular file given by absolute path, for kernel and initrd. */
static int check_boot_file(const char *what, const char *path, struct zero_error *err) {
        struct stat st;

        if (!path)
                return 0;
        if (path[0] != '/')
                return zero_error_set(err, -EINVAL, 422, "invalid", "%s must be an absolute path on the node", what);
        if (stat(path, &st) < 0)
                return zero_error_set(err, -errno, 422, "invalid", "%s %s: %s", what, path, strerror(errno));
        if (!S_ISREG(st.st_mode) || st.st_size == 0)
                return zero_error_set(err, -EINVAL, 422, "invalid", "%s %s is not a non-empty regular file", what, path);
        return 0;
}

static int copy_boot_file(const char *what, const char *from, const char *dir, const char *name,
                          struct zero_error *err) {
        _cleanup_free_ char *to = zero_strdup_printf("%s/%s", dir, name), *out = NULL;
        int r;

        if (!from)
                return 0;
        if (!to)
                return -ENOMEM;
        char *argv[] = {"cp", "--", (char *) from, to, NULL};
        r = zero_run_wait(argv, &out);
        if (r != 0) {
                if (out)
                        out[strcspn(out, "\n")] = '\0';
                return zero_error_set(err, r < 0 ? r : -EIO, 422, "invalid", "cannot copy the %s %s: %s", what, from,
                                      out && out[0] ? out : "copy failed");
        }
        return 0;
}

int zero_image_import(struct zero_agent *a, const char *name, const struct zero_image_source *src,
                      struct zero_image_row *ret, struct zero_error *err) {
        const char *source = src->rootfs;
        _cleanup_free_ char *dir = zero_strdup_printf("%s/images/%s", a->config->state_dir, name);
        _cleanup_free_ char *tmp = zero_strdup_printf("%s/images/.import-%s", a->config->state_dir, name);
        _cleanup_free_ char *rootfs = NULL, *out = NULL, *src_dot = NULL;
        struct stat st;
        int r;

        if (!dir || !tmp)
                return -ENOMEM;
        if (source[0] != '/')
                return zero_error_set(err, -EINVAL, 422, "invalid", "source must be an absolute path on the node");
        if (stat(source, &st) < 0)
                return zero_error_set(err, -errno, 422, "invalid", "source %s: %s", source, strerror(errno));
        if (src->initrd && !src->kernel)
                return zero_error_set(err, -EINVAL, 422, "invalid", "an initrd needs a kernel");
        if ((r = check_boot_file("kernel", src->kernel, err)) < 0 || (r = check_boot_file("initrd", src->initrd, err)) < 0)
                return r;
        (void) zero_rm_rf(tmp);
        rootfs = zero_strdup_printf("%s/rootfs", tmp);
        if (!rootfs)
                return -ENOMEM;
        r = zero_mkdir_p(rootfs, 0755);
        if (r < 0)
                return zero_error_set(err, r, 500, "internal", "cannot create %s: %s", rootfs, strerror(-r));

        if (S_ISDIR(st.st_mode)) {
                src_dot = zero_strdup_printf("%s/.", source);
                char *argv[] = {"cp", "-a", "--", src_dot, rootfs, NULL};
                r = src_dot ? zero_run_wait(argv, &out) : -ENOMEM;
        } else if (S_ISREG(st.st_mode) && (has_suffix(source, ".tar") || has_suffix(source, ".tar.gz") ||
                                           has_suffix(source, ".tgz") || has_suffix(source, ".tar.xz"))) {
                /* GNU tar recognises the compression itself when reading. */
                char *argv[] = {"tar", "--numeric-owner", "-xf", (char *) source, "-C", rootfs, NULL};
                r = zero_run_wait(argv, &out);
        } else {
                (void) zero_rm_rf(tmp);
                return zero_error_set(err, -EINVAL, 422, "invalid",
                                      "source %s is neither a directory nor a .tar, .tar.gz, .tgz or .tar.xz file", source);
        }
        if (r != 0) {
                (void) zero_rm_rf(tmp);
                if (out)
                        out[strcspn(out, "\n")] = '\0';
                return zero_error_set(err, r < 0 ? r : -EIO, 422, "invalid", "cannot import %s: %s", source,
                                      out && out[0] ? out : "copy failed");
        }
        r = make_base_filesystem(tmp, du(rootfs), err);
        if (r >= 0)
                r = copy_boot_file("kernel", src->kernel, tmp, ZERO_IMAGE_KERNEL_FILE, err);
        if (r >= 0)
                r = copy_boot_file("initrd", src->initrd, tmp, ZERO_IMAGE_INITRD_FILE, err);
        if (r < 0) {
                (void) zero_rm_rf(tmp);
                return r;
        }
        (void) zero_rm_rf(dir); /* a leftover of an import that never reached the store */
        if (rename(tmp, dir) < 0) {
                r = -errno;
                (void) zero_rm_rf(tmp);
                return zero_error_set(err, r, 500, "internal", "cannot move the image into place: %s", strerror(-r));
        }
        *ret = (struct zero_image_row){
                .name = strdup(name),
                .source = strdup(source),
                .path = TAKE_PTR(dir),
                .created_at = (int64_t) zero_now_usec(),
        };
        ret->size_bytes = (int64_t) du(ret->path);
        if (!ret->name || !ret->source) {
                zero_image_row_done(ret);
                return -ENOMEM;
        }
        return 0;
}

int zero_image_remove_files(struct zero_agent *a, const char *name) {
        _cleanup_free_ char *dir = zero_strdup_printf("%s/images/%s", a->config->state_dir, name);
        return dir ? zero_rm_rf(dir) : -ENOMEM;
}

static bool image_has(const struct zero_image_row *r, const char *file) {
        _cleanup_free_ char *p = zero_strdup_printf("%s/%s", strempty(r->path), file);
        return p && access(p, R_OK) == 0;
}

json_t *zero_image_to_json(const struct zero_image_row *r) {
        _cleanup_free_ char *base = zero_strdup_printf("%s/" ZERO_IMAGE_BASE_FILE, strempty(r->path));
        struct stat st;
        char created[32];
        bool has_base = base && stat(base, &st) == 0;

        return json_pack("{s:s,s:s,s:I,s:o,s:b,s:b,s:s}", "name", r->name, "source", strempty(r->source), "size_bytes",
                         (json_int_t) r->size_bytes, "base_size_bytes",
                         has_base ? json_integer((json_int_t) st.st_size) : json_null(), "kernel",
                         image_has(r, ZERO_IMAGE_KERNEL_FILE), "initrd", image_has(r, ZERO_IMAGE_INITRD_FILE),
                         "created_at", zero_format_time((uint64_t) r->created_at, created));
}
