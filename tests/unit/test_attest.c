/* SPDX-License-Identifier: Apache-2.0 */
/* The node's attestation key (common/attest.h) and zeroctl's check of a signed answer
 * (cli/cmd_attest.c): made once and read back, signatures that verify, and a tampered payload,
 * another key, a replayed nonce or another instance's record refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "cli/zeroctl.h"
#include "common/attest.h"
#include "common/util.h"

static char dir[] = "/tmp/zero-test-attest.XXXXXX";

static int setup(void **state) {
        (void) state;
        return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state) {
        (void) state;
        return zero_rm_rf(dir) < 0 ? -1 : 0;
}

static struct zero_attest_key *key_at(const char *name) {
        _cleanup_free_ char *path = zero_strdup_printf("%s/%s", dir, name);
        struct zero_attest_key *k = NULL;
        struct zero_error err = {};

        assert_int_equal(zero_attest_key_load(path, &k, &err), 0);
        return k;
}

/* Made at the first load (0600), the same key at the next. */
static void test_key_made_once(void **state) {
        struct zero_attest_key *a = key_at("node.key"), *b = key_at("node.key");
        _cleanup_free_ char *path = zero_strdup_printf("%s/node.key", dir);
        struct stat st;

        assert_int_equal(stat(path, &st), 0);
        assert_int_equal(st.st_mode & 0777, 0600);
        assert_int_equal(strlen(zero_attest_key_public(a)), 44); /* base64 of 32 bytes */
        assert_string_equal(zero_attest_key_public(a), zero_attest_key_public(b));
        zero_attest_key_free(a);
        zero_attest_key_free(b);
        (void) state;
}

static void test_sign_verify_tamper(void **state) {
        struct zero_attest_key *k = key_at("node.key"), *other = key_at("other.key");
        const char msg[] = "{\"nonce\":\"n1\"}", bad[] = "{\"nonce\":\"n2\"}";
        _cleanup_free_ char *sig = NULL;

        assert_int_equal(zero_attest_sign(k, msg, strlen(msg), &sig), 0);
        assert_int_equal(strlen(sig), 88); /* base64 of 64 bytes */
        assert_int_equal(zero_attest_verify(zero_attest_key_public(k), msg, strlen(msg), sig), 0);
        assert_int_equal(zero_attest_verify(zero_attest_key_public(k), bad, strlen(bad), sig), -EBADMSG);
        assert_int_equal(zero_attest_verify(zero_attest_key_public(other), msg, strlen(msg), sig), -EBADMSG);
        sig[10] = sig[10] == 'A' ? 'B' : 'A';
        assert_int_equal(zero_attest_verify(zero_attest_key_public(k), msg, strlen(msg), sig), -EBADMSG);
        assert_int_equal(zero_attest_verify("not base64!", msg, strlen(msg), sig), -EINVAL);
        assert_int_equal(zero_attest_verify(zero_attest_key_public(k), msg, strlen(msg), "AAAA"), -EINVAL);
        zero_attest_key_free(k);
        zero_attest_key_free(other);
        (void) state;
}

/* TPM2_PCR_Extend's arithmetic, checked against swtpm's own answer (a PCR at zero extended by
 * SHA-256("x")). */
static void test_digests(void **state) {
        static const char zeros[] = "0000000000000000000000000000000000000000000000000000000000000000";
        char d[ZERO_SHA256_HEX], pcr[ZERO_SHA256_HEX];
        _cleanup_free_ char *path = zero_strdup_printf("%s/x", dir);

        zero_sha256_hex("x", 1, d);
        assert_string_equal(d, "2d711642b726b04401627ca9fbac32f5c8530fb1903cc4db02258717921a4881");
        assert_int_equal(zero_write_file_atomic(path, "x", 1, 0600), 0);
        assert_int_equal(zero_sha256_file_hex(path, pcr), 0);
        assert_string_equal(pcr, d);
        assert_int_equal(zero_sha256_extend_hex(zeros, d, pcr), 0);
        assert_string_equal(pcr, "7f85193790de75e46b70bfec3614098f47332a6993dabac6e38ad35f47df5da4");
        assert_int_equal(zero_sha256_extend_hex("00", d, pcr), -EINVAL);
        (void) state;
}

/* An answer as zerod makes it (agent/attest.c): {"payload", "signature"}. */
static json_t *answer(const struct zero_attest_key *k, const char *nonce, const char *instance) {
        json_t *p = json_pack("{s:s,s:s,s:{s:s}}", "nonce", nonce, "public_key", zero_attest_key_public(k), "launch",
                              "instance", instance);
        char *text = json_dumps(p, JSON_COMPACT | JSON_SORT_KEYS), *sig = NULL;
        json_t *a;

        assert_int_equal(zero_attest_sign(k, text, strlen(text), &sig), 0);
        a = json_pack("{s:s,s:s}", "payload", text, "signature", sig);
        free(text);
        free(sig);
        json_decref(p);
        return a;
}

static void test_zeroctl_verify(void **state) {
        struct zero_attest_key *k = key_at("node.key"), *other = key_at("other.key");
        const char *pub = zero_attest_key_public(k);
        struct zero_error err = {};
        json_t *a = answer(k, "n1", "t1"), *p = NULL, *o = answer(other, "n1", "t1");
        char *tampered;

        assert_int_equal(zeroctl_attest_verify(a, pub, "n1", "t1", &p, &err), 0);
        assert_string_equal(json_string_value(json_object_get(p, "nonce")), "n1");
        json_decref(p);
        /* a replayed answer: asked with n2, it holds n1 */
        assert_int_equal(zeroctl_attest_verify(a, pub, "n2", "t1", NULL, &err), -EBADMSG);
        assert_non_null(strstr(err.message, "replayed"));
        assert_int_equal(zeroctl_attest_verify(a, pub, "n1", "t2", NULL, &err), -EBADMSG);
        /* another key: the signature does not match the pinned one */
        assert_int_equal(zeroctl_attest_verify(o, pub, "n1", "t1", NULL, &err), -EBADMSG);
        assert_non_null(strstr(err.message, "signature"));
        /* a tampered payload */
        tampered = strdup(json_string_value(json_object_get(a, "payload")));
        *strstr(tampered, "t1") = 'x';
        json_object_set_new(a, "payload", json_string(tampered));
        assert_int_equal(zeroctl_attest_verify(a, pub, "n1", "t1", NULL, &err), -EBADMSG);
        assert_non_null(strstr(err.message, "signature"));
        free(tampered);
        json_decref(a);
        json_decref(o);
        zero_attest_key_free(k);
        zero_attest_key_free(other);
        (void) state;
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_key_made_once),
                cmocka_unit_test(test_sign_verify_tamper),
                cmocka_unit_test(test_digests),
                cmocka_unit_test(test_zeroctl_verify),
        };
        return cmocka_run_group_tests(tests, setup, teardown);
}
