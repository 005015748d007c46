/* SPDX-License-Identifier: Apache-2.0 */
/*
 * bench_vm_start: a VM's start through zerod's API against plain QEMU, side by side in one run.
 *
 *   API:   POST /v1/instances (mode vm, the unified image, a command that prints a marker); the
 *          time until the create operation succeeded (QEMU runs under its shim, its disk exported
 *          by the card) and until the marker is on the console (the guest booted and ran it).
 *   plain: qemu-system-x86_64 with the same machine, memory, kernel, initramfs and kernel command
 *          line, the root filesystem as a local raw file on virtio-blk; the time until its QMP
 *          socket answers (QEMU runs) and until the marker is on its stdout.
 *
 * Runs alternate (API, plain, API, ...) so that load drifts hit both alike. TCG unless the
 * zerod config says otherwise: the figures are the machine's.
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
/* base64 of: echo ZERO-BENCH-MARKER */
#define MARKER_CMD64 "ZWNobyBaRVJPLUJFTkNILU1BUktFUg=="
#define TIMEOUT_MS 60000

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

static int api_run(struct bench *b, const char *image, unsigned i, uint64_t *ret_running, uint64_t *ret_marker) {
        char body[512], path[128];
        uint64_t t0 = now_us();
        int r;

        snprintf(body, sizeof(body),
                 "{\"name\":\"vm%u\",\"mode\":\"vm\",\"image\":\"%s\",\"memory_mib\":256,"
                 "\"command\":[\"/bin/sh\",\"-c\",\"echo " MARKER "\"]}",
                 i, image);
        r = bench_act(b, "POST", "/v1/instances", body, NULL, NULL);
        if (r < 0)
                return r;
        *ret_running = now_us() - t0;
        snprintf(path, sizeof(path), "/v1/instances/vm%u/console", i);
        for (;;) {
                r = bench_api(b, "GET", path, NULL, 200, NULL);
                if (r < 0)
                        return r;
                if (b->body && strstr(b->body, MARKER))
                        break;
                if (now_us() - t0 > TIMEOUT_MS * 1000ULL)
                        return bench_fail(b, -ETIMEDOUT, "vm%u never printed its marker", i);
                bench_sleep_ms(5);
        }
        *ret_marker = now_us() - t0;
        snprintf(path, sizeof(path), "/v1/instances/vm%u?force=true", i);
        return bench_act(b, "DELETE", path, NULL, NULL, NULL);
}

static bool qmp_answers(const char *path) {
        struct sockaddr_un sa = {.sun_family = AF_UNIX};
        _cleanup_close_ int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        char c;

        snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
        if (fd < 0 || connect(fd, (struct sockaddr *) &sa, sizeof(sa)) < 0)
                return false;
        struct pollfd p = {.fd = fd, .events = POLLIN};
        return poll(&p, 1, 1000) == 1 && read(fd, &c, 1) == 1; /* the greeting */
}

static int plain_run(struct bench *b, const char *img, const char *disk, uint64_t *ret_running, uint64_t *ret_marker) {
        _cleanup_free_ char *kernel = zero_strdup_printf("%s/vmlinuz", img), *initrd = zero_strdup_printf("%s/initrd.img", img);
        _cleanup_free_ char *qmp = bench_path(b, "plain-qmp.sock"), *qmparg = NULL, *drive = NULL;
        char out[65536];
        size_t len = 0;
        int pipefd[2], status;
        uint64_t t0;
        pid_t pid;

        if (!kernel || !initrd || !qmp)
                return -ENOMEM;
        qmparg = zero_strdup_printf("unix:%s,server=on,wait=off", qmp);
        drive = zero_strdup_printf("file=%s,if=none,id=d0,format=raw,cache=none,aio=threads", disk);
        char *argv[] = {"qemu-system-x86_64", "-nodefaults", "-no-user-config", "-machine", "q35,memory-backend=mem",
                        "-accel", "tcg", "-cpu", "max", "-smp", "1", "-object",
                        "memory-backend-memfd,id=mem,size=256M,share=on", "-m", "256M", "-display", "none", "-chardev",
                        "stdio,id=console,signal=off", "-serial", "chardev:console", "-qmp", qmparg, "-no-reboot",
                        "-kernel", kernel, "-initrd", initrd, "-append",
                        "console=ttyS0 quiet panic=-1 zero.root=/dev/vda zero.cmd=" MARKER_CMD64, "-drive", drive,
                        "-device", "virtio-blk-pci,drive=d0", NULL};
        if (!qmparg || !drive || pipe2(pipefd, O_CLOEXEC) < 0)
                return -ENOMEM;
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
        *ret_running = 0;
        while (now_us() - t0 < TIMEOUT_MS * 1000ULL) {
                struct pollfd p = {.fd = pipefd[0], .events = POLLIN};
                if (!*ret_running && qmp_answers(qmp))
                        *ret_running = now_us() - t0;
                if (poll(&p, 1, *ret_running ? 20 : 1) == 1) {
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
        }
        close(pipefd[0]);
        kill(pid, SIGKILL);
        (void) waitpid(pid, &status, 0);
        if (!*ret_running || !strstr(out, MARKER))
                return bench_fail(b, -ETIMEDOUT, "plain QEMU did not print the marker: %.300s", out);
        return 0;
}

int main(int argc, char *argv[]) {
        struct bench b = {.zerod = ZERO_ZEROD, .shim = ZERO_SHIM, .plugin_dir = ZERO_PLUGIN_DIR, .source_dir = ZERO_SOURCE_DIR};
        unsigned runs = 10;
        uint64_t *api_run_t, *api_marker_t, *plain_run_t, *plain_marker_t;
        int c, r = 0;

        while ((c = getopt(argc, argv, "n:")) >= 0)
                if (c == 'n')
                        runs = (unsigned) atoi(optarg);
                else
                        return fprintf(stderr, "usage: %s [-n RUNS]\n", argv[0]), 2;
        if (runs < 2)
                return fprintf(stderr, "need -n >= 2\n"), 2;
        api_run_t = calloc(runs, sizeof(uint64_t));
        api_marker_t = calloc(runs, sizeof(uint64_t));
        plain_run_t = calloc(runs, sizeof(uint64_t));
        plain_marker_t = calloc(runs, sizeof(uint64_t));
        signal(SIGPIPE, SIG_IGN);

        _cleanup_free_ char *img = NULL, *disk = NULL, *body = NULL, *rootfs_arg = NULL;
        if ((r = bench_tmp_new(&b)) < 0)
                goto out;
        img = bench_path(&b, "img");
        disk = bench_path(&b, "plain-root.ext4");
        if ((r = build_image(&b, ZERO_BUILD_DIR "/image-cache", img)) < 0)
                goto out;
        rootfs_arg = zero_strdup_printf("%s/rootfs", img);
        char *mkfs[] = {"mkfs.ext4", "-q", "-F", "-d", rootfs_arg, disk, "128M", NULL};
        if ((r = bench_run(&b, mkfs)) < 0 || (r = bench_zerod_start(&b, NULL)) < 0)
                goto out;
        body = zero_strdup_printf("{\"name\":\"bbvm\",\"source\":\"%s/rootfs\",\"kernel\":\"%s/vmlinuz\",\"initrd\":\"%s/initrd.img\"}",
                                  img, img, img);
        if ((r = bench_api(&b, "POST", "/v1/images", body, 201, NULL)) < 0)
                goto out;
        for (unsigned i = 0; i < runs; i++) {
                if ((r = api_run(&b, "bbvm", i, &api_run_t[i], &api_marker_t[i])) < 0 ||
                    (r = plain_run(&b, img, disk, &plain_run_t[i], &plain_marker_t[i])) < 0)
                        goto out;
                fprintf(stderr, "run %u: API %.0f/%.0f ms, plain %.0f/%.0f ms\n", i, api_run_t[i] / 1000.0,
                        api_marker_t[i] / 1000.0, plain_run_t[i] / 1000.0, plain_marker_t[i] / 1000.0);
        }
        printf("%-36s %8s %8s %8s %8s  (ms)\n", "", "median", "p99", "min", "max");
        double ar = bench_stats("API create to QEMU running", api_run_t, runs);
        double pr = bench_stats("plain QEMU to QMP answering", plain_run_t, runs);
        double am = bench_stats("API create to the guest's marker", api_marker_t, runs);
        double pm = bench_stats("plain QEMU to the guest's marker", plain_marker_t, runs);
        printf("\nto QEMU running, medians: API %.1f ms vs plain %.1f ms\n", ar / 1000.0, pr / 1000.0);
        printf("to the guest's marker, medians: %.2fx   target <= 1.2x (issue), 1.05x (blueprint): %s\n", am / pm,
               am / pm <= 1.2 ? "met" : "MISSED");
out:
        if (r < 0)
                fprintf(stderr, "bench_vm_start: %s\n", b.err.message);
        if (bench_cleanup(&b, NULL) < 0 && r >= 0) {
                fprintf(stderr, "bench_vm_start: %s\n", b.err.message);
                r = -EBUSY;
        }
        free(api_run_t);
        free(api_marker_t);
        free(plain_run_t);
        free(plain_marker_t);
        return r < 0 ? 1 : 0;
}
