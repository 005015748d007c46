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
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/wait.h>

#include "common/util.h"
#include "hvshim/shim.h"

/* Bytes moved from the console pipe per wakeup while a command runs. */
#define RUN_PUMP_MAX (256 * 1024)

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

_Noreturn static void child_exec(struct shim *s, char *const argv[], bool pdeathsig, pid_t parent, int err_fd) {
        int e;

        process_reset_signals();
        if (pdeathsig) {
                /* The main process must not outlive its supervisor: nobody would record its exit. */
                if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != parent)
                        _exit(127);
        }
        /* stdin stays the shim's /dev/null. dup2() leaves the copies without O_CLOEXEC. */
        if (dup2(s->console.pipe_w, STDOUT_FILENO) < 0 || dup2(s->console.pipe_w, STDERR_FILENO) < 0) {
                e = errno;
        } else {
                execvp(argv[0], argv);
                e = errno;
        }
        (void) !write(err_fd, &e, sizeof(e));
        _exit(127);
}

int process_spawn(struct shim *s, char *const argv[], bool pdeathsig, pid_t *ret_pid) {
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
                child_exec(s, argv, pdeathsig, parent, err_w);

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

void process_drain_signals(struct shim *s) {
        struct signalfd_siginfo si;

        while (read(s->sig_fd, &si, sizeof(si)) == (ssize_t) sizeof(si))
                ; /* SIGTERM, SIGINT, SIGHUP: the shim lives as long as its instance. */
}

int process_run(struct shim *s, char *const argv[], int *ret_status) {
        pid_t pid;
        int r, status;

        r = process_spawn(s, argv, false, &pid);
        if (r < 0)
                return r;
        for (;;) {
                struct pollfd p[2] = {
                        {.fd = s->sig_fd, .events = POLLIN},
                        {.fd = s->console.pipe_r, .events = POLLIN},
                };
                pid_t k = waitpid(pid, &status, WNOHANG);

                if (k == pid)
                        break;
                if (k < 0 && errno != EINTR)
                        return -errno;
                /* No timeout: a hung runtime is for zerod to kill (DIR/shim.pid is written). */
                if (poll(p, ELEMENTSOF(p), -1) < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                if (p[1].revents)
                        console_pump(&s->console, RUN_PUMP_MAX);
                if (p[0].revents)
                        process_drain_signals(s);
        }
        /* Without blocking: a daemon it left behind may hold the pipe open for ever. */
        console_pump(&s->console, RUN_PUMP_MAX);
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
                if (pid != s->main_pid || s->exited)
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
