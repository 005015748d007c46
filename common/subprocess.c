/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A child process watched on the agent's loop (subprocess.h): the slow commands of the card's
 * volume jobs (mkfs.ext4 of a large file, qemu-img, rm of a large file) and the container
 * plugin's own `crun delete` run here instead of in a zero_run_wait() that would hold the loop
 * until they end.
 *
 * Watched through a pidfd, not sd_event_add_child(): that one wants SIGCHLD blocked in the whole
 * process, which a driver or a plugin has no business deciding for the agent; a pidfd turns readable when
 * the process exits, whatever the signal mask. (zerod's own children, agent/spawn.h, use
 * sd_event_add_child: the agent owns its signal mask.) Output goes to a memfd rather than a pipe, so a
 * chatty command can never block on a full pipe while nobody reads.
 */
#include "common/subprocess.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "common/util.h"

#define OUTPUT_MAX 4096

struct zero_subprocess {
        pid_t pid; /* 0 once reaped */
        int pidfd, out;
        sd_event_source *source;
        zero_subprocess_done_fn done;
        void *userdata;
};

static void subprocess_destroy(struct zero_subprocess *c) {
        c->source = sd_event_source_disable_unref(c->source);
        safe_close(c->pidfd);
        safe_close(c->out);
        free(c);
}

/* A child that did not die at once when killed: one in D state dies only when what it waits for
 * ends (a flush to a card whose daemon is stopped), and waiting for that would hold the loop.
 * Reaped from the loop once it is gone; it owns itself meanwhile. */
static int on_orphan_exit(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        struct zero_subprocess *c = userdata;

        if (waitpid(c->pid, NULL, WNOHANG) == 0)
                return 0;
        subprocess_destroy(c);
        return 0;
}

struct zero_subprocess *zero_subprocess_free(struct zero_subprocess *c) {
        sd_event *e;

        if (!c)
                return NULL;
        e = c->source ? sd_event_source_get_event(c->source) : NULL;
        c->source = sd_event_source_disable_unref(c->source);
        if (c->pid > 0) {
                /* Stopped before its end (close(), a timeout): killed, and reaped now if it died
                 * at once (crun's cleanup_pid does the same), else from the loop. */
                (void) kill(c->pid, SIGKILL);
                if (waitpid(c->pid, NULL, WNOHANG) == 0 && e && c->pidfd >= 0 &&
                    sd_event_add_io(e, &c->source, c->pidfd, EPOLLIN, on_orphan_exit, c) >= 0) {
                        (void) sd_event_source_set_floating(c->source, true);
                        return NULL;
                }
        }
        subprocess_destroy(c);
        return NULL;
}

static int on_child_exit(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        struct zero_subprocess *c = userdata;
        zero_subprocess_done_fn done = c->done;
        void *ud = c->userdata;
        char out[OUTPUT_MAX] = "";
        int status = 0;
        pid_t p;
        ssize_t n;

        p = waitpid(c->pid, &status, WNOHANG);
        if (p == 0)
                return 0; /* not yet (a pidfd is readable only once it exited, but be safe) */
        if (p < 0 && errno == EINTR)
                return 0;
        c->pid = 0;
        n = pread(c->out, out, sizeof(out) - 1, 0);
        out[n > 0 ? n : 0] = '\0';
        status = p < 0                ? -ECHILD
                 : WIFEXITED(status) ? WEXITSTATUS(status)
                                     : 128 + WTERMSIG(status);
        /* Gone before its owner hears of it: the owner may start the next child from done(). */
        zero_subprocess_free(c);
        done(ud, status, out);
        return 0;
}

int zero_subprocess_start(sd_event *e, char *const argv[], zero_subprocess_done_fn done, void *userdata,
                         struct zero_subprocess **ret) {
        struct zero_subprocess *c;
        pid_t parent = getpid();
        int r;

        if (!e || !argv || !argv[0] || !done || !ret)
                return -EINVAL;
        c = calloc(1, sizeof(*c));
        if (!c)
                return -ENOMEM;
        c->pidfd = -EBADF;
        c->done = done;
        c->userdata = userdata;
        c->out = memfd_create("zero-subprocess", MFD_CLOEXEC);
        if (c->out < 0) {
                r = -errno;
                free(c);
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
                zero_child_exec(argv, c->out);
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
        *ret = c;
        return 0;
}
