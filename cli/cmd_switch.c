/* SPDX-License-Identifier: Apache-2.0 */
/*
 * zeroctl switch NAME MODE: POST /v1/instances/NAME/switch, then each step as zerod finishes it
 * and the total time.
 *
 * The steps: zeroctl_operation_follow (follow.c), which also shows the host handed to a tenant
 * and taken back when the switch is to bms.
 */
#include <getopt.h>
#include <string.h>

#include "cli/operation.h"
#include "cli/output.h"
#include "cli/zeroctl.h"
#include "common/util.h"

/* Extra time the wait gets beyond the stop's grace period: the kill, the cleanup and the boot
 * in the new mode. */
#define SWITCH_WAIT_SLACK_S 30

int zeroctl_parse_switch(int argc, char **argv, struct zeroctl_switch_args *ret,
                         struct zero_error *reterr) {
        enum { OPT_GRACE = 0x100, OPT_FORCE, OPT_EVICT };
        static const struct option options[] = {
                {"grace", required_argument, NULL, OPT_GRACE},
                {"force", no_argument, NULL, OPT_FORCE},
                {"evict", required_argument, NULL, OPT_EVICT},
                {"help", no_argument, NULL, 'h'},
                {},
        };
        struct zeroctl_switch_args a = {.timeout_s = -1};
        int c, r;

        optind = 0;
        opterr = 0;
        while ((c = getopt_long(argc, argv, ":h", options, NULL)) >= 0) {
                switch (c) {
                case OPT_GRACE:
                        /* zerod's bound: an hour between SIGTERM and SIGKILL. */
                        r = zeroctl_parse_uint("--grace", optarg, 0, 3600, &a.timeout_s, reterr);
                        if (r < 0)
                                return r;
                        break;
                case OPT_FORCE:
                        a.force = true;
                        break;
                case OPT_EVICT:
                        a.evict = optarg;
                        break;
                case 'h':
                        return ZEROCTL_HELP;
                default:
                        return zeroctl_getopt_error(c, argv, reterr);
                }
        }
        r = zeroctl_instance_and_word(argc, argv, "mode (vm or container)", &a.name, &a.mode, reterr);
        if (r < 0)
                return r;
        *ret = a;
        return 0;
}

int zeroctl_switch_body(const struct zeroctl_switch_args *a, json_t **ret,
                        struct zero_error *reterr) {
        json_auto_t *body = json_object();
        int r;

        if (!body)
                return -ENOMEM;
        /* Whether zerod runs the mode here is zerod's to say (422, with its plugin's reason). */
        r = zeroctl_json_set_string(body, "mode", a->mode, "MODE", reterr);
        if (r < 0)
                return r;
        if (a->timeout_s >= 0 &&
            json_object_set_new(body, "timeout_s", json_integer(a->timeout_s)) < 0)
                return -ENOMEM;
        if (a->force && json_object_set_new(body, "force", json_true()) < 0)
                return -ENOMEM;
        if (a->evict && (r = zeroctl_json_set_string(body, "evict", a->evict, "--evict", reterr)) < 0)
                return r;
        *ret = TAKE_PTR(body);
        return 0;
}

static const char *str(const json_t *o, const char *key) {
        return json_string_value(json_object_get(o, key));
}

/* "web is a vm, running": the instance as zerod now has it. */
static int print_outcome(struct zeroctl *z, const char *name, const char *mode,
                         uint64_t total_usec) {
        _cleanup_free_ char *path = zeroctl_object_path("instances", name, NULL);
        _cleanup_free_ char *total = zeroctl_format_duration(total_usec);
        json_auto_t *inst = NULL;
        struct zero_error ignore = {};
        const char *m, *state;

        if (!path || !total)
                return -ENOMEM;
        /* The switch is done either way: a failed look at the result does not undo it. */
        (void) zeroctl_http_call(z->http, "GET", path, NULL, 0, &inst, NULL, &ignore);
        m = str(inst, "mode");
        state = str(inst, "state");
        if (m && state)
                fprintf(z->out, "%s is a%s %s, %s (total %s)\n", name,
                        m[0] && strchr("aeiou", m[0]) ? "n" : "", m, state, total);
        else
                fprintf(z->out, "switched %s to %s (total %s)\n", name, mode, total);
        return ferror(z->out) ? -EIO : 0;
}

int zeroctl_cmd_switch(struct zeroctl *z, int argc, char **argv, struct zero_error *reterr) {
        struct zeroctl_switch_args a;
        json_auto_t *body = NULL, *op = NULL, *final = NULL;
        _cleanup_free_ char *path = NULL, *location = NULL, *id = NULL;
        unsigned wait_s = z->opts.timeout_s;
        uint64_t started;
        int r, k;

        r = zeroctl_parse_switch(argc, argv, &a, reterr);
        if (r != 0)
                return r;
        r = zeroctl_switch_body(&a, &body, reterr);
        if (r < 0)
                return r;
        path = zeroctl_object_path("instances", a.name, "/switch");
        if (!path)
                return -ENOMEM;
        /* Waiting less than the grace period would report a timeout for a switch that is going
         * exactly as asked. */
        if (wait_s > 0 && a.timeout_s >= 0 && wait_s < a.timeout_s + SWITCH_WAIT_SLACK_S)
                wait_s = (unsigned) a.timeout_s + SWITCH_WAIT_SLACK_S;
        if (wait_s == 0) /* --timeout 0: do not wait */
                return zeroctl_evict_hint(zeroctl_operation_run(z, "POST", path, body, 0, "switch", "switched",
                                                                a.name, reterr),
                                          reterr);

        started = zero_monotonic_usec();
        r = zeroctl_http_call(z->http, "POST", path, body, 0, &op, &location, reterr);
        if (r < 0)
                return zeroctl_evict_hint(r, reterr);
        r = zeroctl_operation_id(op, &id, reterr);
        if (r < 0)
                return r;
        if (!z->opts.json) {
                fprintf(z->out, "switching %s to %s (operation %s)\n", a.name, a.mode, id);
                if (fflush(z->out) != 0)
                        return zero_error_set(reterr, -errno, ZERO_E_INTERNAL, "cannot write output: %m");
        }
        r = zeroctl_operation_follow(z, a.name, op, location, wait_s, &final, reterr);
        if (z->opts.json) {
                /* Also when it failed: a script reads error.code from it. */
                k = final ? zeroctl_print_json(z->out, final) : 0;
                return r < 0 ? r : k;
        }
        if (r < 0)
                return r;
        return print_outcome(z, a.name, a.mode, zero_monotonic_usec() - started);
}
