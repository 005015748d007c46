/* SPDX-License-Identifier: Apache-2.0 */
/* The node's attestation key, signatures and digests (attest.h). */
#include "common/attest.h"

#include <errno.h>
#include <fcntl.h>
#include <gnutls/abstract.h>
#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/util.h"

#define KEY_FILE_MAX 4096
#define ED25519_PUBLIC 32
#define ED25519_SIGNATURE 64

struct zero_attest_key {
        gnutls_privkey_t key;
        char *public_b64;
};

struct zero_attest_key *zero_attest_key_free(struct zero_attest_key *k) {
        if (k) {
                if (k->key)
                        gnutls_privkey_deinit(k->key);
                free(k->public_b64);
                free(k);
        }
        return NULL;
}

static int gnutls_fail(struct zero_error *err, int g, const char *what, const char *path) {
        return zero_error_set(err, -EIO, ZERO_E_INTERNAL, "%s %s: %s", what, path, gnutls_strerror(g));
}

static char *b64(const unsigned char *data, size_t n) {
        return zero_base64(data, n);
}

/* Raw bytes of a base64 string, exactly want of them. */
static int unb64(const char *s, unsigned char *ret, size_t want) {
        gnutls_datum_t in = {(unsigned char *) s, s ? (unsigned) strlen(s) : 0}, out = {};
        int r = 0;

        if (!s || gnutls_base64_decode2(&in, &out) < 0)
                return -EINVAL;
        if (out.size != want)
                r = -EINVAL;
        else
                memcpy(ret, out.data, want);
        gnutls_free(out.data);
        return r;
}

/* A new key, PEM (PKCS#8), into *ret (caller frees). */
static int key_new(const char *path, char **ret, size_t *ret_len, struct zero_error *err) {
        gnutls_x509_privkey_t x = NULL;
        gnutls_datum_t pem = {};
        int g;

        if ((g = gnutls_x509_privkey_init(&x)) < 0 ||
            (g = gnutls_x509_privkey_generate(x, GNUTLS_PK_EDDSA_ED25519, 256, 0)) < 0 ||
            (g = gnutls_x509_privkey_export2_pkcs8(x, GNUTLS_X509_FMT_PEM, NULL, GNUTLS_PKCS_PLAIN, &pem)) < 0) {
                if (x)
                        gnutls_x509_privkey_deinit(x);
                return gnutls_fail(err, g, "cannot make the attestation key", path);
        }
        gnutls_x509_privkey_deinit(x);
        *ret = strndup((const char *) pem.data, pem.size);
        *ret_len = pem.size;
        gnutls_memset(pem.data, 0, pem.size);
        gnutls_free(pem.data);
        return *ret ? 0 : -ENOMEM;
}

int zero_attest_key_load(const char *path, struct zero_attest_key **ret, struct zero_error *err) {
        struct zero_attest_key *k = NULL;
        gnutls_pubkey_t pub = NULL;
        gnutls_datum_t x = {}, datum;
        gnutls_ecc_curve_t curve;
        char *pem = NULL;
        size_t len = 0;
        int r, g;

        r = zero_read_file(path, KEY_FILE_MAX, &pem, &len);
        if (r == -ENOENT) {
                r = key_new(path, &pem, &len, err);
                if (r < 0)
                        return r;
                r = zero_write_file_atomic(path, pem, len, 0600);
                if (r < 0) {
                        free(pem);
                        return zero_error_set(err, r, ZERO_E_INTERNAL, "cannot write %s: %s", path, strerror(-r));
                }
        } else if (r < 0)
                return zero_error_set(err, r, ZERO_E_INTERNAL, "cannot read %s: %s", path, strerror(-r));
        k = calloc(1, sizeof(*k));
        if (!k) {
                free(pem);
                return -ENOMEM;
        }
        datum = (gnutls_datum_t){(unsigned char *) pem, (unsigned) len};
        if ((g = gnutls_privkey_init(&k->key)) < 0 ||
            (g = gnutls_privkey_import_x509_raw(k->key, &datum, GNUTLS_X509_FMT_PEM, NULL, 0)) < 0) {
                gnutls_memset(pem, 0, len);
                free(pem);
                zero_attest_key_free(k);
                return gnutls_fail(err, g, "cannot read the attestation key", path);
        }
        gnutls_memset(pem, 0, len);
        free(pem);
        if (gnutls_privkey_get_pk_algorithm(k->key, NULL) != GNUTLS_PK_EDDSA_ED25519) {
                zero_attest_key_free(k);
                return zero_error_set(err, -EINVAL, ZERO_E_INTERNAL, "%s is not an Ed25519 key", path);
        }
        if ((g = gnutls_pubkey_init(&pub)) < 0 || (g = gnutls_pubkey_import_privkey(pub, k->key, 0, 0)) < 0 ||
            (g = gnutls_pubkey_export_ecc_raw2(pub, &curve, &x, NULL, 0)) < 0) {
                if (pub)
                        gnutls_pubkey_deinit(pub);
                zero_attest_key_free(k);
                return gnutls_fail(err, g, "cannot read the public half of", path);
        }
        gnutls_pubkey_deinit(pub);
        if (x.size == ED25519_PUBLIC)
                k->public_b64 = b64(x.data, x.size);
        gnutls_free(x.data);
        if (!k->public_b64) {
                zero_attest_key_free(k);
                return zero_error_set(err, -EINVAL, ZERO_E_INTERNAL, "%s: no Ed25519 public key", path);
        }
        *ret = k;
        return 0;
}

const char *zero_attest_key_public(const struct zero_attest_key *k) {
        return k ? k->public_b64 : NULL;
}

int zero_attest_sign(const struct zero_attest_key *k, const void *data, size_t n, char **ret_b64) {
        gnutls_datum_t in = {(unsigned char *) data, (unsigned) n}, sig = {};
        char *s;

        if (!k || !data || !ret_b64)
                return -EINVAL;
        if (gnutls_privkey_sign_data2(k->key, GNUTLS_SIGN_EDDSA_ED25519, 0, &in, &sig) < 0)
                return -EIO;
        s = b64(sig.data, sig.size);
        gnutls_free(sig.data);
        if (!s)
                return -ENOMEM;
        *ret_b64 = s;
        return 0;
}

int zero_attest_verify(const char *public_b64, const void *data, size_t n, const char *sig_b64) {
        unsigned char key[ED25519_PUBLIC], sig[ED25519_SIGNATURE];
        gnutls_datum_t x = {key, sizeof(key)}, in = {(unsigned char *) data, (unsigned) n}, s = {sig, sizeof(sig)};
        gnutls_pubkey_t pub = NULL;
        int r;

        if (unb64(public_b64, key, sizeof(key)) < 0 || unb64(sig_b64, sig, sizeof(sig)) < 0)
                return -EINVAL;
        if (gnutls_pubkey_init(&pub) < 0)
                return -ENOMEM;
        if (gnutls_pubkey_import_ecc_raw(pub, GNUTLS_ECC_CURVE_ED25519, &x, NULL) < 0)
                r = -EINVAL;
        else
                r = gnutls_pubkey_verify_data2(pub, GNUTLS_SIGN_EDDSA_ED25519, 0, &in, &s) < 0 ? -EBADMSG : 0;
        gnutls_pubkey_deinit(pub);
        return r;
}

static void hex(const unsigned char *d, size_t n, char *ret) {
        static const char digits[] = "0123456789abcdef";
        for (size_t i = 0; i < n; i++) {
                ret[2 * i] = digits[d[i] >> 4];
                ret[2 * i + 1] = digits[d[i] & 15];
        }
        ret[2 * n] = '\0';
}

void zero_sha256_hex(const void *data, size_t n, char ret[static ZERO_SHA256_HEX]) {
        unsigned char d[32];
        (void) gnutls_hash_fast(GNUTLS_DIG_SHA256, data, n, d);
        hex(d, sizeof(d), ret);
}

int zero_sha256_file_hex(const char *path, char ret[static ZERO_SHA256_HEX]) {
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
        _cleanup_free_ unsigned char *buf = NULL;
        gnutls_hash_hd_t h = NULL;
        unsigned char d[32];
        ssize_t n;

        if (fd < 0)
                return -errno;
        buf = malloc(1 << 20);
        if (!buf || gnutls_hash_init(&h, GNUTLS_DIG_SHA256) < 0)
                return -ENOMEM;
        while ((n = read(fd, buf, 1 << 20)) != 0) {
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0) {
                        int r = -errno;
                        gnutls_hash_deinit(h, NULL);
                        return r;
                }
                (void) gnutls_hash(h, buf, (size_t) n);
        }
        gnutls_hash_deinit(h, d);
        hex(d, sizeof(d), ret);
        return 0;
}

static int unhex32(const char *s, unsigned char ret[32]) {
        if (!s || strlen(s) != 64 || strspn(s, "0123456789abcdef") != 64)
                return -EINVAL;
        for (size_t i = 0; i < 32; i++) {
                unsigned v = 0;
                for (size_t j = 0; j < 2; j++) {
                        char c = s[2 * i + j];
                        v = v * 16 + (unsigned) (c <= '9' ? c - '0' : c - 'a' + 10);
                }
                ret[i] = (unsigned char) v;
        }
        return 0;
}

int zero_sha256_extend_hex(const char *old, const char *digest, char ret[static ZERO_SHA256_HEX]) {
        unsigned char both[64];

        if (unhex32(old, both) < 0 || unhex32(digest, both + 32) < 0)
                return -EINVAL;
        zero_sha256_hex(both, sizeof(both), ret);
        return 0;
}
