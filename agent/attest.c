/* SPDX-License-Identifier: Apache-2.0 */
/* Launch measurements and the signed attestation record (attest.h). */
#include "agent/attest.h"

#include <errno.h>
#include <string.h>
#include <sys/stat.h>

#include "agent/config.h"
#include "agent/image.h"
#include "agent/plugin_loader.h"
#include "common/attest.h"
#include "common/log.h"
#include "common/util.h"

#define CACHE_MAX 64
#define LAUNCH_FILE_MAX (64 * 1024)
#define DIGESTS_FILE_MAX 4096

/* A file's digest, valid while the file has the same inode, size and mtime. */
struct digest_entry {
        char *path;
        dev_t dev;
        ino_t ino;
        off_t size;
        struct timespec mtime;
        char hex[ZERO_SHA256_HEX];
};

struct zero_attest {
        struct zero_attest_key *key;
        struct digest_entry cache[CACHE_MAX];
        size_t next; /* the entry replaced next once all are taken */
};

int zero_attest_open(struct zero_agent *a, struct zero_error *err) {
        _cleanup_free_ char *dir = zero_strdup_printf("%s/attest", a->config->state_dir);
        _cleanup_free_ char *path = zero_strdup_printf("%s/attest/node.key", a->config->state_dir);
        int r;

        if (!dir || !path)
                return -ENOMEM;
        a->attest = calloc(1, sizeof(*a->attest));
        if (!a->attest)
                return -ENOMEM;
        r = zero_mkdir_p(dir, 0700);
        if (r < 0)
                return zero_error_set(err, r, ZERO_E_INTERNAL, "cannot make %s: %s", dir, strerror(-r));
        return zero_attest_key_load(path, &a->attest->key, err);
}

void zero_attest_close(struct zero_agent *a) {
        if (!a->attest)
                return;
        zero_attest_key_free(a->attest->key);
        for (size_t i = 0; i < CACHE_MAX; i++)
                free(a->attest->cache[i].path);
        a->attest = mfree(a->attest);
}

const char *zero_attest_public_key(const struct zero_agent *a) {
        return a->attest ? zero_attest_key_public(a->attest->key) : NULL;
}

/* path's digest, from the cache when the file is the one hashed; NULL (json null) when there is
 * no such file. */
static int file_digest(struct zero_attest *t, const char *path, json_t **ret) {
        struct digest_entry *e = NULL;
        char hex[ZERO_SHA256_HEX];
        char *copy;
        struct stat st;
        int r;

        if (!path || stat(path, &st) < 0) {
                *ret = json_null();
                return 0;
        }
        for (size_t i = 0; i < CACHE_MAX; i++) {
                struct digest_entry *c = &t->cache[i];
                if (c->path && streq(c->path, path) && c->dev == st.st_dev && c->ino == st.st_ino &&
                    c->size == st.st_size && c->mtime.tv_sec == st.st_mtim.tv_sec &&
                    c->mtime.tv_nsec == st.st_mtim.tv_nsec) {
                        *ret = json_string(c->hex);
                        return *ret ? 0 : -ENOMEM;
                }
        }
        /* Once per image file: images are immutable once imported (docs/architecture.md). */
        r = zero_sha256_file_hex(path, hex);
        if (r < 0)
                return r;
        copy = strdup(path);
        if (!copy)
                return -ENOMEM;
        e = &t->cache[t->next];
        t->next = (t->next + 1) % CACHE_MAX;
        free(e->path);
        *e = (struct digest_entry){.path = copy, .dev = st.st_dev, .ino = st.st_ino, .size = st.st_size, .mtime = st.st_mtim};
        memcpy(e->hex, hex, sizeof(hex));
        *ret = json_string(e->hex);
        return *ret ? 0 : -ENOMEM;
}

/* The digest of the image's file name: from what zero-unpack hashed at import (known, its
 * ZERO_IMAGE_DIGESTS_FILE), or for an image imported before it did, hashed here once. */
static int image_digest(struct zero_attest *t, const json_t *known, const char *dir, const char *name, json_t **ret) {
        _cleanup_free_ char *path = NULL;
        const char *hex = json_string_value(json_object_get(known, name));

        if (hex) {
                *ret = json_string(hex);
                return *ret ? 0 : -ENOMEM;
        }
        path = zero_strdup_printf("%s/%s", dir, name);
        return path ? file_digest(t, path, ret) : -ENOMEM;
}

static char *state_file(const struct zero_instance_info *info, const char *name) {
        return info->state_dir ? zero_strdup_printf("%s/%s", info->state_dir, name) : NULL;
}

static json_t *hex_of(const void *data, size_t n) {
        char h[ZERO_SHA256_HEX];
        zero_sha256_hex(data, n, h);
        return json_string(h);
}

int zero_attest_measure(struct zero_agent *a, const struct zero_instance_row *row,
                        const struct zero_instance_info *info, struct zero_error *err) {
        const struct zero_loaded_plugin *lp = zero_plugins_find(a->plugins, row->mode);
        /* A container boots no kernel: its image's kernel and initrd are not what it launched. */
        bool boots = !streq(row->mode, "container");
        bool vtpm = lp && lp->probe.tpm && ZERO_ABI_HAS(info, struct zero_instance_info, tpm) && info->tpm;
        _cleanup_free_ char *digests = zero_strdup_printf("%s/%s", info->image_dir, ZERO_IMAGE_DIGESTS_FILE);
        _cleanup_free_ char *known_text = NULL;
        _cleanup_free_ char *launch_path = state_file(info, ZERO_ATTEST_LAUNCH_FILE);
        _cleanup_free_ char *digest_path = state_file(info, ZERO_ATTEST_DIGEST_FILE);
        _cleanup_free_ char *cmdline = NULL, *spec_text = NULL, *text = NULL;
        json_auto_t *spec = NULL, *whole = NULL, *m = NULL, *launch = NULL, *known = NULL;
        json_t *kernel = NULL, *initrd = NULL, *image = NULL;
        json_error_t jerr;
        char time[32], digest[ZERO_SHA256_HEX];
        uint64_t begin = zero_monotonic_usec();
        size_t len = 0;
        char *p;
        int r;

        if (!a->attest || !digests || !launch_path || !digest_path)
                return -ENOMEM;
        if (zero_read_file(digests, DIGESTS_FILE_MAX, &known_text, NULL) >= 0)
                known = json_loads(known_text, 0, &jerr);
        r = boots && info->kernel ? image_digest(a->attest, known, info->image_dir, ZERO_IMAGE_KERNEL_FILE, &kernel) : 0;
        if (r >= 0 && boots && info->initrd)
                r = image_digest(a->attest, known, info->image_dir, ZERO_IMAGE_INITRD_FILE, &initrd);
        if (r >= 0)
                r = image_digest(a->attest, known, info->image_dir, ZERO_IMAGE_BASE_FILE, &image);
        m = json_object();
        if (m) {
                json_object_set_new(m, "kernel", kernel ? kernel : json_null());
                json_object_set_new(m, "initrd", initrd ? initrd : json_null());
                json_object_set_new(m, "image_base", image ? image : json_null());
        } else {
                json_decref(kernel);
                json_decref(initrd);
                json_decref(image);
        }
        if (r < 0 || !m)
                return zero_error_set(err, r < 0 ? r : -ENOMEM, ZERO_E_INTERNAL, "cannot measure the image of %s: %s",
                                      row->name, strerror(r < 0 ? -r : ENOMEM));
        /* The command line: each argument and a NUL, as /proc/PID/cmdline has it. */
        for (const char *const *v = info->argv; v && *v; v++)
                len += strlen(*v) + 1;
        cmdline = calloc(len + 1, 1);
        if (!cmdline)
                return -ENOMEM;
        p = cmdline;
        for (const char *const *v = info->argv; v && *v; v++)
                p = stpcpy(p, *v) + 1;
        json_object_set_new(m, "cmdline", hex_of(cmdline, len));
        /* The spec: what the instance is, as the store has it, in one canonical form. */
        spec = json_loads(row->spec ? row->spec : "{}", 0, &jerr);
        whole = json_pack("{s:s,s:s,s:I,s:I,s:O}", "mode", row->mode, "image", row->image, "cpus", (json_int_t) row->cpus,
                          "memory_mib", (json_int_t) row->memory_mib, "spec", spec ? spec : json_null());
        spec_text = whole ? json_dumps(whole, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
        if (!spec_text)
                return -ENOMEM;
        json_object_set_new(m, "spec", hex_of(spec_text, strlen(spec_text)));
        launch = json_pack("{s:s,s:s,s:s,s:s,s:s,s:O,s:b}", "instance", row->name, "id", row->id, "mode", row->mode,
                           "image", row->image, "launched_at", zero_format_time(zero_now_usec(), time), "measurements",
                           m, "vtpm", vtpm);
        if (launch && vtpm)
                json_object_set_new(launch, "pcr", json_integer(ZERO_ATTEST_PCR));
        text = launch ? json_dumps(launch, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
        if (!text)
                return -ENOMEM;
        zero_sha256_hex(text, strlen(text), digest);
        /* The record, then its digest (for the guest: plugin.h). A crash between the two leaves
         * the last start's digest beside this record until the start is resumed, which writes
         * both again; the answer's launch_digest is always made from the record it sends. */
        r = zero_mkdir_p(info->state_dir, 0700); /* made by its first user */
        if (r >= 0)
                r = zero_write_file_atomic(launch_path, text, strlen(text), 0600);
        if (r >= 0)
                r = zero_write_file_atomic(digest_path, digest, strlen(digest), 0600);
        if (r < 0)
                return zero_error_set(err, r, ZERO_E_INTERNAL, "cannot record the launch of %s: %s", row->name,
                                      strerror(-r));
        log_debug("Launch of %s measured in %llu µs: %s", row->name,
                  (unsigned long long) (zero_monotonic_usec() - begin), digest);
        return 0;
}

static bool nonce_valid(const char *n) {
        size_t len = n ? strlen(n) : 0;
        return len > 0 && len <= ZERO_ATTEST_NONCE_MAX &&
               strspn(n, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.") == len;
}

int zero_attest_answer(struct zero_agent *a, const struct zero_instance_row *row, const char *nonce, json_t **ret,
                       struct zero_error *err) {
        _cleanup_free_ char *path = zero_strdup_printf("%s/instances/%s/%s", a->config->state_dir, row->id,
                                                       ZERO_ATTEST_LAUNCH_FILE);
        _cleanup_free_ char *text = NULL, *payload_text = NULL, *sig = NULL;
        json_auto_t *launch = NULL, *payload = NULL;
        json_error_t jerr;
        char digest[ZERO_SHA256_HEX], pcr[ZERO_SHA256_HEX], now[32];
        static const char zeros[] = "0000000000000000000000000000000000000000000000000000000000000000";
        int r;

        if (!nonce_valid(nonce))
                return zero_error_set(err, -EINVAL, ZERO_E_INVALID,
                                      "nonce: 1-%d characters of [A-Za-z0-9._-] are required", ZERO_ATTEST_NONCE_MAX);
        if (!a->attest || !path)
                return -ENOMEM;
        r = zero_read_file(path, LAUNCH_FILE_MAX, &text, NULL);
        if (r == -ENOENT)
                return zero_error_set(err, r, ZERO_E_NOT_FOUND, "%s has not been started: no launch is recorded",
                                      row->name);
        if (r < 0)
                return zero_error_set(err, r, ZERO_E_INTERNAL, "cannot read %s: %s", path, strerror(-r));
        launch = json_loads(text, 0, &jerr);
        if (!launch)
                return zero_error_set(err, -EINVAL, ZERO_E_INTERNAL, "the launch record of %s is unreadable", row->name);
        zero_sha256_hex(text, strlen(text), digest);
        payload = json_pack("{s:i,s:s,s:s,s:s,s:O,s:s,s:s,s:s}", "version", 1, "node", a->config->node_name, "nonce",
                            nonce, "time", zero_format_time(zero_now_usec(), now), "launch", launch, "launch_digest",
                            digest, "algorithm", ZERO_ATTEST_ALGORITHM, "public_key", zero_attest_public_key(a));
        if (!payload)
                return -ENOMEM;
        /* What the VM's vTPM holds in that PCR once its init extended the launch digest (from a
         * PCR that starts at zero: TPM2_PCR_Extend's SHA-256(old || digest)). */
        if (json_is_true(json_object_get(launch, "vtpm")) && zero_sha256_extend_hex(zeros, digest, pcr) >= 0)
                json_object_set_new(payload, "pcr", json_pack("{s:i,s:s}", "index", ZERO_ATTEST_PCR, "value", pcr));
        payload_text = json_dumps(payload, JSON_COMPACT | JSON_SORT_KEYS);
        if (!payload_text)
                return -ENOMEM;
        r = zero_attest_sign(a->attest->key, payload_text, strlen(payload_text), &sig);
        if (r < 0)
                return zero_error_set(err, r, ZERO_E_INTERNAL, "cannot sign the attestation of %s", row->name);
        *ret = json_pack("{s:s,s:s,s:s,s:s}", "payload", payload_text, "signature", sig, "algorithm",
                         ZERO_ATTEST_ALGORITHM, "public_key", zero_attest_public_key(a));
        return *ret ? 0 : -ENOMEM;
}
