/* SPDX-License-Identifier: Apache-2.0 */
/*
 * bench_card_io: what the softcard's host block device costs, and how fast a volume is cloned.
 *
 *   1. Clone time: volume_create() of a copy-on-write clone of an image's base file (ext4 on the
 *      filesystem of DIR, as an image's is), N times (median, p99), each deleted again: where the
 *      driver places it now (a raw file in its pool, FICLONE; the first clone, which makes the
 *      pool and copies the base into it, apart), and as qcow2 beside it (the clones from before
 *      the pool: qemu-img once per base and size, then a copy of that header).
 *   2. fio, 4k random read and random write, O_DIRECT, queue depth 1 (psync: the per-request
 *      cost of the path) and 16 (libaio: how much of it overlaps), on two clones of the base in
 *      the pool: one's raw file, and the other's host block device (a direct loop device over
 *      its file), the same filesystem and the same sharing of extents under both, run in turn
 *      (A B B A, -r times: the median of each side); with -l also a qcow2 clone's host block
 *      device the old way (a buffered loop device over qemu-storage-daemon's FUSE export).
 *      IOPS and p99 completion latency of each, and the ratios to the raw file.
 *
 * It drives the card driver directly (include/zero/card.h), not zerod's API: the figures are
 * the card's. Prints the machine, the date and the load average before and after. Needs root,
 * qemu-storage-daemon, qemu-img, mkfs.ext4, mkfs.xfs and fio.
 *
 *   bench_card_io [-n CLONES] [-t FIO_SECONDS] [-s SIZE_MIB] [-r ROUNDS] [-l] [-d DIR]
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <systemd/sd-event.h>
#include <time.h>
#include <unistd.h>

#include "common/util.h"
#include "io/softcard/softcard.h"
#include "tests/unit/card_wait.h"
#include "zero/card.h"

struct fio_result {
        double iops;
        double p99_us;
};

static int cmp_u64(const void *a, const void *b) {
        uint64_t x = *(const uint64_t *) a, y = *(const uint64_t *) b;
        return x < y ? -1 : x > y;
}

static uint64_t percentile(uint64_t *v, size_t n, double p) {
        size_t i = (size_t) (p * (double) (n - 1) + 0.5);
        return v[i < n ? i : n - 1];
}

static void drop_caches(void) {
        int fd;

        sync();
        fd = open("/proc/sys/vm/drop_caches", O_WRONLY | O_CLOEXEC);
        if (fd >= 0) {
                (void) !write(fd, "3\n", 2);
                close(fd);
        }
}

/* fio's JSON goes to a file: zero_run_wait() keeps only 4 KiB of output. */
static const char *fio_output;

static int run_fio(const char *target, const char *rw, unsigned depth, unsigned seconds, unsigned size_mib,
                   struct fio_result *ret) {
        char runtime[32], size[32], iodepth[32];
        const char *engine = depth > 1 ? "--ioengine=libaio" : "--ioengine=psync";
        _cleanup_free_ char *out = NULL, *filename = zero_strdup_printf("--filename=%s", target);
        _cleanup_free_ char *output = zero_strdup_printf("--output=%s", fio_output);
        json_error_t jerr;
        json_t *j, *job, *side;
        int r;

        /* Cold caches for each figure: the old way's loop device reads its backing file through
         * the page cache (buffered), the others are O_DIRECT end to end. */
        drop_caches();
        snprintf(runtime, sizeof(runtime), "--runtime=%u", seconds);
        snprintf(size, sizeof(size), "--size=%uM", size_mib);
        snprintf(iodepth, sizeof(iodepth), "--iodepth=%u", depth);
        char *argv[] = {"fio", "--name=bench", filename, "--direct=1", (char *) (streq(rw, "read") ? "--rw=randread" : "--rw=randwrite"),
                        "--bs=4k", (char *) engine, iodepth, runtime, "--time_based", size, "--output-format=json",
                        output, NULL};
        r = zero_run_wait(argv, &out);
        if (r != 0) {
                fprintf(stderr, "fio on %s failed (%d): %s\n", target, r, out ? out : "");
                return r < 0 ? r : -EIO;
        }
        j = json_load_file(fio_output, 0, &jerr);
        job = json_array_get(json_object_get(j, "jobs"), 0);
        side = json_object_get(job, streq(rw, "read") ? "read" : "write");
        if (!side) {
                json_decref(j);
                fprintf(stderr, "fio's output has no %s figures: %s\n", rw, jerr.text);
                return -EBADMSG;
        }
        ret->iops = json_real_value(json_object_get(side, "iops"));
        ret->p99_us = (double) json_integer_value(
                              json_object_get(json_object_get(json_object_get(side, "clat_ns"), "percentile"), "99.000000")) /
                      1000.0;
        json_decref(j);
        return 0;
}

static const char *config_none(void *userdata, const char *section, const char *key) {
        return NULL;
}

static void lost(void *userdata) {
        fprintf(stderr, "qemu-storage-daemon died during the benchmark\n");
}

static void print_load(const char *when) {
        _cleanup_free_ char *load = NULL;

        if (zero_read_file("/proc/loadavg", 256, &load, NULL) >= 0)
                printf("load average %s: %s", when, load);
}

static void print_machine(const char *dir) {
        _cleanup_free_ char *cpu = NULL;
        char date[64], *model;
        time_t now = time(NULL);
        struct utsname u;

        strftime(date, sizeof(date), "%Y-%m-%d %H:%M UTC", gmtime(&now));
        (void) uname(&u);
        model = zero_read_file("/proc/cpuinfo", 1 << 20, &cpu, NULL) >= 0 ? strstr(cpu, "model name") : NULL;
        if (model) {
                model = strchr(model, ':');
                model[strcspn(model, "\n")] = '\0';
        }
        printf("bench_card_io, %s: %s %s, %ld CPUs,%s; under %s\n", date, u.sysname, u.release, sysconf(_SC_NPROCESSORS_ONLN),
               model ? model + 1 : " ?", dir);
        print_load("at the start");
}

#define LOC_MAX sizeof(((struct zero_card_placement *) 0)->locator)

struct bench {
        sd_event *e;
        struct zero_card *card;
        const struct zero_card_driver *d;
        char *base, *state;
        uint64_t size;
};

static int make(struct bench *b, struct zero_card_volume *v, struct zero_error *err) {
        struct card_wait w = {};
        return card_wait(b->e, &w, b->d->ops.volume_create(b->card, v, card_wait_done, &w, err), err);
}

static int drop(struct bench *b, struct zero_card_volume *v, struct zero_error *err) {
        struct card_wait w = {};
        return card_wait(b->e, &w, b->d->ops.volume_delete(b->card, v, card_wait_done, &w, err), err);
}

static int export(struct bench *b, struct zero_card_volume *v, char ret[static ZERO_CARD_PATH_MAX],
                  struct zero_error *err) {
        struct card_wait w = {};
        int r = card_wait(b->e, &w,
                          b->d->ops.volume_export(b->card, v, ZERO_CARD_EXPORT_HOST_BLOCK, card_wait_done, &w, err),
                          err);
        if (r >= 0)
                snprintf(ret, ZERO_CARD_PATH_MAX, "%s", w.res.text);
        return r;
}

/* A clone of the base: at the driver's placement (qcow2 false) or as a qcow2 beside the state. */
static int clone_new(struct bench *b, bool qcow2, char id[static 33], char loc[static LOC_MAX],
                     struct zero_card_volume *ret, struct zero_error *err) {
        struct zero_card_placement pl = {};
        int r;

        zero_random_id(id);
        *ret = (struct zero_card_volume){sizeof(*ret), id, NULL, b->size, b->base, 0, 0};
        if (qcow2)
                snprintf(loc, LOC_MAX, "qcow2:%s/%s.qcow2", b->state, id);
        else if ((r = b->d->ops.volume_place(b->card, ret, &pl, err)) < 0)
                return r;
        else
                snprintf(loc, LOC_MAX, "%s", pl.locator);
        ret->locator = loc;
        return 0;
}

/* Clone time, n clones made and deleted one after the other. */
static int bench_clones(struct bench *b, bool qcow2, unsigned n, const char *what) {
        _cleanup_free_ uint64_t *t = calloc(n, sizeof(uint64_t));
        struct zero_error err = {};
        char id[33], loc[LOC_MAX];

        if (!t)
                return -ENOMEM;
        drop_caches(); /* nothing dirty left from making the base */
        for (unsigned i = 0; i < n; i++) {
                struct zero_card_volume v;
                uint64_t t0 = zero_monotonic_usec();
                int r = clone_new(b, qcow2, id, loc, &v, &err);
                if (r >= 0)
                        r = make(b, &v, &err);
                t[i] = zero_monotonic_usec() - t0;
                if (r >= 0 && i == 0 && !qcow2)
                        printf("volume clone, first (makes the pool, copies the %llu MiB base into it): %.1f ms\n",
                               (unsigned long long) (b->size >> 20), (double) t[i] / 1000.0);
                if (r < 0 || drop(b, &v, &err) < 0) {
                        fprintf(stderr, "clone %u: %s\n", i, err.message);
                        return -EIO;
                }
        }
        qsort(t + 1, n - 1, sizeof(*t), cmp_u64);
        printf("volume clone, %s, %u clones: median %.3f ms, p99 %.3f ms (target <= 50 ms)\n", what, n - 1,
               (double) percentile(t + 1, n - 1, 0.5) / 1000.0, (double) percentile(t + 1, n - 1, 0.99) / 1000.0);
        return 0;
}

static int cmp_double(const void *a, const void *b) {
        double x = *(const double *) a, y = *(const double *) b;
        return x < y ? -1 : x > y;
}

/* The median of each figure over rounds of target, run in turn with the others (A B B A ...). */
struct side {
        const char *target;
        double iops[16], p99[16];
        unsigned n;
};

static double median(double *v, unsigned n) {
        qsort(v, n, sizeof(*v), cmp_double);
        return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

int main(int argc, char *argv[]) {
        unsigned clones = 50, seconds = 10, size_mib = 256, rounds = 1;
        bool legacy = false;
        const char *parent = "/var/tmp";
        struct bench b = {.d = zero_card_driver_entry()};
        struct zero_error err = {};
        char dir[256];
        int c, r;

        while ((c = getopt(argc, argv, "n:t:s:r:ld:")) >= 0)
                switch (c) {
                case 'n': clones = (unsigned) atoi(optarg); break;
                case 't': seconds = (unsigned) atoi(optarg); break;
                case 's': size_mib = (unsigned) atoi(optarg); break;
                case 'r': rounds = (unsigned) atoi(optarg); break;
                case 'l': legacy = true; break;
                case 'd': parent = optarg; break;
                default:
                        fprintf(stderr, "usage: %s [-n CLONES] [-t FIO_SECONDS] [-s SIZE_MIB] [-r ROUNDS] [-l] [-d DIR]\n",
                                argv[0]);
                        return 2;
                }
        if (clones < 3 || seconds < 1 || size_mib < 16 || rounds < 1 || rounds > 8)
                return fprintf(stderr, "need -n >= 3, -t >= 1, -s >= 16, 1 <= -r <= 8\n"), 2;
        snprintf(dir, sizeof(dir), "%s/zero-bench-card.XXXXXX", parent);
        if (!mkdtemp(dir))
                return fprintf(stderr, "mkdtemp %s: %m\n", dir), 1;
        print_machine(dir);

        b.size = (uint64_t) size_mib << 20;
        b.state = zero_strdup_printf("%s/state", dir);
        b.base = zero_strdup_printf("%s/base.ext4", dir);
        _cleanup_free_ char *run = zero_strdup_printf("%s/run", dir), *sz = zero_strdup_printf("%uM", size_mib);
        _cleanup_free_ char *fio_json = zero_strdup_printf("%s/fio.json", dir);
        fio_output = fio_json;
        _cleanup_free_ char *fill_name = zero_strdup_printf("--filename=%s", b.base), *fill_size = zero_strdup_printf("--size=%uM", size_mib);
        char *mkfs[] = {"mkfs.ext4", "-q", "-F", b.base, sz, NULL};
        /* Every block written: reads of a sparse file's holes would cost no I/O at all. */
        char *fill[] = {"fio", "--name=fill", fill_name, fill_size, "--rw=write", "--bs=1M", "--direct=1", "--output=/dev/null", NULL};
        if (zero_mkdir_p(b.state, 0700) < 0 || zero_mkdir_p(run, 0700) < 0 || zero_run_wait(mkfs, NULL) != 0 ||
            zero_run_wait(fill, NULL) != 0) {
                fprintf(stderr, "cannot set up %s\n", dir);
                goto out;
        }
        sd_event_default(&b.e);
        struct zero_card_env env = {sizeof(env), b.e, b.state, run, getenv("ZERO_SHIM") ?: ZERO_SHIM, config_none, lost,
                                    NULL};
        r = b.d->ops.open(&env, &b.card, &err);
        if (r < 0) {
                fprintf(stderr, "card open: %s\n", err.message);
                goto out;
        }

        /* 1. clone time */
        if (bench_clones(&b, false, clones, "raw in the pool (FICLONE)") < 0 ||
            bench_clones(&b, true, clones, "qcow2 (before the pool: qemu-img once, a header copied)") < 0)
                goto out_card;

        /* 2. fio: a clone's file, another clone's host block device, and the old way's */
        struct zero_card_volume vol[3];
        char ids[3][33], locs[3][LOC_MAX], dev[3][LOC_MAX];
        unsigned made = 0;
        for (; made < (legacy ? 3U : 2U); made++)
                if (clone_new(&b, made == 2, ids[made], locs[made], &vol[made], &err) < 0 ||
                    make(&b, &vol[made], &err) < 0 || (made > 0 && export(&b, &vol[made], dev[made], &err) < 0)) {
                        fprintf(stderr, "clone for fio: %s\n", err.message);
                        goto out_volumes;
                }
        snprintf(dev[0], sizeof(dev[0]), "%s", strchr(locs[0], ':') + 1);
        printf("\nfio 4k random I/O, O_DIRECT, %u s per figure, median of %u; raw = a clone's file %s; "
               "hb = another clone's host block device %s (direct loop over its file)%s%s%s\n",
               seconds, rounds, dev[0], dev[1], legacy ? "; old = a qcow2 clone's " : "", legacy ? dev[2] : "",
               legacy ? " (buffered loop over the daemon's FUSE export)" : "");
        printf("%-6s %-5s  %10s %10s  %10s %10s  %8s %8s", "rw", "depth", "raw IOPS", "raw p99us", "hb IOPS",
               "hb p99us", "hb/raw", "p99 x");
        if (legacy)
                printf("  %10s %10s  %8s", "old IOPS", "old p99us", "old/raw");
        printf("\n");
        fflush(stdout);
        static const char *const rws[] = {"read", "write"};
        static const unsigned depths[] = {1, 16};
        for (size_t i = 0; i < 2; i++)
                for (size_t k = 0; k < 2; k++) {
                        struct side sides[3] = {{.target = dev[0]}, {.target = dev[1]}, {.target = dev[2]}};
                        unsigned n_sides = legacy ? 3 : 2;
                        for (unsigned round = 0; round < rounds; round++)
                                for (unsigned j = 0; j < n_sides; j++) {
                                        /* A B (C) in even rounds, (C) B A in odd ones. */
                                        struct side *sd = &sides[round % 2 ? n_sides - 1 - j : j];
                                        struct fio_result res;
                                        if (run_fio(sd->target, rws[i], depths[k], seconds, size_mib, &res) < 0)
                                                goto out_volumes;
                                        sd->iops[sd->n] = res.iops;
                                        sd->p99[sd->n++] = res.p99_us;
                                }
                        double iops[3], p99[3];
                        for (unsigned j = 0; j < n_sides; j++) {
                                iops[j] = median(sides[j].iops, sides[j].n);
                                p99[j] = median(sides[j].p99, sides[j].n);
                        }
                        printf("%-6s %-5u  %10.0f %10.1f  %10.0f %10.1f  %8.2f %8.2f", rws[i], depths[k], iops[0], p99[0],
                               iops[1], p99[1], iops[1] / iops[0], p99[1] / p99[0]);
                        if (legacy)
                                printf("  %10.0f %10.1f  %8.2f", iops[2], p99[2], iops[2] / iops[0]);
                        printf("\n");
                        fflush(stdout);
                }
        printf("target: hb/raw >= 0.80 at depth 1 and 16, read and write\n");
        print_load("at the end");
out_volumes:
        for (unsigned j = 0; j < made; j++)
                (void) drop(&b, &vol[j], &err); /* unexports first */
out_card: {
        /* The daemon outlives close() by design: stop it, it is the benchmark's. */
        _cleanup_free_ char *pidf = zero_strdup_printf("%s/qsd/pid", run), *pid = NULL;
        b.d->ops.close(b.card);
        if (zero_read_file(pidf, 32, &pid, NULL) >= 0 && atoi(pid) > 0)
                kill(atoi(pid), SIGTERM);
        sleep(1);
}
out:
        sd_event_unref(b.e);
        (void) zero_rm_rf(dir);
        free(b.base);
        free(b.state);
        return 0;
}
