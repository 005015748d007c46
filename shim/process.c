/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Children of the shim: the runtime, the start and cleanup commands, and the orphans that come
 * to us as child subreaper. SIGCHLD is blocked and read from the signalfd, so no exit is missed
 * between fork() and the next poll().
 */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/wait.h>

#include "common/util.h"
#include "shim/shim.h"

/* Console bytes moved per wakeup. */
#define POLL_PUMP_MAX (256 * 1024)

void process_reset_signals(void) {
        struct sigaction sa = {.sa_handler = SIG_DFL};
        sigset_t none;

        /* Dispositions: SIG_IGN survives exec, and zerod (or we) may have ignored some. */
        for (int sig = 1; sig < _NSIG; sig++)
                if (sig != SIGKILL && sig != SIGSTOP)
                        (void) sigaction(sig, &sa, NULL); /* EINVAL for libc's reserved ones */
        sigemptyset(&none);
        (void) sigprocmask(SIG_SETMASK, &none, NULL);
}

/* What crun needs on a host with hybrid cgroups: a mount namespace where /sys/fs/cgroup is a
 * pure cgroup2 hierarchy; the host's mounts are untouched. Only the runtime's commands get it,
 * not the shim: a namespace copies every mount of the host, and a copy held for the instance's
 * whole life would keep other instances' filesystems (and their loop devices) busy after the
 * host unmounted them. crun's own copy lives as long as crun, milliseconds. */
static int private_cgroup2(const struct shim *s) {
        if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
                return -errno;
        /* A bind of the existing cgroup2 hierarchy on top of /sys/fs/cgroup takes microseconds;
         * a fresh cgroup2 mount takes about 12 ms here (docs/benchmarks.md). */
        if (s->cgroup2_source[0] && mount(s->cgroup2_source, "/sys/fs/cgroup", NULL, MS_BIND, NULL) == 0)
                return 0;
        if (umount2("/sys/fs/cgroup", MNT_DETACH) < 0 && errno != EINVAL && errno != ENOENT)
                return -errno;
        if (mount("cgroup2", "/sys/fs/cgroup", "cgroup2", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0)
                return -errno;
        return 0;
}

_Noreturn static void child_exec(struct shim *s, char *const argv[], bool pdeathsig, bool private_ns, pid_t parent,
                                 int err_fd, const int stdio[3]) {
        int e;

        process_reset_signals();
        if (pdeathsig) {
                /* The main process must not outlive its supervisor: nobody would record its exit. */
                if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != parent)
                        _exit(127);
        }
        /* stdin is the shim's /dev/null, or (--stdin-pipe, until the instance runs) the read end of
         * the pipe the shim keeps. dup2() leaves the copies without O_CLOEXEC. */
        if (private_ns && s->private_cgroup2 && (e = -private_cgroup2(s)) > 0) {
                (void) !write(err_fd, &e, sizeof(e));
                _exit(127);
        }
        if (stdio) {
                /* An exec's: its own session (no signal of the shim's group reaches it), its
                 * client's fds. dup2() first to fds above 2, so that none overwrites another. */
                int moved[3];

                (void) setsid();
                for (int i = 0; i < 3; i++)
                        if ((moved[i] = fcntl(stdio[i], F_DUPFD_CLOEXEC, 3)) < 0)
                                goto fail;
                for (int i = 0; i < 3; i++)
                        if (dup2(moved[i], i) < 0)
                                goto fail;
                execvp(argv[0], argv);
                goto fail;
        }
        if ((s->stdin_r >= 0 && dup2(s->stdin_r, STDIN_FILENO) < 0) || dup2(s->console.pipe_w, STDOUT_FILENO) < 0 ||
            dup2(s->console.pipe_w, STDERR_FILENO) < 0) {
                e = errno;
        } else {
                execvp(argv[0], argv);
                e = errno;
        }
        (void) !write(err_fd, &e, sizeof(e));
        _exit(127);
fail:
        e = errno;
        (void) !write(err_fd, &e, sizeof(e));
        _exit(127);
}

static int spawn(struct shim *s, char *const argv[], bool pdeathsig, bool private_ns, const int stdio[3],
                 pid_t *ret_pid) {
        _cleanup_close_ int err_r = -EBADF, err_w = -EBADF;
        pid_t parent = getpid(), pid;
        int pipefd[2], e;
        ssize_t n;

        /* An O_CLOEXEC pipe tells exec failure (errno written) from success (EOF at exec). */
        if (pipe2(pipefd, O_CLOEXEC) < 0)
                return -errno;
        err_r = pipefd[0];
        err_w = pipefd[1];

        pid = fork();
        if (pid < 0)
                return -errno;
        if (pid == 0)
                child_exec(s, argv, pdeathsig, private_ns, parent, err_w, stdio);

        err_w = safe_close(err_w);
        do
                n = read(err_r, &e, sizeof(e));
        while (n < 0 && errno == EINTR);
        if (n == (ssize_t) sizeof(e)) {
                while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
                        ;
                return -(e > 0 ? e : EIO);
        }
        *ret_pid = pid;
        return 0;
}

int process_spawn(struct shim *s, char *const argv[], bool pdeathsig, pid_t *ret_pid) {
        return spawn(s, argv, pdeathsig, true, NULL, ret_pid);
}

int process_spawn_stdio(struct shim *s, char *const argv[], const int fds[3], pid_t *ret_pid) {
        return spawn(s, argv, false, true, fds, ret_pid);
}

void process_drain_signals(struct shim *s) {
        struct signalfd_siginfo si;

        while (read(s->sig_fd, &si, sizeof(si)) == (ssize_t) sizeof(si))
                ; /* SIGTERM, SIGINT, SIGHUP: the shim lives as long as its instance. */
}

int process_poll(struct shim *s, int timeout_ms) {
        struct pollfd p[2 + 1 + SHIM_CLIENTS_MAX];
        size_t n = 2;
        int k;

        p[0] = (struct pollfd){.fd = s->sig_fd, .events = POLLIN};
        p[1] = (struct pollfd){.fd = s->console.pipe_r, .events = POLLIN};
        n += control_pollfds(&s->control, p + 2);
        k = poll(p, n, timeout_ms);
        if (k < 0)
                return errno == EINTR ? 0 : -errno;
        if (p[1].revents)
                console_pump(&s->console, POLL_PUMP_MAX);
        if (p[0].revents)
                process_drain_signals(s);
        /* Whatever the shim is doing (a create or cleanup command that hangs included), its
         * socket answers: zerod's requests are bounded, but a shim that stops answering would
         * still make them fail. */
        control_dispatch(s, p + 2, n - 2);
        return k;
}

int process_run(struct shim *s, char *const argv[], int *ret_status) {
        return process_run_ns(s, argv, true, ret_status);
}

int process_run_ns(struct shim *s, char *const argv[], bool private_ns, int *ret_status) {
        pid_t pid;
        int r, status;

        r = spawn(s, argv, false, private_ns, NULL, &pid);
        if (r < 0)
                return r;
        for (;;) {
                pid_t k = waitpid(pid, &status, WNOHANG);

                if (k == pid)
                        break;
                if (k < 0 && errno != EINTR)
                        return -errno;
                /* No timeout: a hung runtime is for zerod to kill (DIR/shim.pid is written). */
                r = process_poll(s, -1);
                if (r < 0)
                        return r;
        }
        /* Without blocking: a daemon it left behind may hold the pipe open for ever. */
        console_pump(&s->console, POLL_PUMP_MAX);
        /* Other children's SIGCHLD may have been drained above: reap them now. */
        process_reap(s);
        *ret_status = status;
        return 0;
}

void process_reap(struct shim *s) {
        int status;
        pid_t pid;

        /* Until the pid file is read any child might be the main process: reaping it then
         * would lose its status and make its pid look like a stranger's. */
        if (s->main_pid <= 0)
                return;
        while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
                if (pid != s->main_pid) {
                        if (pid == s->sidecar_pid) {
                                char st[32];
                                console_log(&s->console, "sidecar %s ended (%s)", s->sidecar_argv[0],
                                            process_status_string(status, st));
                                s->sidecar_pid = 0;
                                continue;
                        }
                        control_exec_ended(s, pid, status);
                        continue;
                }
                if (s->exited)
                        continue;
                s->exited = true;
                s->exit = (struct zero_shim_exit){
                        .pid = pid,
                        .code = WIFSIGNALED(status) ? 128 + WTERMSIG(status) : WEXITSTATUS(status),
                        .signal = WIFSIGNALED(status) ? WTERMSIG(status) : 0,
                        .time = zero_now_usec(),
                };
        }
}

const char *process_status_string(int status, char buf[static 32]) {
        if (WIFSIGNALED(status))
                snprintf(buf, 32, "signal %d", WTERMSIG(status));
        else
                snprintf(buf, 32, "exit %d", WEXITSTATUS(status));
        return buf;
}
