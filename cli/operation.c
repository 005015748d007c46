/* SPDX-License-Identifier: Apache-2.0 */
#include "cli/operation.h"

#include <string.h>
#include <time.h>

#include "cli/output.h"
#include "common/util.h"

/* A server that answers "running" long before the wait it was asked for (one that ignores
 * ?wait=, or wakes waiters on every step) is polled at most this often. */
#define POLL_MIN_INTERVAL_USEC (100 * USEC_PER_MSEC)
/* How much longer than the requested wait a long-poll may take before it counts as lost. */
#define POLL_SLACK_S 5
/* The long-poll's wait while zerod is away with the host (a bms tenant has it). */
#define HOST_AWAY_WAIT_S 2

char *zeroctl_operation_poll_path(const char *location, const char *id, unsigned wait_s) {
        _cleanup_free_ char *escaped = NULL;

        if (location && location[0] == '/')
                return zero_strdup_printf("%s%cwait=%u", location,
                                          strchr(location, '?') ? '&' : '?', wait_s);
        if (!id || !*id)
                return NULL;
        escaped = zeroctl_path_escape(id);
        if (!escaped)
                return NULL;
        return zero_strdup_printf("/v1/operations/%s?wait=%u", escaped, wait_s);
}

static const char *str(const json_t *o, const char *key) {
        return json_string_value(json_object_get(o, key));
}

static void sleep_usec(uint64_t usec) {
        struct timespec ts = {.tv_sec = (time_t) (usec / USEC_PER_SEC),
                              .tv_nsec = (long) (usec % USEC_PER_SEC) * 1000};
        while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
                ;
}

int zeroctl_operation_id(const json_t *op, char **ret, struct zero_error *reterr) {
        if (!json_is_object(op) || !str(op, "id") || !str(op, "status"))
                return zero_error_set(reterr, -EBADMSG, ZERO_E_INTERNAL,
                                      "zerod answered without an operation (no id or status)");
        *ret = strdup(str(op, "id"));
        return *ret ? 0 : -ENOMEM;
}

/* Whether the card answered for the node (a bms tenant holds the host): its operations are a stop's
 * or switch's asked of it, or the hand-over's, and it answers their polls at once. */
static bool by_card(const json_t *o) {
        return streq(strempty(str(o, "answered_by")), "card");
}

/* Prints the steps of op beyond *n_printed (NULL: none), as they came; only counted with --json. */
static int print_new_steps(struct zeroctl *z, const json_t *op, size_t *n_printed) {
        json_t *steps = json_object_get(op, "steps"), *step;
        size_t i;
        int r;

        if (!n_printed)
                return 0;
        json_array_foreach (steps, i, step) {
                json_t *d = json_object_get(step, "duration_us");
                if (i < *n_printed)
                        continue;
                (*n_printed)++;
                if (z->opts.json)
                        continue;
                r = zeroctl_print_step(z->out, str(step, "step"),
                                       json_integer_value(d) > 0 ? (uint64_t) json_integer_value(d) : 0);
                if (r >= 0 && fflush(z->out) != 0)
                        r = -errno;
                if (r < 0)
                        return r;
        }
        return 0;
}

/* Whether zerod's silence is the host handed to a tenant: the operation was at its hand-over,
 * and the failure is not our own (refused to us, out of memory). The card answers at zerod's
 * address meanwhile (docs/api/card.yaml): 404 for what it does not route, operations included,
 * 503 for the rest; a connection may fail too. Bounded by the wait's deadline. */
static bool host_away(const json_t *cur, const char *step, int r) {
        return (streq(strempty(step), "handover") || streq(strempty(str(cur, "step")), "handover") || by_card(cur)) &&
               r != -EACCES && r != -EPERM && r != -ENOMEM;
}

static int print_line(struct zeroctl *z, const char *line) {
        if (z->opts.json)
                return 0;
        fprintf(z->out, "    %s\n", line);
        return fflush(z->out) != 0 ? -errno : 0;
}

int zeroctl_operation_wait(struct zeroctl *z, json_t *op, const char *location, unsigned timeout_s,
                           json_t **ret_final, struct zero_error *reterr) {
        return zeroctl_operation_wait_from(z, op, location, timeout_s, NULL, NULL, ret_final, reterr);
}

int zeroctl_operation_wait_from(struct zeroctl *z, json_t *op, const char *location, unsigned timeout_s,
                                const char *step, size_t *n_printed, json_t **ret_final, struct zero_error *reterr) {
        json_auto_t *cur = json_incref(op);
        uint64_t deadline = zero_monotonic_usec() + (uint64_t) timeout_s * USEC_PER_SEC;
        _cleanup_free_ char *id = NULL;
        const char *status;
        /* An operation the card answered with: the host is the tenant's already. */
        bool away = by_card(op);
        int r = 0;

        r = zeroctl_operation_id(op, &id, reterr);
        if (r < 0)
                return r;
        r = print_new_steps(z, op, n_printed);
        if (r < 0)
                return r;

        while (streq((status = strempty(str(cur, "status"))), "running")) {
                _cleanup_free_ char *path = NULL;
                uint64_t now = zero_monotonic_usec(), started;
                unsigned wait_s;
                json_t *next = NULL;

                if (now >= deadline) {
                        const char *at = str(cur, "step");
                        r = zero_error_set(reterr, -ETIME, ZERO_E_INTERNAL,
                                           "timed out after %u s waiting for operation %s%s%s%s; "
                                           "it goes on in zerod: see 'zeroctl op show %s'",
                                           timeout_s, id, at ? " (step " : "", strempty(at),
                                           at ? ")" : "", id);
                        break;
                }
                wait_s = (unsigned) ((deadline - now + USEC_PER_SEC - 1) / USEC_PER_SEC);
                if (wait_s > ZEROCTL_POLL_WAIT_S)
                        wait_s = ZEROCTL_POLL_WAIT_S;
                /* While the host is the tenant's, each look is short: the first to be answered
                 * ends the absence. */
                if (away && wait_s > HOST_AWAY_WAIT_S)
                        wait_s = HOST_AWAY_WAIT_S;
                path = zeroctl_operation_poll_path(location, id, wait_s);
                if (!path)
                        return -ENOMEM;
                started = zero_monotonic_usec();
                /* The server holds the request for up to wait_s: give it that plus slack. */
                r = zeroctl_http_call(z->http, "GET", path, NULL, wait_s + POLL_SLACK_S, &next,
                                      NULL, reterr);
                /* A long-poll that never came back (a lost wake-up, a dropped connection) is
                 * asked again while the user's deadline allows. */
                if (r == -ETIMEDOUT && zero_monotonic_usec() < deadline && !host_away(cur, step, r)) {
                        if (reterr)
                                *reterr = (struct zero_error){};
                        r = 0;
                        continue;
                }
                /* zerod went with the host's kernel: looked for again until it is back. */
                if (r < 0 && host_away(cur, step, r) && zero_monotonic_usec() < deadline) {
                        if (reterr)
                                *reterr = (struct zero_error){};
                        if (!away && (r = print_line(z, "host handed to the tenant; the card answers")) < 0)
                                break;
                        away = true;
                        r = 0;
                        if (zero_monotonic_usec() - started < USEC_PER_SEC)
                                sleep_usec(USEC_PER_SEC);
                        continue;
                }
                if (r < 0)
                        break;
                if (away && by_card(next)) {
                        /* The card answers at once, without waiting: looked at again in a second. */
                        json_decref(cur);
                        cur = next;
                        if ((r = print_new_steps(z, cur, n_printed)) < 0)
                                break;
                        if (streq(strempty(str(cur, "status")), "running") &&
                            zero_monotonic_usec() - started < USEC_PER_SEC)
                                sleep_usec(USEC_PER_SEC);
                        continue;
                }
                if (away) {
                        away = false;
                        step = NULL;
                        if ((r = print_line(z, "host taken back: zerod answers again")) < 0) {
                                json_decref(next);
                                break;
                        }
                }
                if (!json_is_object(next) || !str(next, "status")) {
                        json_decref(next);
                        r = zero_error_set(reterr, -EBADMSG, ZERO_E_INTERNAL,
                                           "zerod answered %s without an operation status", path);
                        break;
                }
                json_decref(cur);
                cur = next;
                if ((r = print_new_steps(z, cur, n_printed)) < 0)
                        break;
                if (streq(str(cur, "status"), "running") &&
                    zero_monotonic_usec() - started < POLL_MIN_INTERVAL_USEC)
                        sleep_usec(POLL_MIN_INTERVAL_USEC);
        }

        if (r >= 0 && !streq(status, "succeeded")) {
                json_t *e = json_object_get(cur, "error");
                const char *message = str(e, "message"), *code = str(e, "code");

                if (message)
                {
                        r = zero_error_set(reterr, -EIO, zero_errc_from_name(code), "%s", message);
                        if (reterr) /* the operation's own spelling, for the message */
                                snprintf(reterr->detail, sizeof(reterr->detail), "%s", strempty(code));
                }
                else if (streq(status, "failed"))
                        r = zero_error_set(reterr, -EIO, ZERO_E_INTERNAL, "operation %s failed", id);
                else
                        r = zero_error_set(reterr, -EBADMSG, ZERO_E_INTERNAL,
                                           "operation %s ended with unknown status '%s'", id,
                                           status);
        }
        if (ret_final)
                *ret_final = TAKE_PTR(cur);
        return r;
}

int zeroctl_operation_run(struct zeroctl *z, const char *method, const char *path,
                          const json_t *body, unsigned timeout_s, const char *verb,
                          const char *done, const char *name, struct zero_error *reterr) {
        json_auto_t *op = NULL;
        json_auto_t *final = NULL;
        _cleanup_free_ char *location = NULL;
        int r, k;

        r = zeroctl_http_call(z->http, method, path, body, 0, &op, &location, reterr);
        if (r < 0)
                return r;
        if (timeout_s == 0) {
                if (!json_is_object(op))
                        return zero_error_set(reterr, -EBADMSG, ZERO_E_INTERNAL,
                                              "zerod answered without an operation");
                if (z->opts.json)
                        return zeroctl_print_json(z->out, op);
                fprintf(z->out, "%s %s accepted (operation %s)\n", verb, name,
                        strempty(str(op, "id")));
                return 0;
        }
        r = zeroctl_operation_wait(z, op, location, timeout_s, &final, reterr);
        /* With --json the final operation is the answer, also when it failed: a script reads
         * error.code from it; the message still goes to stderr. */
        if (z->opts.json && final) {
                k = zeroctl_print_json(z->out, final);
                if (r >= 0 && k < 0)
                        r = k;
        } else if (r >= 0)
                fprintf(z->out, "%s %s (operation %s)\n", done, name, str(final, "id"));
        return r;
}
