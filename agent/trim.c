/* SPDX-License-Identifier: Apache-2.0 */
/* What zerod holds only while it works, given back when it goes quiet (trim.h). */
#include "agent/trim.h"

#include <fcntl.h>
#include <inttypes.h>
#include <malloc.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

#include "common/log.h"
#include "common/util.h"
#include "store/store.h"

/* /proc/self/smaps of zerod: ~1.2 KiB a mapping, about a hundred mappings (its libraries and
 * plugins); the bound only stops a runaway read. */
#define SMAPS_MAX (8 * 1024 * 1024)
/* At most one trim a second after operations (zero_trim_when_idle()). */
#define TRIM_INTERVAL_USEC USEC_PER_SEC

/* VmRSS in KiB, -1 when it cannot be read. */
static long rss_kib(void) {
        _cleanup_free_ char *text = NULL;
        const char *p;
        long kib;

        if (zero_read_file("/proc/self/status", 64 * 1024, &text, NULL) < 0 || !(p = strstr(text, "\nVmRSS:")) ||
            sscanf(p, "\nVmRSS: %ld kB", &kib) != 1)
                return -1;
        return kib;
}

struct vma {
        uintptr_t start, end;
        bool candidate; /* a file's, private, not writable, and resident */
        long anon_kib;  /* pages of it written since it was mapped (copy-on-write) */
};

static void vma_drop(const struct vma *v, size_t *dropped) {
        if (!v->candidate || v->anon_kib != 0)
                return;
        if (madvise((void *) v->start, v->end - v->start, MADV_DONTNEED) == 0)
                (*dropped)++;
}

/* The read-only file mappings without a written page, unmapped (trim.h). Returns how many. */
static size_t drop_file_pages(void) {
        _cleanup_free_ char *text = NULL;
        struct vma v = {};
        size_t dropped = 0;
        char *save = NULL;

        if (zero_read_file("/proc/self/smaps", SMAPS_MAX, &text, NULL) < 0)
                return 0;
        for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
                uintptr_t start, end;
                char perms[8];
                int path_at = 0;
                long kib;

                /* "START-END PERMS OFFSET DEV INODE [PATH]" begins a mapping's block. */
                if (sscanf(line, "%" SCNxPTR "-%" SCNxPTR " %7s %*s %*s %*s %n", &start, &end, perms, &path_at) == 3 &&
                    path_at > 0) {
                        vma_drop(&v, &dropped);
                        v = (struct vma){.start = start,
                                         .end = end,
                                         .candidate = line[path_at] == '/' && perms[1] == '-' && perms[3] == 'p',
                                         .anon_kib = -1};
                        continue;
                }
                if (sscanf(line, "Rss: %ld kB", &kib) == 1 && kib == 0)
                        v.candidate = false;
                else if (sscanf(line, "Anonymous: %ld kB", &kib) == 1)
                        v.anon_kib = kib;
        }
        vma_drop(&v, &dropped);
        return dropped;
}

void zero_trim(struct zero_agent *a) {
        uint64_t t0 = zero_monotonic_usec();
        long before = rss_kib(), after_store, after_heap, after;
        size_t cache = zero_store_cache_bytes(a->store), mappings;

        a->trimmed_at = t0;
        zero_store_release_memory(a->store);
        after_store = rss_kib();
        (void) malloc_trim(0);
        after_heap = rss_kib();
        mappings = drop_file_pages();
        after = rss_kib();
        log_debug("Trimmed: the store's cache %zu -> %zu KiB (VmRSS -%ld KiB), the heap -%ld KiB, %zu file mappings "
                  "-%ld KiB: VmRSS %ld KiB (%llu µs)",
                  cache / 1024, zero_store_cache_bytes(a->store) / 1024, before - after_store, after_store - after_heap,
                  mappings, after_heap - after, after, (unsigned long long) (zero_monotonic_usec() - t0));
}

static void trim_now(struct zero_agent *a) {
        a->trim_source = sd_event_source_disable_unref(a->trim_source);
        if (!a->ops)
                zero_trim(a);
}

static int on_trim_defer(sd_event_source *s, void *userdata) {
        trim_now(userdata);
        return 0;
}

static int on_trim_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        trim_now(userdata);
        return 0;
}

void zero_trim_when_idle(struct zero_agent *a) {
        uint64_t at = a->trimmed_at + TRIM_INTERVAL_USEC;
        int r;

        if (a->trim_source)
                return;
        /* Operations one after the other (a client's sequence, the crash tests' thousands) would
         * each pay the trim and then the faults of the pages it unmapped: at most one a second,
         * the last one of a burst once its second is over (one timer, then nothing). */
        if (a->trimmed_at && zero_monotonic_usec() < at)
                r = sd_event_add_time(a->event, &a->trim_source, CLOCK_MONOTONIC, at, USEC_PER_SEC / 10, on_trim_timer,
                                      a);
        else
                r = sd_event_add_defer(a->event, &a->trim_source, on_trim_defer, a);
        if (r < 0) {
                zero_trim(a); /* now rather than never */
                return;
        }
        (void) sd_event_source_set_priority(a->trim_source, SD_EVENT_PRIORITY_IDLE);
        (void) sd_event_source_set_description(a->trim_source, "trim");
}

void zero_trim_cancel(struct zero_agent *a) {
        a->trim_source = sd_event_source_disable_unref(a->trim_source);
}
