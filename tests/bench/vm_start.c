/* SPDX-License-Identifier: Apache-2.0 */
/*
 * bench_vm_start: a VM's start through zerod's API against plain QEMU with the same arguments,
 * side by side in one run.
 *
 *   API:   POST /v1/instances (mode vm, the unified image, a command that prints a marker); the
 *          time until the create operation succeeded (root volume cloned and exported by the card,
 *          QEMU spawned paused under its shim, zerod connected to its QMP socket, checked its
 *          devices and sent "cont") and until the marker is on the console.
 *   plain: zerod's own QEMU command line, read from /proc/PID/cmdline of an untimed first API VM,
 *          with only what must differ replaced: the root disk's vhost-user-blk socket becomes a
 *          local raw file on virtio-blk-pci on the same pcie-root-port, and -name and -qmp are
 *          the benchmark's. -S stays: the time until QMP's "cont" returned (connect, retried every
 *          millisecond, greeting, qmp_capabilities, cont) and until the marker is on its stdout.
 *
 * Runs alternate (API, plain, API, ...) after one untimed pair, so that load drifts and cold
 * caches hit both alike. The accelerator is zerod's choice ([vm] accel, auto by default); plain
 * QEMU inherits it with the command line. Ends with the medians of the create operations' steps
 * from zerod's debug log: where the API's time goes.
 *
 *   bench_vm_start [-n RUNS]
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/util.h"
#include "tests/bench/harness.h"

#define MARKER "ZERO-BENCH-MARKER"
#define TIMEOUT_MS 60000
#define VHOST_DEV "vhost-user-blk-pci,"

static uint64_t now_us(void) {
        return zero_monotonic_usec();
}

static int build_image(struct bench *b, const char *cache, const char *out) {
        _cleanup_free_ char *script = zero_strdup_printf("%s/deploy/images/build-busybox-image", b->source_dir);
        char *argv[] = {script, (char *) out, NULL};

        if (!script)
                return -ENOMEM;
        setenv("ZERO_IMAGE_CACHE", cache, 1);
        return bench_run(b, argv);
}

/* The argv of a running process, from /proc/PID/cmdline. */
static int proc_argv(struct bench *b, pid_t pid, char ***ret) {
        _cleanup_free_ char *buf = NULL;
        _cleanup_strv_free_ char **v = NULL;
        char path[64];
        size_t len = 0, n = 0, k = 0;
        int r;

        snprintf(path, sizeof(path), "/proc/%d/cmdline", (int) pid);
        if ((r = zero_read_file(path, 1 << 20, &buf, &len)) < 0)
                return bench_fail(b, r, "cannot read %s: %s", path, strerror(-r));
        for (size_t i = 0; i < len; i++)
                n += buf[i] == '\0';
        if (n == 0 || !(v = calloc(n + 1, sizeof(char *))))
                return bench_fail(b, n ? -ENOMEM : -ESRCH, "%s is empty", path);
        for (size_t i = 0; i < len && k < n; i += strlen(buf + i) + 1)
                if (!(v[k++] = strdup(buf + i)))
                        return bench_fail(b, -ENOMEM, "out of memory");
        *ret = TAKE_PTR(v);
        return 0;
}

/* One VM through the API. With ret_argv, also QEMU's argv while it runs (costs a GET: only for
 * the untimed run). */
static int api_run(struct bench *b, const char *image, const char *name, char ***ret_argv, char ret_op[40],
                   uint64_t *ret_accept, uint64_t *ret_running, uint64_t *ret_marker) {
        char body[512], path[128];
        uint64_t t0 = now_us();
        int r;

        snprintf(body, sizeof(body),
                 "{\"name\":\"%s\",\"mode\":\"vm\",\"image\":\"%s\",\"memory_mib\":256,"
                 "\"command\":[\"/bin/sh\",\"-c\",\"echo " MARKER "\"]}",
                 name, image);
        r = bench_act(b, "POST", "/v1/instances", body, ret_op, ret_accept);
        if (r < 0)
                return r;
        *ret_running = now_us() - t0;
        snprintf(path, sizeof(path), "/v1/instances/%s", name);
        if (ret_argv) {
                json_auto_t *inst = NULL;
                if ((r = bench_api(b, "GET", path, NULL, 200, &inst)) < 0)
                        return r;
                json_int_t pid = json_integer_value(json_object_get(inst, "pid"));
                if (pid <= 0)
                        return bench_fail(b, -ESRCH, "%s has no pid: %.300s", name, b->body);
                if ((r = proc_argv(b, (pid_t) pid, ret_argv)) < 0)
                        return r;
                if (!strstr((*ret_argv)[0], "qemu"))
                        return bench_fail(b, -EINVAL, "%s's pid %d is %s, not QEMU", name, (int) pid, (*ret_argv)[0]);
        }
        snprintf(path, sizeof(path), "/v1/instances/%s/console", name);
        for (;;) {
                r = bench_api(b, "GET", path, NULL, 200, NULL);
                if (r < 0)
                        return r;
                /* body_len, not body: an empty answer leaves the last one's text in b->body. */
                if (b->body_len && strstr(b->body, MARKER))
                        break;
                if (now_us() - t0 > TIMEOUT_MS * 1000ULL)
                        return bench_fail(b, -ETIMEDOUT, "%s never printed its marker", name);
                bench_sleep_ms(5);
        }
        *ret_marker = now_us() - t0;
        snprintf(path, sizeof(path), "/v1/instances/%s?force=true", name);
        return bench_act(b, "DELETE", path, NULL, NULL, NULL);
}

/* The value of key in a QEMU option string "driver,k=v,k=v" (the driver part is skipped). */
static bool opt_value(const char *opts, const char *key, char *ret, size_t size) {
        size_t kl = strlen(key);

        for (const char *s = strchr(opts, ','); s; s = strchr(s + 1, ','))
                if (strncmp(s + 1, key, kl) == 0 && s[1 + kl] == '=') {
                        snprintf(ret, size, "%.*s", (int) strcspn(s + 2 + kl, ","), s + 2 + kl);
                        return true;
                }
        return false;
}

/* zerod's QEMU argv made plain: the one vhost-user-blk disk becomes disk (a raw file) on
 * virtio-blk-pci with the same device id, bus and queue count; -name and -qmp are ours. Refuses a
 * NIC (the benchmark's VM has none) and a command line without -S. */
static int plain_argv(struct bench *b, char **api, const char *qmp, const char *disk, char ***ret) {
        _cleanup_strv_free_ char **v = NULL;
        char vu[64] = "";
        size_t n = 0, k = 0;
        bool paused = false, replaced = false;

        for (char **a = api; *a; a++, n++) {
                paused = paused || streq(*a, "-S");
                if (streq(*a, "-netdev"))
                        return bench_fail(b, -EINVAL, "the API's VM has a NIC (%s); the benchmark wants none", strempty(a[1]));
                if (streq(*a, "-device") && a[1] && strncmp(a[1], VHOST_DEV, strlen(VHOST_DEV)) == 0) {
                        if (vu[0])
                                return bench_fail(b, -EINVAL, "the API's VM has more than one vhost-user-blk disk");
                        if (!opt_value(a[1], "chardev", vu, sizeof(vu)))
                                return bench_fail(b, -EINVAL, "no chardev in %s", a[1]);
                }
        }
        if (!paused || !vu[0])
                return bench_fail(b, -EINVAL, "zerod's QEMU has %s", !paused ? "no -S" : "no vhost-user-blk disk");
        if (!(v = calloc(n + 1, sizeof(char *))))
                return bench_fail(b, -ENOMEM, "out of memory");
        for (size_t i = 0; i < n; i++) {
                const char *o = api[i], *next = i + 1 < n ? api[i + 1] : NULL;
                char id[64];
                char *s;

                v[k++] = strdup(o);
                if (!next || (!streq(o, "-name") && !streq(o, "-qmp") && !streq(o, "-chardev") && !streq(o, "-device")))
                        continue;
                i++;
                if (streq(o, "-name")) {
                        const char *rest = strchr(next, ',');
                        s = zero_strdup_printf("guest=bench-plain%s", rest ? rest : "");
                } else if (streq(o, "-qmp"))
                        s = zero_strdup_printf("unix:%s,server=on,wait=off", qmp);
                else if (streq(o, "-chardev") && opt_value(next, "id", id, sizeof(id)) && streq(id, vu)) {
                        free(v[k - 1]);
                        v[k - 1] = strdup("-drive");
                        s = zero_strdup_printf("file=%s,if=none,id=%s,format=raw,cache=none,aio=threads", disk, vu);
                        replaced = true;
                } else if (streq(o, "-device") && strncmp(next, VHOST_DEV, strlen(VHOST_DEV)) == 0) {
                        const char *opts = next + strlen(VHOST_DEV), *c = strstr(opts, "chardev=");
                        if (!c || (c != opts && c[-1] != ','))
                                return bench_fail(b, -EINVAL, "cannot rewrite %s", next);
                        s = zero_strdup_printf("virtio-blk-pci,%.*sdrive=%s", (int) (c - opts), opts, c + strlen("chardev="));
                } else
                        s = strdup(next);
                v[k++] = s;
        }
        for (size_t i = 0; i < k; i++)
                if (!v[i])
                        return bench_fail(b, -ENOMEM, "out of memory");
        if (!replaced)
                return bench_fail(b, -EINVAL, "no -chardev socket with id %s", vu);
        *ret = TAKE_PTR(v);
        return 0;
}

/* A QMP client just big enough for the handshake and one command. */
struct qmp {
        int fd;
        char buf[16384];
        size_t len;
};

static int qmp_connect(struct qmp *q, const char *path, pid_t pid, uint64_t deadline) {
        struct sockaddr_un sa = {.sun_family = AF_UNIX};

        snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
        for (;;) {
                int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
                if (fd < 0)
                        return -errno;
                if (connect(fd, (struct sockaddr *) &sa, sizeof(sa)) >= 0) {
                        *q = (struct qmp){.fd = fd};
                        return 0;
                }
                close(fd);
                if (now_us() > deadline || waitpid(pid, NULL, WNOHANG) == pid)
                        return -ECONNREFUSED;
                bench_sleep_ms(1);
        }
}

/* The next message (one JSON object a line). */
static int qmp_next(struct qmp *q, uint64_t deadline, json_t **ret) {
        for (;;) {
                char *nl = memchr(q->buf, '\n', q->len);
                if (nl) {
                        json_error_t je;
                        *ret = json_loadb(q->buf, (size_t) (nl - q->buf), 0, &je);
                        q->len -= (size_t) (nl + 1 - q->buf);
                        memmove(q->buf, nl + 1, q->len);
                        return *ret ? 0 : -EBADMSG;
                }
                struct pollfd p = {.fd = q->fd, .events = POLLIN};
                uint64_t now = now_us();
                if (now > deadline || q->len == sizeof(q->buf))
                        return -ETIMEDOUT;
                if (poll(&p, 1, (int) ((deadline - now) / 1000 + 1)) < 0 && errno != EINTR)
                        return -errno;
                ssize_t n = read(q->fd, q->buf + q->len, sizeof(q->buf) - q->len);
                if (n == 0)
                        return -ECONNRESET;
                if (n < 0 && errno != EAGAIN && errno != EINTR)
                        return -errno;
                q->len += n > 0 ? (size_t) n : 0;
        }
}

/* Sends one command and waits for its answer, skipping events. */
static int qmp_execute(struct qmp *q, const char *cmd, uint64_t deadline) {
        char line[128];
        int len = snprintf(line, sizeof(line), "{\"execute\":\"%s\"}\n", cmd);

        if (write(q->fd, line, (size_t) len) != len)
                return -EIO;
        for (;;) {
                json_auto_t *m = NULL;
                int r = qmp_next(q, deadline, &m);
                if (r < 0)
                        return r;
                if (json_object_get(m, "return"))
                        return 0;
                if (json_object_get(m, "error"))
                        return -EPROTO;
        }
}

/* Greeting, qmp_capabilities, cont. */
static int qmp_cont(const char *path, pid_t pid, uint64_t deadline) {
        struct qmp q;
        json_auto_t *greeting = NULL;
        int r = qmp_connect(&q, path, pid, deadline);

        if (r < 0)
                return r;
        if ((r = qmp_next(&q, deadline, &greeting)) >= 0 && !json_object_get(greeting, "QMP"))
                r = -EPROTO;
        if (r >= 0)
                r = qmp_execute(&q, "qmp_capabilities", deadline);
        if (r >= 0)
                r = qmp_execute(&q, "cont", deadline);
        close(q.fd);
        return r;
}

static int plain_run(struct bench *b, char **argv, const char *qmp, uint64_t *ret_running, uint64_t *ret_marker) {
        char out[65536] = "";
        size_t len = 0;
        int pipefd[2], status, r;
        uint64_t t0;
        pid_t pid;

        if (pipe2(pipefd, O_CLOEXEC) < 0)
                return bench_fail(b, -errno, "pipe2: %m");
        (void) unlink(qmp);
        t0 = now_us();
        pid = fork();
        if (pid == 0) {
                int null = open("/dev/null", O_RDONLY);
                if (null < 0 || dup2(null, 0) < 0 || dup2(pipefd[1], 1) < 0 || dup2(pipefd[1], 2) < 0)
                        _exit(127);
                execvp(argv[0], argv);
                _exit(127);
        }
        close(pipefd[1]);
        *ret_running = *ret_marker = 0;
        r = pid < 0 ? -errno : qmp_cont(qmp, pid, t0 + TIMEOUT_MS * 1000ULL);
        if (r >= 0)
                *ret_running = now_us() - t0;
        while (r >= 0 && now_us() - t0 < TIMEOUT_MS * 1000ULL) {
                struct pollfd p = {.fd = pipefd[0], .events = POLLIN};
                if (poll(&p, 1, 100) != 1)
                        continue;
                ssize_t n = read(pipefd[0], out + len, sizeof(out) - 1 - len);
                if (n <= 0)
                        break;
                len += (size_t) n;
                out[len] = '\0';
                if (strstr(out, MARKER)) {
                        *ret_marker = now_us() - t0;
                        break;
                }
        }
        if (pid > 0) {
                kill(pid, SIGKILL);
                (void) waitpid(pid, &status, 0);
        }
        if (r < 0) { /* what QEMU said before it failed, if anything */
                ssize_t n = read(pipefd[0], out, sizeof(out) - 1);
                out[n > 0 ? n : 0] = '\0';
        }
        close(pipefd[0]);
        if (r < 0)
                return bench_fail(b, r, "plain QEMU did not run over QMP (%s): %.300s", strerror(-r), out);
        if (!*ret_marker)
                return bench_fail(b, -ETIMEDOUT, "plain QEMU did not print the marker: %.300s", out);
        return 0;
}

static void print_argv(const char *what, char **v) {
        fprintf(stderr, "%s:", what);
        for (; *v; v++)
                fprintf(stderr, " %s", *v);
        fputc('\n', stderr);
}

int main(int argc, char *argv[]) {
        struct bench b = {.zerod = ZERO_ZEROD, .shim = ZERO_SHIM, .plugin_dir = ZERO_PLUGIN_DIR, .source_dir = ZERO_SOURCE_DIR};
        unsigned runs = 10;
        uint64_t *api_accept_t, *api_run_t, *api_marker_t, *plain_run_t, *plain_marker_t, warm[4];
        char (*ops)[40];
        int c, r = 0;

        while ((c = getopt(argc, argv, "n:")) >= 0)
                if (c == 'n')
                        runs = (unsigned) atoi(optarg);
                else
                        return fprintf(stderr, "usage: %s [-n RUNS]\n", argv[0]), 2;
        if (runs < 2)
                return fprintf(stderr, "need -n >= 2\n"), 2;
        api_accept_t = calloc(runs, sizeof(uint64_t));
        api_run_t = calloc(runs, sizeof(uint64_t));
        api_marker_t = calloc(runs, sizeof(uint64_t));
        plain_run_t = calloc(runs, sizeof(uint64_t));
        plain_marker_t = calloc(runs, sizeof(uint64_t));
        ops = calloc(runs, sizeof(*ops));
        if (!api_accept_t || !api_run_t || !api_marker_t || !plain_run_t || !plain_marker_t || !ops)
                return fprintf(stderr, "out of memory\n"), 1;
        signal(SIGPIPE, SIG_IGN);

        _cleanup_free_ char *img = NULL, *disk = NULL, *body = NULL, *rootfs_arg = NULL, *qmp = NULL;
        _cleanup_strv_free_ char **api_argv = NULL, **qemu_argv = NULL;
        if ((r = bench_tmp_new(&b)) < 0)
                goto out;
        img = bench_path(&b, "img");
        disk = bench_path(&b, "plain-root.ext4");
        qmp = bench_path(&b, "plain-qmp.sock");
        if ((r = build_image(&b, ZERO_BUILD_DIR "/image-cache", img)) < 0)
                goto out;
        rootfs_arg = zero_strdup_printf("%s/rootfs", img);
        char *mkfs[] = {"mkfs.ext4", "-q", "-F", "-d", rootfs_arg, disk, "128M", NULL};
        if ((r = bench_run(&b, mkfs)) < 0 || (r = bench_zerod_start(&b, NULL)) < 0)
                goto out;
        body = zero_strdup_printf("{\"name\":\"bbvm\",\"source\":\"%s/rootfs\",\"kernel\":\"%s/vmlinuz\",\"initrd\":\"%s/initrd.img\"}",
                                  img, img, img);
        if ((r = bench_act(&b, "POST", "/v1/images", body, NULL, NULL)) < 0)
                goto out;
        /* The untimed pair: zerod's command line, and warm caches on both sides. */
        if ((r = api_run(&b, "bbvm", "vmwarm", &api_argv, NULL, NULL, &warm[0], &warm[1])) < 0 ||
            (r = plain_argv(&b, api_argv, qmp, disk, &qemu_argv)) < 0)
                goto out;
        print_argv("zerod's QEMU", api_argv);
        print_argv("plain QEMU", qemu_argv);
        if ((r = plain_run(&b, qemu_argv, qmp, &warm[2], &warm[3])) < 0)
                goto out;
        fprintf(stderr, "warm-up: API %.0f/%.0f ms, plain %.0f/%.0f ms\n", warm[0] / 1000.0, warm[1] / 1000.0,
                warm[2] / 1000.0, warm[3] / 1000.0);
        for (unsigned i = 0; i < runs; i++) {
                char name[32];
                snprintf(name, sizeof(name), "vm%u", i);
                if ((r = api_run(&b, "bbvm", name, NULL, ops[i], &api_accept_t[i], &api_run_t[i], &api_marker_t[i])) < 0 ||
                    (r = plain_run(&b, qemu_argv, qmp, &plain_run_t[i], &plain_marker_t[i])) < 0)
                        goto out;
                fprintf(stderr, "run %u: API %.0f/%.0f ms, plain %.0f/%.0f ms\n", i, api_run_t[i] / 1000.0,
                        api_marker_t[i] / 1000.0, plain_run_t[i] / 1000.0, plain_marker_t[i] / 1000.0);
        }
        printf("%-36s %8s %8s %8s %8s  (ms)\n", "", "median", "p99", "min", "max");
        (void) bench_stats("API call to 202 Accepted", api_accept_t, runs);
        double ar = bench_stats("API create to QEMU running", api_run_t, runs);
        double pr = bench_stats("plain QEMU -S to cont returned", plain_run_t, runs);
        double am = bench_stats("API create to the guest's marker", api_marker_t, runs);
        double pm = bench_stats("plain QEMU to the guest's marker", plain_marker_t, runs);
        printf("\nratio to QEMU running, medians:  %.2fx  target <= 1.2x (issue): %s\n", ar / pr,
               ar / pr <= 1.2 ? "met" : "MISSED");
        printf("ratio to the guest's marker, medians: %.2fx  target <= 1.05x (blueprint): %s\n", am / pm,
               am / pm <= 1.05 ? "met" : "MISSED");
        printf("\nthe create operations' steps (zerod's debug log):\n");
        bench_step_stats(&b, ops, runs);
out:
        if (r < 0)
                fprintf(stderr, "bench_vm_start: %s\n", b.err.message);
        if (bench_cleanup(&b, NULL) < 0 && r >= 0) {
                fprintf(stderr, "bench_vm_start: %s\n", b.err.message);
                r = -EBUSY;
        }
        free(api_accept_t);
        free(api_run_t);
        free(api_marker_t);
        free(plain_run_t);
        free(plain_marker_t);
        free(ops);
        return r < 0 ? 1 : 0;
}
