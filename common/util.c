/* SPDX-License-Identifier: Apache-2.0 */
#include "common/util.h"

#include <dirent.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <sched.h>
#include <search.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <poll.h>
#include <sys/mount.h>
#include <sys/random.h>
#include <sys/syscall.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>

bool zero_name_is_valid(const char *name) {
        size_t n;

        if (!name)
                return false;
        n = strlen(name);
        if (n == 0 || n > ZERO_NAME_MAX)
                return false;
        for (size_t i = 0; i < n; i++) {
                char c = name[i];
                bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || (c == '-' && i > 0);
                if (!ok)
                        return false;
        }
        return true;
}

static uint64_t clock_usec(clockid_t id) {
        struct timespec ts;
        clock_gettime(id, &ts);
        return (uint64_t) ts.tv_sec * USEC_PER_SEC + (uint64_t) ts.tv_nsec / 1000;
}

uint64_t zero_now_usec(void) {
        return clock_usec(CLOCK_REALTIME);
}

uint64_t zero_monotonic_usec(void) {
        return clock_usec(CLOCK_MONOTONIC);
}

char *zero_format_time(uint64_t usec, char buf[static 32]) {
        time_t t = (time_t) (usec / USEC_PER_SEC);
        struct tm tm;
        char tmp[24];

        gmtime_r(&t, &tm);
        strftime(tmp, sizeof(tmp), "%Y-%m-%dT%H:%M:%S", &tm);
        snprintf(buf, 32, "%s.%03uZ", tmp, (unsigned) ((usec % USEC_PER_SEC) / 1000));
        return buf;
}

int zero_random_id(char ret[static 33]) {
        uint8_t b[16];
        ssize_t n = getrandom(b, sizeof(b), 0);

        if (n != (ssize_t) sizeof(b))
                return n < 0 ? -errno : -EIO;
        for (size_t i = 0; i < sizeof(b); i++)
                snprintf(ret + 2 * i, 3, "%02x", b[i]);
        return 0;
}

int zero_write_all(int fd, const void *buf, size_t len) {
        const char *p = buf;

        while (len > 0) {
                ssize_t n = write(fd, p, len);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                p += n;
                len -= (size_t) n;
        }
        return 0;
}

static int fsync_parent(const char *path) {
        _cleanup_free_ char *copy = strdup(path);
        _cleanup_close_ int dfd = -EBADF;

        if (!copy)
                return -ENOMEM;
        dfd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd < 0)
                return -errno;
        if (fsync(dfd) < 0)
                return -errno;
        return 0;
}

static int write_file_replace(const char *path, const void *data, size_t len, mode_t mode, bool durable) {
        _cleanup_free_ char *tmp = zero_strdup_printf("%s.tmp", path);
        _cleanup_close_ int fd = -EBADF;
        int r;

        if (!tmp)
                return -ENOMEM;
        fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
        if (fd < 0)
                return -errno;
        r = zero_write_all(fd, data, len);
        if (r >= 0 && durable && fsync(fd) < 0)
                r = -errno;
        if (r >= 0 && rename(tmp, path) < 0)
                r = -errno;
        if (r < 0) {
                (void) unlink(tmp);
                return r;
        }
        return durable ? fsync_parent(path) : 0;
}

int zero_write_file_atomic(const char *path, const void *data, size_t len, mode_t mode) {
        return write_file_replace(path, data, len, mode, true);
}

int zero_write_file_replace(const char *path, const void *data, size_t len, mode_t mode) {
        return write_file_replace(path, data, len, mode, false);
}

int zero_read_file(const char *path, size_t max, char **ret, size_t *ret_len) {
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
        _cleanup_free_ char *buf = NULL;
        size_t len = 0, cap = 0;

        if (fd < 0)
                return -errno;
        for (;;) {
                ssize_t n;
                if (cap - len < 4096) {
                        size_t ncap = cap ? cap * 2 : 8192;
                        char *nb;
                        if (ncap > max + 1)
                                ncap = max + 1;
                        if (ncap <= len)
                                return -EFBIG;
                        nb = realloc(buf, ncap + 1);
                        if (!nb)
                                return -ENOMEM;
                        buf = nb;
                        cap = ncap;
                }
                n = read(fd, buf + len, cap - len);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                if (n == 0)
                        break;
                len += (size_t) n;
                if (len > max)
                        return -EFBIG;
        }
        if (!buf && !(buf = malloc(1)))
                return -ENOMEM;
        buf[len] = '\0';
        *ret = TAKE_PTR(buf);
        if (ret_len)
                *ret_len = len;
        return 0;
}

int zero_mkdir_p(const char *path, mode_t mode) {
        _cleanup_free_ char *p = strdup(path);

        if (!p)
                return -ENOMEM;
        for (char *s = p + 1; *s; s++) {
                if (*s != '/')
                        continue;
                *s = '\0';
                if (mkdir(p, mode) < 0 && errno != EEXIST)
                        return -errno;
                *s = '/';
        }
        if (mkdir(p, mode) < 0 && errno != EEXIST)
                return -errno;
        return 0;
}

static int rm_rf_at(int dfd, const char *name, dev_t dev) {
        struct stat st;

        if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
                return errno == ENOENT ? 0 : -errno;
        if (S_ISDIR(st.st_mode)) {
                _cleanup_close_ int fd = -EBADF;
                DIR *d;
                struct dirent *de;
                int r = 0;

                if (st.st_dev != dev)
                        return -EBUSY; /* a mount point: never descend into it */
                fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                if (fd < 0)
                        return -errno;
                d = fdopendir(fd);
                if (!d)
                        return -errno;
                fd = -EBADF; /* owned by d now */
                while ((de = readdir(d))) {
                        int k;
                        if (streq(de->d_name, ".") || streq(de->d_name, ".."))
                                continue;
                        k = rm_rf_at(dirfd(d), de->d_name, dev);
                        if (k < 0 && r == 0)
                                r = k;
                }
                closedir(d);
                if (r < 0)
                        return r;
                if (unlinkat(dfd, name, AT_REMOVEDIR) < 0 && errno != ENOENT)
                        return -errno;
                return 0;
        }
        if (unlinkat(dfd, name, 0) < 0 && errno != ENOENT)
                return -errno;
        return 0;
}

int zero_rm_rf(const char *path) {
        struct stat st;

        if (lstat(path, &st) < 0)
                return errno == ENOENT ? 0 : -errno;
        return rm_rf_at(AT_FDCWD, path, st.st_dev);
}

char *zero_path_simplify(const char *path) {
        char *out = malloc(strlen(path) + 2);
        bool absolute = path[0] == '/';
        size_t o = 0;

        if (!out)
                return NULL;
        for (const char *p = path; *p;) {
                size_t n = strcspn(p, "/");
                if (n == 2 && p[0] == '.' && p[1] == '.') {
                        while (o > 0 && out[--o] != '/')
                                ;
                } else if (n > 0 && !(n == 1 && p[0] == '.')) {
                        if (o > 0 || absolute)
                                out[o++] = '/';
                        memcpy(out + o, p, n);
                        o += n;
                }
                p += n;
                while (*p == '/')
                        p++;
        }
        if (o == 0 && absolute)
                out[o++] = '/';
        out[o] = '\0';
        return out;
}

bool zero_path_has_dotdot(const char *path) {
        for (const char *p = path; *p;) {
                size_t n = strcspn(p, "/");
                if (n == 2 && p[0] == '.' && p[1] == '.')
                        return true;
                p += n;
                while (*p == '/')
                        p++;
        }
        return false;
}

char *zero_strdup_printf(const char *fmt, ...) {
        va_list ap;
        char *s;
        int n;

        va_start(ap, fmt);
        n = vasprintf(&s, fmt, ap);
        va_end(ap);
        return n < 0 ? NULL : s;
}

int zero_buf_append(char **buf, size_t *len, size_t *cap, const void *data, size_t n) {
        if (*len + n + 1 > *cap) {
                size_t c = *cap ? *cap : 256;
                char *b;

                while (c < *len + n + 1)
                        c *= 2;
                b = realloc(*buf, c);
                if (!b)
                        return -ENOMEM;
                *buf = b;
                *cap = c;
        }
        memcpy(*buf + *len, data, n);
        *len += n;
        (*buf)[*len] = '\0';
        return 0;
}

/* ZERO_CHILD_HIDE_MOUNTS (util.h says why). */
static int child_hide_mounts(void) {
        if (unshare(CLONE_NEWNS) < 0)
                return -errno;
        /* Nothing of this namespace may reach the host's: a shared / would take the tmpfs there. */
        if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
            mount("zero-no-mounts", "/proc", "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_RDONLY, "size=4k") < 0)
                return -errno;
        return setenv("EXT2FS_NO_MTAB_OK", "1", 1) < 0 ? -errno : 0;
}

_Noreturn void zero_child_exec_flags(char *const *argv, int in, int out, int err, unsigned flags) {
        int devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
        sigset_t none;

        if (devnull < 0 || dup2(in >= 0 ? in : devnull, 0) < 0 || dup2(out, 1) < 0 || dup2(err, 2) < 0)
                _exit(127);
        if (flags & ZERO_CHILD_HIDE_MOUNTS)
                (void) child_hide_mounts(); /* else with the mount table, as before */
        zero_unset_service_environment();
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        execvp(argv[0], argv);
        dprintf(2, "cannot run %s: %m\n", argv[0]);
        _exit(127);
}

_Noreturn void zero_child_exec_fds(char *const *argv, int in, int out, int err) {
        zero_child_exec_flags(argv, in, out, err, 0);
}

_Noreturn void zero_child_exec(char *const *argv, int out) {
        zero_child_exec_fds(argv, -1, out, out);
}

/* Milliseconds left before deadline (CLOCK_MONOTONIC µs) for poll(), rounded up; -1 when there is
 * none (0). */
static int ms_left(uint64_t deadline) {
        uint64_t now, ms;

        if (deadline == 0)
                return -1;
        now = zero_monotonic_usec();
        if (now >= deadline)
                return 0;
        ms = (deadline - now + USEC_PER_MSEC - 1) / USEC_PER_MSEC;
        return ms > INT_MAX ? INT_MAX : (int) ms;
}

int zero_fd_wait(int fd, short events, uint64_t deadline, short *ret_revents) {
        for (;;) {
                struct pollfd p = {.fd = fd, .events = events};
                int n = poll(&p, 1, ms_left(deadline));

                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return -errno;
                /* poll() may wake a little early (its timeout rounds to the clock's tick): only
                 * the deadline itself ends the wait. */
                if (n == 0 && deadline > 0 && zero_monotonic_usec() < deadline)
                        continue;
                if (ret_revents)
                        *ret_revents = n > 0 ? p.revents : 0;
                return n > 0;
        }
}

int zero_run_wait_timeout(char *const argv[], int timeout_ms, char **ret_output) {
        return zero_run_wait_flags(argv, timeout_ms, 0, ret_output);
}

int zero_run_wait_flags(char *const argv[], int timeout_ms, unsigned flags, char **ret_output) {
        _cleanup_close_ int rd = -EBADF, pidfd = -EBADF;
        uint64_t deadline = timeout_ms < 0 ? 0 : zero_monotonic_usec() + (uint64_t) timeout_ms * USEC_PER_MSEC + 1;
        int pipefd[2] = {-EBADF, -EBADF};
        char buf[4096], sink[4096];
        size_t len = 0;
        pid_t pid;
        int status, r = 0;

        if (pipe2(pipefd, O_CLOEXEC) < 0)
                return -errno;
        rd = pipefd[0];
        pid = fork();
        if (pid < 0) {
                r = -errno;
                safe_close(pipefd[1]);
                return r;
        }
        if (pid == 0)
                zero_child_exec_flags(argv, -1, pipefd[1], pipefd[1], flags);
        safe_close(pipefd[1]);
        /* Readable once the child exited, so its end is waited for with the same deadline. */
        if (deadline)
                pidfd = (int) syscall(SYS_pidfd_open, pid, 0);
        /* Output until EOF; past 4 KiB it is drained, so the child never blocks on a full pipe. */
        for (;;) {
                ssize_t n;

                if (deadline) {
                        r = zero_fd_wait(rd, POLLIN, deadline, NULL);
                        if (r <= 0)
                                break;
                        r = 0;
                }
                n = len < sizeof(buf) - 1 ? read(rd, buf + len, sizeof(buf) - 1 - len) : read(rd, sink, sizeof(sink));
                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0)
                        break;
                if (len < sizeof(buf) - 1)
                        len += (size_t) n;
        }
        buf[len] = '\0';
        if (r == 0) /* the output ended: now the child */
                r = deadline && pidfd >= 0 ? zero_fd_wait(pidfd, POLLIN, deadline, NULL) : 1;
        if (r <= 0) {
                /* Timed out (or poll failed): like crun's cleanup_pid, killed and reaped. */
                (void) kill(pid, SIGKILL);
                while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
                        ;
                return r < 0 ? r : -ETIMEDOUT;
        }
        while (waitpid(pid, &status, 0) < 0)
                if (errno != EINTR)
                        return -errno;
        if (ret_output) {
                *ret_output = strdup(buf);
                if (!*ret_output)
                        return -ENOMEM;
        }
        if (WIFEXITED(status))
                return WEXITSTATUS(status);
        return 128 + WTERMSIG(status);
}

int zero_run_wait(char *const argv[], char **ret_output) {
        return zero_run_wait_timeout(argv, -1, ret_output);
}

void zero_unset_service_environment(void) {
        static const char *const vars[] = {"NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID",
                                           "LISTEN_FDS",    "LISTEN_PID",    "LISTEN_FDNAMES"};
        for (size_t i = 0; i < ELEMENTSOF(vars); i++)
                (void) unsetenv(vars[i]);
}

char **zero_service_free_environment(void) {
        extern char **environ;
        size_t n = 0, k = 0;
        char **l;

        while (environ[n])
                n++;
        l = calloc(n + 1, sizeof(char *));
        if (!l)
                return NULL;
        for (size_t i = 0; i < n; i++) {
                static const char *const drop[] = {"NOTIFY_SOCKET=", "WATCHDOG_USEC=", "WATCHDOG_PID=",
                                                   "LISTEN_FDS=",    "LISTEN_PID=",    "LISTEN_FDNAMES="};
                bool keep = true;
                for (size_t d = 0; d < ELEMENTSOF(drop); d++)
                        keep = keep && strncmp(environ[i], drop[d], strlen(drop[d])) != 0;
                if (keep)
                        l[k++] = environ[i];
        }
        return l;
}

int zero_parse_int64(const char *s, int64_t min, int64_t max, int64_t *ret) {
        char *end;
        long long v;

        if (!s || !*s)
                return -EINVAL;
        errno = 0;
        v = strtoll(s, &end, 10);
        if (errno != 0 || *end != '\0')
                return -EINVAL;
        if (v < min || v > max)
                return -ERANGE;
        *ret = v;
        return 0;
}

struct hardlink {
        dev_t dev;
        ino_t ino;
        char name[];
};

static int hardlink_cmp(const void *a, const void *b) {
        const struct hardlink *l = a, *m = b;
        if (l->dev != m->dev)
                return l->dev < m->dev ? -1 : 1;
        return l->ino < m->ino ? -1 : l->ino > m->ino;
}

int zero_hardlink_first(void **map, dev_t dev, ino_t ino, const char *name, const char **ret) {
        struct hardlink key = {.dev = dev, .ino = ino}, *l, **found;

        found = tfind(&key, map, hardlink_cmp);
        if (found) {
                *ret = (*found)->name;
                return 0;
        }
        l = malloc(sizeof(*l) + strlen(name) + 1);
        if (!l)
                return -ENOMEM;
        *l = key;
        strcpy(l->name, name);
        if (!tsearch(l, map, hardlink_cmp)) {
                free(l);
                return -ENOMEM;
        }
        *ret = NULL;
        return 0;
}

void zero_hardlink_map_free(void *map) {
        tdestroy(map, free);
}

char *zero_base64(const void *data, size_t n) {
        static const char tbl[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        const unsigned char *s = data;
        size_t o = 0;
        char *out = malloc((n + 2) / 3 * 4 + 1);

        if (!out)
                return NULL;
        for (size_t i = 0; i < n; i += 3) {
                uint32_t v = (uint32_t) s[i] << 16;
                if (i + 1 < n)
                        v |= (uint32_t) s[i + 1] << 8;
                if (i + 2 < n)
                        v |= s[i + 2];
                out[o++] = tbl[(v >> 18) & 63];
                out[o++] = tbl[(v >> 12) & 63];
                out[o++] = i + 1 < n ? tbl[(v >> 6) & 63] : '=';
                out[o++] = i + 2 < n ? tbl[v & 63] : '=';
        }
        out[o] = '\0';
        return out;
}

int zero_program_resolve(const char *name, char **ret) {
        const char *path = getenv("PATH");

        if (!name || !*name)
                return -EINVAL;
        if (strchr(name, '/')) {
                *ret = strdup(name);
                return *ret ? 0 : -ENOMEM;
        }
        if (!path || !*path)
                path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
        while (*path) {
                size_t n = strcspn(path, ":");
                _cleanup_free_ char *p = NULL;
                struct stat st;

                /* An empty element means the working directory: never for a daemon running as root. */
                if (n > 0 && path[0] == '/') {
                        p = zero_strdup_printf("%.*s/%s", (int) n, path, name);
                        if (!p)
                                return -ENOMEM;
                        if (stat(p, &st) >= 0 && S_ISREG(st.st_mode) && access(p, X_OK) >= 0) {
                                *ret = TAKE_PTR(p);
                                return 0;
                        }
                }
                path += n;
                path += *path == ':';
        }
        return -ENOENT;
}
