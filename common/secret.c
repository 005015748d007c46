/* SPDX-License-Identifier: Apache-2.0 */
/* Secrets and self-signed certificates (secret.h). */
#include "common/secret.h"

#include <arpa/inet.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "common/util.h"

#define SECRET_BYTES 32
#define BASE64URL "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
#define CERT_LIFETIME_S (10LL * 365 * 24 * 3600)

DEFINE_TRIVIAL_CLEANUP_FUNC(gnutls_x509_crt_t, gnutls_x509_crt_deinit)
DEFINE_TRIVIAL_CLEANUP_FUNC(gnutls_x509_privkey_t, gnutls_x509_privkey_deinit)

static void base64url(const uint8_t *in, size_t n, char *out) {
        static const char alphabet[] = BASE64URL;
        uint32_t acc = 0;
        int bits = 0;

        for (size_t i = 0; i < n; i++) {
                acc = (acc << 8) | in[i];
                bits += 8;
                while (bits >= 6) {
                        bits -= 6;
                        *out++ = alphabet[(acc >> bits) & 63];
                }
        }
        if (bits > 0)
                *out++ = alphabet[(acc << (6 - bits)) & 63];
        *out = '\0';
}

int zero_secret_new(char ret[static ZERO_SECRET_SIZE]) {
        uint8_t raw[SECRET_BYTES];

        if (getrandom(raw, sizeof(raw), 0) != (ssize_t) sizeof(raw))
                return -EIO;
        memcpy(ret, ZERO_SECRET_PREFIX, strlen(ZERO_SECRET_PREFIX));
        base64url(raw, sizeof(raw), ret + strlen(ZERO_SECRET_PREFIX));
        explicit_bzero(raw, sizeof(raw));
        return 0;
}

bool zero_secret_is_valid(const char *s) {
        size_t n = strlen(ZERO_SECRET_PREFIX);

        return s && strlen(s) == ZERO_SECRET_SIZE - 1 && strncmp(s, ZERO_SECRET_PREFIX, n) == 0 &&
               strspn(s + n, BASE64URL) == ZERO_SECRET_SIZE - 1 - n;
}

bool zero_secret_equal(const char *a, const char *b) {
        size_t na = strlen(a), nb = strlen(b);
        unsigned char d = na != nb;

        for (size_t i = 0; i < na; i++)
                d |= (unsigned char) (a[i] ^ b[i < nb ? i : 0]);
        return d == 0;
}

static int gnutls_fail(struct zero_error *err, int g, const char *what) {
        return zero_error_set(err, -EIO, ZERO_E_INTERNAL, "%s: %s", what, gnutls_strerror(g));
}

static int add_name(gnutls_x509_crt_t crt, const char *name) {
        uint8_t addr[16];

        if (inet_pton(AF_INET, name, addr) == 1)
                return gnutls_x509_crt_set_subject_alt_name(crt, GNUTLS_SAN_IPADDRESS, addr, 4, GNUTLS_FSAN_APPEND);
        if (inet_pton(AF_INET6, name, addr) == 1)
                return gnutls_x509_crt_set_subject_alt_name(crt, GNUTLS_SAN_IPADDRESS, addr, 16, GNUTLS_FSAN_APPEND);
        return gnutls_x509_crt_set_subject_alt_name(crt, GNUTLS_SAN_DNSNAME, name, (unsigned) strlen(name),
                                                    GNUTLS_FSAN_APPEND);
}

int zero_tls_self_signed(const char *common_name, const char *const *names, char **ret_cert, char **ret_key,
                         struct zero_error *err) {
        _cleanup_(gnutls_x509_crt_deinitp) gnutls_x509_crt_t crt = NULL;
        _cleanup_(gnutls_x509_privkey_deinitp) gnutls_x509_privkey_t key = NULL;
        gnutls_datum_t cd = {}, kd = {};
        uint8_t serial[16];
        time_t now = time(NULL);
        int g;

        if ((g = gnutls_x509_privkey_init(&key)) < 0 ||
            (g = gnutls_x509_privkey_generate(key, GNUTLS_PK_ECDSA, GNUTLS_CURVE_TO_BITS(GNUTLS_ECC_CURVE_SECP256R1), 0)) < 0)
                return gnutls_fail(err, g, "cannot make the TLS key");
        if (getrandom(serial, sizeof(serial), 0) != (ssize_t) sizeof(serial))
                return zero_error_set(err, -EIO, ZERO_E_INTERNAL, "no random bytes for the certificate");
        serial[0] &= 0x7f; /* a positive serial */
        if ((g = gnutls_x509_crt_init(&crt)) < 0 || (g = gnutls_x509_crt_set_version(crt, 3)) < 0 ||
            (g = gnutls_x509_crt_set_serial(crt, serial, sizeof(serial))) < 0 ||
            (g = gnutls_x509_crt_set_activation_time(crt, now - 3600)) < 0 ||
            (g = gnutls_x509_crt_set_expiration_time(crt, now + CERT_LIFETIME_S)) < 0 ||
            (g = gnutls_x509_crt_set_dn_by_oid(crt, GNUTLS_OID_X520_ORGANIZATION_NAME, 0, "Zero", 4)) < 0 ||
            (g = gnutls_x509_crt_set_dn_by_oid(crt, GNUTLS_OID_X520_COMMON_NAME, 0, common_name,
                                               (unsigned) strlen(common_name))) < 0)
                return gnutls_fail(err, g, "cannot describe the TLS certificate");
        for (const char *const *n = names; n && *n; n++)
                if (**n && (g = add_name(crt, *n)) < 0)
                        return gnutls_fail(err, g, "cannot name an address in the TLS certificate");
        /* Self-signed, so it is its own trust anchor: CA with no path below it, which both
         * OpenSSL and GnuTLS clients accept as a pinned --cacert. */
        if ((g = gnutls_x509_crt_set_basic_constraints(crt, 1, 0)) < 0 ||
            (g = gnutls_x509_crt_set_key_usage(crt, GNUTLS_KEY_DIGITAL_SIGNATURE | GNUTLS_KEY_KEY_CERT_SIGN)) < 0 ||
            (g = gnutls_x509_crt_set_key_purpose_oid(crt, GNUTLS_KP_TLS_WWW_SERVER, 0)) < 0 ||
            (g = gnutls_x509_crt_set_key(crt, key)) < 0 ||
            (g = gnutls_x509_crt_sign2(crt, crt, key, GNUTLS_DIG_SHA256, 0)) < 0)
                return gnutls_fail(err, g, "cannot sign the TLS certificate");
        if ((g = gnutls_x509_crt_export2(crt, GNUTLS_X509_FMT_PEM, &cd)) < 0)
                return gnutls_fail(err, g, "cannot write the TLS certificate");
        if ((g = gnutls_x509_privkey_export2(key, GNUTLS_X509_FMT_PEM, &kd)) < 0) {
                gnutls_free(cd.data);
                return gnutls_fail(err, g, "cannot write the TLS key");
        }
        *ret_cert = strndup((const char *) cd.data, cd.size);
        *ret_key = strndup((const char *) kd.data, kd.size);
        gnutls_free(cd.data);
        gnutls_memset(kd.data, 0, kd.size);
        gnutls_free(kd.data);
        if (!*ret_cert || !*ret_key) {
                *ret_cert = mfree(*ret_cert);
                *ret_key = mfree(*ret_key);
                return -ENOMEM;
        }
        return 0;
}
