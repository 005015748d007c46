/* SPDX-License-Identifier: Apache-2.0 */
/*
 * bench_switch: an instance's switch in place, container -> vm and vm -> container, through
 * zerod's API (POST /v1/instances/NAME/switch {"mode"}).
 *
 * One instance of the unified image (deploy/images/build-busybox-image), 256 MiB, one NIC on a
 * network, whose command appends its mode to /modes on its root volume and prints
 * "ZSW-MARK N MODE END", N the number of lines: every switch's marker is its own. It obeys
 * SIGTERM at once, so the graceful stop costs what the runtime's stop costs (SIGTERM to the
 * container; the ACPI power button and the guest's power-off for a VM), not a grace period.
 *
 * Per switch:
 *   running: the POST until GET /v1/operations/ID?wait=30 (a long-poll: it answers when the
 *            operation ends) says succeeded: old runtime stopped and cleaned up, the new one
 *            prepared, spawned, booted (a VM: QMP "cont", not the guest's boot) and running.
 *   marker:  the POST until the console (GET /v1/instances/NAME/console, polled every 5 ms once
 *            the operation succeeded) has this switch's marker: the guest's boot included.
 * and the durations of the operation's steps, from its "steps" in GET /v1/operations/ID.
 *
 * zerod runs in a network namespace of the benchmark's own (unshare after the image is built),
 * so that the network's bridge and the NIC's tap never touch the host's. One untimed round trip
 * first (the first VM start pays for cold caches), then -n round trips: vm, container, vm, ...
 *
 *   bench_switch [-n ROUND_TRIPS]
 */
#include <errno.h>
#include <getopt.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/util.h"
#include "tests/bench/harness.h"

#define NAME "sw"
#define TIMEOUT_MS 60000
#define TARGET_TO_VM_MS 300.0
#define TARGET_TO_CONTAINER_MS 200.0

/* The operation's steps, in the order zerod runs them (agent/instance_ops.c, switch_steps), but
 * evict, handover_load and handover, which pass at once between these two modes. */
static const char *const steps[] = {"stop", "cleanup", "card_down", "mode", "card_up", "prepare", "spawn", "boot", "running"};
#define N_STEPS ELEMENTSOF(steps)

enum { TO_VM, TO_CONTAINER, N_DIRS };
static const char *const dir_mode[N_DIRS] = {"vm", "container"};

struct figures {
        uint64_t *running, *marker, *step[N_STEPS];
        size_t n;
};

static uint64_t now_us(void) {
        return zero_monotonic_usec();
}

/* The command, as a JSON string for the create's body. In a VM the kernel command line carries
 * zero.cmd; in a container /proc/cmdline is the host's, without it. */
static const char COMMAND[] =
        "trap \\\"exit 0\\\" TERM\\n"
        "if grep -q zero.cmd /proc/cmdline; then m=vm; else m=container; fi\\n"
        "echo $m >> /modes; sync\\n"
        "n=$(wc -l </modes)\\n"
        "echo \\\"ZSW-MARK $((n)) $m END\\\"\\n"
        "sleep 1000 & wait";

static int build_image(struct bench *b, const char *cache, const char *out) {
        _cleanup_free_ char *script = zero_strdup_printf("%s/deploy/images/build-busybox-image", b->source_dir);
        char *argv[] = {script, (char *) out, NULL};

        if (!script)
                return -ENOMEM;
        setenv("ZERO_IMAGE_CACHE", cache, 0); /* an existing cache (the main build tree's) is welcome */
        return bench_run(b, argv);
}

/* Waits until the console's tail holds marker; ret_us is the time since t0. */
static int wait_marker(struct bench *b, const char *marker, uint64_t t0, uint64_t *ret_us) {
        for (;;) {
                int r = bench_api(b, "GET", "/v1/instances/" NAME "/console?bytes=16384", NULL, 200, NULL);
                if (r < 0)
                        return r;
                /* body_len, not body: an empty answer leaves the last one's text in b->body. */
                if (b->body_len && strstr(b->body, marker)) {
                        *ret_us = now_us() - t0;
                        return 0;
                }
                if (now_us() - t0 > TIMEOUT_MS * 1000ULL)
                        return bench_fail(b, -ETIMEDOUT, "no \"%s\" on the console after %d s", marker, TIMEOUT_MS / 1000);
                bench_sleep_ms(5);
        }
}

/* The k-th switch (k from 1; the create printed line 1) to mode, recorded at f[i] if f. */
static int switch_once(struct bench *b, unsigned k, const char *mode, struct figures *f, size_t i) {
        char body[64], marker[64];
        uint64_t t0 = now_us(), running, at_marker;
        json_auto_t *op = NULL;
        json_t *s;
        size_t j;
        int r;

        snprintf(body, sizeof(body), "{\"mode\":\"%s\"}", mode);
        snprintf(marker, sizeof(marker), "ZSW-MARK %u %s END", k + 1, mode);
        if ((r = bench_act(b, "POST", "/v1/instances/" NAME "/switch", body, NULL, NULL)) < 0)
                return r;
        running = now_us() - t0;
        /* bench_act's last answer is the operation that succeeded, with its steps. */
        op = json_loadb(b->body, b->body_len, 0, NULL);
        if ((r = wait_marker(b, marker, t0, &at_marker)) < 0)
                return r;
        fprintf(stderr, "switch %u to %s: running %.1f ms, marker %.0f ms; steps", k, mode, running / 1000.0,
                at_marker / 1000.0);
        json_array_foreach(json_object_get(op, "steps"), j, s)
                fprintf(stderr, " %s %.1f", strempty(json_string_value(json_object_get(s, "step"))),
                        (double) json_integer_value(json_object_get(s, "duration_us")) / 1000);
        fputc('\n', stderr);
        if (!f)
                return 0;
        f->running[i] = running;
        f->marker[i] = at_marker;
        json_array_foreach(json_object_get(op, "steps"), j, s) {
                const char *name = json_string_value(json_object_get(s, "step"));
                for (size_t st = 0; st < N_STEPS; st++)
                        if (name && streq(name, steps[st]))
                                f->step[st][i] = (uint64_t) json_integer_value(json_object_get(s, "duration_us"));
        }
        f->n = i + 1;
        return 0;
}

static int figures_alloc(struct figures *f, size_t n) {
        *f = (struct figures){.running = calloc(n, sizeof(uint64_t)), .marker = calloc(n, sizeof(uint64_t))};
        for (size_t st = 0; st < N_STEPS; st++)
                f->step[st] = calloc(n, sizeof(uint64_t));
        for (size_t st = 0; st < N_STEPS; st++)
                if (!f->step[st])
                        return -ENOMEM;
        return f->running && f->marker ? 0 : -ENOMEM;
}

static void figures_free(struct figures *f) {
        free(f->running);
        free(f->marker);
        for (size_t st = 0; st < N_STEPS; st++)
                free(f->step[st]);
}

/* Prints one direction; returns the median of "running" in ms. */
static double print_direction(const char *title, struct figures *f) {
        double med;

        printf("\n%s, %zu switches:\n", title, f->n);
        med = bench_stats("switch to new runtime running", f->running, f->n) / 1000;
        (void) bench_stats("switch to the command's marker", f->marker, f->n);
        for (size_t st = 0; st < N_STEPS; st++) {
                char what[48];
                snprintf(what, sizeof(what), "  step %s", steps[st]);
                (void) bench_stats(what, f->step[st], f->n);
        }
        return med;
}

int main(int argc, char *argv[]) {
        struct bench b = {.zerod = ZERO_ZEROD, .shim = ZERO_SHIM, .plugin_dir = ZERO_PLUGIN_DIR, .source_dir = ZERO_SOURCE_DIR};
        struct figures f[N_DIRS] = {};
        unsigned trips = 20, k = 0;
        int c, r = 0;

        while ((c = getopt(argc, argv, "n:")) >= 0)
                if (c == 'n')
                        trips = (unsigned) atoi(optarg);
                else
                        return fprintf(stderr, "usage: %s [-n ROUND_TRIPS]\n", argv[0]), 2;
        if (trips < 1)
                return fprintf(stderr, "need -n >= 1\n"), 2;
        for (int d = 0; d < N_DIRS; d++)
                if (figures_alloc(&f[d], trips) < 0)
                        return fprintf(stderr, "out of memory\n"), 1;
        signal(SIGPIPE, SIG_IGN);

        _cleanup_free_ char *img = NULL, *body = NULL;
        if ((r = bench_tmp_new(&b)) < 0)
                goto out;
        img = bench_path(&b, "img");
        if ((r = build_image(&b, ZERO_BUILD_DIR "/image-cache", img)) < 0)
                goto out;
        /* The benchmark and everything it starts get a network namespace of their own; it goes
         * away with the last of them. The API is a unix socket: not in any network namespace. */
        if (unshare(CLONE_NEWNET) < 0) {
                r = bench_fail(&b, -errno, "unshare(CLONE_NEWNET): %m");
                goto out;
        }
        if ((r = bench_run(&b, (char *const[]){"ip", "link", "set", "lo", "up", NULL})) < 0 ||
            (r = bench_zerod_start(&b, NULL)) < 0)
                goto out;
        body = zero_strdup_printf("{\"name\":\"bb\",\"source\":\"%s/rootfs\",\"kernel\":\"%s/vmlinuz\",\"initrd\":\"%s/initrd.img\"}",
                                  img, img, img);
        if ((r = bench_act(&b, "POST", "/v1/images", body, NULL, NULL)) < 0 ||
            (r = bench_api(&b, "POST", "/v1/networks", "{\"name\":\"net1\",\"subnet\":\"10.68.0.0/24\"}", 201, NULL)) < 0)
                goto out;
        free(body);
        body = zero_strdup_printf("{\"name\":\"" NAME "\",\"mode\":\"container\",\"image\":\"bb\",\"memory_mib\":256,"
                                  "\"nics\":[{\"network\":\"net1\"}],\"command\":[\"/bin/sh\",\"-c\",\"%s\"]}",
                                  COMMAND);
        uint64_t t0 = now_us(), created;
        if ((r = bench_act(&b, "POST", "/v1/instances", body, NULL, NULL)) < 0 ||
            (r = wait_marker(&b, "ZSW-MARK 1 container END", t0, &created)) < 0)
                goto out;
        fprintf(stderr, "created as a container, marker after %.0f ms\n", created / 1000.0);
        /* The untimed round trip. */
        if ((r = switch_once(&b, ++k, "vm", NULL, 0)) < 0 || (r = switch_once(&b, ++k, "container", NULL, 0)) < 0)
                goto out;
        for (unsigned i = 0; i < trips; i++)
                for (int d = 0; d < N_DIRS; d++)
                        if ((r = switch_once(&b, ++k, dir_mode[d], &f[d], i)) < 0)
                                goto out;

        printf("bench_switch: %u round trips (after one untimed), one instance: unified image, 256 MiB, one NIC\n", trips);
        printf("%-36s %8s %8s %8s %8s  (ms)\n", "", "median", "p99", "min", "max");
        double to_vm = print_direction("container -> vm", &f[TO_VM]);
        double to_ct = print_direction("vm -> container", &f[TO_CONTAINER]);
        printf("\ncontainer -> vm, to new runtime running, median %.1f ms   target <= %.0f ms: %s\n", to_vm,
               TARGET_TO_VM_MS, to_vm <= TARGET_TO_VM_MS ? "met" : "MISSED");
        printf("vm -> container, to new runtime running, median %.1f ms   target <= %.0f ms: %s\n", to_ct,
               TARGET_TO_CONTAINER_MS, to_ct <= TARGET_TO_CONTAINER_MS ? "met" : "MISSED");

        /* Gone through the API, network included, before the harness's cleanup checks for leftovers. */
        if ((r = bench_act(&b, "DELETE", "/v1/instances/" NAME "?force=true", NULL, NULL, NULL)) < 0 ||
            (r = bench_api(&b, "DELETE", "/v1/networks/net1", NULL, 204, NULL)) < 0)
                goto out;
out:
        if (r < 0)
                fprintf(stderr, "bench_switch: %s\n", b.err.message);
        if (bench_cleanup(&b, NULL) < 0 && r >= 0) {
                fprintf(stderr, "bench_switch: %s\n", b.err.message);
                r = -EBUSY;
        }
        for (int d = 0; d < N_DIRS; d++)
                figures_free(&f[d]);
        return r < 0 ? 1 : 0;
}
