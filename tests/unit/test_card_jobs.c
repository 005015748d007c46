/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The agent's card jobs (agent/card_job.c) and the card's sync (agent/card.c) against a fake card
 * driver of card ABI 4 built into the test (fake_card.h), a temporary store and the agent's loop:
 * jobs on one object run one at a time and in order while jobs on others run side by side; the
 * same job is joined; whoever waits hears how it ended, from the loop; the row changes only once
 * the driver is done, and not at all when it failed or refused; a network the card refused to
 * make is taken back; the sync after a lost daemon waits for the ops under way and holds the next;
 * and a resize and a volume and network left half-done by an agent that died are finished by the
 * next one.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "agent/agent.h"
#include "agent/card.h"
#include "agent/card_job.h"
#include "agent/network_service.h"
#include "agent/operation.h"
#include "agent/volume_service.h"
#include "common/util.h"
#include "tests/unit/fake_card.h"

#define ID_INST "0123456789abcdef0123456789abcdef"
#define ID_V1 "11111111111111111111111111111111"
#define ID_V2 "22222222222222222222222222222222"
#define ID_NIC "33333333333333333333333333333333"
#define ID_NET "44444444444444444444444444444444"
#define MIB (1LL << 20)

struct env {
        char *dir, *state, *run;
        struct zero_agent a;
        struct zero_config *config;
};

/* The agent as zerod opens it: store, loop, the card opened, synced, its jobs resumed. */
static void env_open(struct env *e) {
        _cleanup_free_ char *db = zero_strdup_printf("%s/zero.db", e->dir);
        struct zero_error err = {};
        struct zero_card_env cenv = {.size = sizeof(cenv), .state_dir = e->state, .run_dir = e->run};

        e->a = (struct zero_agent){};
        e->config = zero_config_new();
        assert_non_null(e->config);
        assert_int_equal(zero_config_set(e->config, "agent", "state_dir", e->state, &err), 0);
        assert_int_equal(zero_config_set(e->config, "agent", "run_dir", e->run, &err), 0);
        assert_int_equal(zero_config_set(e->config, "agent", "shim", "/bin/false", &err), 0);
        assert_int_equal(zero_config_set(e->config, "agent", "plugin_dir", e->dir, &err), 0);
        assert_int_equal(zero_config_set(e->config, "images", "unpack_helper", "/bin/false", &err), 0);
        if (zero_config_finish(e->config, &err) < 0)
                fail_msg("config: %s", err.message);
        e->a.config = e->config;
        assert_int_equal(zero_store_open(db, &e->a.store, &err), 0);
        assert_int_equal(sd_event_new(&e->a.event), 0);
        cenv.event = e->a.event;
        e->a.card_driver = fake_card_driver();
        assert_int_equal(e->a.card_driver->ops.open(&cenv, &e->a.card, &err), 0);
        assert_int_equal(zero_card_sync(&e->a), 0);
        zero_card_jobs_resume(&e->a);
}

/* As zerod exits, or dies: ops under way are dropped, nobody hears of them. */
static void env_close(struct env *e) {
        zero_op_free_all(&e->a);
        e->a.card_driver->ops.close(e->a.card);
        zero_card_jobs_free(&e->a);
        e->a.store = zero_store_close(e->a.store);
        e->a.event = sd_event_unref(e->a.event);
        e->config = zero_config_free(e->config);
}

static void run_until(struct env *e, bool (*cond)(void *), void *arg) {
        uint64_t deadline = zero_monotonic_usec() + 5 * USEC_PER_SEC;

        while (!cond(arg)) {
                assert_true(zero_monotonic_usec() < deadline);
                assert_true(sd_event_run(e->a.event, 10 * 1000) >= 0);
        }
}

static void run_for(struct env *e, unsigned ms) {
        uint64_t end = zero_monotonic_usec() + ms * 1000ULL;

        while (zero_monotonic_usec() < end)
                assert_true(sd_event_run(e->a.event, 2 * 1000) >= 0);
}

/* --- one waiter --- */

struct heard {
        unsigned calls;
        int r;
        struct zero_error err;
};

static void on_heard(void *userdata, int r, const struct zero_error *err) {
        struct heard *h = userdata;

        h->calls++;
        h->r = r;
        h->err = err ? *err : (struct zero_error){};
}

static bool all_heard(void *arg) {
        for (struct heard **h = arg; *h; h++)
                if ((*h)->calls == 0)
                        return false;
        return true;
}

#define WAIT_ALL(e, ...) run_until((e), all_heard, (struct heard *[]){__VA_ARGS__, NULL})

static void job(struct env *e, enum zero_card_job_kind k, const char *object, const char *how, struct heard *h) {
        struct zero_error err = {};
        struct zero_card_job_req q = {.kind = k, .object = object, .how = how};

        assert_int_equal(zero_card_job(&e->a, &q, on_heard, h, &err), 0);
}

/* --- rows --- */

static void add_volume(struct env *e, const char *name, const char *id, const char *state) {
        struct zero_volume_row v = {.name = (char *) name, .id = (char *) id, .size_bytes = MIB,
                                    .locator = zero_strdup_printf("fake:%s", id), .format = (char *) "fake",
                                    .state = (char *) state, .created_at = 1, .updated_at = 1};
        struct zero_attachment_row at = {.volume = (char *) name, .instance_id = (char *) ID_INST,
                                         .role = (char *) "data", .personality = (char *) "virtio-blk",
                                         .idx = streq(id, ID_V1) ? 0 : 1};

        assert_int_equal(zero_store_volume_insert(e->a.store, &v), 0);
        free(v.locator);
        if (streq(state, "ready"))
                assert_int_equal(zero_store_attachment_insert(e->a.store, &at), 0);
}

static struct env *env_new(void) {
        const char *tmp = getenv("TMPDIR");
        struct env *e = calloc(1, sizeof(*e));
        struct zero_instance_row in = {.id = (char *) ID_INST, .name = (char *) "web", .mode = (char *) "alpha",
                                       .state = (char *) "stopped", .image = (char *) "img", .cpus = 1,
                                       .memory_mib = 64, .spec = (char *) "{}", .created_at = 1, .updated_at = 1};
        struct zero_image_row im = {.name = (char *) "img", .source = (char *) "/src", .path = (char *) "/img",
                                    .created_at = 1};

        assert_non_null(e);
        e->dir = zero_strdup_printf("%s/zero-test-cardjobs-XXXXXX", tmp && *tmp ? tmp : "/tmp");
        assert_non_null(mkdtemp(e->dir));
        e->state = zero_strdup_printf("%s/card", e->dir);
        e->run = zero_strdup_printf("%s/run", e->dir);
        assert_int_equal(zero_mkdir_p(e->state, 0700), 0);
        assert_int_equal(zero_mkdir_p(e->run, 0700), 0);
        fake_card_reset();
        env_open(e);
        assert_int_equal(zero_store_image_insert(e->a.store, &im), 0);
        assert_int_equal(zero_store_instance_insert(e->a.store, &in), 0);
        add_volume(e, "v1", ID_V1, "ready");
        add_volume(e, "v2", ID_V2, "ready");
        return e;
}

static int setup(void **state) {
        *state = env_new();
        return 0;
}

static int teardown(void **state) {
        struct env *e = *state;

        env_close(e);
        assert_int_equal(zero_rm_rf(e->dir), 0);
        free(e->dir);
        free(e->state);
        free(e->run);
        free(e);
        return 0;
}

/* The volumes' files on the fake card (setup made only their rows). */
static void make_on_card(struct env *e) {
        struct zero_volume_row row = {};
        struct heard h1 = {}, h2 = {};

        for (int i = 0; i < 2; i++) {
                assert_int_equal(zero_store_volume_get(e->a.store, i ? "v2" : "v1", &row), 0);
                assert_int_equal(zero_vol_set_state(&row, ZERO_VOL_CREATING), 0);
                assert_int_equal(zero_store_volume_update(e->a.store, &row), 0);
                zero_volume_row_done(&row);
        }
        job(e, ZERO_CARD_JOB_VOLUME, "v1", NULL, &h1);
        job(e, ZERO_CARD_JOB_VOLUME, "v2", NULL, &h2);
        WAIT_ALL(e, &h1, &h2);
        assert_int_equal(h1.r, 0);
        assert_int_equal(h2.r, 0);
        assert_true(fake_card_volume_exists(e->state, ID_V1));
        assert_true(fake_card_volume_exists(e->state, ID_V2));
}

static char *export_row(struct env *e, const char *volume) {
        struct zero_attachment_row at = {};
        char *kind;

        assert_int_equal(zero_store_attachment_get(e->a.store, volume, &at), 0);
        kind = at.export_kind ? zero_strdup_printf("%s %s", at.export_kind, strempty(at.export_path)) : NULL;
        zero_attachment_row_done(&at);
        return kind;
}

/* --- the tests --- */

/* An export, its unexport and the next export of one volume run one after the other, in order;
 * the other volume's export runs beside them; the same export asked twice is one job. */
static void test_queue_per_object(void **state) {
        struct env *e = *state;
        struct heard x1 = {}, u1 = {}, x1b = {}, x2 = {}, x2_again = {};
        _cleanup_free_ char *row1 = NULL, *row2 = NULL, *want1 = NULL, *want2 = NULL, *card1 = NULL;

        make_on_card(e);
        memset(fake_card.calls, 0, sizeof(fake_card.calls));
        fake_card.max_in_flight = 0;
        job(e, ZERO_CARD_JOB_EXPORT, "v1", "host-block", &x1);
        job(e, ZERO_CARD_JOB_UNEXPORT, "v1", NULL, &u1);
        job(e, ZERO_CARD_JOB_EXPORT, "v1", "nbd", &x1b);
        job(e, ZERO_CARD_JOB_EXPORT, "v2", "vhost-user-blk", &x2);
        job(e, ZERO_CARD_JOB_EXPORT, "v2", "vhost-user-blk", &x2_again);
        /* Nobody hears inside the call; the first of each volume has started. */
        assert_int_equal(x1.calls + u1.calls + x1b.calls + x2.calls + x2_again.calls, 0);
        assert_int_equal(fake_card.in_flight, 2);
        assert_int_equal(zero_card_job_last(&e->a, ZERO_CARD_JOB_EXPORT, "v1"), ZERO_CARD_JOB_EXPORT);
        WAIT_ALL(e, &x1, &u1, &x1b, &x2, &x2_again);
        assert_int_equal(x1.r + u1.r + x1b.r + x2.r + x2_again.r, 0);
        assert_int_equal(x1.calls + u1.calls + x1b.calls + x2.calls + x2_again.calls, 5); /* each exactly once */
        assert_int_equal(fake_card.overlaps, 0);
        assert_int_equal(fake_card.max_in_flight, 2);
        assert_int_equal(fake_card.calls[FAKE_EXPORT], 3); /* v2's twice asked, once done */
        assert_int_equal(fake_card.calls[FAKE_UNEXPORT], 1);
        assert_true(fake_card_logged("export", ID_V1) < fake_card_logged("unexport", ID_V1));
        assert_int_equal(zero_card_job_last(&e->a, ZERO_CARD_JOB_EXPORT, "v1"), -ENOENT);
        /* The rows say what the card did last, with the driver's paths. */
        want1 = zero_strdup_printf("nbd %s/%s.nbd", e->run, ID_V1);
        want2 = zero_strdup_printf("vhost-user-blk %s/%s.vhost-user-blk", e->run, ID_V2);
        row1 = export_row(e, "v1");
        row2 = export_row(e, "v2");
        assert_string_equal(row1, want1);
        assert_string_equal(row2, want2);
        card1 = fake_card_export_kind(e->state, ID_V1);
        assert_string_equal(card1, "nbd");
}

/* A failure is heard by whoever waits, with the card's reason, and the row stays; so is a
 * refusal, from the loop too; a success changes the row only once the card is done. */
static void test_failure_keeps_row(void **state) {
        struct env *e = *state;
        struct zero_volume_row row = {};
        struct heard r1 = {}, q1 = {}, r2 = {}, q2 = {}, x = {};
        struct zero_error err = {};

        make_on_card(e);
        fake_card.fail[FAKE_VOLUME_RESIZE] = -EIO;
        fake_card.refuse[FAKE_VOLUME_QOS] = -EAGAIN;
        assert_int_equal(zero_card_job(&e->a, &(struct zero_card_job_req){.kind = ZERO_CARD_JOB_RESIZE, .object = "v1",
                                                                         .size = 4 * MIB},
                                       on_heard, &r1, &err),
                         0);
        assert_int_equal(zero_card_job(&e->a, &(struct zero_card_job_req){.kind = ZERO_CARD_JOB_QOS, .object = "v2",
                                                                         .iops = 100, .bps = 0},
                                       on_heard, &q1, &err),
                         0);
        assert_int_equal(r1.calls + q1.calls, 0);
        WAIT_ALL(e, &r1, &q1);
        assert_int_equal(r1.r, -EIO);
        assert_int_equal(r1.err.code, ZERO_E_RUNTIME);
        assert_non_null(strstr(r1.err.message, "resize of " ID_V1 " failed"));
        assert_int_equal(q1.r, -EAGAIN);
        assert_int_equal(q1.err.code, ZERO_E_UNAVAILABLE);
        assert_int_equal(zero_store_volume_get(e->a.store, "v1", &row), 0);
        assert_int_equal(row.size_bytes, MIB);
        zero_volume_row_done(&row);
        assert_int_equal(zero_store_volume_get(e->a.store, "v2", &row), 0);
        assert_int_equal(row.qos_iops, 0);
        zero_volume_row_done(&row);

        /* Both work now: the row follows the card, not the request. */
        fake_card.fail[FAKE_VOLUME_RESIZE] = 0;
        fake_card.refuse[FAKE_VOLUME_QOS] = 0;
        /* Held, not delayed: "not done yet" must not depend on how late the loop runs (a 50 ms
         * delay was over before 10 ms of the loop at a load of 17 under qemu-user). */
        fake_card.hold[FAKE_VOLUME_RESIZE] = fake_card.hold[FAKE_VOLUME_QOS] = true;
        assert_int_equal(zero_card_job(&e->a, &(struct zero_card_job_req){.kind = ZERO_CARD_JOB_RESIZE, .object = "v1",
                                                                         .size = 4 * MIB},
                                       on_heard, &r2, &err),
                         0);
        assert_int_equal(zero_card_job(&e->a, &(struct zero_card_job_req){.kind = ZERO_CARD_JOB_QOS, .object = "v2",
                                                                         .iops = 100, .bps = 7},
                                       on_heard, &q2, &err),
                         0);
        run_for(e, 10);
        assert_int_equal(zero_store_volume_get(e->a.store, "v1", &row), 0);
        assert_int_equal(row.size_bytes, MIB); /* the card is not done yet */
        zero_volume_row_done(&row);
        fake_card_release(e->a.card);
        WAIT_ALL(e, &r2, &q2);
        assert_int_equal(r2.r + q2.r, 0);
        assert_int_equal(zero_store_volume_get(e->a.store, "v1", &row), 0);
        assert_int_equal(row.size_bytes, 4 * MIB);
        zero_volume_row_done(&row);
        assert_int_equal(zero_store_volume_get(e->a.store, "v2", &row), 0);
        assert_int_equal(row.qos_iops, 100);
        assert_int_equal(row.qos_bps, 7);
        zero_volume_row_done(&row);
        /* A volume exported another way: the card's -EBUSY, the row as it was. */
        job(e, ZERO_CARD_JOB_EXPORT, "v1", "nbd", &x);
        WAIT_ALL(e, &x);
        x = (struct heard){};
        job(e, ZERO_CARD_JOB_EXPORT, "v1", "host-block", &x);
        WAIT_ALL(e, &x);
        assert_int_equal(x.r, -EBUSY);
        assert_int_equal(x.err.code, ZERO_E_CONFLICT);
        _cleanup_free_ char *still = export_row(e, "v1");
        assert_non_null(still);
        assert_non_null(strstr(still, "nbd "));
}

static void add_network(struct env *e, const char *state) {
        struct zero_network_row n = {.name = (char *) "lan", .id = (char *) ID_NET, .subnet = (char *) "10.77.0.0/24",
                                     .gateway = (char *) "10.77.0.1", .bridge = (char *) ID_NET, .state = (char *) state,
                                     .created_at = 1};

        assert_int_equal(zero_store_network_insert(e->a.store, &n), 0);
}

static const char *net_state(struct env *e, char buf[static 32]) {
        struct zero_network_row n = {};

        if (zero_store_network_get(e->a.store, "lan", &n) < 0)
                return "gone";
        snprintf(buf, 32, "%s", n.state);
        zero_network_row_done(&n);
        return buf;
}

/* A network made is ready and shows the card's name for it; a NIC on it attached as a tap and
 * detached; a make the card refused takes back what it made, and the row goes; a remove the card
 * refused leaves it ready. */
static void test_network_and_nic(void **state) {
        struct env *e = *state;
        struct zero_network_row n = {};
        struct zero_nic_row nic = {.id = (char *) ID_NIC, .network = (char *) "lan", .instance_id = (char *) ID_INST,
                                   .mac = (char *) "02:00:00:00:00:01", .ip = (char *) "10.77.0.2", .host_index = 2,
                                   .created_at = 1};
        struct heard mk = {}, at = {}, de = {}, rm = {}, bad = {};
        char buf[32];

        add_network(e, "creating");
        job(e, ZERO_CARD_JOB_NETWORK, "lan", NULL, &mk);
        WAIT_ALL(e, &mk);
        assert_int_equal(mk.r, 0);
        assert_string_equal(net_state(e, buf), "ready");
        assert_int_equal(zero_store_network_get(e->a.store, "lan", &n), 0);
        assert_string_equal(n.bridge, "fk-lan");
        zero_network_row_done(&n);
        assert_true(fake_card_network_exists(e->state, ID_NET));

        assert_int_equal(zero_store_nic_insert(e->a.store, &nic), 0);
        job(e, ZERO_CARD_JOB_ATTACH, ID_NIC, "tap", &at);
        WAIT_ALL(e, &at);
        assert_int_equal(at.r, 0);
        assert_int_equal(zero_store_nic_get(e->a.store, ID_NIC, &nic), 0);
        assert_string_equal(nic.attach_kind, "tap");
        assert_string_equal(nic.attach_target, "ft-33333333");
        zero_nic_row_done(&nic);
        job(e, ZERO_CARD_JOB_DETACH, ID_NIC, NULL, &de);
        WAIT_ALL(e, &de);
        assert_int_equal(zero_store_nic_get(e->a.store, ID_NIC, &nic), 0);
        assert_null(nic.attach_kind);
        assert_int_equal(zero_store_nic_delete(e->a.store, ID_NIC), 0);
        zero_nic_row_done(&nic);
        assert_null(fake_card_nic(e->state, ID_NIC));

        /* A remove the card refuses: ready again, still there. */
        n = (struct zero_network_row){};
        assert_int_equal(zero_store_network_get(e->a.store, "lan", &n), 0);
        free(n.state);
        n.state = strdup("deleting");
        assert_int_equal(zero_store_network_update(e->a.store, &n), 0);
        zero_network_row_done(&n);
        fake_card.fail[FAKE_NETWORK_DELETE] = -EIO;
        job(e, ZERO_CARD_JOB_NETWORK, "lan", NULL, &rm);
        WAIT_ALL(e, &rm);
        assert_int_equal(rm.r, -EIO);
        assert_string_equal(net_state(e, buf), "ready");
        fake_card.fail[FAKE_NETWORK_DELETE] = 0;
        assert_int_equal(zero_store_network_delete(e->a.store, "lan"), 0);

        /* A make the card refuses: its leftovers are taken back (a delete), the row goes. */
        add_network(e, "creating");
        fake_card.fail[FAKE_NETWORK_CREATE] = -EEXIST;
        fake_card.n_log = 0;
        job(e, ZERO_CARD_JOB_NETWORK, "lan", NULL, &bad);
        WAIT_ALL(e, &bad);
        assert_int_equal(bad.r, -EEXIST);
        assert_non_null(strstr(bad.err.message, "network_create of " ID_NET " failed"));
        assert_string_equal(net_state(e, buf), "gone");
        assert_int_equal(fake_card_logged("network_create", ID_NET), 0);
        assert_int_equal(fake_card_logged("network_delete", ID_NET), 1);
}

static bool export_started(void *arg) {
        return fake_card.calls[FAKE_EXPORT] >= *(unsigned *) arg;
}

/* The sync after a lost daemon waits for the op under way and holds the next until it is done:
 * the driver never sees both at once. */
static void test_sync_waits(void **state) {
        struct env *e = *state;
        struct heard x1 = {}, x2 = {};
        unsigned one = 1;

        make_on_card(e);
        fake_card.syncs = fake_card.syncs_busy = 0;
        fake_card.hold[FAKE_EXPORT] = true;
        job(e, ZERO_CARD_JOB_EXPORT, "v1", "nbd", &x1);
        run_until(e, export_started, &one);
        zero_card_jobs_sync_soon(&e->a); /* the driver's lost_exports() */
        job(e, ZERO_CARD_JOB_EXPORT, "v2", "nbd", &x2);
        run_for(e, 30);
        assert_int_equal(fake_card.syncs, 0);            /* v1's export runs */
        assert_int_equal(fake_card.calls[FAKE_EXPORT], 1); /* v2's waits for the sync */
        fake_card_release(e->a.card);
        WAIT_ALL(e, &x1, &x2);
        assert_int_equal(x1.r + x2.r, 0);
        assert_int_equal(fake_card.syncs, 1);
        assert_int_equal(fake_card.syncs_busy, 0);
        assert_int_equal(fake_card.overlaps, 0);
}

static bool resize_started(void *arg) {
        return fake_card.calls[FAKE_VOLUME_RESIZE] >= 1;
}

static bool no_ops(void *arg) {
        return ((struct env *) arg)->a.ops == NULL;
}

/* An agent dies while the card resizes v1 (its operation recorded, the card's op under way) and
 * while a volume and a network are left half-made and half-removed; the next agent finishes all
 * of it: the resize's operation runs its step again (the card's op again: idempotent), the volume
 * and network jobs come from their states. Nobody heard the dead agent's op end. */
static void test_resume_after_crash(void **state) {
        struct env *e = *state;
        struct zero_operation_row op = {};
        struct zero_volume_row row = {};
        struct zero_error err = {};
        struct zero_op *o = NULL;
        _cleanup_free_ char *id = NULL;
        char buf[32];

        make_on_card(e);
        fake_card.hold[FAKE_VOLUME_RESIZE] = true;
        assert_int_equal(zero_volume_resize(&e->a, "v1", 8 * MIB, &o, &err), 0);
        id = strdup(o->row.id);
        run_until(e, resize_started, NULL);
        add_volume(e, "v3", "55555555555555555555555555555555", "creating");
        add_network(e, "deleting");
        env_close(e); /* the card's op dropped: its done never comes */
        assert_int_equal(fake_card.in_flight, 0);

        fake_card.hold[FAKE_VOLUME_RESIZE] = false;
        env_open(e);
        assert_int_equal(zero_op_resume_all(&e->a), 0);
        run_until(e, no_ops, e);
        run_for(e, 30); /* the volume and network jobs nobody waits for */
        assert_int_equal(zero_store_operation_get(e->a.store, id, &op), 0);
        assert_string_equal(op.status, "succeeded");
        assert_int_equal(fake_card.calls[FAKE_VOLUME_RESIZE], 2);
        zero_operation_row_done(&op);
        assert_int_equal(zero_store_volume_get(e->a.store, "v1", &row), 0);
        assert_int_equal(row.size_bytes, 8 * MIB);
        zero_volume_row_done(&row);
        assert_int_equal(zero_store_volume_get(e->a.store, "v3", &row), 0);
        assert_string_equal(row.state, "ready");
        zero_volume_row_done(&row);
        assert_true(fake_card_volume_exists(e->state, "55555555555555555555555555555555"));
        assert_string_equal(net_state(e, buf), "gone");
        assert_int_equal(fake_card.overlaps, 0);
}

/* A refusal of a request the agent can tell at once (an unknown kind): nothing queued. */
static void test_bad_request(void **state) {
        struct env *e = *state;
        struct zero_error err = {};
        struct heard h = {};

        assert_int_equal(zero_card_job(&e->a, &(struct zero_card_job_req){.kind = ZERO_CARD_JOB_EXPORT, .object = "v1",
                                                                         .how = "floppy"},
                                       on_heard, &h, &err),
                         -EINVAL);
        assert_int_equal(err.code, ZERO_E_INVALID);
        assert_int_equal(zero_card_job(&e->a, &(struct zero_card_job_req){.kind = ZERO_CARD_JOB_ATTACH, .object = ID_NIC,
                                                                         .how = "veth", .netns = "relative"},
                                       on_heard, &h, &err),
                         -EINVAL);
        /* A NIC that does not exist: nothing to attach. */
        assert_int_equal(zero_card_job(&e->a, &(struct zero_card_job_req){.kind = ZERO_CARD_JOB_ATTACH, .object = ID_NIC,
                                                                         .how = "tap"},
                                       on_heard, &h, &err),
                         -ENOENT);
        assert_int_equal(err.code, ZERO_E_NOT_FOUND);
        assert_int_equal(zero_card_job_last(&e->a, ZERO_CARD_JOB_EXPORT, "v1"), -ENOENT);
        /* The last job of an object without one: nothing to wait for. */
        assert_int_equal(zero_card_job(&e->a, &(struct zero_card_job_req){.kind = ZERO_CARD_JOB_EXPORT, .object = "v1",
                                                                         .last = true},
                                       on_heard, &h, &err),
                         1);
        run_for(e, 20);
        assert_int_equal(h.calls, 0);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_queue_per_object, setup, teardown),
                cmocka_unit_test_setup_teardown(test_failure_keeps_row, setup, teardown),
                cmocka_unit_test_setup_teardown(test_network_and_nic, setup, teardown),
                cmocka_unit_test_setup_teardown(test_sync_waits, setup, teardown),
                cmocka_unit_test_setup_teardown(test_resume_after_crash, setup, teardown),
                cmocka_unit_test_setup_teardown(test_bad_request, setup, teardown),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
