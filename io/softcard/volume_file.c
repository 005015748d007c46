/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Volume files on the softcard: made (a blank raw file with an empty ext4, or a clone of an
 * image's base: a raw reflink in the pool (pool.c), or for a volume placed before the pool a qcow2
 * file backed by the base), removed, and held to what the pool's filesystem allows.
 *
 * A make or a remove is a list of steps, each quick except the commands and work some of them ask
 * for (the pool's mkfs.xfs and mount, as work in a child; mkfs.ext4, cp of a base into the pool,
 * qemu-img, rm). A reflink clone (FICLONE) runs on the loop: its cost is the base's extents, a
 * millisecond for a base written in one go (bench_card_io). Two runners go through the same list: the synchronous one runs
 * the commands with zero_run_wait() (the card ABI's volume_create/volume_delete, tests), the
 * asynchronous one as children watched on the agent's loop (volume_create_async/_delete_async).
 * A remove's unexport is the same: at once, or softcard_volume_unexport_async() on the loop.
 * Measured on ext4 for a 16 TiB blank volume (issue 10, row 6): mkfs.ext4 ~1.0 s (it writes
 * ~240 MB of group descriptors and bitmaps even with lazy init), the unlink of that file
 * ~0.55 s (ext4 frees its extents inside the call); the rest (checks, ftruncate, rename,
 * fsync after mkfs's own fsync) well under a millisecond. Hence rm as a child too: a large
 * file is never unlinked on the loop, nor is a large .tmp a crash left behind.
 *
 * Every command has a deadline (jobs->command_timeout_usec, VFILE_COMMAND_TIMEOUT_USEC unless a
 * test sets one): a job ends, `timeout` if need be, and its done comes. mkfs.ext4 runs without
 * the mount table (ZERO_CHILD_HIDE_MOUNTS, common/util.h): it asked every mounted loop device
 * for its backing file, and one over a stopped daemon's FUSE export held it, and the make, for
 * as long as that daemon stayed stopped (test_softcard ran beside test_softcard_async's stopped
 * daemon: "1 volume job(s) did not finish"; it_card_volume_ops beside it_card_stalled: a
 * volume_create stuck in its make step).
 */
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/statfs.h>

#include "common/subprocess.h"
#include "common/util.h"
#include "io/softcard/storage.h"

enum { STEP_NEXT = 0, STEP_RUN = 1, STEP_DONE = 2, STEP_UNEXPORT = 3, STEP_WORK = 4 };

/* A command that has not ended by then is killed, and its job fails (ZERO_E_TIMEOUT). Far above
 * what they take: mkfs.ext4 of 16 TiB ~1 s, its rm ~0.55 s on an idle disk (above); a busy one
 * may take many times that. */
#define VFILE_COMMAND_TIMEOUT_USEC (10ULL * 60 * USEC_PER_SEC)

struct vfile {
        struct softcard_jobs *jobs; /* async only */
        struct vfile *next;
        struct softcard_volume v;  /* strings below are ours */
        char *id, *path, *format, *base_path;
        char *tmp, *dir, *tpl, *tpl_tmp;
        char pbase[PATH_MAX], pbase_tmp[PATH_MAX + 48]; /* a raw clone's source in the pool */
        bool grow;                                     /* a raw clone copied, not cloned */
        struct qsd *qsd; /* remove: the daemon that may export it */
        bool remove;
        const struct vfile_step *steps;
        size_t n_steps, step;
        int failed; /* < 0: the steps left are the cleanup after this failure */
        char *argv[16]; /* the command a step asks for (STEP_RUN) */
        zero_subprocess_fn work; /* or the work (STEP_WORK), in a child on the loop */
        void *work_arg;          /* ... given this */
        const char *work_name;
        unsigned child_flags; /* and how it runs (ZERO_CHILD_*) */
        uint64_t command_timeout_usec;
        char size[24];
        struct zero_error err;
        sd_event *event;
        sd_event_source *defer;
        struct zero_subprocess *child;
        struct softcard_op *op; /* the unexport of a remove, on the loop */
        softcard_file_done_fn done;
        void *userdata;
};

/* One step: STEP_NEXT, STEP_RUN (the command in f->argv, then the next step), STEP_UNEXPORT (the
 * volume's unexport, then the next step), STEP_WORK (f->work with f->work_arg, then the next step),
 * STEP_DONE (no more to do), or -errno with err. */
struct vfile_step {
        int (*run)(struct vfile *f, struct zero_error *err);
};

static struct vfile *vfile_free(struct vfile *f) {
        if (!f)
                return NULL;
        f->defer = sd_event_source_disable_unref(f->defer);
        f->child = zero_subprocess_free(f->child);
        f->op = softcard_op_cancel(f->op);
        free(f->id);
        free(f->path);
        free(f->format);
        free(f->base_path);
        free(f->tmp);
        free(f->dir);
        free(f->tpl);
        free(f->tpl_tmp);
        free(f);
        return NULL;
}
DEFINE_TRIVIAL_CLEANUP_FUNC(struct vfile *, vfile_free)

/* ---- Helpers ---- */

int softcard_command_failed(char *const argv[], int status, const char *out, struct zero_error *err) {
        _cleanup_free_ char *text = strdup(strempty(out));

        if (status == -ETIMEDOUT)
                return zero_error_set(err, status, ZERO_E_TIMEOUT, "%s did not end within its deadline (killed)",
                                      argv[0]);
        if (status < 0)
                return zero_error_set(err, status, ZERO_E_INTERNAL, "cannot run %s: %s", argv[0], strerror(-status));
        for (char *p = text; p && *p; p++)
                if (*p == '\n')
                        *p = ' ';
        return zero_error_set(err, -EIO, ZERO_E_INTERNAL, "%s failed (status %d): %s", argv[0], status,
                              strempty(text));
}

int softcard_run(char *const argv[], unsigned flags, uint64_t timeout_usec, struct zero_error *err) {
        _cleanup_free_ char *out = NULL;
        int ms = timeout_usec == 0 ? -1 : (int) ((timeout_usec + USEC_PER_MSEC - 1) / USEC_PER_MSEC);
        int r = zero_run_wait_flags(argv, ms, flags, &out);

        return r == 0 ? 0 : softcard_command_failed(argv, r, out, err);
}

static int fsync_path(const char *path, int flags) {
        _cleanup_close_ int fd = open(path, flags | O_RDONLY | O_CLOEXEC);

        if (fd < 0 || fsync(fd) < 0)
                return -errno;
        return 0;
}

static int ask(struct vfile *f, char *const *argv) {
        size_t i = 0;

        for (; argv[i] && i < ELEMENTSOF(f->argv) - 1; i++)
                f->argv[i] = argv[i];
        f->argv[i] = NULL;
        f->child_flags = 0;
        return STEP_RUN;
}

/*
 * Removes the files at once when that is quick, else asks for rm: an unlink costs what freeing
 * the file's extents costs, ~0.55 s for the ~240 MB that mkfs.ext4 spreads over a 16 TiB file,
 * microseconds for a clone's few MiB (an instance's root, deleted with it: no fork on the path
 * of a forced stop and delete). 0 when they are gone, STEP_RUN for rm, -errno.
 */
#define UNLINK_ON_LOOP_MAX (16ULL << 20) /* allocated bytes */
static int remove_files(struct vfile *f, char *const *paths, struct zero_error *err) {
        uint64_t allocated = 0;
        struct stat st;

        for (char *const *p = paths; *p; p++)
                if (stat(*p, &st) >= 0)
                        allocated += (uint64_t) st.st_blocks * 512;
        if (allocated > UNLINK_ON_LOOP_MAX) {
                char *argv[8] = {"rm", "-f", "--"};
                for (size_t i = 0; paths[i] && i < 4; i++)
                        argv[3 + i] = paths[i];
                return ask(f, argv);
        }
        for (char *const *p = paths; *p; p++)
                if (unlink(*p) < 0 && errno != ENOENT)
                        return zero_error_default(err, -errno, "Failed to remove the volume's file");
        return 0;
}

/* ---- The pool's limit ---- */

/* The largest file the filesystem holding dir allows: EFBIG beyond it, on any filesystem
 * (inode_newsize_ok() against s_maxbytes). Found by truncating an unnamed file there, which
 * allocates nothing; cached per filesystem. */
static int pool_max(const char *path, uint64_t *ret_max, char ret_fs[static 16]) {
        static struct {
                dev_t dev;
                uint64_t max;
                char fs[16];
        } cache;
        _cleanup_free_ char *dir = strdup(path);
        _cleanup_close_ int fd = -EBADF;
        uint64_t lo = SOFTCARD_VOLUME_SIZE_MIN, hi = SOFTCARD_VOLUME_SIZE_MAX;
        struct statfs sf;
        struct stat st;
        char *slash;

        if (!dir)
                return -ENOMEM;
        /* The volume's directory, or the nearest one that exists (made at the first create). */
        while (stat(dir, &st) < 0 || !S_ISDIR(st.st_mode)) {
                slash = strrchr(dir, '/');
                if (!slash || slash == dir)
                        return -ENOENT;
                *slash = '\0';
        }
        if (cache.dev == st.st_dev && cache.max) {
                *ret_max = cache.max;
                memcpy(ret_fs, cache.fs, 16);
                return 0;
        }
        fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
        if (fd < 0 || fstatfs(fd, &sf) < 0)
                return -errno;
        if (ftruncate(fd, (off_t) hi) < 0) {
                if (errno != EFBIG)
                        return -errno;
                while (hi - lo > 512) {
                        uint64_t mid = (lo + (hi - lo) / 2) & ~UINT64_C(511);
                        if (ftruncate(fd, (off_t) mid) >= 0)
                                lo = mid;
                        else if (errno == EFBIG)
                                hi = mid;
                        else
                                return -errno;
                }
                hi = lo;
        }
        cache.dev = st.st_dev;
        cache.max = hi;
        /* The few a pool is made of; statfs knows no names. */
        snprintf(cache.fs, sizeof(cache.fs), "%s",
                 sf.f_type == 0xEF53       ? "ext4"
                 : sf.f_type == 0x58465342 ? "xfs"
                 : sf.f_type == 0x9123683E ? "btrfs"
                 : sf.f_type == 0x01021994 ? "tmpfs"
                                           : "a filesystem");
        *ret_max = cache.max;
        memcpy(ret_fs, cache.fs, 16);
        return 0;
}

int softcard_volume_validate(const struct softcard_volume *v, uint64_t size, struct zero_error *err) {
        uint64_t max = 0;
        char fs[16];
        int r;

        r = softcard_volume_check(v, err);
        if (r >= 0)
                r = softcard_size_check(v, size ? size : v->size_bytes, err);
        if (r < 0)
                return r;
        if (!size)
                size = v->size_bytes;
        r = pool_max(v->path, &max, fs);
        if (r < 0)
                return 0; /* unknown: the create itself will say */
        if (size > max)
                return zero_error_set(err, -EFBIG, ZERO_E_INVALID,
                                      "size_bytes: %llu is beyond this node's volume pool, %s, whose files hold at "
                                      "most %llu bytes",
                                      (unsigned long long) size, fs, (unsigned long long) max);
        return 0;
}

/* ---- Make ---- */

static void pool_make_work(void *arg, struct zero_subprocess_result *res) {
        res->r = softcard_pool_ensure(arg, true, &res->err);
}

static void pool_mount_work(void *arg, struct zero_subprocess_result *res) {
        res->r = softcard_pool_ensure(arg, false, &res->err); /* a pool never made holds nothing */
}

/* The pool made (a make) or mounted, off the loop: mkfs.xfs, a mount with its log recovery. */
static int step_pool(struct vfile *f, struct zero_error *err) {
        if (!softcard_pool_holds(f->v.pool, f->path) || softcard_pool_ready(f->v.pool))
                return STEP_NEXT;
        f->work = f->remove ? pool_mount_work : pool_make_work;
        f->work_arg = (void *) f->v.pool;
        f->work_name = "the pool's mount";
        return STEP_WORK;
}

static bool raw_clone(const struct vfile *f) {
        return f->base_path && streq(f->format, "raw");
}

static bool qcow2_clone(const struct vfile *f) {
        return f->base_path && streq(f->format, "qcow2");
}

static int step_prepare(struct vfile *f, struct zero_error *err) {
        int r;

        if (access(f->path, F_OK) >= 0)
                return STEP_DONE; /* made before (a step run again after a crash) */
        r = zero_mkdir_p(f->dir, 0700);
        if (r < 0)
                return zero_error_default(err, r, "Failed to create the volume's directory");
        /* Made under .tmp and renamed: a crash leaves no half volume under the real name, but
         * may leave a large .tmp, which goes first. */
        return remove_files(f, (char *[]){f->tmp, NULL}, err);
}

static int step_allocate(struct vfile *f, struct zero_error *err) {
        _cleanup_close_ int fd = -EBADF;

        if (f->base_path)
                return STEP_NEXT;
        fd = open(f->tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        if (fd < 0 || ftruncate(fd, (off_t) f->v.size_bytes) < 0)
                return zero_error_default(err, -errno, "Failed to create the volume's file");
        return STEP_NEXT;
}

static int step_mkfs(struct vfile *f, struct zero_error *err) {
        if (f->base_path)
                return STEP_NEXT;
        /* Lazy init and no discard: a sparse file stays sparse. */
        (void) ask(f, (char *[]){"mkfs.ext4", "-q", "-F", "-E", "lazy_itable_init=1,lazy_journal_init=1,nodiscard",
                                 f->tmp, NULL});
        f->child_flags = ZERO_CHILD_HIDE_MOUNTS; /* the top of this file says why */
        return STEP_RUN;
}

/*
 * A clone's qcow2 file holds nothing of its own: a header naming the base, the virtual size and
 * empty tables. So qemu-img makes it once per base and size, as a template beside the base
 * (BASE.clone-SIZE.qcow2, which goes with the image's directory), and each clone is a copy of
 * that: ~1 ms instead of the ~13 ms of running qemu-img (docs/benchmarks.md, vm_start). A
 * template is complete or absent: made under .tmp and renamed.
 */
static int step_template(struct vfile *f, struct zero_error *err) {
        if (!qcow2_clone(f) || access(f->tpl, R_OK) >= 0)
                return STEP_NEXT;
        (void) unlink(f->tpl_tmp); /* a header of a few hundred KiB at most */
        return ask(f, (char *[]){"qemu-img", "create", "-q", "-f", "qcow2", "-b", f->base_path, "-F", "raw",
                                 f->tpl_tmp, f->size, NULL});
}

static int step_template_commit(struct vfile *f, struct zero_error *err) {
        int r;

        if (!qcow2_clone(f) || access(f->tpl_tmp, F_OK) < 0)
                return STEP_NEXT;
        r = fsync_path(f->tpl_tmp, 0);
        if (r >= 0 && rename(f->tpl_tmp, f->tpl) < 0)
                r = -errno;
        if (r < 0) {
                (void) unlink(f->tpl_tmp);
                return zero_error_default(err, r, "Failed to make the clone template");
        }
        return STEP_NEXT;
}

/*
 * A raw clone shares the extents of the pool's copy of the image's base (FICLONE). The base lives
 * with the image, usually on another filesystem: the first clone of it copies it into the pool
 * (DIR/bases, by what it is: softcard_pool_base()), with cp as a child (--reflink=auto: a
 * base in the pool's filesystem costs nothing). Complete or absent: made under .tmp and renamed.
 */
static int step_base(struct vfile *f, struct zero_error *err) {
        _cleanup_free_ char *dir = NULL;
        int r;

        if (!raw_clone(f))
                return STEP_NEXT;
        if (f->v.pool && softcard_pool_holds(f->v.pool, f->path)) {
                r = softcard_pool_base(f->v.pool, f->base_path, f->pbase, err);
                if (r < 0)
                        return r;
        } else /* no pool (tests), or a volume outside it ([card] volumes_dir): from where it is */
                snprintf(f->pbase, sizeof(f->pbase), "%s", f->base_path);
        /* Ours alone: two clones of a base not copied yet each copy it, and the first rename wins
         * (same bytes); a shared .tmp could be renamed while the other cp still truncates it. */
        if (snprintf(f->pbase_tmp, sizeof(f->pbase_tmp), "%s.%s.tmp", f->pbase, f->id) >= (int) sizeof(f->pbase_tmp))
                return zero_error_set(err, -ENAMETOOLONG, ZERO_E_INTERNAL, "pool path too long");
        if (streq(f->pbase, f->base_path) || access(f->pbase, R_OK) >= 0)
                return STEP_NEXT;
        dir = strdup(f->pbase);
        if (!dir)
                return zero_error_default(err, -ENOMEM, "volume");
        *strrchr(dir, '/') = '\0';
        r = zero_mkdir_p(dir, 0700);
        if (r < 0)
                return zero_error_default(err, r, "Failed to create the pool's base directory");
        (void) unlink(f->pbase_tmp); /* a crashed try's */
        return ask(f, (char *[]){"cp", "--sparse=always", "--reflink=auto", "--", f->base_path, f->pbase_tmp, NULL});
}

static int step_base_commit(struct vfile *f, struct zero_error *err) {
        int r;

        if (!raw_clone(f) || access(f->pbase_tmp, F_OK) < 0)
                return STEP_NEXT;
        if (access(f->pbase, R_OK) >= 0) { /* another clone's copy came first */
                (void) unlink(f->pbase_tmp);
                return STEP_NEXT;
        }
        r = fsync_path(f->pbase_tmp, 0);
        if (r >= 0 && rename(f->pbase_tmp, f->pbase) < 0)
                r = -errno;
        return r < 0 ? zero_error_default(err, r, "Failed to copy the image's base into the pool") : STEP_NEXT;
}

static int step_copy(struct vfile *f, struct zero_error *err) {
        int r;

        if (qcow2_clone(f)) {
                r = softcard_file_clone(f->tpl, f->tmp, 0, false);
                return r < 0 ? zero_error_default(err, r, "Failed to copy the clone template") : STEP_NEXT;
        }
        if (!raw_clone(f))
                return STEP_NEXT;
        r = softcard_file_clone(f->pbase, f->tmp, f->v.size_bytes, true);
        if (r == -EOPNOTSUPP || r == -EXDEV || r == -EINVAL || r == -ENOTTY) {
                /* A pool without reflinks ([card] pool on ext4): a whole copy, sparse, as a child. */
                f->grow = true;
                return ask(f, (char *[]){"cp", "--sparse=always", "--", f->pbase, f->tmp, NULL});
        }
        return r < 0 ? zero_error_default(err, r, "Failed to clone the image's base") : STEP_NEXT;
}

static int step_grow(struct vfile *f, struct zero_error *err) {
        struct stat st;

        if (!f->grow)
                return STEP_NEXT;
        if (stat(f->tmp, &st) < 0 || ((uint64_t) st.st_size < f->v.size_bytes && truncate(f->tmp, (off_t) f->v.size_bytes) < 0))
                return zero_error_default(err, -errno, "Failed to size the volume's file");
        return STEP_NEXT;
}

/*
 * Whether the directory's fsync makes the new file durable too: a reflink clone on XFS holds no
 * data of its own, only the remap and the size change, and XFS logs every change to its metadata
 * in one ordered log, which the directory's fsync forces past them. It saves a log force (through
 * the pool's loop device) per clone. Elsewhere (btrfs logs per inode; data copied by cp) the file
 * is synced itself.
 */
static bool dir_sync_covers(const struct vfile *f) {
        struct statfs sf;

        return raw_clone(f) && !f->grow && statfs(f->dir, &sf) >= 0 && sf.f_type == 0x58465342; /* XFS */
}

static int step_commit(struct vfile *f, struct zero_error *err) {
        /* quick: mkfs synced, a qcow2 clone is a header */
        int r = dir_sync_covers(f) ? 0 : fsync_path(f->tmp, 0);

        if (r >= 0 && rename(f->tmp, f->path) < 0)
                r = -errno;
        return r < 0 ? zero_error_default(err, r, "Failed to create the volume's file") : STEP_NEXT;
}

/* The directory's fsync, which makes the rename (and on XFS the clone) durable before the make is
 * answered, as a command: it forces the pool's log through its loop device, 1-8 ms and tens under
 * load (perf trace of zerod during 8 concurrent creates: 8.3 ms on average, 45 ms at most), during
 * which the loop served no other create. In a forked child (a call: no exec, no PATH; the
 * synchronous runner calls it in place). zerod killed before its end leaves the file under its
 * name and the make unanswered: the job runs again and finds it made (step_prepare), as a kill
 * between the rename and the fsync did when both ran here. */
static void dir_sync_work(void *arg, struct zero_subprocess_result *res) {
        res->r = fsync_path(arg, O_DIRECTORY);
        if (res->r < 0)
                zero_error_set(&res->err, res->r, ZERO_E_INTERNAL, "Failed to sync the volume's directory: %s",
                               strerror(-res->r));
}

static int step_commit_sync(struct vfile *f, struct zero_error *err) {
        f->work = dir_sync_work;
        f->work_arg = f->dir;
        f->work_name = "the volume directory's fsync";
        return STEP_WORK;
}

static const struct vfile_step make_steps[] = {
        {step_pool},          {step_prepare}, {step_allocate},    {step_mkfs}, {step_template},
        {step_template_commit}, {step_base},  {step_base_commit}, {step_copy}, {step_grow},
        {step_commit},        {step_commit_sync},
};

/* ---- Remove ---- */

/* The export goes first: at once in the synchronous runner, as an op on the loop in the other. */
static int step_unexport(struct vfile *f, struct zero_error *err) {
        return STEP_UNEXPORT;
}

static int step_unlink(struct vfile *f, struct zero_error *err) {
        return remove_files(f, (char *[]){f->tmp, f->path, NULL}, err);
}

static const struct vfile_step remove_steps[] = {{step_pool}, {step_unexport}, {step_unlink}};

/* After a failed make: what it left under .tmp goes (its error is the make's). */
static int step_cleanup(struct vfile *f, struct zero_error *err) {
        return remove_files(f, (char *[]){f->tmp, f->pbase_tmp[0] ? f->pbase_tmp : NULL, NULL}, err);
}

static const struct vfile_step cleanup_steps[] = {{step_cleanup}};

/* ---- Setting up ---- */

static int vfile_new(struct qsd *q, const struct softcard_volume *v, bool remove, struct vfile **ret,
                     struct zero_error *err) {
        _cleanup_(vfile_freep) struct vfile *f = NULL;
        struct stat st;
        int r;

        r = remove ? softcard_volume_check(v, err) : softcard_volume_validate(v, 0, err);
        if (r < 0)
                return r;
        if (!remove && v->base_path) {
                if (stat(v->base_path, &st) < 0)
                        return zero_error_set(err, -errno, ZERO_E_NOT_FOUND, "image base %s: %s", v->base_path,
                                              strerror(errno));
                if ((uint64_t) st.st_size > v->size_bytes)
                        return zero_error_set(err, -EINVAL, ZERO_E_INVALID,
                                              "volume %s: %llu bytes is smaller than its image (%lld bytes)", v->id,
                                              (unsigned long long) v->size_bytes, (long long) st.st_size);
        } else if (!remove && !streq(v->format, "raw"))
                return zero_error_set(err, -EINVAL, ZERO_E_INVALID, "volume %s: a blank volume is raw", v->id);
        f = calloc(1, sizeof(*f));
        if (!f)
                return zero_error_default(err, -ENOMEM, "volume");
        f->id = strdup(v->id);
        f->path = strdup(v->path);
        f->format = strdup(v->format);
        f->base_path = v->base_path ? strdup(v->base_path) : NULL;
        f->tmp = zero_strdup_printf("%s.tmp", v->path);
        f->dir = strdup(v->path);
        if (v->base_path && streq(v->format, "qcow2")) {
                f->tpl = zero_strdup_printf("%s.clone-%llu.qcow2", v->base_path, (unsigned long long) v->size_bytes);
                f->tpl_tmp = f->tpl ? zero_strdup_printf("%s.tmp", f->tpl) : NULL;
        }
        if (!f->id || !f->path || !f->format || (v->base_path && !f->base_path) || (f->tpl && !f->tpl_tmp) || !f->tmp ||
            !f->dir)
                return zero_error_default(err, -ENOMEM, "volume");
        *strrchr(f->dir, '/') = '\0'; /* absolute (softcard_volume_check) */
        if (!f->dir[0])
                strcpy(f->dir, "/");
        snprintf(f->size, sizeof(f->size), "%llu", (unsigned long long) v->size_bytes);
        f->v = *v;
        f->v.id = f->id;
        f->v.path = f->path;
        f->v.format = f->format;
        f->v.base_path = f->base_path;
        f->qsd = q;
        f->command_timeout_usec = VFILE_COMMAND_TIMEOUT_USEC;
        f->remove = remove;
        f->steps = remove ? remove_steps : make_steps;
        f->n_steps = remove ? ELEMENTSOF(remove_steps) : ELEMENTSOF(make_steps);
        *ret = TAKE_PTR(f);
        return 0;
}

/* From here on the steps left are the cleanup (a failed make's), and r is the answer. */
static bool vfile_fail(struct vfile *f, int r) {
        if (f->failed < 0 || f->remove)
                return false;
        f->failed = r;
        f->steps = cleanup_steps;
        f->n_steps = ELEMENTSOF(cleanup_steps);
        f->step = 0;
        return true;
}

/* ---- The synchronous runner ---- */

static int vfile_run_sync(struct vfile *f, struct zero_error *err) {
        struct zero_error ignore = {};

        while (f->step < f->n_steps) {
                struct zero_error *e = f->failed < 0 ? &ignore : err;
                int r = f->steps[f->step].run(f, e);

                if (r == STEP_RUN)
                        r = softcard_run(f->argv, f->child_flags, f->command_timeout_usec, e);
                else if (r == STEP_WORK) {
                        struct zero_subprocess_result res = {};
                        f->work(f->work_arg, &res);
                        r = res.r;
                        if (r < 0)
                                *e = res.err;
                } else if (r == STEP_UNEXPORT && (r = qsd_ensure(f->qsd, e)) >= 0)
                        r = softcard_volume_unexport(f->qsd, &f->v, e);
                if (r == STEP_DONE)
                        break;
                if (r < 0 && !vfile_fail(f, r))
                        return f->failed < 0 ? f->failed : r;
                if (r >= 0)
                        f->step++;
        }
        return f->failed;
}

int softcard_volume_create(struct qsd *q, const struct softcard_volume *v, struct zero_error *err) {
        _cleanup_(vfile_freep) struct vfile *f = NULL;
        int r = vfile_new(q, v, false, &f, err);

        return r < 0 ? r : vfile_run_sync(f, err);
}

int softcard_volume_delete(struct qsd *q, const struct softcard_volume *v, struct zero_error *err) {
        _cleanup_(vfile_freep) struct vfile *f = NULL;
        int r = vfile_new(q, v, true, &f, err);

        return r < 0 ? r : vfile_run_sync(f, err);
}

/* ---- The asynchronous runner ---- */

static void vfile_finish(struct vfile *f, int r) {
        struct softcard_jobs *jobs = f->jobs;

        for (struct vfile **p = &jobs->head; *p; p = &(*p)->next)
                if (*p == f) {
                        *p = f->next;
                        break;
                }
        /* Out of the list first: done() may start the next job on this volume. */
        f->done(f->userdata, r, &f->err);
        vfile_free(f);
}

static void vfile_continue(struct vfile *f);

/* The end of what a step asked for (a command, the unexport): the next step, or the failure. */
static void vfile_answered(struct vfile *f, int r) {
        if (r < 0 && !vfile_fail(f, r))
                return vfile_finish(f, f->failed < 0 ? f->failed : r);
        if (r >= 0)
                f->step++;
        vfile_continue(f);
}

static void on_command_done(void *userdata, int status, const char *output) {
        struct vfile *f = userdata;
        struct zero_error ignore = {};
        int r = 0;

        f->child = NULL; /* it freed itself */
        if (status != 0)
                r = softcard_command_failed(f->argv, status, output, f->failed < 0 ? &ignore : &f->err);
        vfile_answered(f, r);
}

static void on_work_done(void *userdata, const struct zero_subprocess_result *res) {
        struct vfile *f = userdata;

        f->child = NULL; /* it freed itself */
        if (res->r < 0 && f->failed >= 0)
                f->err = res->err;
        vfile_answered(f, res->r);
}

static void on_unexport_done(void *userdata, int r, const char *path, const struct zero_error *err) {
        struct vfile *f = userdata;

        f->op = NULL; /* gone with its done */
        if (r < 0 && f->failed >= 0)
                f->err = *err;
        vfile_answered(f, r);
}

/* Runs the steps up to the next command or unexport (or the end): each takes microseconds. */
static void vfile_continue(struct vfile *f) {
        struct zero_error ignore = {};

        while (f->step < f->n_steps) {
                struct zero_error *e = f->failed < 0 ? &ignore : &f->err;
                int r = f->steps[f->step].run(f, e);

                if (r == STEP_RUN) {
                        r = zero_subprocess_start_flags(f->event, f->argv, f->child_flags, on_command_done, f,
                                                        &f->child);
                        if (r >= 0)
                                r = zero_subprocess_set_timeout(f->child, f->command_timeout_usec);
                        if (r >= 0)
                                return;
                        f->child = zero_subprocess_free(f->child);
                        r = zero_error_set(e, r, ZERO_E_INTERNAL, "cannot run %s: %s", f->argv[0], strerror(-r));
                } else if (r == STEP_WORK) {
                        r = zero_subprocess_call(f->event, f->work_name, f->work, f->work_arg,
                                                 f->command_timeout_usec, on_work_done, f, &f->child);
                        if (r >= 0)
                                return;
                        r = zero_error_set(e, r, ZERO_E_INTERNAL, "cannot start %s: %s", f->work_name, strerror(-r));
                } else if (r == STEP_UNEXPORT) {
                        /* On the loop too: a stopped daemon must not hold it (issue 11, item 7). */
                        r = softcard_volume_unexport_async(f->qsd, &f->v, on_unexport_done, f, &f->op, e);
                        if (r >= 0)
                                return;
                }
                if (r == STEP_DONE)
                        break;
                if (r < 0 && !vfile_fail(f, r))
                        return vfile_finish(f, f->failed < 0 ? f->failed : r);
                if (r >= 0)
                        f->step++;
        }
        vfile_finish(f, f->failed);
}

static int on_start(sd_event_source *s, void *userdata) {
        struct vfile *f = userdata;

        f->defer = sd_event_source_disable_unref(f->defer);
        vfile_continue(f);
        return 0;
}

static int vfile_start(struct softcard_jobs *jobs, sd_event *e, struct qsd *q, const struct softcard_volume *v,
                       bool remove, softcard_file_done_fn done, void *userdata, struct zero_error *err) {
        _cleanup_(vfile_freep) struct vfile *f = NULL;
        int r;

        if (!jobs || !e || !done)
                return zero_error_set(err, -EINVAL, ZERO_E_INTERNAL, "softcard: no event loop for volume jobs");
        r = vfile_new(q, v, remove, &f, err);
        if (r < 0)
                return r;
        for (struct vfile *j = jobs->head; j; j = j->next)
                if (streq(j->id, f->id))
                        return zero_error_set(err, -EBUSY, ZERO_E_BUSY, "volume %s is being %s already", f->id,
                                              j->remove ? "removed" : "made");
        f->jobs = jobs;
        if (jobs->command_timeout_usec > 0)
                f->command_timeout_usec = jobs->command_timeout_usec;
        f->event = e;
        f->done = done;
        f->userdata = userdata;
        /* From a defer source: done() must never come from inside this call. */
        r = sd_event_add_defer(e, &f->defer, on_start, f);
        if (r < 0)
                return zero_error_default(err, r, "Failed to schedule the volume job");
        f->next = jobs->head;
        jobs->head = TAKE_PTR(f);
        return 0;
}

int softcard_volume_create_async(struct softcard_jobs *jobs, sd_event *e, struct qsd *q,
                                 const struct softcard_volume *v, softcard_file_done_fn done, void *userdata,
                                 struct zero_error *err) {
        return vfile_start(jobs, e, q, v, false, done, userdata, err);
}

int softcard_volume_delete_async(struct softcard_jobs *jobs, sd_event *e, struct qsd *q,
                                 const struct softcard_volume *v, softcard_file_done_fn done, void *userdata,
                                 struct zero_error *err) {
        return vfile_start(jobs, e, q, v, true, done, userdata, err);
}

void softcard_jobs_cancel(struct softcard_jobs *jobs) {
        while (jobs && jobs->head) {
                struct vfile *f = jobs->head;
                jobs->head = f->next;
                vfile_free(f); /* kills its child; done is not called */
        }
}
