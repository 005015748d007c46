/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/*
 * zero-shim internals: one struct shim per process, passed to the console log (console.c),
 * the control socket (control.c) and the child processes (process.c). No globals.
 */
#include <limits.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/macro.h"
#include "shim/proto.h"

/* Control clients served at once; more are told "error too many clients" and closed. */
#define SHIM_CLIENTS_MAX 64
/* Execs running at once for one instance; more are refused. */
#define SHIM_EXECS_MAX 16
/* Bytes of a command's output kept to explain its failure over the sync pipe. */
#define SHIM_CAPTURE_MAX 1024

struct console {
        int dir_fd;    /* DIR, for the *at() calls (the shim's, not closed here) */
        int log_fd;    /* DIR/console.log, O_RDWR|O_APPEND (pread serves the tail) */
        uint64_t size; /* bytes in log_fd, always <= max */
        uint64_t max;
        int pipe_r; /* non-blocking; every child's stdout and stderr */
        int pipe_w; /* kept open for the next child: so we never see, nor wait for, EOF */
        bool capturing;
        size_t capture_len;
        char capture[SHIM_CAPTURE_MAX];
};

struct client {
        int fd;
        pid_t exec_pid; /* > 0: an exec runs for it; its end is answered, then it is dropped */
        bool waiting; /* sent "wait": answer when the exit record is written */
        bool eof;     /* shut down its sending side: read no more, but it may still wait */
};

struct control {
        int listen_fd;
        size_t n_clients;
        struct client clients[SHIM_CLIENTS_MAX];
};

struct shim {
        const char *id;
        const char *dir;
        const char *pid_file; /* NULL: ARGV itself is the main process */
        char **argv;
        char **start_argv;   /* NULL when there is no start command */
        char **cleanup_argv; /* NULL when there is no cleanup command */
        char **exec_argv;    /* the exec command's prefix (--exec-arg); NULL: no exec */
        const char *exec_target; /* after the exec's options, before its command; NULL: none */
        /* Runtime commands (not the shim) run in a mount namespace of their own with cgroup2 at
         * /sys/fs/cgroup; cgroup2_source is the host's cgroup2 mount to bind there ("" if none). */
        bool private_cgroup2;
        char cgroup2_source[PATH_MAX];
        /* --stdin-pipe: the instance's stdin is a pipe whose write end the shim keeps (and hands
         * to "attach"), so that it never ends and an interactive console can write to it. */
        bool stdin_pipe;
        int stdin_r, stdin_w; /* stdin_r only until the instance runs */
        /* --sidecar-arg: a helper the main process needs (a VM's swtpm), started before it and
         * ended after it; ready once sidecar_ready exists. 0: none, or reaped. */
        char **sidecar_argv;
        const char *sidecar_ready;
        char **prepare_argv; /* --prepare-arg: run first, in the host's mount namespace; NULL: none */
        pid_t sidecar_pid;

        int dir_fd;  /* DIR, O_PATH */
        int sync_fd; /* until the report is written */
        int sig_fd;  /* signalfd: SIGCHLD, SIGTERM, SIGINT, SIGHUP */
        struct console console;
        struct control control;

        pid_t main_pid;
        bool exited;        /* main_pid reaped, exit filled in */
        bool exit_recorded; /* DIR/exit written: waits may be answered */
        struct zero_shim_exit exit;
};

/* console.c */
int console_open(struct console *c, int dir_fd, uint64_t max);
void console_close(struct console *c);
/* Appends to the log, rotating to console.log.1 whenever the cap would be passed. */
void console_write(struct console *c, const void *buf, size_t len);
/* One "zero-shim: ..." line into the log: the shim's own diagnostics. */
void console_log(struct console *c, const char *fmt, ...) _printf_(2, 3);
/* Moves what the children wrote into the log, without blocking, at most limit bytes. */
void console_pump(struct console *c, size_t limit);
/* The last len bytes across console.log.1 and console.log into buf; length in *ret_len. */
int console_tail(struct console *c, size_t len, char *buf, size_t *ret_len);
/* Remember a command's output from now on, for an error message. */
void console_capture_begin(struct console *c);
/* Ends capturing and returns its last lines, on one line, in buf. */
void console_capture_end(struct console *c, char *buf, size_t size);

/* process.c */
void process_reset_signals(void);
/* Forks and executes argv with stdin /dev/null and stdout+stderr into the console pipe.
 * -errno if it could not be executed (the child is then already reaped). */
int process_spawn(struct shim *s, char *const argv[], bool pdeathsig, pid_t *ret_pid);
/* The same with stdin, stdout and stderr from fds (an exec's: its client's), in a session of
 * its own. */
int process_spawn_stdio(struct shim *s, char *const argv[], const int fds[3], pid_t *ret_pid);
/* One wakeup of the shim: waits up to timeout_ms (-1: no limit) for a signal, console output
 * or a control client, then drains signals, pumps the console and serves the clients.
 * Reaps nothing: callers decide which child they wait for. Returns poll()'s count or -errno. */
int process_poll(struct shim *s, int timeout_ms);
/* Runs argv to completion while pumping the console and serving the control socket;
 * *ret_status is a waitpid() status. */
int process_run(struct shim *s, char *const argv[], int *ret_status);
/* The same, in the runtime's private mount namespace only when private_ns (and --private-cgroup2). */
int process_run_ns(struct shim *s, char *const argv[], bool private_ns, int *ret_status);
/* Reaps every exited child (orphans come to us, the subreaper); records the main pid's exit. */
void process_reap(struct shim *s);
/* "exit 3" / "signal 9" for messages. */
const char *process_status_string(int status, char buf[static 32]);
/* Discards queued signals: SIGCHLD is acted on by waitpid(), the others are ignored. */
void process_drain_signals(struct shim *s);

/* control.c */
/* -EADDRINUSE if a live shim answers at DIR/shim.sock. */
int control_probe(const char *dir);
int control_listen(struct control *ctl, const char *dir);
/* Fills pollfds: the listening socket then one per client; returns how many. */
size_t control_pollfds(struct control *ctl, struct pollfd *p);
/* Serves what poll() reported for the pollfds control_pollfds() filled. */
void control_dispatch(struct shim *s, const struct pollfd *p, size_t n);
/* Once DIR/exit is written: removes the socket, answers every wait and every request already
 * queued, and closes everything. */
void control_finish(struct shim *s);
/* The start failed: removes the socket and closes every client without an answer (waiters
 * read the hang-up; there is no exit record). */
void control_abandon(struct shim *s);
void control_close(struct control *ctl);
/* A child was reaped: if it was a client's exec, the client is told how it ended, then dropped. */
void control_exec_ended(struct shim *s, pid_t pid, int status);
