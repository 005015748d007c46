/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A child process watched on the agent's loop (subprocess.h): the slow commands of the card's
 * volume jobs (mkfs.ext4 of a large file, qemu-img, rm of a large file) and the container
 * plugin's own `crun delete` run here instead of in a zero_run_wait() that would hold the loop
 * until they end; and calls, a function of ours run in a forked child, for the syscalls that can
 * wait on a FUSE daemon (the softcard's loop device over a host-block export: a stopped
 * qemu-storage-daemon holds whoever opens or configures it in D state, which on the loop would
 * be all of zerod).
 *
 * Watched through a pidfd, not sd_event_add_child(): that one wants SIGCHLD blocked in the whole
 * process, which a driver or a plugin has no business deciding for the agent; a pidfd turns
 * readable when the process exits, whatever the signal mask. (zerod's own children,
 * agent/spawn.h, use sd_event_add_child: the agent owns its signal mask.) Output goes to a memfd
 * rather than a pipe, so a chatty command can never block on a full pipe while nobody reads; a
 * call writes its result there.
 *
 * A child stopped before its end (its owner went, or its deadline passed) is killed with SIGKILL,
 * and reaped at once when it is gone. One in D state is not gone until the FUSE request it waits
 * for ends (the daemon goes on, or dies): waiting for it would be the very stall the child is
 * there to avoid, so it is left to a floating source on the loop, which reaps it when its pidfd
 * turns readable (a zombie at most, until then; the loop's end frees the source).
 */
#include "common/subprocess.h"

#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "common/util.h"

#define OUTPUT_MAX 4096

struct zero_subprocess {
        pid_t pid; /* 0 once reaped, or handed to the reaper */
        int pidfd, out;
        sd_event *event;
        sd_event_source *source, *timer;
        uint64_t timeout_usec;
        const char *what; /* argv[0] or the work's name, for errors (static or the caller's) */
        zero_subprocess_done_fn done;     /* a command's */
        zero_subprocess_result_fn call_done; /* a call's */
        void *userdata;
};

static int on_orphan_exit(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        pid_t pid = (pid_t) (intptr_t) userdata;

        if (waitpid(pid, NULL, WNOHANG) == 0)
                return 0;
        /* The loop's reference was the only one: dropping it frees the source (after this
         * dispatch), which closes the pidfd it owns. */
        (void) sd_event_source_set_enabled(s, SD_EVENT_OFF);
        (void) sd_event_source_set_floating(s, false);
        return 0;
}

/* The killed child is not gone yet (D state): the loop reaps it when it is. */
static void child_orphan(struct zero_subprocess *c) {
        sd_event_source *s = NULL;

        if (sd_event_add_io(c->event, &s, c->pidfd, EPOLLIN, on_orphan_exit, (void *) (intptr_t) c->pid) < 0 ||
            sd_event_source_set_io_fd_own(s, true) < 0 || sd_event_source_set_floating(s, true) < 0) {
                /* Nothing else can reap it: wait, as before this existed. */
                if (s)
                        (void) sd_event_source_set_io_fd_own(s, false); /* c's still */
                sd_event_source_disable_unref(s);
                while (waitpid(c->pid, NULL, 0) < 0 && errno == EINTR)
                        ;
                c->pid = 0;
                return;
        }
        (void) sd_event_source_set_description(s, "zero-subprocess-reaper");
        c->pidfd = -EBADF; /* the source's */
        c->pid = 0;
        sd_event_source_unref(s); /* the loop holds it now */
}

/* Kills a child still running and reaps it, now or from the loop (above). */
static void child_kill(struct zero_subprocess *c) {
        if (c->pid <= 0)
                return;
        (void) kill(c->pid, SIGKILL);
        for (int i = 0; i < 100; i++) { /* a few ms for the usual case: not stuck, gone at once */
                pid_t p = waitpid(c->pid, NULL, WNOHANG);
                if (p == c->pid || (p < 0 && errno != EINTR)) {
                        c->pid = 0;
                        return;
                }
                if (p == 0 && i >= 10)
                        break;
                if (p == 0)
                        (void) usleep(100);
        }
        child_orphan(c);
}

struct zero_subprocess *zero_subprocess_free(struct zero_subprocess *c) {
        if (!c)
                return NULL;
        c->source = sd_event_source_disable_unref(c->source);
        c->timer = sd_event_source_disable_unref(c->timer);
        child_kill(c); /* stopped before its end (close(), a cancel): like crun's cleanup_pid */
        safe_close(c->pidfd);
        safe_close(c->out);
        sd_event_unref(c->event);
        free(c);
        return NULL;
}

/* Tells the owner and frees c: out of the way before, so done() may start the next child. */
static void child_finish(struct zero_subprocess *c, int status, const char *output,
                         const struct zero_subprocess_result *res) {
        zero_subprocess_done_fn done = c->done;
        zero_subprocess_result_fn call_done = c->call_done;
        void *ud = c->userdata;

        zero_subprocess_free(c);
        if (call_done)
                call_done(ud, res);
        else
                done(ud, status, output);
}

static int on_child_exit(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        struct zero_subprocess *c = userdata;
        char out[OUTPUT_MAX] = "";
        struct zero_subprocess_result res = {};
        int status = 0;
        pid_t p;
        ssize_t n;

        p = waitpid(c->pid, &status, WNOHANG);
        if (p == 0)
                return 0; /* not yet (a pidfd is readable only once it exited, but be safe) */
        if (p < 0 && errno == EINTR)
                return 0;
        c->pid = 0;
        status = p < 0                ? -ECHILD
                 : WIFEXITED(status) ? WEXITSTATUS(status)
                                     : 128 + WTERMSIG(status);
        if (c->call_done) {
                n = pread(c->out, &res, sizeof(res), 0);
                if (status != 0 || n != (ssize_t) sizeof(res)) {
                        res = (struct zero_subprocess_result){};
                        res.r = zero_error_set(&res.err, -EIO, ZERO_E_INTERNAL, "the child doing %s ended without "
                                               "its result (status %d)", c->what, status);
                }
                res.err.message[sizeof(res.err.message) - 1] = '\0';
                res.text[sizeof(res.text) - 1] = '\0';
        } else {
                n = pread(c->out, out, sizeof(out) - 1, 0);
                out[n > 0 ? n : 0] = '\0';
        }
        child_finish(c, status, out, &res);
        return 0;
}

static int on_child_timeout(sd_event_source *s, uint64_t usec, void *userdata) {
        struct zero_subprocess *c = userdata;
        struct zero_subprocess_result res = {};
        char out[128];

        res.r = zero_error_set(&res.err, -ETIMEDOUT, ZERO_E_TIMEOUT, "%s did not end within %llu ms (killed)", c->what,
                               (unsigned long long) (c->timeout_usec / USEC_PER_MSEC));
        snprintf(out, sizeof(out), "%s: killed after its deadline", c->what);
        child_finish(c, -ETIMEDOUT, out, &res);
        return 0;
}

int zero_subprocess_set_timeout(struct zero_subprocess *c, uint64_t timeout_usec) {
        int r;

        if (!c || c->pid <= 0)
                return -EINVAL;
        c->timer = sd_event_source_disable_unref(c->timer);
        c->timeout_usec = timeout_usec;
        if (timeout_usec == 0)
                return 0;
        /* From now, not from the loop's cached time: a caller outside the loop's dispatch (after
         * it sat idle) would get a deadline that passed already. */
        r = sd_event_add_time(c->event, &c->timer, CLOCK_MONOTONIC, zero_monotonic_usec() + timeout_usec,
                              timeout_usec / 16 + 1, on_child_timeout, c);
        if (r >= 0)
                (void) sd_event_source_set_description(c->timer, "zero-subprocess-deadline");
        return r;
}

/* Forks c's process: 0 in the parent (c watched), 1 in the child (its stdout is c->out, it dies
 * with zerod), -errno. */
static int child_fork(sd_event *e, const char *what, void *userdata, struct zero_subprocess **ret) {
        struct zero_subprocess *c;
        pid_t parent = getpid();
        int r;

        c = calloc(1, sizeof(*c));
        if (!c)
                return -ENOMEM;
        c->pidfd = -EBADF;
        c->event = sd_event_ref(e);
        c->what = what;
        c->userdata = userdata;
        c->out = memfd_create("zero-subprocess", MFD_CLOEXEC);
        if (c->out < 0) {
                r = -errno;
                c->out = -EBADF;
                zero_subprocess_free(c);
                return r;
        }
        c->pid = fork();
        if (c->pid < 0) {
                r = -errno;
                c->pid = 0;
                zero_subprocess_free(c);
                return r;
        }
        if (c->pid == 0) {
                /* A zerod killed with SIGKILL takes its child with it (a mkfs, a crun delete):
                 * the restarted one runs the step again from the start, and two writers must
                 * never share a file. */
                if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != parent)
                        _exit(127);
                *ret = c;
                return 1;
        }
        c->pidfd = (int) syscall(SYS_pidfd_open, c->pid, 0);
        if (c->pidfd < 0) {
                r = -errno;
                zero_subprocess_free(c);
                return r;
        }
        r = sd_event_add_io(e, &c->source, c->pidfd, EPOLLIN, on_child_exit, c);
        if (r < 0) {
                zero_subprocess_free(c);
                return r;
        }
        (void) sd_event_source_set_description(c->source, "zero-subprocess");
        *ret = c;
        return 0;
}

int zero_subprocess_start(sd_event *e, char *const argv[], zero_subprocess_done_fn done, void *userdata,
                         struct zero_subprocess **ret) {
        return zero_subprocess_start_flags(e, argv, 0, done, userdata, ret);
}

int zero_subprocess_start_flags(sd_event *e, char *const argv[], unsigned flags, zero_subprocess_done_fn done,
                                void *userdata, struct zero_subprocess **ret) {
        struct zero_subprocess *c = NULL;
        int r;

        if (!e || !argv || !argv[0] || !done || !ret)
                return -EINVAL;
        r = child_fork(e, argv[0], userdata, &c);
        if (r < 0)
                return r;
        if (r > 0)
                zero_child_exec_flags(argv, -1, c->out, c->out, flags);
        c->done = done;
        *ret = c;
        return 0;
}

int zero_subprocess_call(sd_event *e, const char *what, zero_subprocess_fn fn, void *arg, uint64_t timeout_usec,
                        zero_subprocess_result_fn done, void *userdata, struct zero_subprocess **ret) {
        struct zero_subprocess *c = NULL;
        int r;

        if (!e || !what || !fn || !done || !ret)
                return -EINVAL;
        r = child_fork(e, what, userdata, &c);
        if (r < 0)
                return r;
        if (r > 0) {
                struct zero_subprocess_result res = {};

                /* A fork that never execs keeps every fd of zerod's, CLOEXEC or not: its state
                 * directory's lock, the API's sockets, the daemon's monitor. One stuck in D state
                 * would hold them past zerod's death (a restarted zerod could not lock its state)
                 * and keep connections zerod closed open. Only the memfd stays, as fd 3. */
                if ((c->out != 3 && dup2(c->out, 3) < 0) || close_range(4, ~0U, 0) < 0)
                        _exit(126);
                fn(arg, &res);
                /* _exit: nothing of zerod's (atexit handlers, stdio buffers) runs in the child. */
                _exit(pwrite(3, &res, sizeof(res), 0) == (ssize_t) sizeof(res) ? 0 : 1);
        }
        c->call_done = done;
        r = zero_subprocess_set_timeout(c, timeout_usec);
        if (r < 0) {
                zero_subprocess_free(c);
                return r;
        }
        *ret = c;
        return 0;
}
