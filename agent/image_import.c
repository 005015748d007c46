/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The import operation (kind "import", an operation on no instance): its steps, and the
 * zero-unpack child that does the work off the event loop.
 *
 *   unpack   zero-unpack makes WORK/image (extracted, checked, base.ext4 made, synced) and
 *            WORK/result.json; zerod watches it with sd_event_add_child and goes on serving
 *   commit   WORK/image renamed to STATE/images/NAME, then the image's row inserted
 *   cleanup  WORK (the uploaded archive, the result) removed
 *
 * WORK is STATE/images/.import/OPERATION_ID. Each step is idempotent: unpack starts over from
 * nothing (the helper died with the zerod that ran it: PR_SET_PDEATHSIG), commit finds the
 * rename done or not and the row there or not. A failed import removes WORK and whatever of
 * STATE/images/NAME has no row; zero_image_sweep() removes the WORK of uploads that never
 * became an operation.
 *
 * params: "name", "source" (what the row shows: the host path, or "upload"), "keep_setuid", and
 * either "archive" (the uploaded file in WORK) or "source_dir" + "source_path" with optional
 * "kernel_dir" + "kernel_path", "initrd_dir" + "initrd_path" (host paths below their import
 * directory, as zero_image_host_path() gave them).
 */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "agent/spawn.h"
#include "agent/image.h"
#include "agent/operation.h"
#include "common/log.h"
#include "common/util.h"

#define RESULT_MAX (64 * 1024)

static const char *param(const struct zero_op *op, const char *key) {
        return json_string_value(json_object_get(op->params, key));
}

static char *work_path(struct zero_op *op, const char *leaf) {
        _cleanup_free_ char *w = zero_image_work_dir(op->agent, op->row.id);
        return w ? zero_strdup_printf("%s/%s", w, leaf) : NULL;
}

struct zero_op *zero_image_import_running(struct zero_agent *a, const char *name) {
        for (struct zero_op *op = a->ops; op; op = op->next)
                if (streq(op->row.kind, "import") && streq(strempty(param(op, "name")), name))
                        return op;
        return NULL;
}

unsigned zero_image_imports(struct zero_agent *a) {
        unsigned n = a->uploads;

        for (struct zero_op *op = a->ops; op; op = op->next)
                n += streq(op->row.kind, "import");
        return n;
}

/* WORK/result.json, as zero-unpack wrote it (NULL when it did not). */
static json_t *read_result(struct zero_op *op) {
        _cleanup_free_ char *path = work_path(op, "result.json"), *text = NULL;
        size_t len;

        if (!path || zero_read_file(path, RESULT_MAX, &text, &len) < 0)
                return NULL;
        return json_loadb(text, len, 0, NULL);
}

static int on_unpack_exit(sd_event_source *s, const siginfo_t *si, void *userdata) {
        struct zero_op *op = userdata;
        json_t *result = read_result(op);
        json_t *e = json_object_get(result, "error");
        const char *code = json_string_value(json_object_get(e, "code"));
        const char *message = json_string_value(json_object_get(e, "message"));
        int r = 0;

        op->child = sd_event_source_disable_unref(op->child);
        if (message)
                /* what the archive or the directory holds (invalid), or what failed on the node */
                r = zero_error_set(&op->err, -EINVAL, zero_errc_from_name(code), "%s", message);
        else if (si->si_code != CLD_EXITED || si->si_status != 0 || !json_is_integer(json_object_get(result, "size_bytes")))
                r = zero_error_set(&op->err, -EIO, ZERO_E_INTERNAL, "zero-unpack %s %d without a result",
                                   si->si_code == CLD_EXITED ? "exited with status" : "was killed by signal",
                                   si->si_status);
        json_decref(result);
        zero_op_continue(op, r);
        return 0;
}

static int add_arg(char **argv, size_t *n, const char *a) {
        if (!a)
                return 0;
        argv[(*n)++] = (char *) a;
        return 1;
}

/* --beneath DIR --source PATH, and the same for kernel and initrd */
static void host_args(const struct zero_op *op, const char *what, char **argv, size_t *n) {
        char dir[32], path[32];

        snprintf(dir, sizeof(dir), "%s_dir", what);
        snprintf(path, sizeof(path), "%s_path", what);
        if (!param(op, dir) || !param(op, path))
                return;
        add_arg(argv, n, "--beneath");
        add_arg(argv, n, param(op, dir));
        /* the option's name must outlive this frame: one of three literals */
        add_arg(argv, n, streq(what, "source") ? "--source" : streq(what, "kernel") ? "--kernel" : "--initrd");
        add_arg(argv, n, param(op, path));
}

static int step_unpack(struct zero_op *op) {
        struct zero_agent *a = op->agent;
        _cleanup_free_ char *work = zero_image_work_dir(a, op->row.id);
        _cleanup_free_ char *into = work_path(op, "image"), *result = work_path(op, "result.json");
        char max[32];
        char *argv[32];
        size_t n = 0;
        int r;

        if (!work || !into || !result)
                return -ENOMEM;
        /* a run that a crash cut short starts over (zero-unpack removes what it left in into) */
        (void) unlink(result);
        r = zero_mkdir_p(work, 0700);
        if (r < 0)
                return zero_error_set(&op->err, r, ZERO_E_INTERNAL, "cannot create %s: %s", work, strerror(-r));
        snprintf(max, sizeof(max), "%llu", (unsigned long long) a->config->image_max);
        add_arg(argv, &n, a->config->unpack_path);
        add_arg(argv, &n, "--into");
        add_arg(argv, &n, into);
        add_arg(argv, &n, "--result");
        add_arg(argv, &n, result);
        add_arg(argv, &n, "--max-bytes");
        add_arg(argv, &n, max);
        if (json_is_true(json_object_get(op->params, "keep_setuid")))
                add_arg(argv, &n, "--keep-setuid");
        if (add_arg(argv, &n, param(op, "archive") ? "--source" : NULL))
                add_arg(argv, &n, param(op, "archive"));
        host_args(op, "source", argv, &n);
        host_args(op, "kernel", argv, &n);
        host_args(op, "initrd", argv, &n);
        argv[n] = NULL;

        /* It dies with us: a restarted zerod runs the step again from the start. */
        r = zero_spawn(a, argv, on_unpack_exit, op, &op->child);
        if (r < 0)
                return zero_error_set(&op->err, r, ZERO_E_INTERNAL, "cannot run zero-unpack: %s", strerror(-r));
        log_info("Import %s of image %s: zero-unpack runs", op->row.id, param(op, "name"));
        return zero_op_wait(op, ZERO_OP_WAIT_CHILD, ZERO_OP_THEN_DONE);
}

static int sync_dir(const char *path) {
        _cleanup_close_ int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        return fd < 0 || fsync(fd) < 0 ? -errno : 0;
}

static int step_commit(struct zero_op *op) {
        struct zero_agent *a = op->agent;
        const char *name = param(op, "name");
        _cleanup_free_ char *dir = zero_image_dir(a, name), *into = work_path(op, "image");
        _cleanup_free_ char *images = zero_strdup_printf("%s/images", a->config->state_dir);
        json_t *result = read_result(op);
        struct zero_image_row row = {};
        struct stat st;
        int r;

        if (!dir || !into || !images) {
                json_decref(result);
                return -ENOMEM;
        }
        if (lstat(into, &st) == 0) {
                (void) zero_image_discard(a, dir); /* a leftover that never reached the store */
                if (rename(into, dir) < 0 || sync_dir(images) < 0) {
                        r = -errno;
                        json_decref(result);
                        return zero_error_set(&op->err, r, ZERO_E_INTERNAL, "cannot move the image into place: %s",
                                              strerror(-r));
                }
        } else if (lstat(dir, &st) < 0 || !json_is_object(result)) {
                json_decref(result);
                return zero_error_set(&op->err, -ENOENT, ZERO_E_INTERNAL, "the unpacked image is gone");
        }
        row = (struct zero_image_row){
                .name = (char *) name,
                .source = (char *) param(op, "source"),
                .path = dir,
                .size_bytes = json_integer_value(json_object_get(result, "size_bytes")),
                .created_at = (int64_t) zero_now_usec(),
        };
        r = zero_store_image_insert(a->store, &row);
        json_decref(result);
        if (r == -EEXIST)
                return 0; /* inserted before a crash: no other import of this name can run */
        if (r < 0)
                return zero_error_set(&op->err, r, ZERO_E_UNAVAILABLE, "cannot record image %s: %s", name, strerror(-r));
        log_info("Imported image %s from %s (%lld bytes)", name, strempty(row.source), (long long) row.size_bytes);
        zero_agent_event(a, "image.imported", NULL, json_pack("{s:s,s:s}", "name", name, "operation", op->row.id));
        return 0;
}

static int on_cleaned(sd_event_source *s, const siginfo_t *si, void *userdata) {
        struct zero_op *op = userdata;

        op->child = sd_event_source_disable_unref(op->child);
        if (si->si_code != CLD_EXITED || si->si_status != 0)
                log_warning("Import %s: removing its work directory failed; the next start removes it", op->row.id);
        zero_op_continue(op, 0);
        return 0;
}

/* WORK goes in a child (zero_image_remove_later says why); the operation ends once it is gone. */
static int step_cleanup(struct zero_op *op) {
        _cleanup_free_ char *work = zero_image_work_dir(op->agent, op->row.id);
        int r;

        if (!work)
                return -ENOMEM;
        r = zero_spawn(op->agent, (char *const[]){"rm", "-rf", "--one-file-system", "--", work, NULL}, on_cleaned,
                             op, &op->child);
        if (r < 0) {
                log_warning_errno(r, "Cannot remove %s (the next start removes it): %m", work);
                return 0;
        }
        return zero_op_wait(op, ZERO_OP_WAIT_CHILD, ZERO_OP_THEN_DONE);
}

/* Nothing of a failed import stays: its work directory, and the image's directory unless an
 * image of that name is recorded (then it is that image's). */
static void import_failed(struct zero_op *op) {
        _cleanup_free_ char *work = zero_image_work_dir(op->agent, op->row.id);
        struct zero_image_row row = {};
        const char *name = param(op, "name");

        if (work)
                zero_image_remove_later(op->agent, work);
        if (!name)
                return;
        if (zero_store_image_get(op->agent->store, name, &row) == -ENOENT)
                (void) zero_image_remove_files(op->agent, name);
        zero_image_row_done(&row);
}

static const struct zero_op_step import_steps[] = {
        {"unpack", step_unpack, NULL},
        {"commit", step_commit, NULL},
        {"cleanup", step_cleanup, NULL},
};

const struct zero_op_kind zero_op_kind_import = ZERO_OP_KIND("import", import_steps, import_failed);
