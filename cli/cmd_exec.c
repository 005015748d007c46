/* SPDX-License-Identifier: Apache-2.0 */
/*
 * zeroctl exec [-i] [-t] [-e K=V]... [-w DIR] NAME [--] CMD [ARGS...]: a command run in a running
 * container, its output on zeroctl's, zeroctl's stdin its own (with -i), and zeroctl's exit
 * status its (128+signal for a signal). POST /v1/instances/{name}/exec, upgraded to the framed
 * stream of common/frame.h.
 */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#include "cli/zeroctl.h"
#include "common/frame.h"
#include "common/util.h"

struct exec_opts {
        const char *name;
        char **cmd; /* into argv, NULL-ended */
        bool interactive, tty;
        json_t *env; /* owned */
        const char *cwd;
};

static int parse_exec(int argc, char **argv, struct exec_opts *ret, struct zero_error *reterr) {
        static const struct option options[] = {
                {"interactive", no_argument, NULL, 'i'}, {"tty", no_argument, NULL, 't'},
                {"env", required_argument, NULL, 'e'},   {"workdir", required_argument, NULL, 'w'},
                {"help", no_argument, NULL, 'h'},        {},
        };
        json_auto_t *env = json_array();
        struct exec_opts o = {};
        int c;

        if (!env)
                return -ENOMEM;
        optind = 0;
        opterr = 0;
        /* "+": the options end at NAME; what follows is the command's. */
        while ((c = getopt_long(argc, argv, "+:ite:w:h", options, NULL)) >= 0) {
                switch (c) {
                case 'i':
                        o.interactive = true;
                        break;
                case 't':
                        o.tty = true;
                        break;
                case 'e':
                        if (!strchr(optarg, '=') || optarg[0] == '=')
                                return zeroctl_usage_error(reterr, "--env: expected KEY=VALUE, not '%s'", optarg);
                        if (json_array_append_new(env, json_string(optarg)) < 0)
                                return -ENOMEM;
                        break;
                case 'w':
                        o.cwd = optarg;
                        break;
                case 'h':
                        return ZEROCTL_HELP;
                default:
                        return zeroctl_getopt_error(c, argv, reterr);
                }
        }
        if (optind >= argc)
                return zeroctl_usage_error(reterr, "an instance's name is needed");
        o.name = argv[optind++];
        if (optind < argc && streq(argv[optind], "--"))
                optind++;
        if (optind >= argc)
                return zeroctl_usage_error(reterr, "a command is needed: exec NAME -- CMD [ARGS...]");
        o.cmd = argv + optind;
        o.env = json_array_size(env) > 0 ? TAKE_PTR(env) : NULL;
        *ret = o;
        return 0;
}

/* The local terminal in raw mode while a -t exec runs (keys go to the command as typed, ^C
 * included), restored on every way out: the verb's end, exit(), and the signals that end
 * zeroctl (raw mode lets no key make one). */
static struct termios saved_termios;
static volatile sig_atomic_t raw_on, winch;

static void raw_restore(void) {
        if (raw_on) {
                (void) tcsetattr(STDIN_FILENO, TCSADRAIN, &saved_termios);
                raw_on = 0;
        }
}

static void on_fatal_signal(int sig) {
        raw_restore();
        (void) signal(sig, SIG_DFL);
        (void) raise(sig);
}

static void on_winch(int sig) {
        winch = 1;
}

static void raw_enter(void) {
        struct termios t;
        struct sigaction sa = {.sa_handler = on_fatal_signal};

        if (!isatty(STDIN_FILENO) || tcgetattr(STDIN_FILENO, &saved_termios) < 0)
                return;
        t = saved_termios;
        cfmakeraw(&t);
        (void) sigaction(SIGTERM, &sa, NULL);
        (void) sigaction(SIGHUP, &sa, NULL);
        (void) sigaction(SIGQUIT, &sa, NULL);
        (void) sigaction(SIGINT, &sa, NULL);
        (void) atexit(raw_restore);
        if (tcsetattr(STDIN_FILENO, TCSADRAIN, &t) == 0)
                raw_on = 1;
}

static void raw_leave(bool *unused) {
        raw_restore();
}

struct session {
        bool tty;
        struct zeroctl_http *h;
        uint8_t in[ZERO_FRAME_HEADER + ZERO_FRAME_PAYLOAD_MAX]; /* from zerod */
        size_t in_len;
        uint8_t out[ZERO_FRAME_HEADER + ZERO_FRAME_PAYLOAD_MAX]; /* to zerod: one frame at a time */
        size_t out_len, out_off;
        bool stdin_done; /* read to its end (or not read at all) and STDIN_EOF queued */
        bool exited;
        int code;
        /* The interactive console's way out: this key (Ctrl-]) or stdin's end leaves, once what
         * was typed before is sent; -1: none (exec ends with its command). */
        int escape;
        bool leaving;
};

static int write_all(int fd, const uint8_t *p, size_t n) {
        while (n > 0) {
                ssize_t k = write(fd, p, n);
                if (k < 0 && errno == EINTR)
                        continue;
                if (k < 0)
                        return -errno;
                p += k;
                n -= (size_t) k;
        }
        return 0;
}

/* The frames that came, handled: output written, the exit noted. */
static int take_frames(struct session *s, struct zero_error *reterr) {
        for (;;) {
                struct zero_frame f;
                int n = zero_frame_parse(s->in, s->in_len, &f), r = 0, sig;

                if (n == 0)
                        return 0;
                if (n < 0)
                        return zero_error_set(reterr, -EBADMSG, ZERO_E_INTERNAL, "zerod's stream is broken");
                switch (f.stream) {
                case ZERO_FRAME_STDOUT:
                        r = write_all(STDOUT_FILENO, f.payload, f.len);
                        break;
                case ZERO_FRAME_STDERR:
                        r = write_all(STDERR_FILENO, f.payload, f.len);
                        break;
                case ZERO_FRAME_EXIT:
                        zero_frame_exit_decode(&f, &s->code, &sig);
                        s->exited = true;
                        break;
                default:
                        return zero_error_set(reterr, -EBADMSG, ZERO_E_INTERNAL, "zerod sent a frame of stream %d",
                                              (int) f.stream);
                }
                if (r < 0)
                        return zero_error_set(reterr, r, ZERO_E_INTERNAL, "cannot write the command's output: %s",
                                              strerror(-r));
                memmove(s->in, s->in + n, s->in_len - (size_t) n);
                s->in_len -= (size_t) n;
                if (s->exited)
                        return 0;
        }
}

static void queue_frame(struct session *s, enum zero_frame_stream stream, const void *p, size_t n) {
        zero_frame_header(stream, (uint32_t) n, s->out);
        if (n)
                memcpy(s->out + ZERO_FRAME_HEADER, p, n);
        s->out_len = ZERO_FRAME_HEADER + n;
        s->out_off = 0;
}

/* Copies both ways until the EXIT frame: 0, or < 0 with *reterr. */
static int session_run(struct session *s, struct zero_error *reterr) {
        int fd = zeroctl_conn_fd(s->h), r;

        if (fd < 0)
                return zero_error_set(reterr, fd, ZERO_E_INTERNAL, "the connection to zerod is gone");
        for (;;) {
                struct pollfd p[2] = {{.fd = fd, .events = POLLIN}, {.fd = STDIN_FILENO, .events = POLLIN}};
                struct winsize ws;
                size_t n;

                if (s->tty && winch && s->out_off >= s->out_len) {
                        uint8_t size[4];

                        winch = 0;
                        if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_row > 0) {
                                zero_frame_resize_encode(ws.ws_row, ws.ws_col, size);
                                queue_frame(s, ZERO_FRAME_RESIZE, size, sizeof(size));
                        }
                }

                /* What curl holds already (TLS records read whole) is taken before polling. */
                for (;;) {
                        r = zeroctl_conn_recv(s->h, s->in + s->in_len, sizeof(s->in) - s->in_len, &n);
                        if (r == -EAGAIN)
                                break;
                        if (r < 0 || n == 0)
                                return zero_error_set(reterr, -ECONNRESET, ZERO_E_INTERNAL,
                                                      "zerod ended the connection before the command ended");
                        s->in_len += n;
                        r = take_frames(s, reterr);
                        if (r < 0)
                                return r;
                        if (s->exited)
                                return 0;
                }
                if (s->leaving && s->out_off >= s->out_len)
                        return 0;
                while (s->out_off < s->out_len) {
                        r = zeroctl_conn_send(s->h, s->out + s->out_off, s->out_len - s->out_off, &n);
                        if (r == -EAGAIN)
                                break;
                        if (r < 0)
                                return zero_error_set(reterr, -ECONNRESET, ZERO_E_INTERNAL,
                                                      "cannot send to zerod: the connection is gone");
                        s->out_off += n;
                }
                if (s->out_off < s->out_len)
                        p[0].events |= POLLOUT;
                bool want_stdin = !s->stdin_done && s->out_off >= s->out_len;
                if (poll(p, want_stdin ? 2 : 1, -1) < 0) {
                        if (errno == EINTR)
                                continue;
                        return zero_error_set(reterr, -errno, ZERO_E_INTERNAL, "poll: %m");
                }
                if (want_stdin && p[1].revents) {
                        uint8_t buf[ZERO_FRAME_PAYLOAD_MAX];
                        ssize_t k = read(STDIN_FILENO, buf, sizeof(buf));

                        if (k < 0 && (errno == EINTR || errno == EAGAIN))
                                continue;
                        if (k <= 0 && s->escape >= 0) {
                                s->stdin_done = s->leaving = true;
                        } else if (k <= 0) {
                                queue_frame(s, ZERO_FRAME_STDIN_EOF, NULL, 0);
                                s->stdin_done = true;
                        } else {
                                uint8_t *esc = s->escape >= 0 ? memchr(buf, s->escape, (size_t) k) : NULL;

                                if (esc) {
                                        k = esc - buf;
                                        s->stdin_done = s->leaving = true;
                                }
                                if (k > 0)
                                        queue_frame(s, ZERO_FRAME_STDIN, buf, (size_t) k);
                        }
                }
        }
}

/* POST path with body, upgraded, then the stream until the command's end (or, with an escape
 * key, the user's leaving): *ret_code is the command's exit status. */
static int stream_run(struct zeroctl *z, const char *path, const json_t *body, bool interactive, bool tty,
                      int escape, int *ret_code, struct zero_error *reterr) {
        _cleanup_free_ char *extra = NULL;
        _cleanup_free_ struct session *s = calloc(1, sizeof(struct session));
        _cleanup_(raw_leave) bool raw_guard = false;
        size_t n_extra = 0;
        int r;

        if (!s)
                return -ENOMEM;
        s->h = z->http;
        s->escape = escape;
        r = zeroctl_http_upgrade(z->http, path, body, ZERO_FRAME_PROTOCOL, &extra, &n_extra, reterr);
        if (r < 0)
                return r;
        if (n_extra > sizeof(s->in))
                return zero_error_set(reterr, -EBADMSG, ZERO_E_INTERNAL, "zerod's stream is broken");
        memcpy(s->in, extra, n_extra);
        s->in_len = n_extra;
        /* Output to a closed pipe is an error to report, not a signal to die of. */
        (void) signal(SIGPIPE, SIG_IGN);
        if (!interactive) {
                queue_frame(s, ZERO_FRAME_STDIN_EOF, NULL, 0);
                s->stdin_done = true;
        }
        if (tty) {
                struct sigaction sa = {.sa_handler = on_winch}; /* no SA_RESTART: poll() wakes */

                s->tty = true;
                (void) sigaction(SIGWINCH, &sa, NULL);
                winch = 1; /* the size at the start */
        }
        if ((tty || escape >= 0) && interactive)
                raw_enter();
        r = take_frames(s, reterr);
        if (r >= 0 && !s->exited)
                r = session_run(s, reterr);
        if (r < 0)
                return r;
        *ret_code = s->exited ? s->code : 0;
        return 0;
}

int zeroctl_cmd_exec(struct zeroctl *z, int argc, char **argv, struct zero_error *reterr) {
        _cleanup_free_ char *path = NULL;
        struct exec_opts o = {};
        json_auto_t *body = NULL, *cmd = json_array();
        int r, code = 0;

        r = parse_exec(argc, argv, &o, reterr);
        if (r != 0)
                return r;
        body = json_pack("{s:o,s:b}", "cmd", json_incref(cmd), "tty", o.tty);
        if (!body || !cmd) {
                json_decref(o.env);
                return -ENOMEM;
        }
        for (char **a = o.cmd; *a; a++)
                if (json_array_append_new(cmd, json_string(*a)) < 0) {
                        json_decref(o.env);
                        return -ENOMEM;
                }
        if (o.env)
                json_object_set_new(body, "env", o.env);
        if (o.cwd)
                json_object_set_new(body, "cwd", json_string(o.cwd));
        path = zeroctl_object_path("instances", o.name, "/exec");
        if (!path)
                return -ENOMEM;
        r = stream_run(z, path, body, o.interactive, o.tty, -1, &code, reterr);
        if (r < 0)
                return r;
        z->exit_status = code;
        return 0;
}

/* Ctrl-], as virsh console and telnet have it. */
#define CONSOLE_ESCAPE 0x1d

int zeroctl_console_interactive(struct zeroctl *z, const char *name, struct zero_error *reterr) {
        _cleanup_free_ char *path = zeroctl_object_path("instances", name, "/console");
        json_auto_t *body = json_object();
        int code = 0;

        if (!path || !body)
                return -ENOMEM;
        fprintf(stderr, "Connected to %s's console. Escape character is ^] (Ctrl-]).\r\n", name);
        return stream_run(z, path, body, true, false, CONSOLE_ESCAPE, &code, reterr);
}
