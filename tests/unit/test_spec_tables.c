/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The API's validation tables, without HTTP: request bodies for instances, volumes and networks
 * go through the core's validators (what the handlers call before anything is recorded) against
 * the seeded node of tests/fuzz/fuzz.c, and each is accepted or refused with its domain code and
 * a message naming the fault. The HTTP statuses these codes become are checked end to end by
 * tests/integration/bad_input.sh; here every case costs microseconds and needs no root.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "agent/card_spec.h"
#include "agent/http.h"
#include "agent/instance_spec.h"
#include "store/store.h"
#include "tests/fuzz/fuzz.h"

struct spec_case {
        const char *body;
        enum zero_errc code; /* what a refusal says; ignored when ok */
        const char *message; /* a part of the refusal's message; NULL: accepted */
};

/* body as the HTTP front reads it: a JSON object or ZERO_E_MALFORMED */
static int parse(const char *body, json_t **ret, struct zero_error *err) {
        return zero_http_body_parse(body, strlen(body), ret, err);
}

static void expect(const struct spec_case *c, int r, const struct zero_error *err) {
        if (!c->message) {
                if (r < 0)
                        fail_msg("refused %s: %s", c->body, err->message);
                return;
        }
        if (r >= 0)
                fail_msg("accepted %s, expected '%s'", c->body, c->message);
        if (err->code != c->code || !strstr(err->message, c->message))
                fail_msg("%s: %s '%s', expected %s '...%s...'", c->body, zero_errc_name(err->code), err->message,
                         zero_errc_name(c->code), c->message);
}

#define CMD "\"command\":[\"sh\"]"
static const struct spec_case instance_cases[] = {
        {"{\"name\":\"ok1\",\"image\":\"busybox\"," CMD "}", 0, NULL},
        {"{\"name\":\"ok2\",\"image\":\"busybox\",\"mode\":\"vm\",\"cpus\":2,\"memory_mib\":512," CMD "}", 0, NULL},
        {"{\"name\":", ZERO_E_MALFORMED, ""},
        {"[1,2]", ZERO_E_MALFORMED, ""},
        {"{\"image\":\"busybox\"," CMD "}", ZERO_E_INVALID, "name"},
        {"{\"name\":\"Bad_Name\",\"image\":\"busybox\"," CMD "}", ZERO_E_INVALID, "name"},
        {"{\"name\":\"-x\",\"image\":\"busybox\"," CMD "}", ZERO_E_INVALID, "name"},
        {"{\"name\":\"x\",\"image\":\"busybox\",\"mode\":\"mainframe\"," CMD "}", ZERO_E_INVALID, "mainframe"},
        {"{\"name\":\"x\",\"image\":\"busybox\",\"mode\":\"bms\"," CMD "}", ZERO_E_INVALID, "bms"},
        {"{\"name\":\"x\",\"image\":\"busybox\",\"cpus\":3," CMD "}", ZERO_E_INVALID, "cpus"},
        {"{\"name\":\"x\",\"image\":\"busybox\",\"cpus\":0," CMD "}", ZERO_E_INVALID, "cpus"},
        {"{\"name\":\"x\",\"image\":\"busybox\",\"memory_mib\":0," CMD "}", ZERO_E_INVALID, "memory_mib"},
        {"{\"name\":\"x\",\"image\":\"busybox\",\"command\":[]}", ZERO_E_INVALID, "command"},
        {"{\"name\":\"x\",\"image\":\"busybox\",\"command\":[1]}", ZERO_E_INVALID, "command"},
        {"{\"name\":\"x\",\"image\":\"busybox\"," CMD ",\"env\":[\"A=1\"]}", ZERO_E_INVALID, "env"},
        {"{\"name\":\"x\",\"image\":\"busybox\"," CMD ",\"pids_max\":0}", ZERO_E_INVALID, "pids_max"},
        {"{\"name\":\"x\",\"image\":\"busybox\"," CMD ",\"colour\":\"red\"}", ZERO_E_INVALID, "colour"},
        {"{\"name\":\"ok3\",\"image\":\"busybox\"," CMD ",\"stdin\":true}", 0, NULL},
        {"{\"name\":\"ok4\",\"image\":\"busybox\"," CMD ",\"stdin\":false}", 0, NULL},
        {"{\"name\":\"x\",\"image\":\"busybox\"," CMD ",\"stdin\":1}", ZERO_E_INVALID, "stdin: true or false"},
        {"{\"name\":\"x\",\"image\":\"busybox\"," CMD ",\"stdin\":\"yes\"}", ZERO_E_INVALID, "stdin"},
};

static int check_instance(struct zero_agent *a, json_t *body, struct zero_error *err) {
        struct zero_instance_row row = {};
        int r = zero_spec_validate(a, body, &row, err);

        zero_instance_row_done(&row);
        return r;
}

static const struct spec_case volume_cases[] = {
        {"{\"name\":\"v1\",\"size_bytes\":1048576}", 0, NULL},
        {"{\"name\":\"v2\",\"image\":\"busybox\"}", 0, NULL},
        {"{\"name\":\"v3\"}", ZERO_E_INVALID, "size_bytes is required"},
        {"{\"name\":\"v3\",\"size_bytes\":1024}", ZERO_E_INVALID, "size_bytes"},
        {"{\"name\":\"v3\",\"size_bytes\":2251799813685248}", ZERO_E_INVALID, "size_bytes"},
        {"{\"name\":\"v3\",\"image\":\"busybox\",\"size_bytes\":1048576}", ZERO_E_INVALID, "at least the image's"},
        {"{\"name\":\"v3\",\"image\":\"nope\"}", ZERO_E_INVALID, "image 'nope' does not exist"},
        {"{\"name\":\"data\",\"size_bytes\":1048576}", ZERO_E_CONFLICT, "exists already"},
        {"{\"name\":\"v3\",\"size_bytes\":1048576,\"qos\":1}", ZERO_E_INVALID, "unknown field 'qos'"},
        {"{\"size_bytes\":1048576}", ZERO_E_INVALID, "name"},
        {"[]", ZERO_E_MALFORMED, ""},
};

static int check_volume(struct zero_agent *a, json_t *body, struct zero_error *err) {
        struct zero_volume_spec spec = {};
        int r = zero_volume_spec_parse(body, &spec, err);

        return r < 0 ? r : zero_volume_spec_check(a, &spec, err);
}

static const struct spec_case network_cases[] = {
        {"{\"name\":\"n1\",\"subnet\":\"10.80.0.0/24\"}", 0, NULL},
        {"{\"name\":\"n1\",\"subnet\":\"10.80.0.0/33\"}", ZERO_E_INVALID, "subnet"},
        {"{\"name\":\"n1\",\"subnet\":\"10.80.0.5/24\"}", ZERO_E_INVALID, "subnet"},
        {"{\"name\":\"n1\",\"subnet\":\"127.1.0.0/24\"}", ZERO_E_INVALID, "which no network may use"},
        {"{\"name\":\"n1\",\"subnet\":\"224.0.0.0/24\"}", ZERO_E_INVALID, "which no network may use"},
        {"{\"name\":\"n1\",\"subnet\":\"10.77.0.128/25\"}", ZERO_E_CONFLICT, "overlaps network 'net'"},
        {"{\"name\":\"net\",\"subnet\":\"10.81.0.0/24\"}", ZERO_E_CONFLICT, "exists already"},
        {"{\"name\":\"n1\"}", ZERO_E_INVALID, "subnet"},
        {"{\"name\":\"n1\",\"subnet\":\"10.80.0.0/24\",\"mtu\":9000}", ZERO_E_INVALID, "unknown field 'mtu'"},
};

static int check_network(struct zero_agent *a, json_t *body, struct zero_error *err) {
        struct zero_network_spec spec = {};
        int r = zero_network_spec_parse(body, &spec, err);

        return r < 0 ? r : zero_network_spec_check(a, &spec, err);
}

/* Each case through the HTTP front's body parser, then check. */
static void run(const struct spec_case *cases, size_t n,
                int (*check)(struct zero_agent *a, json_t *body, struct zero_error *err)) {
        struct zero_agent *a = fuzz_agent();

        for (size_t i = 0; i < n; i++) {
                struct zero_error err = {};
                json_t *body = NULL;
                int r = parse(cases[i].body, &body, &err);

                if (r >= 0)
                        r = check(a, body, &err);
                expect(&cases[i], r, &err);
                json_decref(body);
        }
}

#define RUN(cases, check) run(cases, sizeof(cases) / sizeof(cases[0]), check)

static void test_instance_specs(void **state) {
        RUN(instance_cases, check_instance);
}

static void test_volume_specs(void **state) {
        RUN(volume_cases, check_volume);
}

static void test_network_specs(void **state) {
        RUN(network_cases, check_network);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_instance_specs),
                cmocka_unit_test(test_volume_specs),
                cmocka_unit_test(test_network_specs),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
