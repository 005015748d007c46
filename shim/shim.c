/* SPDX-License-Identifier: Apache-2.0 */
/*
 * zero-shim: the supervisor of one instance (see shim/client.h for its files, command line
 * and protocols). main() reads as the instance's life: check the arguments, detach, start the
 * runtime, report, supervise, record the exit, go.
 *
 * Everything up to the detaching fork is reported synchronously: zero_shim_spawn() reads the
 * message when the process it started exits non-zero. From then on the one line on the sync
 * pipe says how the start went, and the files and the socket in DIR say the rest, so a
 * restarted zerod needs no parenthood.
 */
#include <dirent.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "common/util.h"
#include "shim/shim.h"

/* Console bytes at most drained after the exit. */
#define DRAIN_MAX (1024 * 1024)

static const char usage[] =
        "usage: zero-shim --id ID --dir DIR --sync-fd N [--log-max BYTES] [--pid-file FILE]\n"
        "                 [--start-arg ARG]... [--cleanup-arg ARG]... [--exec-arg ARG]... [--exec-target ARG]\n"
        "                 [--private-cgroup2] [--stdin-pipe] [--sidecar-arg ARG]... [--sidecar-ready PATH]\n"
        "                 [--prepare-arg ARG]... -- ARGV...\n";

static void shim_close(struct shim *s) {
        control_close(&s->control);
        console_close(&s->console);
        s->sig_fd = safe_close(s->sig_fd);
        s->sync_fd = safe_close(s->sync_fd);
        s->dir_fd = safe_close(s->dir_fd);
        s->stdin_r = safe_close(s->stdin_r);
        s->stdin_w = safe_close(s->stdin_w);
}

/* "error MESSAGE\n" on the sync pipe (one line, whatever the message holds) and the same into
 * the console log when there is one. */
_printf_(2, 3) static void report_error(struct shim *s, const char *fmt, ...) {
        int saved_errno = errno; /* for %m */
        char buf[512];
        va_list ap;
        int n;

        n = snprintf(buf, sizeof(buf), "error ");
        errno = saved_errno;
        va_start(ap, fmt);
        vsnprintf(buf + n, sizeof(buf) - (size_t) n - 1, fmt, ap);
        va_end(ap);
        for (char *p = buf; *p; p++)
                if (*p == '\n' || *p == '\r')
                        *p = ' ';
        if (s->console.log_fd >= 0)
                console_log(&s->console, "%s", buf + n);
        n = (int) strlen(buf);
        buf[n++] = '\n';
        if (s->sync_fd >= 0)
                (void) zero_write_all(s->sync_fd, buf, (size_t) n);
        s->sync_fd = safe_close(s->sync_fd);
}

/* Formats the reason for a failure into err (with %m meaning -r) and returns r. */
_printf_(4, 5) static int fail(char *err, size_t size, int r, const char *fmt, ...) {
        va_list ap;

        errno = -r;
        va_start(ap, fmt);
        vsnprintf(err, size, fmt, ap);
        va_end(ap);
        return r;
}

static int parse_args(int argc, char *argv[], struct shim *s, uint64_t *log_max, char *err, size_t size) {
        enum { OPT_ID = 256, OPT_DIR, OPT_SYNC_FD, OPT_LOG_MAX, OPT_PID_FILE, OPT_START_ARG,
               OPT_CLEANUP_ARG, OPT_EXEC_ARG, OPT_EXEC_TARGET, OPT_PRIVATE_CGROUP2, OPT_STDIN_PIPE,
               OPT_SIDECAR_ARG, OPT_SIDECAR_READY, OPT_PREPARE_ARG };
        static const struct option options[] = {
                {"id", required_argument, NULL, OPT_ID},
                {"dir", required_argument, NULL, OPT_DIR},
                {"sync-fd", required_argument, NULL, OPT_SYNC_FD},
                {"log-max", required_argument, NULL, OPT_LOG_MAX},
                {"pid-file", required_argument, NULL, OPT_PID_FILE},
                {"start-arg", required_argument, NULL, OPT_START_ARG},
                {"cleanup-arg", required_argument, NULL, OPT_CLEANUP_ARG},
                {"exec-arg", required_argument, NULL, OPT_EXEC_ARG},
                {"exec-target", required_argument, NULL, OPT_EXEC_TARGET},
                {"stdin-pipe", no_argument, NULL, OPT_STDIN_PIPE},
                {"private-cgroup2", no_argument, NULL, OPT_PRIVATE_CGROUP2},
                {"sidecar-arg", required_argument, NULL, OPT_SIDECAR_ARG},
                {"sidecar-ready", required_argument, NULL, OPT_SIDECAR_READY},
                {"prepare-arg", required_argument, NULL, OPT_PREPARE_ARG},
                {},
        };
        size_t n_start = 0, n_cleanup = 0, n_exec = 0, n_sidecar = 0, n_prepare = 0;
        int64_t v;
        int c;

        /* Keep parsing after an error: the sync fd may come later, and it carries the error. */
#define FAIL(...)                                                                                  \
        do {                                                                                       \
                if (!err[0])                                                                       \
                        snprintf(err, size, __VA_ARGS__);                                          \
        } while (0)
        opterr = 0;
        while ((c = getopt_long(argc, argv, "+", options, NULL)) >= 0) {
                switch (c) {
                case OPT_ID:
                        s->id = optarg;
                        break;
                case OPT_DIR:
                        s->dir = optarg;
                        break;
                case OPT_SYNC_FD:
                        if (zero_parse_int64(optarg, 0, INT_MAX, &v) < 0 || fcntl((int) v, F_GETFD) < 0)
                                FAIL("invalid --sync-fd %s", optarg);
                        else
                                s->sync_fd = (int) v;
                        break;
                case OPT_LOG_MAX:
                        if (zero_parse_int64(optarg, ZERO_SHIM_LOG_MAX_MIN, ZERO_SHIM_LOG_MAX_MAX, &v) < 0)
                                FAIL("invalid --log-max %s (%llu to %llu bytes)", optarg,
                                     (unsigned long long) ZERO_SHIM_LOG_MAX_MIN,
                                     (unsigned long long) ZERO_SHIM_LOG_MAX_MAX);
                        else
                                *log_max = (uint64_t) v;
                        break;
                case OPT_PID_FILE:
                        s->pid_file = optarg;
                        break;
                case OPT_START_ARG:
                        s->start_argv[n_start++] = optarg;
                        break;
                case OPT_CLEANUP_ARG:
                        s->cleanup_argv[n_cleanup++] = optarg;
                        break;
                case OPT_EXEC_ARG:
                        if (n_exec >= 63)
                                FAIL("too many --exec-arg");
                        else
                                s->exec_argv[n_exec++] = optarg;
                        break;
                case OPT_EXEC_TARGET:
                        s->exec_target = optarg;
                        break;
                case OPT_STDIN_PIPE:
                        s->stdin_pipe = true;
                        break;
                case OPT_PRIVATE_CGROUP2:
                        s->private_cgroup2 = true;
                        break;
                case OPT_SIDECAR_ARG:
                        s->sidecar_argv[n_sidecar++] = optarg;
                        break;
                case OPT_SIDECAR_READY:
                        s->sidecar_ready = optarg;
                        break;
                case OPT_PREPARE_ARG:
                        s->prepare_argv[n_prepare++] = optarg;
                        break;
                default:
                        FAIL("unknown option or missing value: %s", argv[optind - 1]);
                        break;
                }
        }
        if (!s->id || !*s->id)
                FAIL("--id is required");
        if (!s->dir || !*s->dir)
                FAIL("--dir is required");
        if (s->sync_fd < 0)
                FAIL("--sync-fd is required");
        if (s->pid_file && !*s->pid_file)
                FAIL("--pid-file is empty");
        if (optind >= argc)
                FAIL("no command given");
        /* A create command's descendants are adopted by pid (reap_others): no sidecar beside. */
        if (n_sidecar > 0 && s->pid_file)
                FAIL("--sidecar-arg cannot go with --pid-file");
        if ((n_sidecar > 0) != (s->sidecar_ready != NULL) || (s->sidecar_ready && !*s->sidecar_ready))
                FAIL("--sidecar-arg and --sidecar-ready go together");
#undef FAIL
        s->argv = argv + optind;
        if (n_start == 0)
                s->start_argv = NULL;
        if (n_cleanup == 0)
                s->cleanup_argv = NULL;
        if (n_exec == 0)
                s->exec_argv = NULL;
        if (n_sidecar == 0)
                s->sidecar_argv = NULL;
        if (n_prepare == 0)
                s->prepare_argv = NULL;
        return err[0] ? -EINVAL : 0;
}

/* keep >= 3 */
static int close_other_fds(int keep) {
        DIR *d;
        struct dirent *de;

        if ((keep == 3 || close_range(3, (unsigned) keep - 1, 0) >= 0) &&
            close_range((unsigned) keep + 1, ~0U, 0) >= 0)
                return 0;
        if (errno != ENOSYS)
                return -errno;
        /* Kernels before 5.9. */
        d = opendir("/proc/self/fd");
        if (!d)
                return -errno;
        while ((de = readdir(d))) {
                int64_t fd;
                if (zero_parse_int64(de->d_name, 3, INT_MAX, &fd) < 0 || fd == keep || fd == dirfd(d))
                        continue;
                close((int) fd);
        }
        closedir(d);
        return 0;
}

/* Only the sync fd survives, stdio goes to /dev/null, signals come from a signalfd. */
static int setup_process(struct shim *s, char *err, size_t size) {
        sigset_t mask;
        int fd, r;

        if (s->sync_fd < 3) {
                fd = fcntl(s->sync_fd, F_DUPFD_CLOEXEC, 3); /* stdio is about to be replaced */
                if (fd < 0)
                        return fail(err, size, -errno, "cannot move the sync fd: %m");
                s->sync_fd = fd;
        } else if (fcntl(s->sync_fd, F_SETFD, FD_CLOEXEC) < 0)
                return fail(err, size, -errno, "cannot set up the sync fd: %m");

        /* Not O_CLOEXEC: this one becomes every child's stdin. */
        fd = open("/dev/null", O_RDWR | O_NOCTTY);
        if (fd < 0)
                return fail(err, size, -errno, "cannot open /dev/null: %m");
        for (int i = 0; i < 3; i++)
                if (fd != i && dup2(fd, i) < 0)
                        return fail(err, size, -errno, "cannot redirect stdio: %m");
        if (fd > 2)
                close(fd);
        r = close_other_fds(s->sync_fd);
        if (r < 0)
                return fail(err, size, r, "cannot close inherited fds: %m");

        process_reset_signals();
        (void) signal(SIGPIPE, SIG_IGN); /* a client that hung up is an EPIPE, not our death */
        sigemptyset(&mask);
        sigaddset(&mask, SIGCHLD);
        /* Blocked and read, never acted on: the shim lives as long as its instance. */
        sigaddset(&mask, SIGTERM);
        sigaddset(&mask, SIGINT);
        sigaddset(&mask, SIGHUP);
        if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0)
                return fail(err, size, -errno, "cannot block signals: %m");
        s->sig_fd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
        if (s->sig_fd < 0)
                return fail(err, size, -errno, "cannot create a signalfd: %m");
        return 0;
}

/* Returns in the shim proper, in its own session. The process zero_shim_spawn() started exits
 * 0 once that is done, so the spawner reaps it at once and the shim is nobody's child. */
static int detach(char *err, size_t size) {
        int p[2];
        pid_t pid;

        if (pipe2(p, O_CLOEXEC) < 0)
                return fail(err, size, -errno, "cannot create a pipe: %m");
        pid = fork();
        if (pid < 0)
                return fail(err, size, -errno, "cannot fork: %m");
        if (pid > 0) {
                char c;
                ssize_t n;

                close(p[1]);
                do
                        n = read(p[0], &c, 1);
                while (n < 0 && errno == EINTR);
                /* EOF without the byte: the shim failed and wrote why on the sync pipe first. */
                _exit(n == 1 ? 0 : 1);
        }
        close(p[0]);
        if (setsid() < 0)
                return fail(err, size, -errno, "setsid: %m"); /* p[1] closes at our exit */
        (void) !write(p[1], "x", 1);
        close(p[1]);
        return 0;
}

/* Finds a cgroup2 mount point other than /sys/fs/cgroup (hybrid hosts have one at
 * /sys/fs/cgroup/unified), for process.c's private_cgroup2(). "" when there is none. */
static void find_cgroup2_mount(char *ret, size_t size) {
        FILE *f = fopen("/proc/self/mountinfo", "re");
        char line[4096];

        ret[0] = '\0';
        if (!f)
                return;
        while (!ret[0] && fgets(line, sizeof(line), f)) {
                char mnt[PATH_MAX];
                const char *sep = strstr(line, " - cgroup2 ");
                /* fields: id parent major:minor root mount-point ... */
                if (!sep || sscanf(line, "%*s %*s %*s %*s %4095s", mnt) != 1 || strchr(mnt, '\\') ||
                    streq(mnt, "/sys/fs/cgroup") || strlen(mnt) >= size)
                        continue;
                strcpy(ret, mnt);
        }
        fclose(f);
}

/* Files in the run directory are replaced atomically (temp + rename) but not fsynced: the run
 * directory is volatile by design (tmpfs under /run), so a power cut takes it whole, and a killed
 * shim or zerod never leaves a partial file. The fsyncs cost milliseconds on every start. */
static int write_pid(struct shim *s, const char *name, pid_t pid) {
        _cleanup_free_ char *path = zero_strdup_printf("%s/%s", s->dir, name);
        char buf[16];
        int n = snprintf(buf, sizeof(buf), "%d\n", (int) pid);

        if (!path)
                return -ENOMEM;
        return zero_write_file_replace(path, buf, (size_t) n, 0644);
}

static int read_pid_file(const char *path, pid_t *ret) {
        _cleanup_free_ char *text = NULL;
        int64_t v;
        int r;

        r = zero_read_file(path, 64, &text, NULL);
        if (r < 0)
                return r;
        text[strcspn(text, " \t\r\n")] = '\0';
        if (zero_parse_int64(text, 1, INT_MAX, &v) < 0)
                return -EBADMSG;
        *ret = (pid_t) v;
        return 0;
}

static const char *base_name(const char *path) {
        const char *p = strrchr(path, '/');
        return p && p[1] ? p + 1 : path;
}

/* Runs a command to completion (in the runtime's private mount namespace when private_ns and
 * --private-cgroup2); a readable reason in err when it fails. */
static int run_step_ns(struct shim *s, const char *what, char *const argv[], bool private_ns, char *err,
                       size_t size) {
        char out[SHIM_CAPTURE_MAX], st[32];
        int r, status;

        console_capture_begin(&s->console);
        r = process_run_ns(s, argv, private_ns, &status);
        console_capture_end(&s->console, out, sizeof(out));
        if (r < 0)
                return fail(err, size, r, "%scannot execute %s: %m", what, argv[0]);
        if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
                return 0;
        return fail(err, size, -EIO, "%s%s failed (%s)%s%s", what, base_name(argv[0]),
                    process_status_string(status, st), out[0] ? ": " : "", out);
}

static int run_step(struct shim *s, const char *what, char *const argv[], char *err, size_t size) {
        return run_step_ns(s, what, argv, true, err, size);
}

/* Starts the main process: ARGV itself, or (--pid-file) what ARGV leaves behind in the pid file,
 * then the start command. On failure nothing of the instance is left running. */
#define REPARENT_WAIT_MS 2000

/* Reaps exited children other than the main process (intermediate runtime processes). */
static void reap_others(struct shim *s) {
        for (;;) {
                siginfo_t si = {};
                if (waitid(P_ALL, 0, &si, WEXITED | WNOHANG | WNOWAIT) < 0 || si.si_pid == 0)
                        return;
                if (si.si_pid == s->main_pid)
                        return;
                (void) waitpid(si.si_pid, NULL, WNOHANG);
        }
}

/* The sidecar (--sidecar-arg) is ready once its --sidecar-ready path exists (swtpm's socket):
 * bounded, as the sidecar may hang or fail; the socket answers meanwhile. */
#define SIDECAR_READY_MS 5000
/* After SIGTERM, how long a sidecar has to save its state before SIGKILL. */
#define SIDECAR_STOP_MS 2000

static int start_sidecar(struct shim *s, char *err, size_t size) {
        char st[32];
        int r, status;

        if (!s->sidecar_argv)
                return 0;
        (void) unlink(s->sidecar_ready); /* a stale socket must not pass for the new one */
        /* PDEATHSIG: it dies with the shim, like the main process (nothing outlives a kill -9). */
        r = process_spawn(s, s->sidecar_argv, true, &s->sidecar_pid);
        if (r < 0)
                return fail(err, size, r, "cannot execute the sidecar %s: %m", s->sidecar_argv[0]);
        for (uint64_t deadline = zero_monotonic_usec() + SIDECAR_READY_MS * USEC_PER_MSEC;;) {
                if (access(s->sidecar_ready, F_OK) == 0)
                        return 0;
                if (waitpid(s->sidecar_pid, &status, WNOHANG) == s->sidecar_pid) {
                        s->sidecar_pid = 0;
                        console_pump(&s->console, DRAIN_MAX);
                        return fail(err, size, -EIO, "the sidecar %s ended before it was ready (%s): see the console log",
                                    base_name(s->sidecar_argv[0]), process_status_string(status, st));
                }
                if (zero_monotonic_usec() >= deadline) {
                        (void) kill(s->sidecar_pid, SIGKILL);
                        while (waitpid(s->sidecar_pid, NULL, 0) < 0 && errno == EINTR)
                                ;
                        s->sidecar_pid = 0;
                        return fail(err, size, -ETIMEDOUT, "the sidecar %s did not make %s within %d ms",
                                    base_name(s->sidecar_argv[0]), s->sidecar_ready, SIDECAR_READY_MS);
                }
                (void) process_poll(s, 10);
        }
}

/* SIGTERM, a bounded wait, SIGKILL; reaped either way. */
static void stop_sidecar(struct shim *s) {
        pid_t pid = s->sidecar_pid;

        if (pid <= 0)
                return;
        s->sidecar_pid = 0;
        (void) kill(pid, SIGTERM);
        for (uint64_t deadline = zero_monotonic_usec() + SIDECAR_STOP_MS * USEC_PER_MSEC;;) {
                pid_t k = waitpid(pid, NULL, WNOHANG);
                if (k == pid || (k < 0 && errno != EINTR))
                        return;
                if (zero_monotonic_usec() >= deadline)
                        break;
                (void) process_poll(s, 10);
        }
        (void) kill(pid, SIGKILL);
        while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
                ;
}

static int start_instance(struct shim *s, char *err, size_t size) {
        pid_t pid;
        int r;

        /* In the host's mount namespace: what it mounts is zerod's to see and unmount (a
         * container's root volume), and the runtime's namespace, made after, copies it. */
        if (s->prepare_argv) {
                r = run_step_ns(s, "prepare command ", s->prepare_argv, false, err, size);
                if (r < 0)
                        return r;
        }
        if (!s->pid_file) {
                r = start_sidecar(s, err, size);
                if (r < 0)
                        return r;
                r = process_spawn(s, s->argv, true, &s->main_pid);
                if (r < 0)
                        return fail(err, size, r, "cannot execute %s: %m", s->argv[0]);
        } else {
                siginfo_t si = {};

                /* A stale file must not pass for the new runtime's answer. */
                (void) unlink(s->pid_file);
                r = run_step(s, "", s->argv, err, size);
                if (r < 0)
                        return r;
                r = read_pid_file(s->pid_file, &pid);
                if (r < 0)
                        return fail(err, size, r, "cannot read the pid file %s: %m", s->pid_file);
                /* The runtime has exited, so its descendant is reparented to us, the subreaper.
                 * Anything else is not ours to supervise (and kill). WNOWAIT: still unreaped.
                 * `crun run --detach` may leave an intermediate process that exits a moment
                 * after crun itself: only then is the container's init ours. Wait a bounded
                 * while for that. */
                for (uint64_t deadline = zero_monotonic_usec() + REPARENT_WAIT_MS * USEC_PER_MSEC;;) {
                        if (waitid(P_PID, (id_t) pid, &si, WEXITED | WNOHANG | WNOWAIT) == 0)
                                break;
                        if (errno != ECHILD || zero_monotonic_usec() >= deadline || kill(pid, 0) < 0)
                                return fail(err, size, -ESRCH, "pid %d from %s is not a child of zero-shim",
                                            (int) pid, s->pid_file);
                        reap_others(s);
                        (void) process_poll(s, 1); /* the socket answers meanwhile */
                }
                s->main_pid = pid;
        }
        if (s->start_argv) {
                r = run_step(s, "start command ", s->start_argv, err, size);
                if (r < 0) {
                        (void) kill(s->main_pid, SIGKILL);
                        while (waitpid(s->main_pid, NULL, 0) < 0 && errno == EINTR)
                                ;
                        s->main_pid = 0;
                        return r;
                }
        }
        return 0;
}

static void run_cleanup(struct shim *s) {
        char err[512];

        if (s->cleanup_argv && run_step(s, "cleanup command ", s->cleanup_argv, err, sizeof(err)) < 0)
                console_log(&s->console, "%s", err);
}

static void remove_pid_files(struct shim *s) {
        (void) unlinkat(s->dir_fd, ZERO_SHIM_FILE_PID, 0);
        (void) unlinkat(s->dir_fd, ZERO_SHIM_FILE_SHIM_PID, 0);
}

/* Until the main process has exited and been reaped. Nothing here blocks; no timers: an idle
 * shim never wakes up. */
static void supervise(struct shim *s) {
        process_reap(s); /* it may have died while the start command ran */
        while (!s->exited) {
                int r = process_poll(s, -1);

                if (r < 0) {
                        console_log(&s->console, "poll: %s", strerror(-r));
                        (void) poll(NULL, 0, 100); /* ENOMEM: try again, don't spin */
                        continue;
                }
                process_reap(s);
        }
}

/* The main process is gone: cleanup, exit record, answers, and the shim goes too. */
static int finish(struct shim *s) {
        _cleanup_free_ char *path = zero_strdup_printf("%s/%s", s->dir, ZERO_SHIM_FILE_EXIT);
        char buf[128];
        int r, n;

        /* Descendants may hold the console pipe open for ever: take what is there, no EOF. */
        console_pump(&s->console, DRAIN_MAX);
        stop_sidecar(s);
        run_cleanup(s);
        n = zero_shim_format_exit_record(&s->exit, buf, sizeof(buf));
        r = !path ? -ENOMEM : n < 0 ? n : zero_write_file_replace(path, buf, (size_t) n, 0644);
        if (r < 0)
                console_log(&s->console, "cannot write %s: %s", ZERO_SHIM_FILE_EXIT, strerror(-r));
        /* Waiters get the status even if the file could not be written. */
        s->exit_recorded = true;
        control_finish(s);
        remove_pid_files(s);
        return r;
}

int main(int argc, char *argv[]) {
        _cleanup_(shim_close) struct shim s = {
                .dir_fd = -EBADF,
                .sync_fd = -EBADF,
                .sig_fd = -EBADF,
                .console = {.dir_fd = -EBADF, .log_fd = -EBADF, .pipe_r = -EBADF, .pipe_w = -EBADF},
                .control = {.listen_fd = -EBADF},
                .stdin_r = -EBADF,
                .stdin_w = -EBADF,
        };
        _cleanup_free_ char **start = calloc((size_t) argc + 1, sizeof(char *));
        _cleanup_free_ char **cleanup = calloc((size_t) argc + 1, sizeof(char *));
        _cleanup_free_ char **exec = calloc((size_t) argc + 1, sizeof(char *));
        _cleanup_free_ char **sidecar = calloc((size_t) argc + 1, sizeof(char *));
        _cleanup_free_ char **prepare = calloc((size_t) argc + 1, sizeof(char *));
        uint64_t log_max = ZERO_SHIM_LOG_MAX_DEFAULT;
        char err[512] = "";
        int r;

        if (!start || !cleanup || !exec || !sidecar || !prepare)
                return 1;
        s.sidecar_argv = sidecar;
        s.prepare_argv = prepare;
        s.start_argv = start;
        s.cleanup_argv = cleanup;
        s.exec_argv = exec;
        if (parse_args(argc, argv, &s, &log_max, err, sizeof(err)) < 0) {
                fprintf(stderr, "zero-shim: %s\n%s", err, usage);
                report_error(&s, "%s", err);
                return 2;
        }

        /* Checked before detaching, so that zero_shim_spawn() returns these errors itself. */
        if (setup_process(&s, err, sizeof(err)) < 0) {
                report_error(&s, "%s", err);
                return 1;
        }
        s.dir_fd = open(s.dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (s.dir_fd < 0) {
                report_error(&s, "cannot open %s: %m", s.dir);
                return 1;
        }
        if (control_probe(s.dir) == -EADDRINUSE) {
                report_error(&s, "another zero-shim is running in %s", s.dir);
                return 1;
        }
        r = console_open(&s.console, s.dir_fd, log_max);
        if (r < 0) {
                report_error(&s, "cannot open %s/%s: %s", s.dir, ZERO_SHIM_FILE_CONSOLE, strerror(-r));
                return 1;
        }
        if (s.stdin_pipe) {
                int p[2];

                if (pipe2(p, O_CLOEXEC) < 0) {
                        report_error(&s, "cannot make the instance's stdin: %m");
                        return 1;
                }
                s.stdin_r = p[0];
                s.stdin_w = p[1];
        }
        if (detach(err, sizeof(err)) < 0) {
                report_error(&s, "%s", err);
                return 1;
        }

        /* Orphans of the runtime (the container's init, a daemonized QEMU) become our children. */
        if (prctl(PR_SET_CHILD_SUBREAPER, 1) < 0) {
                report_error(&s, "cannot become child subreaper: %m");
                return 1;
        }
        if (s.private_cgroup2)
                find_cgroup2_mount(s.cgroup2_source, sizeof(s.cgroup2_source));
        /* An exit record of an earlier run must not be taken for this one's. Then shim.pid
         * first, so that a runtime that hangs can be found and killed. */
        (void) unlinkat(s.dir_fd, ZERO_SHIM_FILE_EXIT, 0);
        r = write_pid(&s, ZERO_SHIM_FILE_SHIM_PID, getpid());
        if (r < 0) {
                report_error(&s, "cannot write %s: %s", ZERO_SHIM_FILE_SHIM_PID, strerror(-r));
                return 1;
        }

        /* The socket first: it answers while the create command runs ("status": "starting"),
         * and a second shim started meanwhile finds this one alive. */
        r = control_listen(&s.control, s.dir);
        if (r < 0) {
                report_error(&s, "cannot listen on %s/%s: %s", s.dir, ZERO_SHIM_FILE_SOCKET, strerror(-r));
                remove_pid_files(&s);
                return 1;
        }
        r = start_instance(&s, err, sizeof(err));
        /* The instance has its stdin's read end: the cleanup command gets /dev/null. */
        s.stdin_r = safe_close(s.stdin_r);
        if (r >= 0) {
                r = write_pid(&s, ZERO_SHIM_FILE_PID, s.main_pid);
                if (r < 0) {
                        snprintf(err, sizeof(err), "cannot write %s/%s: %s", s.dir, ZERO_SHIM_FILE_PID, strerror(-r));
                        (void) kill(s.main_pid, SIGKILL);
                        while (waitpid(s.main_pid, NULL, 0) < 0 && errno == EINTR)
                                ;
                }
        }
        if (r < 0) {
                /* Clean up before reporting: when zerod reads the error, nothing is left. */
                stop_sidecar(&s);
                run_cleanup(&s);
                control_abandon(&s);
                report_error(&s, "%s", err);
                remove_pid_files(&s);
                return 1;
        }
        dprintf(s.sync_fd, "ok %d\n", (int) s.main_pid); /* EPIPE if zerod died: run on */
        s.sync_fd = safe_close(s.sync_fd);

        supervise(&s);
        return finish(&s) < 0 ? 1 : 0;
}
