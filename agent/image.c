/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Images on the node (image.h): where they live, which host paths an import may read, and how
 * an image is shown. The import itself is image_import.c and zero-unpack.
 */
#include "agent/image.h"

#include <dirent.h>
#include <limits.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent/spawn.h"
#include "agent/operation.h"
#include "common/log.h"
#include "common/util.h"

#define WORK_DIR ".import"

char *zero_image_dir(struct zero_agent *a, const char *name) {
        return zero_strdup_printf("%s/images/%s", a->config->state_dir, name);
}

char *zero_image_work_dir(struct zero_agent *a, const char *op_id) {
        return zero_strdup_printf("%s/images/" WORK_DIR "/%s", a->config->state_dir, op_id);
}

/* path below dir (or dir itself): the rest after dir's '/', "." for dir itself; else NULL. */
static const char *below(const char *path, const char *dir) {
        size_t n = strlen(dir);

        if (strncmp(path, dir, n) != 0 || (path[n] != '/' && path[n] != '\0'))
                return NULL;
        return path[n] ? path + n + 1 : ".";
}

static int forbidden(struct zero_agent *a, const char *what, const char *path, const char *resolved,
                     struct zero_error *err) {
        char dirs[512] = "";
        size_t o = 0;

        if (a->config->n_import_dirs == 0)
                return zero_error_set(err, -EPERM, ZERO_E_FORBIDDEN,
                                      "%s %s: this node takes no host paths ([images] import_dirs is empty): upload "
                                      "the image instead (POST /v1/images?name=NAME with a tar body)",
                                      what, path);
        for (size_t i = 0; i < a->config->n_import_dirs && o < sizeof(dirs); i++)
                o += (size_t) snprintf(dirs + o, sizeof(dirs) - o, "%s%s", i ? ":" : "", a->config->import_dirs[i]);
        return zero_error_set(err, -EPERM, ZERO_E_FORBIDDEN,
                              "%s %s%s%s%s is outside [images] import_dirs (%s): a host path must resolve below one of "
                              "them; or upload the image (POST /v1/images?name=NAME with a tar body)",
                              what, path, resolved ? " (resolved: " : "", resolved ? resolved : "", resolved ? ")" : "",
                              dirs);
}

int zero_image_host_path(struct zero_agent *a, const char *what, const char *path, char **ret_dir, char **ret_rel,
                         struct zero_error *err) {
        _cleanup_free_ char *lex = NULL, *real = NULL;
        const struct zero_config *c = a->config;
        bool inside = false;

        if (path[0] != '/')
                return zero_error_set(err, -EINVAL, ZERO_E_INVALID, "%s must be an absolute path on the node", what);
        if (c->n_import_dirs == 0)
                return forbidden(a, what, path, NULL, err);
        /* First by the name alone: a path outside is refused before the file system is asked,
         * so that a caller learns nothing of what exists there. */
        lex = zero_path_simplify(path);
        if (!lex)
                return -ENOMEM;
        for (size_t i = 0; i < c->n_import_dirs && !inside; i++)
                inside = below(lex, c->import_dirs[i]) != NULL;
        if (!inside)
                return forbidden(a, what, path, NULL, err);
        real = realpath(path, NULL);
        if (!real) {
                int r = -errno;
                return zero_error_set(err, r, ZERO_E_INVALID, "%s %s: %s", what, path, strerror(-r));
        }
        /* Then with every symlink resolved, against the directories resolved too. */
        for (size_t i = 0; i < c->n_import_dirs; i++) {
                _cleanup_free_ char *dir = realpath(c->import_dirs[i], NULL);
                const char *rel = dir ? below(real, dir) : NULL;
                if (!rel)
                        continue;
                *ret_rel = strdup(rel);
                if (!*ret_rel)
                        return -ENOMEM;
                *ret_dir = TAKE_PTR(dir);
                return 0;
        }
        return forbidden(a, what, path, real, err);
}

static bool import_owns(struct zero_agent *a, const char *id) {
        for (struct zero_op *op = a->ops; op; op = op->next)
                if (streq(op->row.kind, "import") && streq(op->row.id, id))
                        return true;
        return false;
}

void zero_image_sweep(struct zero_agent *a) {
        _cleanup_free_ char *images = zero_strdup_printf("%s/images", a->config->state_dir);
        _cleanup_free_ char *work = zero_strdup_printf("%s/images/" WORK_DIR, a->config->state_dir);
        DIR *d;
        struct dirent *de;

        for (int pass = 0; pass < 2 && images && work; pass++) {
                d = opendir(pass == 0 ? work : images);
                if (!d)
                        continue;
                while ((de = readdir(d))) {
                        _cleanup_free_ char *p = NULL;
                        /* pass 0: work directories; pass 1: the .import-NAME of zerods before operations */
                        bool stale = pass == 0 ? de->d_name[0] != '.' && !import_owns(a, de->d_name)
                                               : strncmp(de->d_name, ".import-", 8) == 0;
                        if (!stale)
                                continue;
                        p = zero_strdup_printf("%s/%s", pass == 0 ? work : images, de->d_name);
                        log_info("Removing %s: no import owns it", strempty(p));
                        if (p && zero_rm_rf(p) < 0)
                                log_warning("Cannot remove %s", p);
                }
                closedir(d);
        }
}

static int on_removed(sd_event_source *s, const siginfo_t *si, void *userdata) {
        const char *path = userdata;

        if (si->si_code != CLD_EXITED || si->si_status != 0)
                log_warning("Removing %s failed (rm: %s %d); the next start removes it", path,
                            si->si_code == CLD_EXITED ? "status" : "signal", si->si_status);
        return 0;
}

void zero_image_remove_later(struct zero_agent *a, const char *path) {
        char *copy = strdup(path);
        sd_event_source *s = NULL;
        int r;

        if (!copy)
                return;
        r = zero_spawn(a, (char *const[]){"rm", "-rf", "--one-file-system", "--", copy, NULL}, on_removed, copy,
                             &s);
        if (r >= 0) {
                /* the loop's own from here; copy goes with the source, also when zerod stops first */
                (void) sd_event_source_set_destroy_callback(s, free);
                (void) sd_event_source_set_floating(s, true);
                sd_event_source_unref(s);
                return;
        }
        log_warning_errno(r, "Cannot start removing %s (the next start removes it): %m", path);
        free(copy);
}

int zero_image_remove_files(struct zero_agent *a, const char *name) {
        _cleanup_free_ char *dir = zero_image_dir(a, name);
        return dir ? zero_image_discard(a, dir) : -ENOMEM;
}

int zero_image_discard(struct zero_agent *a, const char *path) {
        _cleanup_free_ char *work = zero_strdup_printf("%s/images/" WORK_DIR, a->config->state_dir), *to = NULL;
        char id[33];
        int r;

        if (!work || zero_random_id(id) < 0 || !(to = zero_strdup_printf("%s/discarded-%s", work, id)))
                return -ENOMEM;
        if (access(path, F_OK) < 0)
                return errno == ENOENT ? 0 : -errno;
        r = zero_mkdir_p(work, 0700);
        if (r < 0)
                return r;
        if (rename(path, to) < 0)
                return -errno;
        zero_image_remove_later(a, to);
        return 0;
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
