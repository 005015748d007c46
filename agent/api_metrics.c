/* SPDX-License-Identifier: Apache-2.0 */
/*
 * GET /metrics: the Prometheus text format 0.0.4 (common/prom.h) of what the core counts
 * (agent/metrics.h) and of the API's own requests, counted here as each reply is queued (the
 * server's completed hook).
 *
 * The requests are labelled by the route's pattern as the router has it ("/v1/instances/{}"),
 * never by the raw URL, so that the series are bounded by the route table: a route's statuses
 * are kept in HTTP_CODES_MAX slots (the statuses a route answers are a handful: 200, 202, 304,
 * 404, 409, 422, 503...), any more counted as code="other". The requests answered before they were
 * routed (401 to a caller without a token, 404 to an unknown path, 414) share one route,
 * route="unmatched", method="any", so a scanner's paths never become series.
 *
 * Who may scrape: anyone the API lets read (http_auth.c): root or [api] socket_group on the unix
 * socket, a bearer token of role "read" (or admin) over TLS. docs/api/openapi.yaml and README.md
 * show the scrape configuration.
 */
#include <stdio.h>
#include <string.h>

#include "agent/agent.h"
#include "agent/api.h"
#include "agent/http_front.h"
#include "agent/metrics.h"
#include "common/prom.h"
#include "common/util.h"

#define HTTP_CODES_MAX 8

struct http_route_stats {
        struct {
                unsigned status; /* 0: free */
                uint64_t n;
        } codes[HTTP_CODES_MAX];
        uint64_t other_codes;
        struct zero_prom_histogram latency;
};

/* Seconds: a read from the view is ~0.1 ms, a create's 202 a few ms; long-polls wait up to
 * their ?wait= (300 s at most), which the top buckets keep apart. */
static const double latency_le[] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10, 60};
static const struct zero_prom_buckets latency_buckets = {latency_le, ELEMENTSOF(latency_le)};

int http_metrics_init(struct zero_front *f, const struct zero_route *routes) {
        size_t n = 0;

        while (routes[n].pattern)
                n++;
        f->route_stats = calloc(n + 1, sizeof(*f->route_stats));
        if (!f->route_stats)
                return -ENOMEM;
        f->routes = routes;
        f->n_routes = n;
        return 0;
}

void http_metrics_done(struct zero_front *f) {
        f->route_stats = mfree(f->route_stats);
}

void http_request_completed(struct zero_request *req, unsigned status, uint64_t usec, void *userdata) {
        struct zero_front *f = userdata;
        const struct zero_route *route = zero_request_route(req);
        size_t idx = route && route >= f->routes && route < f->routes + f->n_routes ? (size_t) (route - f->routes)
                                                                                   : f->n_routes;
        struct http_route_stats *st = &f->route_stats[idx];
        size_t i;

        zero_prom_observe(&st->latency, &latency_buckets, (double) usec / 1e6);
        for (i = 0; i < HTTP_CODES_MAX && st->codes[i].status && st->codes[i].status != status; i++)
                ;
        if (i == HTTP_CODES_MAX) {
                st->other_codes++;
                return;
        }
        st->codes[i].status = status;
        st->codes[i].n++;
}

static void route_labels(const struct zero_front *f, size_t idx, char *buf, size_t size) {
        buf[0] = '\0';
        (void) zero_prom_label(buf, size, "method", idx < f->n_routes ? f->routes[idx].method : "any");
        (void) zero_prom_label(buf, size, "route", idx < f->n_routes ? f->routes[idx].pattern : "unmatched");
}

/* The statuses each route answered so far, and its latency: a route appears with its first
 * request (40 routes' empty histograms would be 700 lines of zeros in every scrape). */
static void write_requests(const struct zero_front *f, FILE *out) {
        char labels[256], with_code[280];

        zero_prom_family(out, "zero_http_requests_total", "counter",
                         "API requests answered since zerod started, by method, route (the router's pattern) and "
                         "status code.");
        for (size_t idx = 0; idx <= f->n_routes; idx++) {
                const struct http_route_stats *st = &f->route_stats[idx];

                route_labels(f, idx, labels, sizeof(labels));
                for (size_t i = 0; i < HTTP_CODES_MAX && st->codes[i].status; i++) {
                        char code[16];
                        snprintf(code, sizeof(code), "%u", st->codes[i].status);
                        snprintf(with_code, sizeof(with_code), "%s", labels);
                        (void) zero_prom_label(with_code, sizeof(with_code), "code", code);
                        zero_prom_sample_u64(out, "zero_http_requests_total", with_code, st->codes[i].n);
                }
                if (st->other_codes > 0) {
                        snprintf(with_code, sizeof(with_code), "%s", labels);
                        (void) zero_prom_label(with_code, sizeof(with_code), "code", "other");
                        zero_prom_sample_u64(out, "zero_http_requests_total", with_code, st->other_codes);
                }
        }
        zero_prom_family(out, "zero_http_request_duration_seconds", "histogram",
                         "API requests by method and route: seconds from the request's headers to its reply (a "
                         "long-poll's wait included).");
        for (size_t idx = 0; idx <= f->n_routes; idx++) {
                if (f->route_stats[idx].latency.count == 0)
                        continue; /* 17 lines for nothing: the route appears with its first request */
                route_labels(f, idx, labels, sizeof(labels));
                zero_prom_histogram_write(out, "zero_http_request_duration_seconds", labels, &f->route_stats[idx].latency,
                                          &latency_buckets);
        }
}

void zero_api_get_metrics(struct zero_request *req) {
        struct zero_front *f = zero_http_userdata(zero_request_server(req));
        char *buf = NULL;
        size_t len = 0;
        FILE *out = open_memstream(&buf, &len);
        int r;

        if (!out)
                return zero_reply_error(req, 500, "internal", "out of memory");
        r = zero_metrics_write(f->agent, out);
        if (r >= 0)
                write_requests(f, out);
        if (fclose(out) != 0 && r >= 0)
                r = -ENOMEM;
        if (r < 0) {
                free(buf);
                return zero_api_store_error(req, r, "reading the metrics");
        }
        zero_reply_text(req, 200, ZERO_PROM_CONTENT_TYPE, buf, len);
}
