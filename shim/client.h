/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/*
 * Client side of zero-shim, the per-instance supervisor (linked into zerod).
 *
 * A shim owns one directory, the instance's run directory DIR:
 *   DIR/shim.pid     the shim's pid (written before it reports)
 *   DIR/pid          the instance's main pid (written atomically before it reports)
 *   DIR/shim.sock    control socket, SOCK_SEQPACKET, one request/reply per packet
 *   DIR/console.log  stdout+stderr of the runtime and the instance, capped (rotated to .1)
 *   DIR/exit         exit record, written atomically (tmp + fsync + rename) once the main
 *                    process is gone and the cleanup command ran:
 *                    "pid=P\ncode=C\nsignal=S\ntime=USEC\n"  (code = 128+S when killed by S)
 *
 * Command line (built by zero_shim_spawn):
 *   zero-shim --id ID --dir DIR --sync-fd N [--log-max BYTES] [--pid-file FILE]
 *             [--start-arg ARG]... [--cleanup-arg ARG]... [--exec-arg ARG]... [--exec-target ARG]
 *             [--private-cgroup2] [--stdin-pipe] [--sidecar-arg ARG]... [--sidecar-ready PATH]
 *             [--prepare-arg ARG]... -- ARGV...
 * The process zerod starts forks, and exits as soon as the child (the shim proper) has
 * called setsid(): so zerod can reap it at once and the shim outlives zerod. The shim then
 * makes itself child subreaper, runs the prepare command to completion (in the host's mount
 * namespace), then ARGV (and for --pid-file, waits for it and runs the
 * start command), and writes one line to the sync fd: "ok PID\n" or "error MESSAGE\n".
 *
 * Control protocol (text requests, text replies):
 *   "status"      -> "starting" (the create command runs) | "running pid=P"
 *                    | "exited pid=P code=C signal=S" (also while the cleanup command runs)
 *   "signal N"    -> "ok" | "error MESSAGE" ("error the instance is starting" before the main
 *                    process exists)
 *   "wait"        -> (when the main process has exited and the exit record is written)
 *                    "exited pid=P code=C signal=S"
 *   "console N"   -> the last N bytes (at most ZERO_SHIM_CONSOLE_TAIL_MAX) of the console log
 *   "exec\0ARG\0...ARG\0" with 3 fds (SCM_RIGHTS: stdin, stdout, stderr)
 *                 -> "ok PID" | "error MESSAGE"; then, on the same connection, when the command
 *                    ends: "exited pid=P code=C signal=S", and the shim closes it. The command is
 *                    the --exec-arg prefix, the ARGs that begin with "-" (the exec's options),
 *                    the --exec-target if any, then the other ARGs (the first of them must not
 *                    begin with "-"); shims started without a prefix refuse execs. Run like the
 *                    runtime's commands, in a session of its own
 *   "attach"      -> "ok" with one fd (SCM_RIGHTS): the write end of the instance's stdin
 *                    (--stdin-pipe; the shim keeps its own copy) | "error MESSAGE"
 * The socket listens before the create command runs and until the exit record is written: the
 * shim answers while its create, start or cleanup command runs, however long that takes. After
 * the exit record is written the shim answers pending waits and exits.
 */
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "zero/error.h"

#define ZERO_SHIM_CONSOLE_TAIL_MAX (64 * 1024)
#define ZERO_SHIM_MSG_MAX (ZERO_SHIM_CONSOLE_TAIL_MAX + 64)
/* Longest request the shim reads; longer ones are answered "error request too long". */
#define ZERO_SHIM_REQUEST_MAX 256
/* An exec's request: "exec\0" and its arguments, each NUL-terminated, at most this many bytes
 * and ZERO_SHIM_EXEC_ARGS_MAX arguments. */
#define ZERO_SHIM_EXEC_REQUEST_MAX 8192
#define ZERO_SHIM_EXEC_ARGS_MAX 256
/* Console log cap (--log-max): each of console.log and console.log.1 stays at or below it,
 * so the log never takes more than twice this on disk. */
#define ZERO_SHIM_LOG_MAX_DEFAULT (1024 * 1024)
#define ZERO_SHIM_LOG_MAX_MIN 1024
#define ZERO_SHIM_LOG_MAX_MAX (1ULL << 40)

/* The names of the files in DIR, for readers such as zerod's reconciliation. */
#define ZERO_SHIM_FILE_SHIM_PID "shim.pid"
#define ZERO_SHIM_FILE_PID "pid"
#define ZERO_SHIM_FILE_SOCKET "shim.sock"
#define ZERO_SHIM_FILE_CONSOLE "console.log"
#define ZERO_SHIM_FILE_CONSOLE_OLD "console.log.1"
#define ZERO_SHIM_FILE_EXIT "exit"

struct zero_shim_spawn_args {
        const char *shim_path; /* the zero-shim binary */
        const char *id;
        const char *dir;
        uint64_t log_max; /* bytes of console log to keep; 0 = default (1 MiB) */
        const char *const *argv;
        const char *pid_file;
        const char *const *start_argv;
        const char *const *cleanup_argv;
        const char *const *exec_argv; /* the prefix of an exec's command (crun exec); NULL: none */
        const char *exec_target;      /* after the exec's options, before its command (crun's ID) */
        bool private_cgroup2;
        bool stdin_pipe; /* the instance's stdin a pipe the shim keeps open (zero_shim_attach()) */
        /* A helper the main process needs (a VM's swtpm): the shim starts it first (it dies with
         * the shim), waits (5 s at most) for sidecar_ready to exist, and ends it (SIGTERM, 2 s,
         * SIGKILL) once the main process is gone, before the cleanup command. Not with pid_file. */
        const char *const *sidecar_argv;
        const char *sidecar_ready;
        /* A command run to completion first, in the host's mount namespace (plugin.h,
         * prepare_argv); its failure fails the start. NULL: none. */
        const char *const *prepare_argv;
};

/* The bound on zero_shim_spawn()'s wait for the process it starts, which exits as soon as the
 * shim proper has detached (milliseconds: it checks its arguments and opens its files first).
 * Generous, as a machine under load may be slow to run a new binary; reached only by a binary
 * that is not a shim or a host in trouble. */
#define ZERO_SHIM_SPAWN_TIMEOUT_MS 5000

/* Starts a shim and returns the read end of its sync pipe (O_NONBLOCK|O_CLOEXEC). Does not wait
 * for the shim's report: read it with zero_shim_parse_sync() when the fd becomes readable. Waits
 * for the shim to detach, at most ZERO_SHIM_SPAWN_TIMEOUT_MS (-ETIMEDOUT, the process killed). */
int zero_shim_spawn(const struct zero_shim_spawn_args *a, int *ret_sync_fd, struct zero_error *err);

/* Parses the sync line: >= 0 and *ret_pid on "ok PID", -EIO with the message in err on "error". */
int zero_shim_parse_sync(const char *line, pid_t *ret_pid, struct zero_error *err);

struct zero_shim_exit {
        pid_t pid;
        int code;   /* exit code, or 128+signal */
        int signal; /* 0 unless killed by a signal */
        uint64_t time;
};

/* Reads DIR/exit. -ENOENT when there is none (yet). */
int zero_shim_read_exit(const char *dir, struct zero_shim_exit *ret);
/* Reads DIR/pid, the main pid a live shim wrote before it listened and reported: what a zerod
 * that missed the report (it died during the spawn) learns the pid from. -ENOENT when none. */
int zero_shim_read_pid(const char *dir, pid_t *ret);
/* Parses an "exited pid=P code=C signal=S" reply. */
int zero_shim_parse_exited(const char *msg, struct zero_shim_exit *ret);

/* The bound on one exchange with a live shim (connecting, sending, the reply): a shim serves its
 * socket from its poll loop whatever it is doing (even while a create or cleanup command hangs),
 * so it answers in microseconds; one that does not answer within this is stopped or starved, and
 * the request fails with -ETIMEDOUT rather than stalling zerod's loop. */
#define ZERO_SHIM_TIMEOUT_MS 1000

/* Connects to DIR/shim.sock (SOCK_SEQPACKET, O_CLOEXEC, O_NONBLOCK), waiting at most timeout_ms
 * for room in the shim's backlog (0: not at all, -EAGAIN; else -ETIMEDOUT). -ECONNREFUSED or
 * -ENOENT when no shim lives there. */
int zero_shim_connect_timeout(const char *dir, int timeout_ms, int *ret_fd);
/* The same, blocking fd unless nonblock; connecting waits at most ZERO_SHIM_TIMEOUT_MS for room
 * in the backlog, or not at all with nonblock (-EAGAIN: a live shim whose backlog is full). */
int zero_shim_connect(const char *dir, bool nonblock, int *ret_fd);

/* Synchronous request/reply on a connected fd, without a bound (tests and tools; zerod uses
 * zero_shim_request_timeout() with ZERO_SHIM_TIMEOUT_MS, or its event loop). *ret is
 * NUL-terminated. */
int zero_shim_request(int fd, const char *req, char **ret);
/* The same, giving up with -ETIMEDOUT after timeout_ms milliseconds (< 0: never). */
int zero_shim_request_timeout(int fd, const char *req, int timeout_ms, char **ret);

/* Asks the shim in dir to run an exec (its --exec-arg prefix and argv) with fds[0..2] as its
 * stdin, stdout and stderr (sent, not taken), bounded by ZERO_SHIM_TIMEOUT_MS. Then *ret_pid is
 * its pid and *ret_fd the connection (non-blocking, close-on-exec) on which the shim says
 * "exited pid=P code=C signal=S" when it ends (zero_shim_parse_exited()) and hangs up; closing
 * it earlier leaves the exec running, unreported. A refusal is the shim's message in err. */
int zero_shim_exec(const char *dir, const char *const *argv, const int fds[3], int *ret_fd, pid_t *ret_pid,
                   struct zero_error *err);

/* Asks the shim in dir for the write end of its instance's stdin (--stdin-pipe), bounded by
 * ZERO_SHIM_TIMEOUT_MS: *ret_fd (close-on-exec, blocking). A refusal is the shim's message:
 * -ENXIO when the shim keeps no stdin (started without --stdin-pipe). */
int zero_shim_attach(const char *dir, int *ret_fd, struct zero_error *err);
