/* SPDX-License-Identifier: Apache-2.0 */
#include "tests/fuzz/fuzz.h"

#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent/agent.h"
#include "agent/config.h"
#include "agent/plugin_loader.h"
#include "common/log.h"
#include "common/util.h"
#include "store/store.h"
#include "zero/card.h"

static char *scratch;

static void scratch_remove(void) {
        if (scratch)
                (void) zero_rm_rf(scratch);
        scratch = mfree(scratch);
}

void fuzz_assert(int ok, const char *cond, const char *fmt, ...) {
        va_list ap;

        if (ok)
                return;
        fprintf(stderr, "fuzz: invariant broken: %s: ", cond);
        va_start(ap, fmt);
        vfprintf(stderr, fmt, ap);
        va_end(ap);
        fputc('\n', stderr);
        abort();
}

const char *fuzz_scratch_dir(void) {
        const char *tmp = getenv("TMPDIR"), *log = getenv("ZERO_FUZZ_LOG");

        if (scratch)
                return scratch;
        zero_log_set_max_priority(log ? atoi(log) : -1);
        scratch = zero_strdup_printf("%s/zero-fuzz.XXXXXX", tmp && *tmp ? tmp : "/tmp");
        FUZZ_ASSERT(scratch && mkdtemp(scratch), "cannot make a scratch directory under %s", tmp ? tmp : "/tmp");
        atexit(scratch_remove);
        return scratch;
}

const char *fuzz_string(const uint8_t *data, size_t size) {
        static char *s;

        free(s);
        s = strndup((const char *) data, size);
        FUZZ_ASSERT(s, "out of memory");
        return s;
}

/* --- the node of fuzz_agent() --- */

static const struct zero_plugin fake_plugins[] = {
        {.abi_version = ZERO_PLUGIN_ABI_VERSION, .size = sizeof(struct zero_plugin), .name = "container", .mode = "container"},
        {.abi_version = ZERO_PLUGIN_ABI_VERSION, .size = sizeof(struct zero_plugin), .name = "vm", .mode = "vm"},
        {.abi_version = ZERO_PLUGIN_ABI_VERSION, .size = sizeof(struct zero_plugin), .name = "bms", .mode = "bms"},
};

static struct zero_loaded_plugin loaded[] = {
        {.plugin = &fake_plugins[0], .probe = {.available = true}},
        {.plugin = &fake_plugins[1], .probe = {.available = true}},
        {.plugin = &fake_plugins[2], .probe = {.available = false, .reason = "kexec_file_load is not permitted"}},
};

static struct zero_plugin_set plugin_set = {.items = loaded, .n = ELEMENTSOF(loaded)};

static void must(int r, const char *what) {
        FUZZ_ASSERT(r >= 0, "%s: %s", what, strerror(-r));
}

static void add_volume(struct zero_store *s, const char *name, const char *state, const char *image) {
        char id[33];
        _cleanup_free_ char *locator = NULL;

        must(zero_random_id(id), "random id");
        locator = zero_strdup_printf("raw:%s/card/volumes/%s.raw", scratch, id);
        struct zero_volume_row v = {.name = (char *) name, .id = id, .size_bytes = 1 << 30, .image = (char *) image,
                                    .locator = locator, .format = (char *) "raw", .state = (char *) state,
                                    .created_at = 1, .updated_at = 1};
        must(zero_store_volume_insert(s, &v), name);
}

static void add_network(struct zero_store *s, const char *name, const char *subnet, const char *gateway) {
        char id[33], bridge[32];

        must(zero_random_id(id), "random id");
        snprintf(bridge, sizeof(bridge), "zb-%s", name);
        struct zero_network_row n = {.name = (char *) name, .id = id, .subnet = (char *) subnet,
                                     .gateway = (char *) gateway, .bridge = bridge, .created_at = 1};
        must(zero_store_network_insert(s, &n), name);
}

static void seed_store(struct zero_store *s) {
        _cleanup_free_ char *image_dir = zero_strdup_printf("%s/images/busybox", scratch);
        _cleanup_free_ char *base = zero_strdup_printf("%s/images/busybox/base.ext4", scratch);
        char holder_id[33];
        int fd;

        must(zero_mkdir_p(image_dir, 0700), "image directory");
        fd = open(base, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
        must(fd >= 0 && ftruncate(fd, FUZZ_IMAGE_BASE_SIZE) >= 0 ? 0 : -errno, "base.ext4");
        close(fd);
        struct zero_image_row img = {.name = (char *) "busybox", .source = (char *) "/srv/busybox.tar",
                                     .path = image_dir, .size_bytes = FUZZ_IMAGE_BASE_SIZE, .created_at = 1};
        must(zero_store_image_insert(s, &img), "image");

        must(zero_random_id(holder_id), "random id");
        struct zero_instance_row holder = {.id = holder_id, .name = (char *) "holder", .mode = (char *) "container",
                                           .state = (char *) "stopped", .image = (char *) "busybox", .cpus = 1,
                                           .memory_mib = 64, .spec = (char *) "{\"command\":[\"sh\"],\"env\":{}}",
                                           .created_at = 1, .updated_at = 1};
        must(zero_store_instance_insert(s, &holder), "instance");

        add_volume(s, "data", "ready", NULL);
        add_volume(s, "logs", "ready", NULL);
        add_volume(s, "held", "ready", NULL);
        add_volume(s, "half", "creating", NULL);
        add_volume(s, "taken-root", "ready", "busybox");
        struct zero_attachment_row att = {.volume = (char *) "held", .instance_id = holder_id, .role = (char *) "data",
                                          .path = (char *) "/data", .personality = (char *) "virtio-blk"};
        must(zero_store_attachment_insert(s, &att), "attachment");

        add_network(s, "net", "10.77.0.0/24", "10.77.0.1");
        add_network(s, "small", "10.78.0.0/29", "10.78.0.1");
        add_network(s, "lab", "192.168.100.0/24", "192.168.100.1");
}

/* The card as far as validation asks it: where a new root volume is to live. */
static int fuzz_volume_place(struct zero_card *card, const struct zero_card_volume *v, struct zero_card_placement *ret,
                             struct zero_error *err) {
        snprintf(ret->locator, sizeof(ret->locator), "qcow2:%s/card/volumes/%s.qcow2", scratch, v->id);
        snprintf(ret->format, sizeof(ret->format), "qcow2");
        return 0;
}

/* ... and whether it holds a volume of that size (card ABI 4 has no optional op: the agent asks). */
static int fuzz_volume_validate(struct zero_card *card, const struct zero_card_volume *v, uint64_t size,
                                struct zero_error *err) {
        return 0;
}

static const struct zero_card_driver fuzz_card = {
        .abi_version = ZERO_CARD_ABI_VERSION,
        .size = sizeof(struct zero_card_driver),
        .name = "fuzz",
        .ops = {.volume_place = fuzz_volume_place, .volume_validate = fuzz_volume_validate},
};

struct zero_agent *fuzz_agent(void) {
        static struct zero_agent a;
        static struct zero_config config;
        struct zero_error err = {};
        _cleanup_free_ char *db = NULL;

        if (a.store)
                return &a;
        config.state_dir = (char *) fuzz_scratch_dir();
        config.run_dir = (char *) fuzz_scratch_dir();
        config.max_instances = 1000;
        config.cpu_overcommit = 500;
        db = zero_strdup_printf("%s/zero.db", scratch);
        FUZZ_ASSERT(db && zero_store_open(db, &a.store, &err) >= 0, "cannot open the store: %s", err.message);
        seed_store(a.store);
        a.config = &config;
        a.plugins = &plugin_set;
        a.card_driver = &fuzz_card;
        a.node_cpus = 2;
        a.node_memory_mib = 4096;
        return &a;
}
