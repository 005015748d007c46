/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The operation engine (agent/operation.c, agent/instance_ops.c) with fake runtime plugins, a
 * temporary store and real zero-shims: every instance kind runs to its end, every failure path
 * leaves the state the transition table says, plugin ops that answer later (ZERO_PLUGIN_PENDING,
 * done()) resume their step or run it again, and an agent killed at every fault point of a
 * kind's steps (a forked child that dies there) is resumed by the next one, which ends the
 * operation as if nothing had happened and leaves no second runtime behind. Mode delta needs the
 * node to itself: its start with "evict" stops the others first (agent/node_owner.c), crash-tested
 * the same way.
 *
 * The card is a fake driver of card ABI 4 (fake_card.h), whose card is files that outlive an agent
 * killed at a fault point. Each instance has a root volume (made by the create's volumes step) and
 * a NIC. Mode alpha takes them as a container does (host-block, a veth in a namespace the agent
 * makes), beta as a VM does (nbd, a tap); both say so by card_needs (plugin ABI 4.2), so the
 * card_up and card_down steps make and take them, and their prepare only reads what was made.
 * gamma is a plugin of 4.1 without card_needs: its own asks of the card make the step wait and
 * run it again. After every crash the card holds exactly what the instance's end state needs.
 *
 * Needs $ZERO_SHIM (the tests' environment sets it) and a build with fault points for the crash
 * cases (./deploy/check's); without them those cases are skipped, never passed.
 */
#include <dirent.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <sched.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "agent/agent.h"
#include "agent/attest.h"
#include "agent/card.h"
#include "agent/card_job.h"
#include "agent/fault.h"
#include "agent/instance_service.h"
#include "agent/instance_view.h"
#include "agent/node_owner.h"
#include "agent/operation.h"
#include "agent/plugin_loader.h"
#include "agent/services.h"
#include "common/util.h"
#include "tests/unit/fake_card.h"
#include "tests/unit/skip.h"

/* --- fake plugins: modes alpha and beta, their answers set by each test --- */

enum fake_op { F_PREPARE, F_START, F_STOP, F_KILL, F_CLEANUP, F_BOOT, F_NEEDS, F_MAX };
static const char *const fake_op_names[F_MAX] = {"prepare", "start", "stop", "kill", "cleanup", "boot", "card_needs"};

static struct {
        const struct zero_plugin_services *svc;
        int fail;       /* this op fails (-1: none) ... */
        int fail_times; /* ... so many times (then it succeeds) */
        unsigned done_after_ms; /* when done() comes after ZERO_PLUGIN_PENDING */
        int pend;       /* this op answers ZERO_PLUGIN_PENDING first, then done() from a timer */
        bool pend_fail; /* ... and done() says it failed */
        bool pended;    /* the pending op's first call was answered so (it is called again) */
        unsigned calls[F_MAX];
        struct zero_plugin_ctx *done_ctx;
        sd_event_source *done_timer;
        unsigned asked;          /* the card services answered "under way" (a plugin without card_needs) */
        char export_path[256];   /* what volume_export answered last */
        char status[32];         /* what the runtime says of itself (ops.status), "" for nothing */
} fake;

static void fake_reset(void) {
        fake.done_timer = sd_event_source_disable_unref(fake.done_timer);
        memset(fake.calls, 0, sizeof(fake.calls));
        fake.fail = fake.pend = -1;
        fake.fail_times = 1000;
        fake.done_after_ms = 20;
        fake.pend_fail = fake.pended = false;
        fake.done_ctx = NULL;
        fake.asked = 0;
        fake.export_path[0] = '\0';
        fake.status[0] = '\0';
}

/* How each mode takes the card's volumes and NICs: alpha as a container, beta as a VM; gamma
 * (no card_needs) as a container. */
static const char *mode_export(const char *mode) {
        return streq(mode, "beta") ? "nbd" : "host-block";
}

static const char *mode_nic(const char *mode) {
        return streq(mode, "beta") ? "tap" : "veth";
}

static char *netns_of(const struct zero_instance_info *info) {
        return zero_strdup_printf("%s/netns", info->run_dir);
}

/* What a runtime does with the card in prepare: it asks for its exports and NICs (answered from
 * what the engine made; gamma makes its namespace itself, as a plugin of 4.1 does). */
static int fake_card_use(struct zero_plugin_ctx *ctx, const struct zero_instance_info *info, struct zero_error *err) {
        _cleanup_free_ char *ns = netns_of(info);
        char ifname[64];
        int r = 0;

        for (size_t i = 0; r >= 0 && i < info->n_volumes; i++)
                r = fake.svc->volume_export(ctx, info->volumes[i].name, mode_export(info->mode), fake.export_path,
                                            sizeof(fake.export_path), err);
        if (r >= 0 && info->n_nics > 0 && streq(info->mode, "gamma")) {
                r = zero_mkdir_p(info->run_dir, 0700); /* its bundle's, as the container plugin's */
                if (r >= 0)
                        r = fake.svc->netns_create(ctx, ns, err);
        }
        for (size_t i = 0; r >= 0 && i < info->n_nics; i++)
                r = fake.svc->nic_attach(ctx, info->nics[i].id, mode_nic(info->mode),
                                         streq(mode_nic(info->mode), "veth") ? ns : NULL, ifname, sizeof(ifname), err);
        if (r == -EAGAIN)
                fake.asked++;
        return r;
}

/* ... and gives them back in cleanup (the engine's card_down waits for it). */
static void fake_card_release_all(struct zero_plugin_ctx *ctx, const struct zero_instance_info *info) {
        for (size_t i = 0; i < info->n_volumes; i++)
                (void) fake.svc->volume_unexport(ctx, info->volumes[i].name, NULL);
        for (size_t i = 0; i < info->n_nics; i++)
                (void) fake.svc->nic_detach(ctx, info->nics[i].id, NULL);
}

static int on_fake_done(sd_event_source *s, uint64_t usec, void *userdata) {
        struct zero_error err = {};

        fake.done_timer = sd_event_source_disable_unref(fake.done_timer);
        if (fake.pend_fail) {
                zero_error_set(&err, -EIO, ZERO_E_RUNTIME, "the fake runtime failed later");
                fake.svc->done(fake.done_ctx, -EIO, &err);
        } else
                fake.svc->done(fake.done_ctx, 0, NULL);
        return 0;
}

/* What op answers: a failure, ZERO_PLUGIN_PENDING (once: a call again is done), or 0. */
static int fake_answer(struct zero_plugin_ctx *ctx, enum fake_op op, struct zero_error *err) {
        fake.calls[op]++;
        if (fake.fail == (int) op && fake.fail_times-- > 0)
                return zero_error_set(err, -EIO, ZERO_E_RUNTIME, "the fake runtime cannot %s", fake_op_names[op]);
        if (fake.pend == (int) op && !fake.pended) {
                fake.pended = true;
                fake.done_ctx = ctx;
                assert_int_equal(sd_event_add_time_relative(fake.svc->event, &fake.done_timer, CLOCK_MONOTONIC,
                                                            fake.done_after_ms * 1000ULL, 0, on_fake_done, NULL),
                                 0);
                return ZERO_PLUGIN_PENDING;
        }
        return 0;
}

static int fake_init(const struct zero_plugin_services *svc, struct zero_error *err) {
        fake.svc = svc;
        return 0;
}

static int fake_probe(struct zero_probe *ret) {
        ret->available = true;
        return 0;
}

static int fake_prepare(struct zero_plugin_ctx *ctx, const struct zero_instance_info *info, struct zero_error *err) {
        int r = fake_answer(ctx, F_PREPARE, err);
        return r < 0 ? r : r == 0 ? fake_card_use(ctx, info, err) : r;
}

static int fake_start(struct zero_plugin_ctx *ctx, const struct zero_instance_info *info, struct zero_error *err) {
        struct zero_shim_args args = {.size = sizeof(args), .argv = info->argv};
        int r = fake_answer(ctx, F_START, err);

        return r < 0 ? r : fake.svc->shim_spawn(ctx, &args, err);
}

static int fake_stop(struct zero_plugin_ctx *ctx, const struct zero_instance_info *info, struct zero_error *err) {
        int r = fake_answer(ctx, F_STOP, err);
        return r < 0 ? r : fake.svc->shim_signal(ctx, SIGTERM, err);
}

static int fake_kill(struct zero_plugin_ctx *ctx, const struct zero_instance_info *info, int sig,
                     struct zero_error *err) {
        int r = fake_answer(ctx, F_KILL, err);
        return r < 0 ? r : fake.svc->shim_signal(ctx, sig, err);
}

static int fake_cleanup(struct zero_plugin_ctx *ctx, const struct zero_instance_info *info, struct zero_error *err) {
        int r = fake_answer(ctx, F_CLEANUP, err);

        if (r == 0)
                fake_card_release_all(ctx, info);
        return r;
}

static int fake_card_needs(struct zero_plugin_ctx *ctx, const struct zero_instance_info *info, struct zero_card_needs *ret,
                           struct zero_error *err) {
        _cleanup_free_ char *ns = netns_of(info);
        int r = fake_answer(ctx, F_NEEDS, err);

        if (r < 0)
                return r;
        for (size_t i = 0; i < info->n_volumes; i++)
                ret->volume_export[i] = mode_export(info->mode);
        for (size_t i = 0; i < info->n_nics; i++)
                ret->nic_attach[i] = mode_nic(info->mode);
        if (streq(mode_nic(info->mode), "veth"))
                snprintf(ret->netns_path, sizeof(ret->netns_path), "%s", ns);
        return 0;
}

static int fake_boot(struct zero_plugin_ctx *ctx, const struct zero_instance_info *info, struct zero_error *err) {
        return fake_answer(ctx, F_BOOT, err);
}

/* What the runtime last said of itself, as QEMU's query-status for the vm plugin: it changes
 * without the agent being told (the view asks each time it shows the instance). */
static int fake_status(struct zero_plugin_ctx *ctx, char *ret, size_t size) {
        if (!fake.status[0])
                return -ENODATA;
        snprintf(ret, size, "%s", fake.status);
        return 0;
}

#define FAKE_PLUGIN(m)                                                                             \
        {                                                                                          \
                .abi_version = ZERO_PLUGIN_ABI_VERSION, .size = sizeof(struct zero_plugin), .name = m, \
                .mode = m, .abi_minor_needed = 1,                                                  \
                .ops = {.init = fake_init, .probe = fake_probe, .prepare = fake_prepare,             \
                        .start = fake_start, .stop = fake_stop, .kill = fake_kill,                  \
                        .cleanup = fake_cleanup, .boot = fake_boot, .status = fake_status,            \
                        .card_needs = fake_card_needs },                                            \
        }
/* A plugin built for 4.1: its struct ends before card_needs (the agent reads no further). */
#define FAKE_PLUGIN_41(m)                                                                          \
        {                                                                                          \
                .abi_version = ZERO_PLUGIN_ABI_MAKE(4, 1), .size = offsetof(struct zero_plugin, ops) + \
                offsetof(struct zero_plugin_ops, card_needs), .name = m, .mode = m, .abi_minor_needed = 1, \
                .ops = {.init = fake_init, .probe = fake_probe, .prepare = fake_prepare,             \
                        .start = fake_start, .stop = fake_stop, .kill = fake_kill,                  \
                        .cleanup = fake_cleanup, .boot = fake_boot, .card_needs = fake_card_needs },  \
        }
/* eps runs by a hand-over of the host (ops.handover, as bms): what it boots is a description. */
static int fake_handover(struct zero_plugin_ctx *ctx, const struct zero_instance_info *info, struct zero_handover *ret,
                         struct zero_error *err) {
        snprintf(ret->kernel, sizeof(ret->kernel), "%s/vmlinuz", info->run_dir);
        snprintf(ret->initrd, sizeof(ret->initrd), "%s/initrd.img", info->run_dir);
        snprintf(ret->cmdline, sizeof(ret->cmdline), "zero.root=serial:%.20s", info->volumes[0].id);
        return 0;
}
#define FAKE_PLUGIN_HANDOVER(m)                                                                    \
        {                                                                                          \
                .abi_version = ZERO_PLUGIN_ABI_VERSION, .size = sizeof(struct zero_plugin), .name = m, \
                .mode = m, .abi_minor_needed = 6,                                                  \
                .ops = {.init = fake_init, .probe = fake_probe, .prepare = fake_prepare,             \
                        .start = fake_start, .stop = fake_stop, .kill = fake_kill,                  \
                        .cleanup = fake_cleanup, .card_needs = fake_card_needs,                     \
                        .handover = fake_handover },                                                \
        }
/* delta needs the node to itself (zero_probe.exclusive, as bms): test_evict. */
static const struct zero_plugin fake_plugins[] = {FAKE_PLUGIN("alpha"), FAKE_PLUGIN("beta"), FAKE_PLUGIN_41("gamma"),
                                                  FAKE_PLUGIN("delta"), FAKE_PLUGIN_HANDOVER("eps")};

/* --- an agent on a directory, opened and closed as zerod would be (a crash: not closed) --- */

struct env {
        char *dir;
        struct zero_agent a;
        struct zero_loaded_plugin loaded[ELEMENTSOF(fake_plugins)];
        struct zero_plugin_set set;
};

static struct env *env_new(void) {
        const char *tmp = getenv("TMPDIR");
        struct env *e = calloc(1, sizeof(*e));

        assert_non_null(e);
        e->dir = zero_strdup_printf("%s/zero-test-op-XXXXXX", tmp && *tmp ? tmp : "/tmp");
        assert_non_null(e->dir);
        assert_non_null(mkdtemp(e->dir));
        return e;
}

static void env_open(struct env *e) {
        _cleanup_free_ char *db = zero_strdup_printf("%s/zero.db", e->dir);
        _cleanup_free_ char *state = zero_strdup_printf("%s/state", e->dir);
        _cleanup_free_ char *run = zero_strdup_printf("%s/run", e->dir);
        struct zero_image_row im = {.name = (char *) "img", .source = (char *) "/src", .path = (char *) "/nonexistent",
                                    .created_at = 1};
        struct zero_image_row have = {};
        struct zero_error err = {};

        fake_reset();
        e->a = (struct zero_agent){};
        e->a.config = zero_config_new();
        assert_non_null(e->a.config);
        assert_int_equal(zero_config_set(e->a.config, "agent", "state_dir", state, &err), 0);
        assert_int_equal(zero_config_set(e->a.config, "agent", "run_dir", run, &err), 0);
        assert_int_equal(zero_config_set(e->a.config, "agent", "shim", getenv("ZERO_SHIM"), &err), 0);
        assert_int_equal(zero_config_set(e->a.config, "agent", "plugin_dir", e->dir, &err), 0);
        assert_int_equal(zero_config_set(e->a.config, "images", "unpack_helper", "/bin/false", &err), 0);
        _cleanup_free_ char *helper = zero_strdup_printf("%s/handover.sh", e->dir);
        assert_int_equal(zero_config_set(e->a.config, "bms", "handover_helper", helper, &err), 0);
        assert_int_equal(zero_config_finish(e->a.config, &err), 0);
        assert_int_equal(zero_mkdir_p(state, 0700), 0);
        assert_int_equal(zero_mkdir_p(run, 0700), 0);
        /* Every start is measured with the node's key at hand (agent/attest.h), as zerod opens it. */
        assert_int_equal(zero_attest_open(&e->a, &err), 0);
        assert_int_equal(zero_store_open(db, &e->a.store, &err), 0);
        if (zero_store_image_get(e->a.store, "img", &have) < 0)
                assert_int_equal(zero_store_image_insert(e->a.store, &im), 0);
        zero_image_row_done(&have);
        assert_int_equal(sd_event_new(&e->a.event), 0);
        e->a.node_cpus = 64;
        e->a.node_memory_mib = 65536;
        zero_services_init(&e->a);
        for (size_t i = 0; i < ELEMENTSOF(fake_plugins); i++) {
                e->loaded[i] = (struct zero_loaded_plugin){.plugin = &fake_plugins[i]};
                e->loaded[i].probe.available = true;
                e->loaded[i].probe.exclusive = streq(fake_plugins[i].mode, "delta");
                assert_int_equal(fake_plugins[i].ops.init(&e->a.services, &err), 0);
        }
        e->set = (struct zero_plugin_set){.items = e->loaded, .n = ELEMENTSOF(fake_plugins)};
        e->a.plugins = &e->set;
        /* The card, as zerod opens it: synced with the store, its half-done jobs resumed. */
        _cleanup_free_ char *card = zero_strdup_printf("%s/card", e->dir);
        struct zero_card_env cenv = {.size = sizeof(cenv), .event = e->a.event, .state_dir = card, .run_dir = card};
        struct zero_network_row lan = {.name = (char *) "lan", .id = (char *) "44444444444444444444444444444444",
                                       .subnet = (char *) "10.77.0.0/24", .gateway = (char *) "10.77.0.1",
                                       .bridge = (char *) "fk-lan", .created_at = 1};
        struct zero_network_row have_lan = {};
        fake_card_reset();
        e->a.card_driver = fake_card_driver();
        assert_int_equal(zero_mkdir_p(card, 0700), 0);
        assert_int_equal(e->a.card_driver->ops.open(&cenv, &e->a.card, &err), 0);
        if (zero_store_network_get(e->a.store, "lan", &have_lan) < 0)
                assert_int_equal(zero_store_network_insert(e->a.store, &lan), 0);
        zero_network_row_done(&have_lan);
        assert_int_equal(zero_card_sync(&e->a), 0);
        zero_card_jobs_resume(&e->a);
        assert_int_equal(zero_view_new(&e->a), 0);
}

static void env_close(struct env *e) {
        fake.done_timer = sd_event_source_disable_unref(fake.done_timer);
        zero_op_free_all(&e->a);
        zero_inst_free_all(&e->a);
        zero_view_free(&e->a);
        e->a.card_driver->ops.close(e->a.card);
        zero_card_jobs_free(&e->a);
        e->a.store = zero_store_close(e->a.store);
        e->a.event = sd_event_unref(e->a.event);
        e->a.config = zero_config_free(e->a.config);
        zero_attest_close(&e->a);
}

/* Every process whose command line names the test's directory (the shims), with its session
 * (the instance's command), gets SIGKILL: nothing outlives the test, whatever failed. */
static void kill_leftovers(const char *dir) {
        DIR *d = opendir("/proc");
        struct dirent *de;

        while (d && (de = readdir(d))) {
                _cleanup_free_ char *path = zero_strdup_printf("/proc/%s/cmdline", de->d_name), *text = NULL;
                pid_t pid = (pid_t) atoi(de->d_name);
                size_t len = 0;

                if (pid <= 1 || !path || zero_read_file(path, 65536, &text, &len) < 0)
                        continue;
                for (size_t i = 0; i + 1 < len; i++)
                        if (text[i] == '\0')
                                text[i] = ' ';
                if (strstr(text, dir)) {
                        /* Its session, but never ours: a shim before its setsid() is still in the
                         * test's session, whose group is the shell that ran the test (this killed
                         * the callers' shells), and getsid()'s -1 would make it kill(1). */
                        pid_t sid = getsid(pid);
                        if (sid > 1 && sid != getsid(0))
                                (void) kill(-sid, SIGKILL);
                        (void) kill(pid, SIGKILL);
                }
        }
        if (d)
                closedir(d);
}

/* A namespace the agent bound for a veth and left (an instance left running): unmounted, so that
 * the directory can go. */
static void unmount_leftovers(const char *dir) {
        _cleanup_free_ char *run = zero_strdup_printf("%s/run/instances", dir);
        DIR *d = opendir(run);
        struct dirent *de;

        while (d && (de = readdir(d))) {
                _cleanup_free_ char *ns = zero_strdup_printf("%s/%s/netns", run, de->d_name);
                if (de->d_name[0] != '.' && ns)
                        (void) umount2(ns, MNT_DETACH);
        }
        if (d)
                closedir(d);
}

static void env_free(struct env *e) {
        kill_leftovers(e->dir);
        unmount_leftovers(e->dir);
        (void) zero_rm_rf(e->dir);
        free(e->dir);
        free(e);
}

#define WEB "web"

/*
 * The instance view (instance_view.h) is never stale: after every turn of the loop of every test
 * here (each kind, each failure, the card's jobs ending, switches, a runtime's notify and its
 * status changing by itself), what it shows of the instance is what a rendering made afresh from
 * the store and the plugin shows, and a version it gave before is never given again with other
 * content (an ETag that matched would hide a change). The same for the list: one ETag, one body.
 */
static struct {
        char *json, *etag, *list, *list_etag;
        unsigned checks;
} view_seen;

static void view_seen_reset(void) {
        free(view_seen.json);
        free(view_seen.etag);
        free(view_seen.list);
        free(view_seen.list_etag);
        view_seen = (typeof(view_seen)){};
}

static void check_view(struct env *e) {
        struct zero_instance_row row = {};
        struct zero_view_page page = {};
        _cleanup_free_ char *fresh = NULL, *cached = NULL, *body = NULL;
        const struct zero_view_entry *entry;
        uint64_t version = 0;
        size_t len;

        if (!e->a.view)
                return;
        view_seen.checks++;
        if (zero_store_instance_get(e->a.store, WEB, &row) < 0) {
                assert_int_equal(zero_view_find(&e->a, WEB, &entry), -ENOENT);
        } else {
                char etag[ZERO_ETAG_MAX];

                assert_int_equal(zero_view_render_fresh(&e->a, row.id, &fresh), 0);
                assert_int_equal(zero_view_render_cached(&e->a, row.id, &cached, &version), 0);
                assert_non_null(cached);
                if (!streq(cached, fresh))
                        print_message("the view shows\n%s\nthe store and the plugin say\n%s\n", cached, fresh);
                assert_string_equal(cached, fresh);
                assert_int_equal(zero_view_find(&e->a, WEB, &entry), 0);
                zero_view_entry_etag(&e->a, entry, etag);
                /* The ETags hold the view's boot id: an agent opened again (the crash tests) never
                 * meets one of its predecessor's. */
                if (view_seen.etag && streq(view_seen.etag, etag))
                        assert_string_equal(view_seen.json, cached);
                free(view_seen.json);
                free(view_seen.etag);
                view_seen.json = TAKE_PTR(cached);
                view_seen.etag = strdup(etag);
        }
        zero_instance_row_done(&row);
        assert_int_equal(zero_view_page(&e->a, &(struct zero_view_filter){.state = -1}, &page), 0);
        assert_int_equal(zero_view_page_json(&page, &body, &len), 0);
        if (view_seen.list_etag && streq(view_seen.list_etag, page.etag))
                assert_string_equal(view_seen.list, body);
        free(view_seen.list);
        free(view_seen.list_etag);
        view_seen.list = TAKE_PTR(body);
        view_seen.list_etag = strdup(page.etag);
        zero_view_page_done(&page);
}

/* Runs the loop until no operation is left (or 10 s have passed: a failure). */
static void run_ops(struct env *e) {
        uint64_t deadline = zero_monotonic_usec() + 10 * USEC_PER_SEC;

        while (e->a.ops) {
                assert_true(zero_monotonic_usec() < deadline);
                assert_true(sd_event_run(e->a.event, 10 * 1000) >= 0);
                check_view(e);
        }
}

/* Runs the loop for ms. */
static void run_for(struct env *e, unsigned ms) {
        uint64_t end = zero_monotonic_usec() + (uint64_t) ms * 1000;

        while (zero_monotonic_usec() < end) {
                assert_true(sd_event_run(e->a.event, 5 * 1000) >= 0);
                check_view(e);
        }
}

/* An instance recorded as a create request records it, with its create operation launched. */
static char *create(struct env *e, const char *mode, const char *command_json) {
        char id[33];
        _cleanup_free_ char *spec = zero_strdup_printf("{\"command\":%s}", command_json);
        struct zero_instance_row row = {.id = id, .name = (char *) WEB, .mode = (char *) mode,
                                        .state = (char *) "creating", .image = (char *) "img", .cpus = 1,
                                        .memory_mib = 64, .spec = spec, .created_at = 1, .updated_at = 1};
        struct zero_op *op = NULL;
        char vid[33], nid[33], loc[64];
        struct zero_volume_row root = {.name = (char *) WEB "-root", .id = vid, .size_bytes = 1 << 20,
                                       .locator = loc, .format = (char *) "fake", .state = (char *) "creating",
                                       .owner_instance = id, .created_at = 1, .updated_at = 1};
        struct zero_attachment_row at = {.volume = (char *) WEB "-root", .instance_id = id, .role = (char *) "root",
                                         .personality = (char *) "virtio-blk"};
        struct zero_nic_row nic = {.id = nid, .network = (char *) "lan", .instance_id = id,
                                   .mac = (char *) "02:00:00:00:00:01", .ip = (char *) "10.77.0.2", .host_index = 2,
                                   .created_at = 1};

        assert_int_equal(zero_random_id(id), 0);
        assert_int_equal(zero_random_id(vid), 0);
        assert_int_equal(zero_random_id(nid), 0);
        snprintf(loc, sizeof(loc), "fake:%s", vid);
        /* As a create request records it: the instance, its root volume to make, its NIC. */
        assert_int_equal(zero_store_begin(e->a.store), 0);
        assert_int_equal(zero_store_instance_insert(e->a.store, &row), 0);
        assert_int_equal(zero_store_volume_insert(e->a.store, &root), 0);
        assert_int_equal(zero_store_attachment_insert(e->a.store, &at), 0);
        assert_int_equal(zero_store_nic_insert(e->a.store, &nic), 0);
        assert_int_equal(zero_store_commit(e->a.store), 0);
        assert_int_equal(zero_op_new(&e->a, "create", &row, NULL, &op), 0);
        assert_int_equal(zero_store_operation_insert(e->a.store, &op->row), 0);
        assert_int_equal(zero_op_launch(op), 0);
        return strdup(op->row.id);
}

static char *act_on(struct env *e, const char *name, const char *kind, json_t *params) {
        struct zero_error err = {};
        struct zero_op *op = NULL;
        int r = zero_instance_act(&e->a, name, kind, params, &op, &err);

        if (r < 0)
                print_message("%s: %s\n", kind, err.message);
        assert_int_equal(r, 0);
        return strdup(op->row.id);
}

static char *act(struct env *e, const char *kind, json_t *params) {
        return act_on(e, WEB, kind, params);
}

static char *switch_to(struct env *e, const char *mode) {
        struct zero_error err = {};
        struct zero_op *op = NULL;
        int r = zero_instance_switch(&e->a, WEB, mode, json_pack("{s:i}", "timeout_s", 1), &op, &err);

        if (r < 0)
                print_message("switch: %s\n", err.message);
        assert_int_equal(r, 0);
        return strdup(op->row.id);
}

/* The instance as stored (gone: state "gone"). */
struct seen {
        char state[16], mode[16], error[256];
        int64_t pid;
        bool has_exit_code;
        int64_t exit_code;
};

static struct seen seen(struct env *e) {
        struct zero_instance_row row = {};
        struct seen s = {};

        if (zero_store_instance_get(e->a.store, WEB, &row) < 0) {
                strcpy(s.state, "gone");
                return s;
        }
        snprintf(s.state, sizeof(s.state), "%s", row.state);
        snprintf(s.mode, sizeof(s.mode), "%s", row.mode);
        snprintf(s.error, sizeof(s.error), "%s", strempty(row.error));
        s.pid = row.pid;
        s.has_exit_code = row.has_exit_code;
        s.exit_code = row.exit_code;
        zero_instance_row_done(&row);
        return s;
}

/* The one file in the fake card's DIR (exports, nics, volumes), its first word, or "none". */
static void card_file(struct env *e, const char *dir, char ret[static 32]) {
        _cleanup_free_ char *path = zero_strdup_printf("%s/card/%s", e->dir, dir);
        DIR *d = opendir(path);
        struct dirent *de;

        snprintf(ret, 32, "none");
        while (d && (de = readdir(d))) {
                _cleanup_free_ char *f = zero_strdup_printf("%s/%s", path, de->d_name), *text = NULL;
                size_t n;

                if (de->d_name[0] == '.' || zero_read_file(f, 256, &text, &n) < 0)
                        continue;
                if (!streq(ret, "none")) { /* a second one: something leaked */
                        snprintf(ret, 32, "two");
                        break;
                }
                text[strcspn(text, " ")] = '\0';
                snprintf(ret, 32, "%s", text[0] ? text : "made");
        }
        if (d)
                closedir(d);
}

/* What the card holds of the instance's volume and NIC, "EXPORT/NIC" ("none/none": nothing), and
 * whether the store says the same ("mismatch ..." otherwise). */
static char *card_holds(struct env *e) {
        struct zero_instance_row row = {};
        struct zero_attachment_row *atts = NULL;
        struct zero_nic_row *nics = NULL;
        size_t na = 0, nn = 0;
        char exp[32], nic[32];
        const char *row_exp = "none", *row_nic = "none";
        char *s;

        card_file(e, "exports", exp);
        card_file(e, "nics", nic);
        if (zero_store_instance_get(e->a.store, WEB, &row) >= 0) {
                assert_int_equal(zero_store_attachment_list_for_instance(e->a.store, row.id, &atts, &na), 0);
                assert_int_equal(zero_store_nic_list_for_instance(e->a.store, row.id, &nics, &nn), 0);
                if (na > 0 && atts[0].export_kind)
                        row_exp = atts[0].export_kind;
                if (nn > 0 && nics[0].attach_kind)
                        row_nic = nics[0].attach_kind;
        }
        s = streq(row_exp, exp) && streq(row_nic, nic)
                    ? zero_strdup_printf("%s/%s", exp, nic)
                    : zero_strdup_printf("mismatch: card %s/%s, store %s/%s", exp, nic, row_exp, row_nic);
        zero_attachment_rows_free(atts, na);
        zero_nic_rows_free(nics, nn);
        zero_instance_row_done(&row);
        return s;
}

/* What the card should hold for an instance in mode, running or not. */
static char *card_wants(const char *mode, bool running) {
        return running ? zero_strdup_printf("%s/%s", mode_export(mode), mode_nic(mode)) : strdup("none/none");
}

static void assert_card(struct env *e, const char *mode, bool running) {
        _cleanup_free_ char *holds = card_holds(e), *wants = card_wants(mode, running);

        if (!streq(holds, wants))
                print_message("the card holds %s, wants %s\n", holds, wants);
        assert_string_equal(holds, wants);
        assert_int_equal(fake_card.overlaps, 0);
}

static void assert_op(struct env *e, const char *id, const char *status, const char *error_part) {
        struct zero_operation_row row = {};

        assert_int_equal(zero_store_operation_get(e->a.store, id, &row), 0);
        if (!streq(row.status, status))
                print_message("operation %s %s: %s at %s: %s\n", row.kind, row.id, row.status, row.step_name,
                              strempty(row.error_message));
        assert_string_equal(row.status, status);
        if (error_part) {
                assert_non_null(row.error_message);
                if (!strstr(row.error_message, error_part))
                        print_message("error: %s\n", row.error_message);
                assert_non_null(strstr(row.error_message, error_part));
        }
        zero_operation_row_done(&row);
}

/* Alive and not a zombie waiting for init to reap it (which takes a while on a loaded machine). */
static bool pid_alive(int64_t pid) {
        _cleanup_free_ char *path = zero_strdup_printf("/proc/%lld/stat", (long long) pid), *text = NULL;
        const char *end;
        size_t len;

        if (pid <= 0 || kill((pid_t) pid, 0) < 0)
                return false;
        if (!path || zero_read_file(path, 4096, &text, &len) < 0)
                return false;
        end = strrchr(text, ')'); /* "PID (COMM) STATE ...": COMM may hold anything */
        return !end || end[1] != ' ' || end[2] != 'Z';
}

/* How many shims run for the test's instances. */
static unsigned shims_count(const char *dir) {
        _cleanup_free_ char *run = zero_strdup_printf("%s/run/instances", dir);
        DIR *d = opendir(run);
        struct dirent *de;
        unsigned n = 0;

        while (d && (de = readdir(d))) {
                _cleanup_free_ char *pidf = zero_strdup_printf("%s/%s/shim.pid", run, de->d_name), *text = NULL;
                size_t len;

                if (de->d_name[0] != '.' && pidf && zero_read_file(pidf, 64, &text, &len) >= 0 &&
                    pid_alive(atoll(text)))
                        n++;
        }
        if (d)
                closedir(d);
        return n;
}

/* The count once it is want, or after 3 s: a shim exits just after its last message, a moment
 * later still on a loaded machine, and init reaps it later yet. A second shim from a step run
 * twice never goes, and fails the comparison that follows. */
static unsigned shims_running(const char *dir, unsigned want) {
        uint64_t deadline = zero_monotonic_usec() + 3 * USEC_PER_SEC;
        unsigned n;

        while ((n = shims_count(dir)) != want && zero_monotonic_usec() < deadline)
                usleep(20 * 1000);
        return n;
}

#define SLEEPER "[\"/bin/sleep\",\"1000\"]"
/* A command that ignores SIGTERM (once it has touched the file %s): only the stop's kill timer
 * ends it. */
#define STUBBORN "[\"/bin/sh\",\"-c\",\"trap '' TERM; touch %s; while :; do sleep 1; done\"]"

static int setup(void **state) {
        if (!getenv("ZERO_SHIM")) {
                print_message("$ZERO_SHIM does not name zero-shim\n");
                return -1;
        }
        *state = env_new();
        env_open(*state);
        return 0;
}

static int teardown(void **state) {
        struct env *e = *state;

        check_view(e);
        view_seen_reset();
        env_close(e);
        env_free(e);
        return 0;
}

/* --- each kind to its end --- */

static void test_lifecycle(void **state) {
        struct env *e = *state;
        _cleanup_free_ char *c = create(e, "alpha", SLEEPER), *s = NULL, *st = NULL, *rs = NULL, *d = NULL;
        int64_t pid;

        run_ops(e);
        assert_op(e, c, "succeeded", NULL);
        assert_string_equal(seen(e).state, "running");
        pid = seen(e).pid;
        assert_true(pid_alive(pid));
        assert_int_equal(fake.calls[F_PREPARE], 1);
        assert_int_equal(fake.calls[F_START], 1);
        assert_int_equal(fake.calls[F_BOOT], 1);
        /* card_up made what alpha needs before its prepare, which only read it: the export's
         * path, and the veth's namespace, which the agent made. */
        assert_card(e, "alpha", true);
        assert_int_equal(fake.asked, 0);
        assert_non_null(strstr(fake.export_path, ".host-block"));
        _cleanup_free_ char *ns = NULL;
        {
                struct zero_instance_row r = {};
                assert_int_equal(zero_store_instance_get(e->a.store, WEB, &r), 0);
                ns = zero_strdup_printf("%s/run/instances/%s/netns", e->dir, r.id);
                zero_instance_row_done(&r);
        }
        assert_int_equal(access(ns, F_OK), 0);

        s = act(e, "stop", json_pack("{s:i}", "timeout_s", 5));
        run_ops(e);
        assert_op(e, s, "succeeded", NULL);
        assert_string_equal(seen(e).state, "stopped");
        assert_true(seen(e).has_exit_code);
        assert_int_equal(seen(e).exit_code, 128 + SIGTERM);
        assert_false(pid_alive(pid));
        assert_int_equal(fake.calls[F_STOP], 1);
        assert_int_equal(fake.calls[F_CLEANUP], 1);
        /* card_down took it all back, the namespace last. */
        assert_card(e, "alpha", false);
        assert_int_equal(access(ns, F_OK), -1);

        st = act(e, "start", NULL);
        run_ops(e);
        assert_op(e, st, "succeeded", NULL);
        assert_string_equal(seen(e).state, "running");
        pid = seen(e).pid;

        fake_card.n_log = 0;
        rs = act(e, "restart", json_pack("{s:b}", "force", true));
        run_ops(e);
        assert_op(e, rs, "succeeded", NULL);
        /* No card_down in a restart: the cleanup's unexport, then card_up's export, in order. */
        assert_card(e, "alpha", true);
        {
                char vid[33] = "";
                const char *slash = strrchr(fake.export_path, '/');
                assert_non_null(slash);
                snprintf(vid, sizeof(vid), "%.32s", slash + 1);
                assert_true(fake_card_logged("unexport", vid) >= 0);
                assert_true(fake_card_logged("unexport", vid) < fake_card_logged("export", vid));
        }
        assert_string_equal(seen(e).state, "running");
        assert_false(pid_alive(pid));
        assert_true(pid_alive(seen(e).pid));
        assert_int_equal(fake.calls[F_KILL], 1);

        pid = seen(e).pid;
        d = act(e, "delete", json_pack("{s:b}", "force", true));
        run_ops(e);
        assert_op(e, d, "succeeded", NULL);
        assert_string_equal(seen(e).state, "gone");
        assert_false(pid_alive(pid));
        /* Nothing of it on the card: no export, no NIC, its root volume removed. */
        assert_card(e, "alpha", false);
        char vols[32];
        card_file(e, "volumes", vols);
        assert_string_equal(vols, "none");
        /* The remove step's child took the instance's directories. */
        _cleanup_free_ char *run = zero_strdup_printf("%s/run/instances", e->dir);
        DIR *dir = opendir(run);
        struct dirent *de;
        size_t left = 0;
        while (dir && (de = readdir(dir)))
                left += de->d_name[0] != '.';
        if (dir)
                closedir(dir);
        assert_int_equal(left, 0);
}

/* The stop's timer kills what ignores the plugin's stop; the timer is the step's. */
static void test_stop_kill_timer(void **state) {
        struct env *e = *state;
        _cleanup_free_ char *ready = zero_strdup_printf("%s/trapped", e->dir);
        _cleanup_free_ char *cmd = zero_strdup_printf(STUBBORN, ready);
        _cleanup_free_ char *c = create(e, "alpha", cmd), *s = NULL;
        uint64_t t0;

        run_ops(e);
        assert_string_equal(seen(e).state, "running");
        /* A SIGTERM before the shell has set its trap would end it at once. */
        for (int i = 0; i < 500 && access(ready, F_OK) < 0; i++)
                run_for(e, 10);
        assert_int_equal(access(ready, F_OK), 0);
        t0 = zero_monotonic_usec();
        s = act(e, "stop", json_pack("{s:i}", "timeout_s", 1));
        run_ops(e);
        assert_op(e, s, "succeeded", NULL);
        assert_true(zero_monotonic_usec() - t0 >= USEC_PER_SEC);
        assert_int_equal(seen(e).exit_code, 128 + SIGKILL);
        assert_string_equal(seen(e).state, "stopped");
}

static void test_switch(void **state) {
        struct env *e = *state;
        _cleanup_free_ char *c = create(e, "alpha", SLEEPER), *s = NULL;
        int64_t pid;

        run_ops(e);
        pid = seen(e).pid;
        s = switch_to(e, "beta");
        run_ops(e);
        assert_op(e, s, "succeeded", NULL);
        assert_string_equal(seen(e).state, "running");
        assert_string_equal(seen(e).mode, "beta");
        assert_false(pid_alive(pid));
        assert_true(pid_alive(seen(e).pid));
        /* The same volume and NIC, taken the other mode's way. */
        assert_card(e, "beta", true);
        assert_non_null(strstr(fake.export_path, ".nbd"));
}

/* What the runtime says of itself reaches the view: a status that changes without a word to the
 * agent (the view asks the plugin each time it shows the instance), and notify()'s pause and
 * resume (a state change in the store). check_view() compares after each; the ETags move. */
static void test_runtime_status(void **state) {
        struct env *e = *state;
        _cleanup_free_ char *c = create(e, "alpha", SLEEPER);
        char *body = NULL;
        const struct zero_view_entry *entry;
        struct zero_instance_row row = {};
        char tag0[ZERO_ETAG_MAX], tag1[ZERO_ETAG_MAX], tag2[ZERO_ETAG_MAX];
        struct zero_inst *inst;
        size_t len;

        run_ops(e);
        assert_string_equal(seen(e).state, "running");
        assert_int_equal(zero_view_find(&e->a, WEB, &entry), 0);
        zero_view_entry_etag(&e->a, entry, tag0);
        assert_int_equal(zero_view_entry_json(entry, &body, &len), 0);
        assert_null(strstr(body, "runtime_status"));
        free(body);

        snprintf(fake.status, sizeof(fake.status), "prelaunch"); /* nobody is told */
        check_view(e);
        assert_int_equal(zero_view_find(&e->a, WEB, &entry), 0);
        zero_view_entry_etag(&e->a, entry, tag1);
        assert_string_not_equal(tag0, tag1);
        assert_int_equal(zero_view_entry_json(entry, &body, &len), 0);
        assert_non_null(strstr(body, "\"runtime_status\":\"prelaunch\"}"));
        free(body);
        /* Asked again, the same answer: the same version. */
        assert_int_equal(zero_view_find(&e->a, WEB, &entry), 0);
        zero_view_entry_etag(&e->a, entry, tag2);
        assert_string_equal(tag1, tag2);

        assert_int_equal(zero_store_instance_get(e->a.store, WEB, &row), 0);
        inst = zero_inst_find(&e->a, row.id);
        assert_non_null(inst);
        snprintf(fake.status, sizeof(fake.status), "paused");
        fake.svc->notify(zero_services_ctx(inst, &e->loaded[0]), "paused", "paused", "a disk error");
        check_view(e);
        assert_string_equal(seen(e).state, "paused");
        assert_int_equal(zero_view_find(&e->a, WEB, &entry), 0);
        assert_int_equal(zero_view_entry_json(entry, &body, &len), 0);
        assert_non_null(strstr(body, "\"state\":\"paused\""));
        assert_non_null(strstr(body, "\"runtime_status\":\"paused\""));
        free(body);
        snprintf(fake.status, sizeof(fake.status), "running");
        fake.svc->notify(zero_services_ctx(inst, &e->loaded[0]), "resumed", "running", NULL);
        check_view(e);
        assert_string_equal(seen(e).state, "running");
        zero_instance_row_done(&row);
        free(act(e, "delete", json_pack("{s:b}", "force", true)));
        run_ops(e);
        assert_string_equal(seen(e).state, "gone");
        assert_true(view_seen.checks > 10);
}

/* A plugin of 4.1, without card_needs: nothing is made before its prepare; its own asks are
 * answered "under way", the step waits for the card and calls prepare again, and it runs. */
static void test_plugin_without_card_needs(void **state) {
        struct env *e = *state;
        _cleanup_free_ char *c = create(e, "gamma", SLEEPER), *s = NULL;

        run_ops(e);
        assert_op(e, c, "succeeded", NULL);
        assert_string_equal(seen(e).state, "running");
        assert_true(fake.asked >= 1);
        assert_true(fake.calls[F_PREPARE] >= 2);
        assert_int_equal(fake.calls[F_NEEDS], 0); /* its struct ends before the op */
        assert_card(e, "gamma", true);
        s = act(e, "stop", json_pack("{s:b}", "force", true));
        run_ops(e);
        assert_op(e, s, "succeeded", NULL);
        assert_card(e, "gamma", false);
}

/* The card fails card_up's export: the create fails with the card's reason, nothing is left on
 * the card, and the plugin never prepared. */
static void test_card_up_fails(void **state) {
        struct env *e = *state;
        _cleanup_free_ char *c = NULL;

        fake_card.fail[FAKE_EXPORT] = -EIO;
        c = create(e, "alpha", SLEEPER);
        run_ops(e);
        assert_op(e, c, "failed", "export of");
        assert_string_equal(seen(e).state, "error");
        assert_int_equal(fake.calls[F_PREPARE], 0);
        run_for(e, 100); /* the take-down nobody waits for */
        assert_card(e, "alpha", false);
}

/* --- failures: the table's states, the reason on the instance and the operation --- */

static void test_prepare_fails(void **state) {
        struct env *e = *state;
        _cleanup_free_ char *c = NULL;

        fake.fail = F_PREPARE;
        c = create(e, "alpha", SLEEPER);
        run_ops(e);
        assert_op(e, c, "failed", "cannot prepare");
        assert_string_equal(seen(e).state, "error");
        assert_non_null(strstr(seen(e).error, "cannot prepare"));
        assert_int_equal(fake.calls[F_START], 0);
        assert_int_equal(fake.calls[F_CLEANUP], 1); /* nothing half-started is left */
}

static void test_start_fails(void **state) {
        struct env *e = *state;
        _cleanup_free_ char *c = NULL;

        fake.fail = F_START;
        c = create(e, "alpha", SLEEPER);
        run_ops(e);
        assert_op(e, c, "failed", "cannot start");
        assert_string_equal(seen(e).state, "error");
}

/* A boot that fails later (done() with an error): the runtime is killed, the instance is in error. */
static void test_boot_fails_later(void **state) {
        struct env *e = *state;
        _cleanup_free_ char *c = NULL;

        fake.pend = F_BOOT;
        fake.pend_fail = true;
        c = create(e, "alpha", SLEEPER);
        run_ops(e);
        assert_op(e, c, "failed", "failed later");
        assert_string_equal(seen(e).state, "error");
        run_for(e, 300);
        assert_int_equal(shims_running(e->dir, 0), 0);
}

/* The command exits while boot waits for the plugin: the exit ends the wait, the instance is
 * stopped, and the plugin's late done() changes nothing. */
static void test_exit_during_boot(void **state) {
        struct env *e = *state;
        _cleanup_free_ char *c = NULL;

        fake.pend = F_BOOT;
        fake.done_after_ms = 1000;
        c = create(e, "alpha", "[\"/bin/sleep\",\"0.2\"]");
        run_ops(e);
        assert_op(e, c, "succeeded", NULL);
        assert_int_equal(fake.calls[F_BOOT], 1);
        assert_non_null(fake.done_timer); /* the exit came first */
        run_for(e, 1100); /* the timer's done() comes to nobody */
        assert_string_equal(seen(e).state, "stopped");
        assert_true(seen(e).has_exit_code);
        assert_int_equal(seen(e).exit_code, 0);
}

static void test_cleanup_fails(void **state) {
        struct env *e = *state;
        _cleanup_free_ char *c = create(e, "alpha", SLEEPER), *s = NULL;

        run_ops(e);
        fake.fail = F_CLEANUP;
        s = act(e, "stop", json_pack("{s:b}", "force", true));
        run_ops(e);
        assert_op(e, s, "failed", "cannot cleanup");
        assert_string_equal(seen(e).state, "error"); /* the stop's failure without a runtime */
}

/* The new mode's prepare fails: the mode goes back and the instance runs there again. */
static void test_switch_fails(void **state) {
        struct env *e = *state;
        _cleanup_free_ char *c = create(e, "alpha", SLEEPER), *s = NULL;

        run_ops(e);
        fake.fail = F_PREPARE;
        fake.fail_times = 1; /* the start in the old mode (an operation of its own) prepares */
        s = switch_to(e, "beta");
        run_ops(e);
        assert_op(e, s, "failed", "cannot prepare");
        assert_string_equal(seen(e).mode, "alpha");
        assert_string_equal(seen(e).state, "running");
        assert_true(pid_alive(seen(e).pid));
}

/* --- answers that come later --- */

/* prepare answers ZERO_PLUGIN_PENDING: it is called again after done(), and the create goes on. */
static void test_prepare_again(void **state) {
        struct env *e = *state;
        _cleanup_free_ char *c = NULL;

        fake.pend = F_PREPARE;
        c = create(e, "alpha", SLEEPER);
        run_ops(e);
        assert_op(e, c, "succeeded", NULL);
        assert_int_equal(fake.calls[F_PREPARE], 2);
        assert_string_equal(seen(e).state, "running");
}

/* A cleanup that answers later keeps the stop waiting, and the instance is stopped only after. */
static void test_cleanup_again(void **state) {
        struct env *e = *state;
        _cleanup_free_ char *c = create(e, "alpha", SLEEPER), *s = NULL;

        run_ops(e);
        fake.pend = F_CLEANUP;
        s = act(e, "stop", json_pack("{s:b}", "force", true));
        run_ops(e);
        assert_op(e, s, "succeeded", NULL);
        assert_int_equal(fake.calls[F_CLEANUP], 2);
        assert_string_equal(seen(e).state, "stopped");
}

/* The instance ends by itself and its cleanup answers later: stopping until the cleanup called
 * again is done, then stopped; no operation involved. */
static void test_self_exit_cleanup_again(void **state) {
        struct env *e = *state;
        _cleanup_free_ char *c = create(e, "alpha", "[\"/bin/sh\",\"-c\",\"sleep 0.3; exit 3\"]");

        run_ops(e);
        assert_string_equal(seen(e).state, "running");
        fake.pend = F_CLEANUP;
        fake.done_after_ms = 500;
        for (int i = 0; i < 200 && !fake.pended; i++)
                run_for(e, 10);
        assert_true(fake.pended);
        assert_string_equal(seen(e).state, "stopping");
        run_for(e, 700);
        assert_int_equal(fake.calls[F_CLEANUP], 2);
        assert_string_equal(seen(e).state, "stopped");
        assert_int_equal(seen(e).exit_code, 3);
}

/* --- a start that clears the node first ("evict": "stop", agent/node_owner.c) --- */

#define METAL "metal"

/* A stopped instance of mode, with no volume and no NIC. */
static void add_metal_in(struct env *e, const char *mode) {
        char id[33];
        struct zero_instance_row row = {.id = id, .name = (char *) METAL, .mode = (char *) mode,
                                        .state = (char *) "stopped", .image = (char *) "img", .cpus = 1,
                                        .memory_mib = 64, .spec = (char *) "{\"command\":" SLEEPER "}",
                                        .created_at = 1, .updated_at = 1};

        assert_int_equal(zero_random_id(id), 0);
        assert_int_equal(zero_store_instance_insert(e->a.store, &row), 0);
}

/* A stopped instance of the exclusive mode delta, with no volume and no NIC. */
static void add_metal(struct env *e) {
        add_metal_in(e, "delta");
}

static const char *state_of(struct env *e, const char *name) {
        static char buf[32];
        struct zero_instance_row row = {};

        assert_int_equal(zero_store_instance_get(e->a.store, name, &row), 0);
        snprintf(buf, sizeof(buf), "%s", row.state);
        zero_instance_row_done(&row);
        return buf;
}

/* The stop operation metal's start (operation start_id) recorded for the instance id, or NULL. */
static char *evicted_by(struct env *e, const char *start_id, const char *id) {
        struct zero_operation_row row = {};
        json_auto_t *params = NULL;
        json_t *v;
        char *stop = NULL;
        size_t i;

        assert_int_equal(zero_store_operation_get(e->a.store, start_id, &row), 0);
        params = json_loads(row.params, 0, NULL);
        json_array_foreach(json_object_get(params, "evicted"), i, v) {
                if (streq(strempty(json_string_value(json_object_get(v, "instance"))), id))
                        stop = strdup(json_string_value(json_object_get(v, "operation")));
        }
        zero_operation_row_done(&row);
        return stop;
}

static char *id_of(struct env *e, const char *name) {
        struct zero_instance_row row = {};
        char *id;

        assert_int_equal(zero_store_instance_get(e->a.store, name, &row), 0);
        id = strdup(row.id);
        zero_instance_row_done(&row);
        return id;
}

/* The steps an operation recorded, as "a,b,c". */
static char *steps_of(struct env *e, const char *id) {
        struct zero_operation_row row = {};
        json_auto_t *steps = NULL;
        char buf[512] = "";
        json_t *v;
        size_t i;

        assert_int_equal(zero_store_operation_get(e->a.store, id, &row), 0);
        steps = json_loads(strempty(row.steps), 0, NULL);
        json_array_foreach(steps, i, v) {
                size_t len = strlen(buf);
                snprintf(buf + len, sizeof(buf) - len, "%s%s", len ? "," : "",
                         json_string_value(json_object_get(v, "step")));
        }
        zero_operation_row_done(&row);
        return strdup(buf);
}

static void test_evict(void **state) {
        struct env *e = *state;
        _cleanup_free_ char *c = create(e, "alpha", SLEEPER), *start = NULL, *stop = NULL, *web = NULL, *steps = NULL;
        struct zero_error err = {};
        struct zero_op *op = NULL;
        int64_t web_pid;

        run_ops(e);
        assert_string_equal(seen(e).state, "running");
        web_pid = seen(e).pid;
        web = id_of(e, WEB);
        add_metal(e);
        /* Without evict: 409, nothing recorded. */
        assert_int_equal(zero_instance_act(&e->a, METAL, "start", NULL, &op, &err), -EBUSY);
        assert_int_equal(err.code, ZERO_E_CONFLICT);
        assert_string_equal(err.message, "the node is held by 'web' (alpha, running): delta instance 'metal' needs the "
                                         "node to itself (\"evict\": \"stop\" stops the others first)");
        assert_null(e->a.ops);
        /* With it: web is stopped by a stop operation of its own, then metal starts. */
        assert_int_equal(zero_instance_act(&e->a, METAL, "start", json_pack("{s:s}", "evict", "stop"), &op, &err), 0);
        start = strdup(op->row.id);
        /* While metal's start is under way (it clears the node first), nothing else starts. */
        assert_int_equal(zero_node_owner_check(&e->a, NULL, "other", "alpha", false, &err), -EBUSY);
        assert_string_equal(err.message, "the node is held by delta instance 'metal' (stopped, start in progress): it "
                                         "has the node to itself, so 'other' cannot run beside it");
        run_ops(e);
        assert_op(e, start, "succeeded", NULL);
        steps = steps_of(e, start);
        assert_string_equal(steps, "evict,volumes,card_up,prepare,handover_load,handover,spawn,boot,running");
        stop = evicted_by(e, start, web);
        assert_non_null(stop);
        assert_op(e, stop, "succeeded", NULL);
        assert_string_equal(seen(e).state, "stopped");
        assert_false(pid_alive(web_pid));
        assert_card(e, "alpha", false); /* web's exports and NIC went with its stop */
        assert_string_equal(state_of(e, METAL), "running");
        assert_int_equal(shims_running(e->dir, 1), 1);
        /* metal has the node: web cannot start beside it. */
        assert_int_equal(zero_instance_act(&e->a, WEB, "start", NULL, &op, &err), -EBUSY);
        assert_int_equal(err.code, ZERO_E_CONFLICT);
        assert_string_equal(err.message, "the node is held by delta instance 'metal' (running): it has the node to "
                                         "itself, so 'web' cannot run beside it");
}

/* A running instance switched to an exclusive mode: admitted as a start (409 naming the holder),
 * or with "evict" the holder stopped by the switch's evict step first. */
static void test_switch_evict(void **state) {
        struct env *e = *state;
        _cleanup_free_ char *c = create(e, "alpha", SLEEPER), *sw = NULL, *steps = NULL;
        struct zero_error err = {};
        struct zero_op *op = NULL;

        run_ops(e);
        add_metal_in(e, "alpha");
        free(act_on(e, METAL, "start", NULL));
        run_ops(e);
        assert_string_equal(state_of(e, METAL), "running");
        assert_int_equal(zero_instance_switch(&e->a, WEB, "delta", json_object(), &op, &err), -EBUSY);
        assert_int_equal(err.code, ZERO_E_CONFLICT);
        assert_string_equal(err.message, "the node is held by 'metal' (alpha, running): delta instance 'web' needs the "
                                         "node to itself (\"evict\": \"stop\" stops the others first)");
        assert_null(e->a.ops);
        /* evict is for an exclusive mode only */
        assert_int_equal(zero_instance_switch(&e->a, WEB, "beta", json_pack("{s:s}", "evict", "stop"), &op, &err),
                         -EINVAL);
        assert_int_equal(err.code, ZERO_E_INVALID);
        assert_int_equal(zero_instance_switch(&e->a, WEB, "delta", json_pack("{s:s}", "evict", "stop"), &op, &err), 0);
        sw = strdup(op->row.id);
        run_ops(e);
        assert_op(e, sw, "succeeded", NULL);
        steps = steps_of(e, sw);
        assert_string_equal(steps, "evict,stop,cleanup,card_down,mode,card_up,prepare,handover_load,handover,spawn,boot,"
                                   "running");
        assert_string_equal(state_of(e, METAL), "stopped");
        assert_string_equal(seen(e).mode, "delta");
        assert_string_equal(seen(e).state, "running");
        assert_int_equal(shims_running(e->dir, 1), 1);
}

/* An instance with a vTPM ("tpm": true) goes to a mode that gives one (its state goes with it),
 * never to an exclusive one (a bms tenant has the host's own TPM): refused, nothing changed. */
static void test_switch_tpm(void **state) {
        struct env *e = *state;
        _cleanup_free_ char *c = create(e, "alpha", SLEEPER ",\"tpm\":true"), *sw = NULL;
        struct zero_error err = {};
        struct zero_op *op = NULL;

        run_ops(e);
        assert_string_equal(state_of(e, WEB), "running");
        assert_int_equal(zero_instance_switch(&e->a, WEB, "delta", json_object(), &op, &err), -EINVAL);
        assert_int_equal(err.code, ZERO_E_INVALID);
        assert_string_equal(err.message, "tpm: mode 'delta' hands the tenant the host, whose own TPM it has: no vTPM");
        /* No runtime gives a vTPM here: none to go to. */
        assert_int_equal(zero_instance_switch(&e->a, WEB, "beta", json_object(), &op, &err), -EINVAL);
        assert_string_equal(err.message, "tpm: no runtime here gives a vTPM (no vm plugin)");
        assert_null(e->a.ops);
        assert_string_equal(seen(e).mode, "alpha");
        /* beta gives one (as the vm plugin with swtpm): the switch goes. */
        e->loaded[1].probe.tpm = true;
        assert_int_equal(zero_instance_switch(&e->a, WEB, "beta", json_object(), &op, &err), 0);
        sw = strdup(op->row.id);
        run_ops(e);
        assert_op(e, sw, "succeeded", NULL);
        assert_string_equal(seen(e).mode, "beta");
}

/* A holder with an operation of its own (its delete): the evict waits for it, stops nothing. */
static void test_evict_waits_for_own_op(void **state) {
        struct env *e = *state;
        _cleanup_free_ char *c = create(e, "alpha", SLEEPER), *start = NULL, *web = NULL, *stop = NULL;
        struct zero_error err = {};
        struct zero_op *op = NULL;

        run_ops(e);
        web = id_of(e, WEB);
        add_metal(e);
        assert_int_equal(zero_instance_act(&e->a, WEB, "delete", json_object(), &op, &err), 0);
        assert_int_equal(zero_instance_act(&e->a, METAL, "start", json_pack("{s:s}", "evict", "stop"), &op, &err), 0);
        start = strdup(op->row.id);
        run_ops(e);
        assert_string_equal(seen(e).state, "gone");
        stop = evicted_by(e, start, web);
        assert_null(stop);
        assert_op(e, start, "succeeded", NULL);
        assert_string_equal(state_of(e, METAL), "running");
}

/* --- a crash at every fault point of a kind, resumed by the next agent --- */

/* What a scenario starts (in the agent that will die) and what the next agent must end with. */
#ifdef ZERO_FAULT_INJECTION
/* The crash tests need the fault points: a build without them has none to reach. */
struct scenario {
        const char *kind;
        const char *before; /* the instance's state before: "none" (no instance) or "running" */
        const char *end_state, *end_mode;
};

static void scenario_prepare(struct env *e, const struct scenario *sc) {
        if (streq(sc->before, "none"))
                return;
        env_open(e);
        free(create(e, "alpha", SLEEPER));
        run_ops(e);
        assert_string_equal(seen(e).state, "running");
        env_close(e);
}

static void scenario_start(struct env *e, const struct scenario *sc) {
        if (streq(sc->kind, "create"))
                free(create(e, "alpha", SLEEPER));
        else if (streq(sc->kind, "switch"))
                free(switch_to(e, "beta"));
        else
                free(act(e, sc->kind, json_pack("{s:i}", "timeout_s", 1)));
}

/* The agent dies at point (a child process): 1 if it got there, 0 if the operation ended first. */
static int die_at(struct env *e, const struct scenario *sc, const char *point) {
        int status;
        pid_t pid = fork();

        assert_true(pid >= 0);
        if (pid == 0) {
                setenv("ZERO_FAULT_POINT", point, 1);
                env_open(e);
                scenario_start(e, sc);
                run_ops(e);
                _exit(0);
        }
        assert_int_equal(waitpid(pid, &status, 0), pid);
        assert_true(WIFEXITED(status));
        if (WEXITSTATUS(status) != ZERO_FAULT_EXIT_STATUS && WEXITSTATUS(status) != 0)
                print_message("%s: the dying agent exited with %d\n", point, WEXITSTATUS(status));
        assert_true(WEXITSTATUS(status) == ZERO_FAULT_EXIT_STATUS || WEXITSTATUS(status) == 0);
        return WEXITSTATUS(status) == ZERO_FAULT_EXIT_STATUS;
}

/* The fault point `which` of a step (fault.h): 0 KIND.STEP, 1 KIND.STEP.ANSWER (false when the
 * step has no answer), 2 KIND.STEP.done. */
static bool fault_point(const char *kind, const struct zero_op_step *step, int which, char *buf, size_t size) {
        if (which == 1 && !step->answer)
                return false;
        snprintf(buf, size, "%s.%s%s%s", kind, step->name, which == 0 ? "" : which == 1 ? "." : ".done",
                 which == 1 ? step->answer : "");
        return true;
}

static void crash_scenario(const struct scenario *sc) {
        const struct zero_op_kind *kind = zero_op_kind_find(sc->kind);
        unsigned reached = 0, points = 0;

        assert_non_null(getenv("ZERO_SHIM"));
        assert_non_null(kind);
        for (size_t s = 0; s < kind->n_steps; s++)
                for (int which = 0; which < 3; which++) {
                        char point[128];
                        struct env *e;

                        if (!fault_point(sc->kind, &kind->steps[s], which, point, sizeof(point)))
                                continue;
                        e = env_new();
                        scenario_prepare(e, sc);
                        points++;
                        reached += die_at(e, sc, point);
                        /* The next agent: reconcile, resume, end as if nothing had happened. */
                        env_open(e);
                        assert_int_equal(zero_inst_reconcile_all(&e->a), 0);
                        assert_int_equal(zero_op_resume_all(&e->a), 0);
                        run_ops(e);
                        run_for(e, 50);
                        if (!streq(seen(e).state, sc->end_state))
                                print_message("%s: %s after the resume (%s)\n", point, seen(e).state, seen(e).error);
                        assert_string_equal(seen(e).state, sc->end_state);
                        if (sc->end_mode)
                                assert_string_equal(seen(e).mode, sc->end_mode);
                        /* One runtime, or none: never a second shim from a step run twice. */
                        assert_int_equal(shims_running(e->dir, streq(sc->end_state, "running")),
                                         streq(sc->end_state, "running") ? 1 : 0);
                        /* The card holds what the end state needs, no more (nothing leaked). */
                        assert_card(e, sc->end_mode ? sc->end_mode : "alpha", streq(sc->end_state, "running"));
                        if (streq(sc->end_state, "running"))
                                assert_true(pid_alive(seen(e).pid));
                        env_close(e);
                        env_free(e);
                }
        print_message("%s: %u fault points, %u reached and resumed\n", sc->kind, points, reached);
        /* Every point of a step that runs in this scenario is reached. */
        assert_int_equal(reached, points);
}


/* --- the hand-over of the host (handover.c) --- */

/* zero-bms-handover as the tests have it: load succeeds; exec is the host going to the tenant,
 * which for the agent that ran it is the end: it is killed (its parent: the agent's process). */
static void write_handover_helper(struct env *e) {
        static const char text[] = "#!/bin/sh\ncase $1 in\nload) exit 0 ;;\nexec) kill -9 $PPID; sleep 10; exit 1 ;;\nesac\nexit 2\n";
        _cleanup_free_ char *path = zero_strdup_printf("%s/handover.sh", e->dir);

        assert_int_equal(zero_write_file_replace(path, text, sizeof(text) - 1, 0755), 0);
}

/* What an agent's life begins with: resuming what the last one left, a create of web in the
 * hand-over mode eps, or a switch of web (alpha, running: switch_setup) to it. */
enum life_start { LIFE_RESUME, LIFE_CREATE, LIFE_SWITCH };

/* One life of an agent, in a child (a host): 0 its operations ended, 1 it handed the host over
 * (killed by the helper's exec), 2 it died at the fault point. */
static int agent_life(struct env *e, const char *point, enum life_start start) {
        int status;
        pid_t pid = fork();

        assert_true(pid >= 0);
        if (pid == 0) {
                if (point)
                        setenv("ZERO_FAULT_POINT", point, 1);
                env_open(e);
                if (start == LIFE_CREATE)
                        free(create(e, "eps", SLEEPER));
                else {
                        assert_int_equal(zero_inst_reconcile_all(&e->a), 0);
                        assert_int_equal(zero_op_resume_all(&e->a), 0);
                }
                run_ops(e);
                if (start == LIFE_SWITCH) {
                        free(switch_to(e, "eps"));
                        run_ops(e);
                }
                _exit(0);
        }
        assert_int_equal(waitpid(pid, &status, 0), pid);
        if (WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)
                return 1;
        assert_true(WIFEXITED(status));
        if (WEXITSTATUS(status) != 0 && WEXITSTATUS(status) != ZERO_FAULT_EXIT_STATUS)
                print_message("%s: the agent exited with %d\n", strempty(point), WEXITSTATUS(status));
        assert_true(WEXITSTATUS(status) == 0 || WEXITSTATUS(status) == ZERO_FAULT_EXIT_STATUS);
        return WEXITSTATUS(status) == ZERO_FAULT_EXIT_STATUS ? 2 : 0;
}

/* An agent that dies at point, then the next ones, until one hands the host over (asserted);
 * whether the first died at the point. */
static bool lives_until_handed_over(struct env *e, const char *point, enum life_start start) {
        int life = agent_life(e, point, start), lives = 0;
        bool reached = life == 2;

        while (life == 2 && lives++ < 3)
                life = agent_life(e, NULL, LIFE_RESUME);
        if (life != 1)
                print_message("%s: never handed over (%d)\n", point, life);
        assert_int_equal(life, 1);
        return reached;
}

/* The card's take-back: every hand-over it holds ends with code (and, with a mode, the switch the
 * operator asked of the card: "ended CODE switch MODE"); how many there were. */
static unsigned card_take_back_to(struct env *e, int code, const char *mode) {
        _cleanup_free_ char *dir = zero_strdup_printf("%s/card/tenant", e->dir);
        DIR *d = opendir(dir);
        struct dirent *de;
        unsigned n = 0;
        char text[64];

        snprintf(text, sizeof(text), "ended %d%s%s", code, mode ? " switch " : "", mode ? mode : "");
        while (d && (de = readdir(d))) {
                _cleanup_free_ char *f = zero_strdup_printf("%s/%s", dir, de->d_name);
                if (de->d_name[0] == '.')
                        continue;
                assert_int_equal(zero_write_file_replace(f, text, strlen(text), 0600), 0);
                n++;
        }
        if (d)
                closedir(d);
        return n;
}

static unsigned card_take_back(struct env *e, int code) {
        return card_take_back_to(e, code, NULL);
}

/* The card's part taken down by jobs of their own (zero_card_down_nowait): 5 s at most. */
static void wait_card_empty(struct env *e) {
        for (int i = 0; i < 250; i++) {
                _cleanup_free_ char *holds = card_holds(e);
                if (streq(holds, "none/none"))
                        break;
                run_for(e, 20);
        }
}

/* zerod back after the take-back: the operation ends, the instance stopped with the tenant's exit
 * code, the card holds nothing of it. */
static void assert_back(struct env *e, int code) {
        struct seen s;

        env_open(e);
        assert_int_equal(zero_inst_reconcile_all(&e->a), 0);
        assert_int_equal(zero_op_resume_all(&e->a), 0);
        run_ops(e);
        wait_card_empty(e);
        s = seen(e);
        if (!streq(s.state, "stopped"))
                print_message("after the take-back: %s (%s)\n", s.state, s.error);
        assert_string_equal(s.state, "stopped");
        assert_true(s.has_exit_code);
        assert_int_equal(s.exit_code, code);
        assert_card(e, "eps", false);
        assert_int_equal(shims_running(e->dir, false), 0);
        env_close(e);
}

/* A create of a hand-over mode: the kernel loaded, the card told, the host gone to the tenant;
 * back, the instance is stopped with the code the card says. */
static void test_handover(void **state) {
        struct env *e = env_new();

        (void) state;
        write_handover_helper(e);
        assert_int_equal(agent_life(e, NULL, LIFE_CREATE), 1);
        assert_int_equal(card_take_back(e, 143), 1);
        assert_back(e, 143);
        env_free(e);
}

/* Every fault point of kind: a host (an env) made by make(), an agent that dies there and the next
 * ones until the host is handed over (start: what the first does), then back(e, point); how many
 * points the first agent reached. */
static unsigned crash_handover_walk(const char *kind_name, enum life_start start, void (*make)(struct env *e),
                                    void (*back)(struct env *e, const char *point)) {
        const struct zero_op_kind *kind = zero_op_kind_find(kind_name);
        unsigned points = 0, reached = 0;

        for (size_t s = 0; s < kind->n_steps; s++)
                for (int which = 0; which < 3; which++) {
                        char point[128];
                        struct env *e;

                        if (!fault_point(kind_name, &kind->steps[s], which, point, sizeof(point)))
                                continue;
                        e = env_new();
                        make(e);
                        points++;
                        reached += lives_until_handed_over(e, point, start);
                        back(e, point);
                        env_free(e);
                }
        print_message("%s (hand-over): %u fault points, %u reached before the hand-over\n", kind_name, points, reached);
        return reached;
}

static void create_back(struct env *e, const char *point) {
        (void) point;
        assert_int_equal(card_take_back(e, 0), 1);
        assert_back(e, 0);
}

/* A reset of the host (the agent dies) at every fault point of the create: the next agents resume
 * until the host is handed over, once, under the same operation; back, one consistent end. The
 * points before the hand-over are reached; those after it (spawn, boot, running, and
 * handover.done) only in the agent that is back. */
static void test_crash_handover(void **state) {
        (void) state;
        assert_true(crash_handover_walk("create", LIFE_CREATE, write_handover_helper, create_back) >= 10);
}

/* web created as alpha and running, in an agent that is then closed (its shim runs on). */
static void switch_setup(struct env *e) {
        write_handover_helper(e);
        env_open(e);
        free(create(e, "alpha", SLEEPER));
        run_ops(e);
        assert_string_equal(seen(e).state, "running");
        env_close(e);
}

/* The operations of web, oldest first: "kind:status:steps;..." of the switches. */
static char *switches_of(struct env *e) {
        struct zero_operation_row *rows = NULL;
        char buf[2048] = "";
        size_t n = 0;

        assert_int_equal(zero_store_operation_list_page(e->a.store, NULL, NULL, WEB, 0, &rows, &n), 0);
        for (size_t i = 0; i < n; i++) {
                size_t len = strlen(buf);
                _cleanup_free_ char *steps = NULL;

                if (!streq(rows[i].kind, "switch"))
                        continue;
                steps = steps_of(e, rows[i].id);
                snprintf(buf + len, sizeof(buf) - len, "%s%s:%s", len ? ";" : "", rows[i].status, steps);
        }
        zero_operation_rows_free(rows, n);
        return strdup(buf);
}

/* A running instance switched to a hand-over mode (container -> bms): the old runtime stopped, its
 * card part taken down, the mode recorded, the new one's exports made, the host handed over by
 * the switch's own steps. Back with a plain take-back, it is a stopped eps instance, and a switch
 * of it only changes its mode; back with the switch asked of the card, it runs as alpha again. */
static void test_switch_handover(void **state) {
        struct env *e = env_new();
        _cleanup_free_ char *ops = NULL;

        (void) state;
        switch_setup(e);
        assert_int_equal(agent_life(e, NULL, LIFE_SWITCH), 1);
        assert_int_equal(card_take_back(e, 143), 1);
        assert_back(e, 143);
        env_open(e);
        assert_string_equal(seen(e).mode, "eps");
        ops = switches_of(e);
        assert_string_equal(ops, "succeeded:evict,stop,cleanup,card_down,mode,card_up,prepare,handover_load,handover,"
                                 "spawn,boot,running");
        /* Stopped: the way back only changes its mode (a start runs it). */
        free(switch_to(e, "alpha"));
        run_ops(e);
        assert_string_equal(seen(e).mode, "alpha");
        assert_string_equal(seen(e).state, "stopped");
        env_close(e);
        env_free(e);

        /* The switch back asked of the card while the tenant runs: the take-back, then zerod's
         * switch to alpha, which runs it. */
        e = env_new();
        switch_setup(e);
        assert_int_equal(agent_life(e, NULL, LIFE_SWITCH), 1);
        assert_int_equal(card_take_back_to(e, 143, "alpha"), 1);
        env_open(e);
        assert_int_equal(zero_inst_reconcile_all(&e->a), 0);
        assert_int_equal(zero_op_resume_all(&e->a), 0);
        run_ops(e);
        assert_string_equal(seen(e).mode, "alpha");
        assert_string_equal(seen(e).state, "running");
        assert_card(e, "alpha", true);
        assert_int_equal(shims_running(e->dir, 1), 1);
        free(ops);
        ops = switches_of(e);
        assert_string_equal(ops, "succeeded:evict,stop,cleanup,card_down,mode,card_up,prepare,handover_load,handover,"
                                 "spawn,boot,running;succeeded:evict,stop,cleanup,card_down,mode,card_up,prepare,"
                                 "handover_load,handover,spawn,boot,running");
        env_close(e);
        env_free(e);

        /* The card's switch to a mode no plugin runs here: no switch, a stopped eps instance. And
         * one whose new mode fails to prepare: back to eps, stopped, the host not handed over again
         * (the agent would be killed by the helper's exec). */
        for (int i = 0; i < 2; i++) {
                e = env_new();
                switch_setup(e);
                assert_int_equal(agent_life(e, NULL, LIFE_SWITCH), 1);
                assert_int_equal(card_take_back_to(e, 143, i == 0 ? "nomode" : "alpha"), 1);
                env_open(e);
                if (i == 1) {
                        fake.fail = F_PREPARE;
                        fake.fail_times = 1;
                }
                assert_int_equal(zero_inst_reconcile_all(&e->a), 0);
                assert_int_equal(zero_op_resume_all(&e->a), 0);
                run_ops(e);
                wait_card_empty(e);
                assert_string_equal(seen(e).mode, "eps");
                assert_string_equal(seen(e).state, "stopped");
                if (i == 1)
                        assert_non_null(strstr(seen(e).error, "switch failed"));
                assert_card(e, "eps", false);
                assert_int_equal(shims_running(e->dir, 0), 0);
                free(ops);
                ops = switches_of(e);
                if (i == 0)
                        assert_string_equal(ops, "succeeded:evict,stop,cleanup,card_down,mode,card_up,prepare,"
                                                 "handover_load,handover,spawn,boot,running");
                else
                        assert_non_null(strstr(ops, ";failed:"));
                env_close(e);
                env_free(e);
        }
}

/* The card's stop or switch of the tenant as an operation ("ended CODE[ switch MODE] op ID CREATED
 * OFF ENDED", card.h): back, zerod has that operation, a stop ended or the switch it goes on into,
 * beginning with the card's steps. */
#define CARD_OP "c0ffee00c0ffee00c0ffee00c0ffee00"
static void card_op_back(struct env *e, int code, const char *mode) {
        _cleanup_free_ char *dir = zero_strdup_printf("%s/card/tenant", e->dir);
        DIR *d = opendir(dir);
        struct dirent *de;
        char text[160];
        long long now = (long long) zero_now_usec();

        snprintf(text, sizeof(text), "ended %d%s%s op " CARD_OP " %lld %lld %lld", code, mode ? " switch " : "",
                 mode ? mode : "", now - 3000000, now - 1000000, now - 500000);
        assert_non_null(d);
        while ((de = readdir(d))) {
                _cleanup_free_ char *f = zero_strdup_printf("%s/%s", dir, de->d_name);
                if (de->d_name[0] != '.')
                        assert_int_equal(zero_write_file_replace(f, text, strlen(text), 0600), 0);
        }
        closedir(d);
        env_open(e);
        assert_int_equal(zero_inst_reconcile_all(&e->a), 0);
        assert_int_equal(zero_op_resume_all(&e->a), 0);
        run_ops(e);
        wait_card_empty(e);
}

/* A switch to the hand-over mode, handed over, then back with the card's operation. */
static struct env *card_op_case(int code, const char *mode) {
        struct env *e = env_new();

        switch_setup(e);
        assert_int_equal(agent_life(e, NULL, LIFE_SWITCH), 1);
        card_op_back(e, code, mode);
        return e;
}

static void test_handover_card_operation(void **state) {
        struct zero_operation_row row = {};
        _cleanup_free_ char *steps = NULL;
        json_auto_t *st = NULL;
        struct env *e;

        (void) state;
        /* A stop: recorded as ended, with the card's steps and their times. */
        e = card_op_case(143, NULL);
        assert_string_equal(seen(e).state, "stopped");
        assert_int_equal(zero_store_operation_get(e->a.store, CARD_OP, &row), 0);
        assert_string_equal(row.kind, "stop");
        assert_string_equal(row.status, "succeeded");
        assert_string_equal(row.instance_name, WEB);
        st = json_loads(row.steps, 0, NULL);
        assert_int_equal(json_array_size(st), 3);
        assert_string_equal(json_string_value(json_object_get(json_array_get(st, 0), "step")), "power_off");
        assert_int_equal(json_integer_value(json_object_get(json_array_get(st, 0), "duration_us")), 2000000);
        assert_int_equal(json_integer_value(json_object_get(json_array_get(st, 1), "duration_us")), 500000);
        assert_string_equal(json_string_value(json_object_get(json_array_get(st, 2), "step")), "host_boot");
        assert_true(json_integer_value(json_object_get(json_array_get(st, 2), "duration_us")) >= 500000);
        zero_operation_row_done(&row);
        env_close(e);
        env_free(e);

        /* A switch: zerod's switch has the card's id and begins with its steps. */
        e = card_op_case(143, "alpha");
        assert_string_equal(seen(e).mode, "alpha");
        assert_string_equal(seen(e).state, "running");
        assert_int_equal(zero_store_operation_get(e->a.store, CARD_OP, &row), 0);
        assert_string_equal(row.kind, "switch");
        assert_string_equal(row.status, "succeeded");
        zero_operation_row_done(&row);
        steps = steps_of(e, CARD_OP);
        assert_string_equal(steps, "power_off,take_back,host_boot,evict,stop,cleanup,card_down,mode,card_up,prepare,"
                                   "handover_load,handover,spawn,boot,running");
        env_close(e);
        env_free(e);

        /* A switch to a mode that cannot run here: the operation failed, saying why; stopped. */
        e = card_op_case(143, "nomode");
        assert_string_equal(seen(e).state, "stopped");
        assert_int_equal(zero_store_operation_get(e->a.store, CARD_OP, &row), 0);
        assert_string_equal(row.kind, "switch");
        assert_string_equal(row.status, "failed");
        assert_non_null(strstr(strempty(row.error_message), "cannot run here"));
        zero_operation_row_done(&row);
        env_close(e);
        env_free(e);
}

static void switch_back(struct env *e, const char *point) {
        assert_int_equal(card_take_back_to(e, 143, "alpha"), 1);
        env_open(e);
        assert_int_equal(zero_inst_reconcile_all(&e->a), 0);
        assert_int_equal(zero_op_resume_all(&e->a), 0);
        run_ops(e);
        if (!streq(seen(e).state, "running") || !streq(seen(e).mode, "alpha"))
                print_message("%s: back, web is %s %s (%s)\n", point, seen(e).mode, seen(e).state, seen(e).error);
        assert_string_equal(seen(e).mode, "alpha");
        assert_string_equal(seen(e).state, "running");
        assert_card(e, "alpha", true);
        assert_int_equal(shims_running(e->dir, 1), 1);
        env_close(e);
}

/* A reset of the host at every fault point of the switch to the hand-over mode: resumed until the
 * host is handed over, once; back with the card's switch, web runs as alpha, one runtime, the card
 * holding alpha's part alone. */
static void test_crash_switch_handover(void **state) {
        (void) state;
        assert_true(crash_handover_walk("switch", LIFE_SWITCH, switch_setup, switch_back) >= 14);
}

/* A crash at every fault point of an evicting start and of the stop it starts: the next agent
 * resumes both and ends with the holder stopped once, the exclusive instance running, one
 * runtime, and the card holding nothing of the holder's. */
static void evict_crash_at(const char *point) {
        struct env *e = env_new();
        struct zero_error err = {};
        struct zero_op *op = NULL;
        int status;
        pid_t pid;

        env_open(e);
        free(create(e, "alpha", SLEEPER));
        run_ops(e);
        add_metal(e);
        env_close(e);
        pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
                setenv("ZERO_FAULT_POINT", point, 1);
                env_open(e);
                assert_int_equal(zero_instance_act(&e->a, METAL, "start", json_pack("{s:s}", "evict", "stop"), &op, &err),
                                 0);
                run_ops(e);
                _exit(0);
        }
        assert_int_equal(waitpid(pid, &status, 0), pid);
        if (!WIFEXITED(status) || WEXITSTATUS(status) != ZERO_FAULT_EXIT_STATUS)
                print_message("%s: not reached (status %d)\n", point, status);
        assert_true(WIFEXITED(status) && WEXITSTATUS(status) == ZERO_FAULT_EXIT_STATUS);
        env_open(e);
        assert_int_equal(zero_inst_reconcile_all(&e->a), 0);
        assert_int_equal(zero_op_resume_all(&e->a), 0);
        run_ops(e);
        run_for(e, 50);
        if (!streq(seen(e).state, "stopped") || !streq(state_of(e, METAL), "running"))
                print_message("%s: web %s (%s), metal %s\n", point, seen(e).state, seen(e).error, state_of(e, METAL));
        assert_string_equal(seen(e).state, "stopped");
        assert_string_equal(state_of(e, METAL), "running");
        assert_int_equal(shims_running(e->dir, 1), 1);
        assert_card(e, "alpha", false);
        env_close(e);
        env_free(e);
}

static void test_crash_evict(void **state) {
        static const char *const kinds[] = {"start", "stop"};
        unsigned points = 0;

        for (size_t k = 0; k < ELEMENTSOF(kinds); k++) {
                const struct zero_op_kind *kind = zero_op_kind_find(kinds[k]);

                for (size_t s = 0; s < kind->n_steps; s++)
                        for (int which = 0; which < 3; which++) {
                                char point[128];

                                if (!fault_point(kinds[k], &kind->steps[s], which, point, sizeof(point)))
                                        continue;
                                evict_crash_at(point);
                                points++;
                        }
        }
        print_message("evict: %u fault points, each reached and resumed\n", points);
}

static void test_crash_create(void **state) {
        crash_scenario(&(struct scenario){"create", "none", "running", "alpha"});
}

static void test_crash_stop(void **state) {
        crash_scenario(&(struct scenario){"stop", "running", "stopped", "alpha"});
}

static void test_crash_restart(void **state) {
        crash_scenario(&(struct scenario){"restart", "running", "running", "alpha"});
}

static void test_crash_delete(void **state) {
        crash_scenario(&(struct scenario){"delete", "running", "gone", NULL});
}

static void test_crash_switch(void **state) {
        crash_scenario(&(struct scenario){"switch", "running", "running", "beta"});
}

#define CRASH_TEST(t) cmocka_unit_test(t)
#else
static void no_fault_points(void **state) {
        zero_skip("this build has no fault points (-DZERO_FAULT_INJECTION=ON): skipped\n");
}
#define CRASH_TEST(t) cmocka_unit_test(no_fault_points)
#endif

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_lifecycle, setup, teardown),
                cmocka_unit_test_setup_teardown(test_stop_kill_timer, setup, teardown),
                cmocka_unit_test_setup_teardown(test_switch, setup, teardown),
                cmocka_unit_test_setup_teardown(test_runtime_status, setup, teardown),
                cmocka_unit_test_setup_teardown(test_plugin_without_card_needs, setup, teardown),
                cmocka_unit_test_setup_teardown(test_card_up_fails, setup, teardown),
                cmocka_unit_test_setup_teardown(test_prepare_fails, setup, teardown),
                cmocka_unit_test_setup_teardown(test_start_fails, setup, teardown),
                cmocka_unit_test_setup_teardown(test_boot_fails_later, setup, teardown),
                cmocka_unit_test_setup_teardown(test_exit_during_boot, setup, teardown),
                cmocka_unit_test_setup_teardown(test_cleanup_fails, setup, teardown),
                cmocka_unit_test_setup_teardown(test_switch_fails, setup, teardown),
                cmocka_unit_test_setup_teardown(test_prepare_again, setup, teardown),
                cmocka_unit_test_setup_teardown(test_cleanup_again, setup, teardown),
                cmocka_unit_test_setup_teardown(test_self_exit_cleanup_again, setup, teardown),
                cmocka_unit_test_setup_teardown(test_evict, setup, teardown),
                cmocka_unit_test_setup_teardown(test_evict_waits_for_own_op, setup, teardown),
                cmocka_unit_test_setup_teardown(test_switch_evict, setup, teardown),
                cmocka_unit_test_setup_teardown(test_switch_tpm, setup, teardown),
                CRASH_TEST(test_crash_create),
                CRASH_TEST(test_crash_stop),
                CRASH_TEST(test_crash_restart),
                CRASH_TEST(test_crash_delete),
                CRASH_TEST(test_crash_switch),
                CRASH_TEST(test_crash_evict),
                /* These two use the fault points' scenario helpers (defined only with them):
                 * without -DZERO_FAULT_INJECTION=ON they are skipped, not undeclared (deploy/lab
                 * builds the tests in a plain configuration). */
                CRASH_TEST(test_handover),
                CRASH_TEST(test_crash_handover),
                CRASH_TEST(test_switch_handover),
                CRASH_TEST(test_handover_card_operation),
                CRASH_TEST(test_crash_switch_handover),
        };
        sigset_t mask;

        /* As zerod: sd_event_add_child (the remove step's child) needs SIGCHLD blocked. */
        sigemptyset(&mask);
        sigaddset(&mask, SIGCHLD);
        sigprocmask(SIG_BLOCK, &mask, NULL);
        /* The instances' namespaces are bind mounts under the test's directory: in a mount
         * namespace of the test's own they go with it, also when ctest kills it at its timeout
         * (before, each such kill left nsfs mounts in /tmp/zero-test-op-*). Not root: as before. */
        if (unshare(CLONE_NEWNS) == 0 && mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
                return 1;
        return zero_tests_exit(cmocka_run_group_tests(tests, NULL, NULL));
}
