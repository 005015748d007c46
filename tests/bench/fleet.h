/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/*
 * Many containers and load on the API, for the benchmarks that need them (bench_api,
 * bench_density): containers made and deleted by parallel clients, each with its own connection;
 * wrk's figures over TCP with a bearer token; the machine's load, printed with the figures (this
 * machine is shared).
 */
#include "tests/bench/harness.h"

/* The TCP port the benchmarks' zerod listens on besides its unix socket (plain HTTP on loopback,
 * in the benchmark's own network namespace). */
#define FLEET_PORT "18712"

struct wrk_opts {
        const char *wrk; /* the binary */
        unsigned threads, conns, seconds;
};

/* wrk's report, from its Lua done() hook. */
struct figure {
        double rps, p50_ms, p99_ms, bytes_per_req;
        long requests, errors;
};

/* One wrk run against path on FLEET_PORT, with the token and the extra headers (one "Name: value"
 * a line, or NULL). A run with any failed request (connect, read, status other than 2xx/3xx,
 * timeout) is a failure, not a figure. */
int wrk_run(struct bench *b, const struct wrk_opts *o, const char *token, const char *path, const char *headers,
            struct figure *ret);
/* "  what  req/s p50 p99 bytes  target: met|MISSED"; a target of 0 is none. */
void figure_print(const char *what, const struct figure *f, double rps_target, double p99_target);

/* Runs item(wb, i) for i in [from, to) in `workers` processes, each with a connection of its own
 * (wb: its copy of b) and the items i = from + k, from + k + workers, ...; the seconds it took. */
int fleet_run(struct bench *b, unsigned workers, unsigned from, unsigned to, int (*item)(struct bench *wb, unsigned i),
              double *ret_s);
/* Container c%04u (busybox, 16 MiB, sleeping) made through the API, running when this returns. */
int fleet_create(struct bench *wb, unsigned i);
/* Container c%04u deleted (forced); one that is not there (its create failed) is no failure. */
int fleet_delete(struct bench *wb, unsigned i);
/* Every one of the n containers is listed, and running. */
int fleet_check_running(struct bench *b, unsigned n);
/* In a network namespace of the benchmark's own (lo up): zerod (config conf, plus b->zerod_args),
 * the busybox image, and a read-only token for wrk (*ret_token, malloc'd). b's temp dir is made. */
int fleet_start(struct bench *b, const char *conf, char **ret_token);
/* The first `made` containers deleted by `workers` clients, zerod stopped, the rest cleared
 * (bench_cleanup); r's message printed as prog's. The exit status: 1 if r < 0 or anything failed. */
int fleet_end(struct bench *b, const char *prog, int r, unsigned made, unsigned workers);
/* SIGTERM, as systemd sends it (the containers run on), and zerod waited for (30 s at most). */
int fleet_zerod_stop(struct bench *b);
/* /proc/PID/schedstat: the time it ran and the time it waited, runnable, for a CPU (ns). On a
 * shared machine the wait is what other load took from the figures. */
int fleet_schedstat(pid_t pid, uint64_t *ret_run_ns, uint64_t *ret_wait_ns);
/* Raises the open-file limit to its hard limit (a container holds a shim connection in zerod). */
void fleet_raise_nofile(void);
/* "uptime WHEN: ..." */
void fleet_print_load(const char *when);
