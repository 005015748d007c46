/* SPDX-License-Identifier: Apache-2.0 */
/*
 * bench_card_io: what the softcard's host block device costs, and how fast a volume is cloned.
 *
 *   1. Clone time: volume_create() of a copy-on-write clone of an image's base file, N times
 *      (median, p99), each deleted again.
 *   2. fio, 4k random read and random write, O_DIRECT, on the raw base file and on a clone's host
 *      block device (/dev/loopN over qemu-storage-daemon's FUSE export of the qcow2 clone), one
 *      after the other in one run: IOPS and p99 completion latency of each, and their ratios.
 *      Queue depth 1 (psync) shows the per-request cost of the path; depth 16 (libaio) how much
 *      of it overlaps.
 *
 * It drives the card driver directly (include/zero/card.h), not zerod's API: the figures are
 * the card's. Needs root, qemu-storage-daemon, qemu-img, mkfs.ext4 and fio.
 *
 *   bench_card_io [-n CLONES] [-t FIO_SECONDS] [-s SIZE_MIB] [-d DIR]
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
#include <systemd/sd-event.h>
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

        /* Cold caches for each figure: the loop device reads its backing file through the page
         * cache (softcard keeps it buffered), the raw file is read O_DIRECT. */
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

int main(int argc, char *argv[]) {
        unsigned clones = 50, seconds = 10, size_mib = 256;
        const char *parent = "/var/tmp";
        sd_event *e = NULL;
        struct zero_card *card = NULL;
        struct zero_error err = {};
        const struct zero_card_driver *d = zero_card_driver_entry();
        char dir[256], id[33], loop[ZERO_CARD_PATH_MAX];
        _cleanup_free_ char *vpath = NULL;
        uint64_t *t = NULL;
        int c, r;

        while ((c = getopt(argc, argv, "n:t:s:d:")) >= 0)
                switch (c) {
                case 'n': clones = (unsigned) atoi(optarg); break;
                case 't': seconds = (unsigned) atoi(optarg); break;
                case 's': size_mib = (unsigned) atoi(optarg); break;
                case 'd': parent = optarg; break;
                default:
                        fprintf(stderr, "usage: %s [-n CLONES] [-t FIO_SECONDS] [-s SIZE_MIB] [-d DIR]\n", argv[0]);
                        return 2;
                }
        if (clones < 2 || seconds < 1 || size_mib < 16)
                return fprintf(stderr, "need -n >= 2, -t >= 1, -s >= 16\n"), 2;
        snprintf(dir, sizeof(dir), "%s/zero-bench-card.XXXXXX", parent);
        if (!mkdtemp(dir))
                return fprintf(stderr, "mkdtemp %s: %m\n", dir), 1;

        _cleanup_free_ char *state = zero_strdup_printf("%s/state", dir), *run = zero_strdup_printf("%s/run", dir);
        _cleanup_free_ char *base = zero_strdup_printf("%s/base.ext4", dir), *sz = zero_strdup_printf("%uM", size_mib);
        _cleanup_free_ char *fio_json = zero_strdup_printf("%s/fio.json", dir);
        fio_output = fio_json;
        _cleanup_free_ char *fill_name = zero_strdup_printf("--filename=%s", base), *fill_size = zero_strdup_printf("--size=%uM", size_mib);
        char *mkfs[] = {"mkfs.ext4", "-q", "-F", base, sz, NULL};
        /* Every block written: reads of a sparse file's holes would cost no I/O at all. */
        char *fill[] = {"fio", "--name=fill", fill_name, fill_size, "--rw=write", "--bs=1M", "--direct=1", "--output=/dev/null", NULL};
        if (zero_mkdir_p(state, 0700) < 0 || zero_mkdir_p(run, 0700) < 0 || zero_run_wait(mkfs, NULL) != 0 ||
            zero_run_wait(fill, NULL) != 0) {
                fprintf(stderr, "cannot set up %s\n", dir);
                goto out;
        }
        sd_event_default(&e);
        struct zero_card_env env = {sizeof(env), e, state, run, getenv("ZERO_SHIM") ?: ZERO_SHIM, config_none, lost,
                                    NULL};
        r = d->ops.open(&env, &card, &err);
        if (r < 0) {
                fprintf(stderr, "card open: %s\n", err.message);
                goto out;
        }

        /* 1. clone time, with nothing dirty left from making the base */
        drop_caches();
        t = calloc(clones, sizeof(uint64_t));
        for (unsigned i = 0; t && i < clones; i++) {
                _cleanup_free_ char *loc = zero_strdup_printf("qcow2:%s/clone-%u.qcow2", state, i);
                struct zero_card_volume v = {sizeof(v), id, loc, (uint64_t) size_mib << 20, base, 0, 0};
                uint64_t t0;

                zero_random_id(id);
                struct card_wait made = {}, gone = {};
                t0 = zero_monotonic_usec();
                r = card_wait(e, &made, d->ops.volume_create(card, &v, card_wait_done, &made, &err), &err);
                t[i] = zero_monotonic_usec() - t0;
                if (r < 0 || card_wait(e, &gone, d->ops.volume_delete(card, &v, card_wait_done, &gone, &err), &err) < 0) {
                        fprintf(stderr, "clone %u: %s\n", i, err.message);
                        goto out_card;
                }
        }
        qsort(t, clones, sizeof(*t), cmp_u64);
        printf("volume clone from an image (qcow2 over %u MiB raw base), %u clones: median %.2f ms, p99 %.2f ms "
               "(target <= 50 ms)\n",
               size_mib, clones, (double) percentile(t, clones, 0.5) / 1000.0, (double) percentile(t, clones, 0.99) / 1000.0);
        t = mfree(t);

        /* 2. fio on the raw base and on a clone's host block device */
        vpath = zero_strdup_printf("qcow2:%s/vol.qcow2", state); /* the softcard's locator */
        zero_random_id(id);
        struct zero_card_volume v = {sizeof(v), id, vpath, (uint64_t) size_mib << 20, base, 0, 0};
        struct card_wait made = {}, exported = {};
        if (card_wait(e, &made, d->ops.volume_create(card, &v, card_wait_done, &made, &err), &err) < 0 ||
            card_wait(e, &exported,
                      d->ops.volume_export(card, &v, ZERO_CARD_EXPORT_HOST_BLOCK, card_wait_done, &exported, &err),
                      &err) < 0) {
                fprintf(stderr, "export: %s\n", err.message);
                goto out_card;
        }
        snprintf(loop, sizeof(loop), "%s", exported.res.text);
        printf("\nfio 4k random I/O, O_DIRECT, %u s per figure; raw = %s, host block = %s (loop over FUSE over the qcow2 clone)\n",
               seconds, base, loop);
        printf("%-6s %-5s  %12s %12s  %12s %12s  %10s %10s\n", "rw", "depth", "raw IOPS", "raw p99 us", "hb IOPS",
               "hb p99 us", "IOPS ratio", "p99 ratio");
        static const char *const rws[] = {"read", "write"};
        static const unsigned depths[] = {1, 16};
        for (size_t i = 0; i < 2; i++)
                for (size_t k = 0; k < 2; k++) {
                        struct fio_result raw, hb;
                        if (run_fio(base, rws[i], depths[k], seconds, size_mib, &raw) < 0 ||
                            run_fio(loop, rws[i], depths[k], seconds, size_mib, &hb) < 0)
                                goto out_export;
                        printf("%-6s %-5u  %12.0f %12.1f  %12.0f %12.1f  %10.2f %10.2f\n", rws[i], depths[k], raw.iops,
                               raw.p99_us, hb.iops, hb.p99_us, hb.iops / raw.iops, hb.p99_us / raw.p99_us);
                        fflush(stdout);
                }
out_export: {
        struct card_wait gone = {};
        (void) card_wait(e, &gone, d->ops.volume_delete(card, &v, card_wait_done, &gone, &err), &err);
}
out_card:
        {
                /* The daemon outlives close() by design: stop it, it is the benchmark's. */
                _cleanup_free_ char *pidf = zero_strdup_printf("%s/qsd/pid", run), *pid = NULL;
                d->ops.close(card);
                if (zero_read_file(pidf, 32, &pid, NULL) >= 0 && atoi(pid) > 0)
                        kill(atoi(pid), SIGTERM);
                sleep(1);
        }
out:
        free(t);
        sd_event_unref(e);
        (void) zero_rm_rf(dir);
        return 0;
}
