/* SPDX-License-Identifier: Apache-2.0 */
/*
 * zerod's own figures, under the names and units of the Prometheus client libraries' process
 * collector (client_golang's, client_python's), so that the dashboards and alerts written for
 * them work for zerod: CPU seconds, resident and virtual memory, open and allowed descriptors,
 * the start time. Each from the kernel at the scrape: a getrusage and three small reads of
 * /proc/self (the descriptors counted by a readdir of /proc/self/fd: one per instance's shim
 * connection and a few more, a few thousand at most).
 */
#include <dirent.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "agent/metrics.h"
#include "common/util.h"

/* Reads a small /proc file whole (NUL-terminated); -errno. */
static int read_small(const char *path, char *buf, size_t size) {
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
        ssize_t n;

        if (fd < 0)
                return -errno;
        n = read(fd, buf, size - 1);
        if (n < 0)
                return -errno;
        buf[n] = '\0';
        return 0;
}

/* /proc/stat's btime: after a line per CPU and the interrupts' (kilobytes on a big machine). */
static int boot_time(unsigned long long *ret) {
        FILE *f = fopen("/proc/stat", "re");
        _cleanup_free_ char *line = NULL;
        size_t size = 0;
        int r = -ENOENT;

        if (!f)
                return -errno;
        while (r < 0 && getline(&line, &size, f) > 0)
                if (sscanf(line, "btime %llu", ret) == 1)
                        r = 0;
        fclose(f);
        return r;
}

/* The start in seconds since the epoch, as client_golang computes it: the process' start in
 * clock ticks after boot (/proc/self/stat, field 22) and the boot time (/proc/stat, btime). It
 * does not change: read once. */
static double start_time(void) {
        static double start = -1;
        char stat[1024];
        const char *p;
        unsigned long long ticks = 0, btime = 0;

        if (start >= 0)
                return start;
        if (read_small("/proc/self/stat", stat, sizeof(stat)) < 0 || !(p = strrchr(stat, ')')))
                return 0;
        /* After "pid (comm)" (field 2 ends with the last parenthesis): 20 spaces to field 22. */
        for (int field = 2; field < 22 && p; field++)
                p = strchr(p + 1, ' ');
        if (!p || sscanf(p + 1, "%llu", &ticks) != 1)
                return 0;
        if (boot_time(&btime) < 0)
                return 0;
        start = (double) btime + (double) ticks / (double) sysconf(_SC_CLK_TCK);
        return start;
}

static long open_fds(void) {
        DIR *d = opendir("/proc/self/fd");
        struct dirent *de;
        long n = 0;

        if (!d)
                return -1;
        while ((de = readdir(d)))
                n += de->d_name[0] != '.';
        closedir(d);
        return n - 1; /* the directory's own descriptor */
}

void zero_metrics_process_write(FILE *f) {
        struct rusage ru;
        struct rlimit rl;
        char statm[128];
        unsigned long long pages = 0, resident = 0;
        long page = sysconf(_SC_PAGESIZE), fds = open_fds();

        if (getrusage(RUSAGE_SELF, &ru) == 0) {
                zero_prom_family(f, "process_cpu_seconds_total", "counter", "Total user and system CPU time spent in seconds.");
                zero_prom_sample(f, "process_cpu_seconds_total", NULL,
                                 (double) (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
                                         (double) (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6);
        }
        if (read_small("/proc/self/statm", statm, sizeof(statm)) >= 0 && sscanf(statm, "%llu %llu", &pages, &resident) == 2) {
                zero_prom_family(f, "process_resident_memory_bytes", "gauge", "Resident memory size in bytes.");
                zero_prom_sample_u64(f, "process_resident_memory_bytes", NULL, resident * (unsigned long long) page);
                zero_prom_family(f, "process_virtual_memory_bytes", "gauge", "Virtual memory size in bytes.");
                zero_prom_sample_u64(f, "process_virtual_memory_bytes", NULL, pages * (unsigned long long) page);
        }
        if (fds >= 0) {
                zero_prom_family(f, "process_open_fds", "gauge", "Number of open file descriptors.");
                zero_prom_sample_u64(f, "process_open_fds", NULL, (uint64_t) fds);
        }
        if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
                zero_prom_family(f, "process_max_fds", "gauge", "Maximum number of open file descriptors.");
                zero_prom_sample(f, "process_max_fds", NULL, rl.rlim_cur == RLIM_INFINITY ? -1 : (double) rl.rlim_cur);
        }
        if (start_time() > 0) {
                zero_prom_family(f, "process_start_time_seconds", "gauge",
                                 "Start time of the process since unix epoch in seconds.");
                zero_prom_sample(f, "process_start_time_seconds", NULL, start_time());
        }
}
