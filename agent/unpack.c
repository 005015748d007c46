/* SPDX-License-Identifier: Apache-2.0 */
/*
 * zero-unpack: the work of one image import, in a process of its own so that zerod's event
 * loop never waits for it (zerod watches it with sd_event_add_child). It reads like the
 * import's life:
 *
 *   1. open the source: an uploaded archive, or a host path resolved beneath its import
 *      directory with openat2(RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS);
 *   2. extract it into INTO/tree under extract.h's rules (a directory is walked, an archive
 *      is read with common/tar.c, through `gzip -dc` or `xz -dc` when its magic says so);
 *   3. an archive or directory whose top level holds a directory "rootfs" is the image layout
 *      of deploy/images/build-busybox-image: rootfs/, vmlinuz, initrd.img; anything else is a
 *      root filesystem;
 *   4. copy the kernel and initramfs given as host paths;
 *   5. mkfs.ext4 -d INTO/rootfs INTO/base.ext4, then syncfs: the image is durable before zerod
 *      records it;
 *   6. hash base.ext4, vmlinuz and initrd.img into digests.json (the launch measurements' image
 *      part, attest.h), so that zerod's loop never hashes an image;
 *   7. write RESULT (JSON) atomically: {"size_bytes", "kernel", "initrd", "layout"} or
 *      {"error": {"code", "message"}}; exit 0 or 1.
 *
 * What INTO holds is removed first: a run after a crash starts over.
 * Every child (gzip, xz, mkfs) dies with this process (PR_SET_PDEATHSIG), and this one with
 * zerod, so a killed zerod leaves nothing running.
 */
#include <fcntl.h>
#include <getopt.h>
#include <jansson.h>
#include <linux/openat2.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "agent/extract.h"
#include "agent/image.h"
#include "common/attest.h"
#include "common/util.h"

#define TRAILING_MAX (64u << 20) /* bytes after the end-of-archive block we read through */

/* A path to read: below the import directory beneath (a host path), or as it is (NULL: zerod's
 * own upload file). */
struct path {
        const char *beneath, *path;
};

struct args {
        const char *into, *result;
        struct path source, kernel, initrd;
        bool keep_setuid;
        uint64_t max_bytes;
};

struct outcome {
        uint64_t size_bytes;
        bool kernel, initrd, layout;
};

static int invalid(struct zero_error *err, int r, const char *fmt, const char *a) {
        return zero_error_set(err, r, ZERO_E_INVALID, fmt, a);
}

/* A child that dies with us; stdin from in (/dev/null when < 0), stdout to out, stderr to errfd;
 * flags: ZERO_CHILD_* (common/util.h). */
static pid_t spawn(char *const argv[], int in, int out, int errfd, unsigned flags) {
        pid_t parent = getpid(), pid = fork();

        if (pid != 0)
                return pid < 0 ? -errno : pid;
        if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != parent)
                _exit(127);
        zero_child_exec_flags(argv, in, out, errfd, flags);
}

/* Output of a finished child, kept in a memfd: one line, printable, for a message. */
static void child_text(int memfd, char *buf, size_t size) {
        ssize_t n = pread(memfd, buf, size - 1, 0);
        size_t k = n > 0 ? (size_t) n : 0;

        buf[k] = '\0';
        for (size_t i = 0; i < k; i++)
                if (buf[i] == '\n' && i + 1 < k)
                        buf[i] = ' ';
                else if ((unsigned char) buf[i] < 0x20 || (unsigned char) buf[i] >= 0x7f)
                        buf[i] = buf[i] == '\n' ? '\0' : '?';
}

static int wait_child(pid_t pid) {
        int status;

        while (waitpid(pid, &status, 0) < 0)
                if (errno != EINTR)
                        return -errno;
        return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* --- the source --- */

struct decompressor {
        int fd;     /* what the tar reader reads: the archive, or the decompressor's output */
        pid_t pid;  /* of gzip or xz, 0 for a plain archive */
        int errfd;  /* its stderr (a memfd) */
        const char *prog;
        uint64_t bytes;
        bool eof; /* the decompressor closed its output: it has ended or is ending */
};

static ssize_t source_read(void *userdata, void *buf, size_t len) {
        struct decompressor *d = userdata;
        ssize_t n;

        while ((n = read(d->fd, buf, len)) < 0 && errno == EINTR)
                ;
        if (n < 0)
                return -errno;
        d->bytes += (uint64_t) n;
        d->eof = n == 0;
        return n;
}

/* gzip and xz by their magic; other compressions are named, so the message says what to do. */
static int open_decompressor(int archive, struct decompressor *d, struct zero_error *err) {
        uint8_t m[6] = {0};
        int p[2];
        pid_t pid;

        *d = (struct decompressor){.fd = archive, .errfd = -EBADF};
        if (pread(archive, m, sizeof(m), 0) < 0)
                return zero_error_set(err, -errno, ZERO_E_INTERNAL, "cannot read the archive: %m");
        if (m[0] == 0x1f && m[1] == 0x8b)
                d->prog = "gzip";
        else if (memcmp(m, "\xfd" "7zXZ\0", 6) == 0)
                d->prog = "xz";
        else if (memcmp(m, "BZh", 3) == 0 || memcmp(m, "\x28\xb5\x2f\xfd", 4) == 0)
                return invalid(err, -EPROTONOSUPPORT, "the archive is compressed with %s: only gzip and xz are supported",
                               m[0] == 'B' ? "bzip2" : "zstd");
        if (!d->prog)
                return 0;
        d->errfd = memfd_create("decompressor-stderr", MFD_CLOEXEC);
        if (d->errfd < 0 || pipe2(p, O_CLOEXEC) < 0)
                return zero_error_set(err, -errno, ZERO_E_INTERNAL, "cannot start %s: %m", d->prog);
        pid = spawn((char *const[]){(char *) d->prog, "-dc", NULL}, archive, p[1], d->errfd, 0);
        safe_close(p[1]);
        if (pid < 0) {
                safe_close(p[0]);
                return zero_error_set(err, (int) pid, ZERO_E_INTERNAL, "cannot start %s: %s", d->prog, strerror((int) -pid));
        }
        d->pid = pid;
        d->fd = p[0];
        return 0;
}

/* After the end-of-archive block (ok): the decompressor must finish cleanly, as its checksum
 * covers the whole stream, so the rest of its output is read, within bounds. After a failure
 * (!ok): a decompressor that ended the stream by failing has the better reason (the archive
 * was only cut short because it is corrupt); one still writing is killed. < 0 with *err when
 * the decompressor's reason is the one to give. */
static int close_decompressor(struct decompressor *d, bool ok, struct zero_error *err) {
        char sink[65536], text[512];
        uint64_t extra = 0;
        ssize_t n;
        int st;

        if (!d->pid)
                return 0;
        while (ok && (n = read(d->fd, sink, sizeof(sink))) != 0) {
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0 || (extra += (uint64_t) n) > TRAILING_MAX) {
                        ok = false;
                        break;
                }
                d->eof = false;
        }
        if (ok)
                d->eof = true;
        d->fd = safe_close(d->fd);
        if (!d->eof)
                (void) kill(d->pid, SIGKILL);
        st = wait_child(d->pid);
        d->pid = 0;
        if (d->eof && st != 0) {
                child_text(d->errfd, text, sizeof(text));
                return zero_error_set(err, -EBADMSG, ZERO_E_INVALID, "the archive does not decompress: %s: %s", d->prog,
                                      text[0] ? text : "failed");
        }
        if (extra > TRAILING_MAX)
                return invalid(err, -EFBIG, "the archive goes on for more than 64 MiB after its end%s", "");
        return 0;
}

/* What the caller named on the node, beneath its import directory, with no symlink anywhere on
 * the way (zerod checked the path too; this closes the window between its check and our open). */
static int open_host(const struct path *p, int *ret, struct stat *st, struct zero_error *err) {
        _cleanup_close_ int root = -EBADF, pathfd = -EBADF;
        struct open_how how = {.flags = O_PATH | O_CLOEXEC, .resolve = RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS};
        const char *path = p->path, *beneath = p->beneath;
        char proc[64];
        int fd;

        if (!beneath) {
                fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
                if (fd < 0 || fstat(fd, st) < 0)
                        return zero_error_set(err, -errno, ZERO_E_INTERNAL, "cannot open %s: %m", path);
                *ret = fd;
                return 0;
        }
        root = (int) syscall(SYS_openat2, AT_FDCWD, beneath, &how, sizeof(how));
        if (root < 0)
                return invalid(err, -errno, "cannot open the import directory %s", beneath);
        how.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS;
        pathfd = (int) syscall(SYS_openat2, root, path, &how, sizeof(how));
        if (pathfd < 0)
                return zero_error_set(err, -errno, ZERO_E_INVALID, "%s/%s: %m (nor may it go through a symlink)",
                                      beneath, path);
        if (fstat(pathfd, st) < 0)
                return -errno;
        if (!S_ISREG(st->st_mode) && !S_ISDIR(st->st_mode))
                return zero_error_set(err, -EINVAL, ZERO_E_INVALID, "%s/%s is neither a directory nor a regular file",
                                      beneath, path);
        /* Opened for reading only now that it is known not to be a FIFO or a device. */
        snprintf(proc, sizeof(proc), "/proc/self/fd/%d", pathfd);
        fd = open(proc, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return zero_error_set(err, -errno, ZERO_E_INTERNAL, "cannot open %s/%s: %m", beneath, path);
        *ret = fd;
        return 0;
}

static int extract_source(const struct args *a, struct zero_extract *x, struct zero_error *err) {
        _cleanup_close_ int src = -EBADF;
        struct zero_tar *t = NULL;
        struct decompressor d;
        struct stat st;
        int r, k;

        r = open_host(&a->source, &src, &st, err);
        if (r < 0)
                return r;
        if (S_ISDIR(st.st_mode))
                return zero_extract_dir(x, src, err);
        r = open_decompressor(src, &d, err);
        if (r < 0)
                return r;
        r = zero_tar_new(source_read, &d, &t);
        if (r >= 0)
                r = zero_extract_tar(x, t, err);
        t = zero_tar_free(t);
        k = close_decompressor(&d, r >= 0, err);
        safe_close(d.errfd);
        return k < 0 ? k : r;
}

/* --- the image's layout --- */

static bool is_type(int dfd, const char *name, mode_t type) {
        struct stat st;
        return fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && (st.st_mode & S_IFMT) == type;
}

static int move(int from, const char *a, int to, const char *b, struct zero_error *err) {
        if (renameat(from, a, to, b) < 0)
                return zero_error_set(err, -errno, ZERO_E_INTERNAL, "cannot move %s into place: %m", a);
        return 0;
}

static int arrange(const struct args *a, int into, struct outcome *o, struct zero_error *err) {
        _cleanup_close_ int tree = openat(into, "tree", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        _cleanup_free_ char *path = NULL;
        int r;

        if (tree < 0)
                return -errno;
        if (!is_type(tree, "rootfs", S_IFDIR))
                return move(into, "tree", into, "rootfs", err);
        o->layout = true;
        if ((r = move(tree, "rootfs", into, "rootfs", err)) < 0)
                return r;
        for (int i = 0; i < 2; i++) {
                const char *name = i == 0 ? ZERO_IMAGE_KERNEL_FILE : ZERO_IMAGE_INITRD_FILE;
                if (fstatat(tree, name, &(struct stat){}, AT_SYMLINK_NOFOLLOW) < 0)
                        continue;
                if (!is_type(tree, name, S_IFREG))
                        return invalid(err, -EINVAL, "the image's %s is not a regular file", name);
                if ((r = move(tree, name, into, name, err)) < 0)
                        return r;
                *(i == 0 ? &o->kernel : &o->initrd) = true;
        }
        if (o->initrd && !o->kernel)
                return invalid(err, -EINVAL, "the image has an %s but no vmlinuz", ZERO_IMAGE_INITRD_FILE);
        path = zero_strdup_printf("%s/tree", a->into);
        return path ? zero_rm_rf(path) : -ENOMEM; /* kernel-release and the like */
}

static int copy_boot_file(const char *what, const struct path *p, int into, const char *name, struct zero_error *err) {
        _cleanup_close_ int in = -EBADF, out = -EBADF;
        struct stat st;
        char buf[65536];
        ssize_t n;
        int r;

        r = open_host(p, &in, &st, err);
        if (r < 0)
                return r;
        if (!S_ISREG(st.st_mode) || st.st_size == 0)
                return invalid(err, -EINVAL, "the %s is not a non-empty regular file", what);
        out = openat(into, name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
        if (out < 0)
                return zero_error_set(err, -errno, ZERO_E_INTERNAL, "cannot create the image's %s: %m", name);
        while ((n = read(in, buf, sizeof(buf))) != 0) {
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0 || (r = zero_write_all(out, buf, (size_t) n)) < 0)
                        return zero_error_set(err, n < 0 ? -errno : r, ZERO_E_INTERNAL, "cannot copy the %s", what);
        }
        return 0;
}

/* The base that volumes are cloned from: files plus half again and 64 MiB, and an inode for
 * every entry with a quarter to spare (the default of one per 16 KiB runs out on small files). */
static int make_base(const struct args *a, const struct zero_extract *x, struct zero_error *err) {
        uint64_t mib = zero_extract_disk_bytes(x) / (1024 * 1024);
        _cleanup_free_ char *rootfs = zero_strdup_printf("%s/rootfs", a->into);
        _cleanup_free_ char *base = zero_strdup_printf("%s/" ZERO_IMAGE_BASE_FILE, a->into);
        char size[32], inodes[32], text[512];
        _cleanup_close_ int out = memfd_create("mkfs-output", MFD_CLOEXEC);
        pid_t pid;
        int st;

        if (out < 0)
                return -errno;
        if (!rootfs || !base)
                return -ENOMEM;
        mib = mib + mib / 2 + 64;
        snprintf(size, sizeof(size), "%lluM", (unsigned long long) mib);
        snprintf(inodes, sizeof(inodes), "%llu", (unsigned long long) (zero_extract_entries(x) * 5 / 4 + 4096));
        char *argv[] = {"mkfs.ext4", "-q", "-F", "-L", "zero-root", "-N", inodes, "-E", "root_owner=0:0", "-d",
                        rootfs, base, size, NULL};
        /* Without the mount table: a mounted loop device over a stopped FUSE daemon would hold
         * it (ZERO_CHILD_HIDE_MOUNTS says how); the base is a new file of ours. */
        pid = spawn(argv, -EBADF, out, out, ZERO_CHILD_HIDE_MOUNTS);
        if (pid < 0)
                return zero_error_set(err, (int) pid, ZERO_E_INTERNAL, "cannot run mkfs.ext4: %s", strerror((int) -pid));
        st = wait_child(pid);
        if (st != 0) {
                child_text(out, text, sizeof(text));
                return zero_error_set(err, -EIO, ZERO_E_INTERNAL, "mkfs.ext4 of the image failed (status %d): %s", st,
                                      text[0] ? text : "(no output)");
        }
        return 0;
}

/* The SHA-256 of the image's files (ZERO_IMAGE_DIGESTS_FILE), written before the sync below. */
static int write_digests(const char *into, struct zero_error *err) {
        static const char *const files[] = {ZERO_IMAGE_BASE_FILE, ZERO_IMAGE_KERNEL_FILE, ZERO_IMAGE_INITRD_FILE};
        _cleanup_free_ char *path = zero_strdup_printf("%s/" ZERO_IMAGE_DIGESTS_FILE, into), *text = NULL;
        json_t *j = json_object();
        int r = 0;

        for (size_t i = 0; j && r >= 0 && i < ELEMENTSOF(files); i++) {
                _cleanup_free_ char *f = zero_strdup_printf("%s/%s", into, files[i]);
                char hex[ZERO_SHA256_HEX];

                if (!f)
                        r = -ENOMEM;
                else if ((r = zero_sha256_file_hex(f, hex)) == -ENOENT)
                        r = 0; /* no kernel or initrd */
                else if (r >= 0)
                        r = json_object_set_new(j, files[i], json_string(hex)) < 0 ? -ENOMEM : 0;
        }
        text = j && r >= 0 ? json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
        json_decref(j);
        if (r >= 0 && (!text || !path))
                r = -ENOMEM;
        if (r >= 0)
                r = zero_write_file_replace(path, text, strlen(text), 0644);
        return r < 0 ? zero_error_set(err, r, ZERO_E_INTERNAL, "cannot hash the image: %s", strerror(-r)) : 0;
}

static int run(const struct args *a, struct outcome *o, struct zero_error *err) {
        struct zero_extract_options opts = {.keep_setuid = a->keep_setuid, .max_bytes = a->max_bytes};
        _cleanup_close_ int into = -EBADF, tree = -EBADF;
        struct zero_extract *x = NULL;
        int r;

        r = zero_rm_rf(a->into);
        if (r < 0)
                return zero_error_set(err, r, ZERO_E_INTERNAL, "cannot remove %s: %s", a->into, strerror(-r));
        if (mkdir(a->into, 0755) < 0 || (into = open(a->into, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0 ||
            mkdirat(into, "tree", 0755) < 0 ||
            (tree = openat(into, "tree", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0)
                return zero_error_set(err, -errno, ZERO_E_INTERNAL, "cannot create %s: %m", a->into);
        r = zero_extract_new(tree, &opts, &x);
        if (r < 0)
                return r;
        r = extract_source(a, x, err);
        if (r >= 0)
                r = arrange(a, into, o, err);
        if (r >= 0 && (a->kernel.path || a->initrd.path) && o->kernel)
                r = invalid(err, -EINVAL, "the image has its own %s: give no kernel or initrd with it",
                            ZERO_IMAGE_KERNEL_FILE);
        if (r >= 0 && a->kernel.path &&
            (r = copy_boot_file("kernel", &a->kernel, into, ZERO_IMAGE_KERNEL_FILE, err)) >= 0)
                o->kernel = true;
        if (r >= 0 && a->initrd.path &&
            (r = copy_boot_file("initrd", &a->initrd, into, ZERO_IMAGE_INITRD_FILE, err)) >= 0)
                o->initrd = true;
        if (r >= 0)
                r = make_base(a, x, err);
        if (r >= 0)
                r = write_digests(a->into, err);
        if (r >= 0 && syncfs(into) < 0)
                r = zero_error_set(err, -errno, ZERO_E_INTERNAL, "cannot sync the image: %m");
        o->size_bytes = zero_extract_bytes(x);
        zero_extract_free(x);
        return r;
}

static int parse(int argc, char **argv, struct args *a) {
        static const struct option options[] = {
                {"into", required_argument, NULL, 'o'},    {"result", required_argument, NULL, 'r'},
                {"source", required_argument, NULL, 's'},  {"beneath", required_argument, NULL, 'b'},
                {"kernel", required_argument, NULL, 'k'},  {"initrd", required_argument, NULL, 'i'},
                {"keep-setuid", no_argument, NULL, 'u'},   {"max-bytes", required_argument, NULL, 'm'},
                {},
        };
        const char *beneath = NULL; /* applies to the paths after it */
        int64_t v;

        for (int c; (c = getopt_long(argc, argv, "", options, NULL)) >= 0;)
                switch (c) {
                case 'o': a->into = optarg; break;
                case 'r': a->result = optarg; break;
                case 'b': beneath = optarg; break;
                case 's': a->source = (struct path){beneath, optarg}; break;
                case 'k': a->kernel = (struct path){beneath, optarg}; break;
                case 'i': a->initrd = (struct path){beneath, optarg}; break;
                case 'u': a->keep_setuid = true; break;
                case 'm':
                        if (zero_parse_int64(optarg, 0, INT64_MAX, &v) < 0)
                                return -EINVAL;
                        a->max_bytes = (uint64_t) v;
                        break;
                default:
                        return -EINVAL;
                }
        return a->into && a->result && a->source.path && optind == argc ? 0 : -EINVAL;
}

int main(int argc, char **argv) {
        struct args a = {};
        struct outcome o = {};
        struct zero_error err = {};
        json_t *j;
        char *s;
        int r;

        if (parse(argc, argv, &a) < 0) {
                fprintf(stderr, "usage: zero-unpack --into DIR --result FILE [--beneath DIR] --source PATH "
                                "[[--beneath DIR] --kernel PATH] [[--beneath DIR] --initrd PATH] [--keep-setuid] "
                                "[--max-bytes N]\n(--beneath applies to the paths after it)\n");
                return 2;
        }
        umask(022);
        r = run(&a, &o, &err);
        if (r < 0) {
                (void) zero_error_default(&err, r, "the import failed");
                j = json_pack("{s:{s:s,s:s}}", "error", "code", zero_errc_name(err.code), "message", err.message);
        } else
                j = json_pack("{s:I,s:b,s:b,s:b}", "size_bytes", (json_int_t) o.size_bytes, "kernel", o.kernel, "initrd",
                              o.initrd, "layout", o.layout);
        s = j ? json_dumps(j, JSON_COMPACT) : NULL;
        json_decref(j);
        if (!s || zero_write_file_atomic(a.result, s, strlen(s), 0600) < 0) {
                fprintf(stderr, "zero-unpack: cannot write %s: %s\n", a.result, r < 0 ? err.message : "out of memory");
                free(s);
                return 1;
        }
        free(s);
        if (r < 0)
                fprintf(stderr, "zero-unpack: %s\n", err.message);
        return r < 0 ? 1 : 0;
}
