/* SPDX-License-Identifier: Apache-2.0 */
/*
 * zero-test-dirtier MIB RATE: a guest program for bench_migrate (tests/bench/migrate.sh) that
 * dirties RATE MiB/s of a MIB MiB region, paced every millisecond: one 8-byte store per 4 KiB
 * page, the page's generation, round after round over the region. Before each store it checks
 * that the page still holds the generation it last wrote: a page a live migration lost (sent
 * before its last write and not again) comes back older, and the program says so ("DIRTIER LOST
 * page N: generation G, expected E") and exits 1. Once every 10 s it prints the rate it kept
 * ("DIRTIER n MiB/s"). Static, so that it runs in the busybox guest.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <time.h>

#define PAGE 4096UL

static uint64_t now_ns(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000000000ULL + (uint64_t) ts.tv_nsec;
}

int main(int argc, char **argv) {
        unsigned long mib, rate, pages, per_ms, next = 0, gen = 1, done = 0;
        uint64_t start, report, tick;
        volatile uint64_t *mem;
        struct timespec at;

        if (argc != 3 || (mib = strtoul(argv[1], NULL, 10)) == 0 || (rate = strtoul(argv[2], NULL, 10)) == 0) {
                fprintf(stderr, "usage: %s MIB RATE_MIB_PER_S\n", argv[0]);
                return 2;
        }
        pages = mib * (1024 * 1024 / PAGE);
        per_ms = rate * (1024 * 1024 / PAGE) / 1000;
        if (per_ms == 0)
                per_ms = 1;
        mem = mmap(NULL, pages * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
        if (mem == MAP_FAILED) {
                perror("mmap");
                return 1;
        }
        start = report = tick = now_ns();
        printf("DIRTIER %lu MiB at %lu MiB/s\n", mib, rate);
        fflush(stdout);
        for (;;) {
                for (unsigned long i = 0; i < per_ms; i++) {
                        volatile uint64_t *w = mem + next * (PAGE / sizeof(*mem));
                        uint64_t want = gen - 1;

                        if (*w != want) {
                                printf("DIRTIER LOST page %lu: generation %llu, expected %llu\n", next,
                                       (unsigned long long) *w, (unsigned long long) want);
                                fflush(stdout);
                                return 1;
                        }
                        *w = gen;
                        if (++next == pages) {
                                next = 0;
                                gen++;
                        }
                }
                done += per_ms;
                tick += 1000000;
                if (now_ns() - report >= 10000000000ULL) {
                        uint64_t t = now_ns();
                        printf("DIRTIER %llu MiB/s\n",
                               (unsigned long long) (done * PAGE / (1024 * 1024) * 1000000000ULL / (t - start)));
                        fflush(stdout);
                        report = t;
                }
                /* Paced on a grid: behind it (a slow or paused vCPU), no sleep until caught up. */
                at.tv_sec = (time_t) (tick / 1000000000ULL);
                at.tv_nsec = (long) (tick % 1000000000ULL);
                while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &at, NULL) == EINTR)
                        ;
        }
}
