/* SPDX-License-Identifier: Apache-2.0 */
/* The plugins' handles on an instance (agent/services.c): one ctx per instance and plugin, stable,
 * each with a private data slot of its own (services set_data / get_data); the agent's release of
 * an instance calls every plugin's release() with that plugin's ctx, and forgets data a plugin
 * kept past it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "agent/agent.h"
#include "agent/plugin_loader.h"
#include "agent/services.h"

static struct zero_agent agent;

/* What each fake plugin's release() saw, and whether it frees its data there. */
static struct {
        struct zero_plugin_ctx *ctx;
        void *data;
        unsigned calls;
        bool keeps_data;
} seen[2];

static void release_common(int i, struct zero_plugin_ctx *ctx) {
        seen[i].ctx = ctx;
        seen[i].data = agent.services.get_data(ctx);
        seen[i].calls++;
        if (!seen[i].keeps_data)
                agent.services.set_data(ctx, NULL);
}

static void release_a(struct zero_plugin_ctx *ctx) {
        release_common(0, ctx);
}

static void release_b(struct zero_plugin_ctx *ctx) {
        release_common(1, ctx);
}

static const struct zero_plugin plugin_a = {.abi_version = ZERO_PLUGIN_ABI_VERSION, .size = sizeof(struct zero_plugin),
                                            .name = "a", .mode = "a", .ops = {.release = release_a}};
static const struct zero_plugin plugin_b = {.abi_version = ZERO_PLUGIN_ABI_VERSION, .size = sizeof(struct zero_plugin),
                                            .name = "b", .mode = "b", .ops = {.release = release_b}};
static struct zero_loaded_plugin items[] = {{.plugin = &plugin_a}, {.plugin = &plugin_b}};
static struct zero_plugin_set set = {.items = items, .n = 2};

static int setup(void **state) {
        agent = (struct zero_agent){.plugins = &set};
        agent.config = zero_config_new();
        assert_non_null(agent.config);
        zero_services_init(&agent);
        memset(seen, 0, sizeof(seen));
        return 0;
}

static int teardown(void **state) {
        zero_inst_free_all(&agent);
        agent.config = zero_config_free(agent.config);
        return 0;
}

static void test_ctx_per_plugin(void **state) {
        const struct zero_plugin_services *svc = &agent.services;
        struct zero_inst *i1, *i2, *again;
        int x, y;

        assert_true(ZERO_SERVICE_HAS(svc, set_data) && ZERO_SERVICE_HAS(svc, get_data));
        assert_int_equal(zero_inst_get(&agent, "00000000000000000000000000000001", "one", &i1), 0);
        assert_int_equal(zero_inst_get(&agent, "00000000000000000000000000000002", "two", &i2), 0);
        struct zero_plugin_ctx *a1 = zero_services_ctx(i1, &items[0]), *b1 = zero_services_ctx(i1, &items[1]);
        struct zero_plugin_ctx *a2 = zero_services_ctx(i2, &items[0]);

        /* Distinct per plugin and per instance, stable for the instance's life. */
        assert_ptr_not_equal(a1, b1);
        assert_ptr_not_equal(a1, a2);
        assert_int_equal(zero_inst_get(&agent, "00000000000000000000000000000001", "one", &again), 0);
        assert_ptr_equal(again, i1);
        assert_ptr_equal(zero_services_ctx(again, &items[0]), a1);

        /* Each slot is its own: NULL until set, and one plugin's data is not another's. */
        assert_null(svc->get_data(a1));
        assert_null(svc->get_data(b1));
        svc->set_data(a1, &x);
        svc->set_data(b1, &y);
        assert_ptr_equal(svc->get_data(a1), &x);
        assert_ptr_equal(svc->get_data(b1), &y);
        assert_null(svc->get_data(a2));
        assert_null(svc->get_data(NULL));

        /* Freeing the instance releases it in every plugin, each with its own ctx and data. */
        zero_inst_free(&agent, i1);
        assert_int_equal(seen[0].calls, 1);
        assert_int_equal(seen[1].calls, 1);
        assert_ptr_equal(seen[0].ctx, a1);
        assert_ptr_equal(seen[1].ctx, b1);
        assert_ptr_equal(seen[0].data, &x);
        assert_ptr_equal(seen[1].data, &y);
}

static void test_data_kept_past_release(void **state) {
        const struct zero_plugin_services *svc = &agent.services;
        struct zero_inst *i;
        int x;

        /* A plugin that forgets to drop its data: the agent clears the slot (and logs it), so the
         * ctx never hands stale data to anyone. */
        seen[1].keeps_data = true;
        assert_int_equal(zero_inst_get(&agent, "00000000000000000000000000000003", "three", &i), 0);
        struct zero_plugin_ctx *b = zero_services_ctx(i, &items[1]);
        svc->set_data(b, &x);
        zero_services_release(i);
        assert_int_equal(seen[1].calls, 1);
        assert_ptr_equal(seen[1].data, &x);
        assert_null(svc->get_data(b));
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_ctx_per_plugin, setup, teardown),
                cmocka_unit_test_setup_teardown(test_data_kept_past_release, setup, teardown),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
