/* SPDX-License-Identifier: Apache-2.0 */
/* The store's fsyncs off the loop, as a group commit (durable.h). */
#include "agent/durable.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "agent/agent.h"
#include "common/log.h"
#include "common/util.h"

/* zerod -> child: the sequence number of the sync asked for. child -> zerod: the same number
 * and 0 or -errno. */
struct sync_answer {
        uint64_t seq;
        int32_t r;
};

struct waiter {
        struct waiter *next;
        uint64_t seq; /* the first sync that covers its commits */
        zero_durable_fn done;
        void *userdata;
};

struct zero_durable {
        struct zero_agent *agent;
        int fd;     /* our end of the socket pair; -1 without a child */
        pid_t pid;
        sd_event_source *io, *child;
        uint64_t asked;     /* the last sync asked for */
        uint64_t answered;  /* the last sync answered */
        struct waiter *head, **tail;
        unsigned long long syncs, waits;
        bool said_inline;
};

/* --- the child --- */

static int sync_path(const char *path, ino_t *last_ino) {
        struct stat st;
        int fd, r = 0;

        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return errno == ENOENT ? 0 : -errno; /* no log: nothing written to sync */
        if (fdatasync(fd) < 0)
                r = -errno;
        /* A log made since the last sync is only durable once its directory entry is. */
        if (r == 0 && fstat(fd, &st) == 0 && st.st_ino != *last_ino) {
                char dir[4096];
                int dfd;

                snprintf(dir, sizeof(dir), "%s", path);
                dfd = open(dirname(dir), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                if (dfd < 0 || fsync(dfd) < 0)
                        r = -errno;
                if (dfd >= 0)
                        close(dfd);
                if (r == 0)
                        *last_ino = st.st_ino;
        }
        close(fd);
        return r;
}

_Noreturn static void child_main(int sock, const char *path, pid_t parent) {
        ino_t last_ino = 0;
        sigset_t all;

        /* Dies with zerod (and is gone when zerod is killed: no fsync of a store nobody writes). */
        if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != parent)
                _exit(1);
        (void) prctl(PR_SET_NAME, "zerod-sync");
        sigfillset(&all);
        (void) sigprocmask(SIG_UNBLOCK, &all, NULL);
        if (dup2(sock, 3) < 0)
                _exit(1);
        (void) close_range(4, ~0U, 0); /* zerod's locks, listeners and loop are not ours */
        for (;;) {
                struct sync_answer a = {};
                ssize_t n = read(3, &a.seq, sizeof(a.seq));

                if (n == 0)
                        _exit(0); /* zerod closed its end */
                if (n < 0 && errno == EINTR)
                        continue;
                if (n != sizeof(a.seq))
                        _exit(1);
                a.r = sync_path(path, &last_ino);
                if (write(3, &a, sizeof(a)) != sizeof(a))
                        _exit(1);
        }
}

/* --- zerod's side --- */

static void run_done(struct zero_durable *d, struct waiter *w, int r) {
        d->waits++;
        w->done(d->agent, r, w->userdata);
        free(w);
}

static void answer_waiters(struct zero_durable *d, uint64_t upto, int r) {
        /* Waiters are in the order of their seq: the ones covered are at the head. Each is taken
         * off before its done runs, which may wait again (a new waiter at the tail, not covered). */
        while (d->head && d->head->seq <= upto) {
                struct waiter *w = d->head;

                d->head = w->next;
                if (!d->head)
                        d->tail = &d->head;
                run_done(d, w, r);
        }
}

/* Every waiter there is now answered with r (the ones their done adds are not). */
static void answer_all(struct zero_durable *d, int r) {
        struct waiter *list = d->head;

        d->head = NULL;
        d->tail = &d->head;
        while (list) {
                struct waiter *w = list;

                list = w->next;
                run_done(d, w, r);
        }
}

static int ask(struct zero_durable *d) {
        uint64_t seq = d->asked + 1;
        ssize_t n = write(d->fd, &seq, sizeof(seq));

        if (n != sizeof(seq))
                return n < 0 ? -errno : -EIO;
        d->asked = seq;
        return 0;
}

static void go_inline(struct zero_durable *d, const char *why) {
        if (!d->said_inline)
                log_error("The store's sync child is gone (%s): fsyncs run on the loop from now on", why);
        d->said_inline = true;
        d->io = sd_event_source_disable_unref(d->io);
        d->child = sd_event_source_disable_unref(d->child); /* kills and reaps it */
        if (d->fd >= 0)
                close(d->fd);
        d->fd = -1;
        zero_durable_flush(d);
}

static int on_answer(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        struct zero_durable *d = userdata;
        struct sync_answer a;
        ssize_t n = read(fd, &a, sizeof(a));

        if (n < 0 && (errno == EAGAIN || errno == EINTR))
                return 0;
        if (n != sizeof(a) || a.seq != d->asked) {
                go_inline(d, n == 0 ? "it closed its end" : n < 0 ? strerror(errno) : "a malformed answer");
                return 0;
        }
        d->answered = a.seq;
        d->syncs++;
        if (a.r < 0)
                log_error_errno(a.r, "Cannot sync the state database: %m");
        answer_waiters(d, a.seq, a.r);
        /* Commits made while it ran: one more sync covers them all. */
        if (d->head && d->fd >= 0 && d->asked == d->answered) {
                int r = ask(d);
                if (r < 0)
                        go_inline(d, strerror(-r));
        }
        return 0;
}

static int on_child_exit(sd_event_source *s, const siginfo_t *si, void *userdata) {
        struct zero_durable *d = userdata;

        d->child = sd_event_source_disable_unref(d->child);
        go_inline(d, si->si_code == CLD_EXITED ? "it exited" : "it was killed");
        return 0;
}

int zero_durable_new(struct zero_agent *a, const char *log_path, struct zero_durable **ret) {
        _cleanup_free_ struct zero_durable *d = calloc(1, sizeof(*d));
        pid_t parent = getpid();
        int sv[2], r;

        if (!d)
                return -ENOMEM;
        d->agent = a;
        d->fd = -1;
        d->tail = &d->head;
        if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
                return -errno;
        d->pid = fork();
        if (d->pid < 0) {
                r = -errno;
                close(sv[0]);
                close(sv[1]);
                return r;
        }
        if (d->pid == 0)
                child_main(sv[1], log_path, parent);
        close(sv[1]);
        d->fd = sv[0];
        r = sd_event_add_child(a->event, &d->child, d->pid, WEXITED, on_child_exit, d);
        if (r >= 0)
                r = sd_event_source_set_child_process_own(d->child, true);
        if (r >= 0)
                r = sd_event_add_io(a->event, &d->io, d->fd, EPOLLIN, on_answer, d);
        if (r < 0) {
                if (!d->child) {
                        (void) kill(d->pid, SIGKILL);
                        (void) waitpid(d->pid, NULL, 0);
                }
                zero_durable_free(TAKE_PTR(d));
                return r;
        }
        *ret = TAKE_PTR(d);
        return 0;
}

struct zero_durable *zero_durable_free(struct zero_durable *d) {
        if (!d)
                return NULL;
        d->io = sd_event_source_disable_unref(d->io);
        if (d->fd >= 0)
                close(d->fd); /* the child reads EOF and exits... */
        d->fd = -1;
        d->child = sd_event_source_disable_unref(d->child); /* ...or is killed, and reaped */
        answer_all(d, -ECANCELED);
        free(d);
        return NULL;
}

int zero_durable_wait(struct zero_durable *d, zero_durable_fn done, void *userdata) {
        struct waiter *w;
        int r;

        if (!d || !done)
                return -EINVAL;
        if (d->fd < 0) {
                /* No child: the fsync here, and done now. */
                r = zero_store_sync(d->agent->store);
                if (r < 0)
                        log_error_errno(r, "Cannot sync the state database: %m");
                d->waits++;
                done(d->agent, r, userdata);
                return 0;
        }
        w = calloc(1, sizeof(*w));
        if (!w)
                return -ENOMEM;
        /* A sync under way may have begun before this commit: the next one covers it. */
        w->seq = d->asked + 1;
        w->done = done;
        w->userdata = userdata;
        *d->tail = w;
        d->tail = &w->next;
        if (d->asked == d->answered) {
                r = ask(d);
                if (r < 0)
                        go_inline(d, strerror(-r)); /* answers w too */
        }
        return 0;
}

void zero_durable_forget(struct zero_durable *d, void *userdata) {
        if (!d)
                return;
        for (struct waiter **p = &d->head; *p;) {
                struct waiter *w = *p;

                if (w->userdata != userdata) {
                        p = &w->next;
                        continue;
                }
                *p = w->next;
                free(w);
        }
        d->tail = &d->head;
        while (*d->tail)
                d->tail = &(*d->tail)->next;
}

void zero_durable_flush(struct zero_durable *d) {
        int r;

        if (!d || !d->head)
                return;
        r = zero_store_sync(d->agent->store);
        if (r < 0)
                log_error_errno(r, "Cannot sync the state database: %m");
        answer_all(d, r);
}

void zero_durable_counts(const struct zero_durable *d, unsigned long long *ret_syncs, unsigned long long *ret_waits) {
        *ret_syncs = d ? d->syncs : 0;
        *ret_waits = d ? d->waits : 0;
}
