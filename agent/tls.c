/* SPDX-License-Identifier: Apache-2.0 */
#include "agent/tls.h"

#include <arpa/inet.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"
#include "common/util.h"

#define TLS_FILE_MAX (1 << 20)
#define CERT_LIFETIME_S (10LL * 365 * 24 * 3600)

DEFINE_TRIVIAL_CLEANUP_FUNC(gnutls_x509_crt_t, gnutls_x509_crt_deinit)
DEFINE_TRIVIAL_CLEANUP_FUNC(gnutls_x509_privkey_t, gnutls_x509_privkey_deinit)

static int gnutls_fail(struct zero_error *err, int g, const char *what) {
        return zero_error_set(err, -EIO, ZERO_E_INTERNAL, "%s: %s", what, gnutls_strerror(g));
}

/* The listen host of "tcp:HOST:PORT" as a subject name: an address or a DNS name. */
static int add_listen_san(gnutls_x509_crt_t crt, const char *listen) {
        char host[256];
        const char *h = listen + 4, *colon = strrchr(h, ':');
        uint8_t addr[16];
        size_t n;

        if (!colon || (size_t) (colon - h) >= sizeof(host))
                return 0;
        n = (size_t) (colon - h);
        memcpy(host, h, n);
        host[n] = '\0';
        if (host[0] == '[' && n > 2 && host[n - 1] == ']') {
                memmove(host, host + 1, n - 2);
                host[n - 2] = '\0';
        }
        if (host[0] == '\0' || streq(host, "0.0.0.0") || streq(host, "::"))
                return 0;
        if (inet_pton(AF_INET, host, addr) == 1)
                return gnutls_x509_crt_set_subject_alt_name(crt, GNUTLS_SAN_IPADDRESS, addr, 4, GNUTLS_FSAN_APPEND);
        if (inet_pton(AF_INET6, host, addr) == 1)
                return gnutls_x509_crt_set_subject_alt_name(crt, GNUTLS_SAN_IPADDRESS, addr, 16, GNUTLS_FSAN_APPEND);
        return gnutls_x509_crt_set_subject_alt_name(crt, GNUTLS_SAN_DNSNAME, host, (unsigned) strlen(host),
                                                    GNUTLS_FSAN_APPEND);
}

static int generate(const struct zero_config *c, char **ret_cert, char **ret_key, struct zero_error *err) {
        _cleanup_(gnutls_x509_crt_deinitp) gnutls_x509_crt_t crt = NULL;
        _cleanup_(gnutls_x509_privkey_deinitp) gnutls_x509_privkey_t key = NULL;
        static const uint8_t v4_loopback[4] = {127, 0, 0, 1}, v6_loopback[16] = {[15] = 1};
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
            (g = gnutls_x509_crt_set_dn_by_oid(crt, GNUTLS_OID_X520_COMMON_NAME, 0, c->node_name,
                                               (unsigned) strlen(c->node_name))) < 0 ||
            (g = gnutls_x509_crt_set_subject_alt_name(crt, GNUTLS_SAN_DNSNAME, c->node_name,
                                                      (unsigned) strlen(c->node_name), GNUTLS_FSAN_APPEND)) < 0 ||
            (g = gnutls_x509_crt_set_subject_alt_name(crt, GNUTLS_SAN_DNSNAME, "localhost", 9, GNUTLS_FSAN_APPEND)) < 0 ||
            (g = gnutls_x509_crt_set_subject_alt_name(crt, GNUTLS_SAN_IPADDRESS, v4_loopback, 4, GNUTLS_FSAN_APPEND)) < 0 ||
            (g = gnutls_x509_crt_set_subject_alt_name(crt, GNUTLS_SAN_IPADDRESS, v6_loopback, 16, GNUTLS_FSAN_APPEND)) < 0)
                return gnutls_fail(err, g, "cannot describe the TLS certificate");
        for (size_t i = 0; i < c->n_listen; i++)
                if (strncmp(c->listen[i], "tcp:", 4) == 0 && (g = add_listen_san(crt, c->listen[i])) < 0)
                        return gnutls_fail(err, g, "cannot name a listen address in the TLS certificate");
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
        return *ret_cert && *ret_key ? 0 : -ENOMEM;
}

static int read_pem(const char *what, const char *path, char **ret, struct zero_error *err) {
        size_t len;
        int r = zero_read_file(path, TLS_FILE_MAX, ret, &len);

        if (r < 0)
                return zero_error_set(err, r, ZERO_E_INVALID, "[api] %s=%s: %s", what, path, strerror(-r));
        return 0;
}

static int fingerprint(const char *cert_pem, char ret[static 96], struct zero_error *err) {
        _cleanup_(gnutls_x509_crt_deinitp) gnutls_x509_crt_t crt = NULL;
        gnutls_datum_t d = {(unsigned char *) cert_pem, (unsigned) strlen(cert_pem)};
        uint8_t fp[32];
        size_t n = sizeof(fp);
        int g;

        if ((g = gnutls_x509_crt_init(&crt)) < 0 || (g = gnutls_x509_crt_import(crt, &d, GNUTLS_X509_FMT_PEM)) < 0 ||
            (g = gnutls_x509_crt_get_fingerprint(crt, GNUTLS_DIG_SHA256, fp, &n)) < 0)
                return zero_error_set(err, -EINVAL, ZERO_E_INVALID, "the TLS certificate cannot be read: %s",
                                      gnutls_strerror(g));
        for (size_t i = 0; i < n; i++)
                snprintf(ret + 3 * i, 4, "%02X%s", fp[i], i + 1 < n ? ":" : "");
        return 0;
}

int zero_tls_load(const struct zero_config *c, struct zero_tls *ret, struct zero_error *err) {
        const char *cert = zero_config_get(c, "api", "tls_cert"), *key = zero_config_get(c, "api", "tls_key");
        const char *ca = zero_config_get(c, "api", "tls_client_ca");
        struct zero_tls t = {};
        int r;

        if (!cert != !key)
                return zero_error_set(err, -EINVAL, ZERO_E_INVALID, "[api] tls_cert and tls_key go together");
        if (cert) {
                if ((r = read_pem("tls_cert", cert, &t.cert_pem, err)) < 0 ||
                    (r = read_pem("tls_key", key, &t.key_pem, err)) < 0)
                        goto fail;
        } else {
                _cleanup_free_ char *dir = zero_strdup_printf("%s/tls", c->state_dir);
                _cleanup_free_ char *cp = zero_strdup_printf("%s/tls/server.crt", c->state_dir);
                _cleanup_free_ char *kp = zero_strdup_printf("%s/tls/server.key", c->state_dir);
                size_t len;

                r = -ENOMEM;
                if (!dir || !cp || !kp)
                        goto fail;
                if (zero_read_file(cp, TLS_FILE_MAX, &t.cert_pem, &len) < 0 ||
                    zero_read_file(kp, TLS_FILE_MAX, &t.key_pem, &len) < 0) {
                        t.cert_pem = mfree(t.cert_pem);
                        t.key_pem = mfree(t.key_pem);
                        if ((r = generate(c, &t.cert_pem, &t.key_pem, err)) < 0)
                                goto fail;
                        /* The key first: a certificate without its key would be reused next time. */
                        if ((r = zero_mkdir_p(dir, 0700)) < 0 ||
                            (r = zero_write_file_atomic(kp, t.key_pem, strlen(t.key_pem), 0600)) < 0 ||
                            (r = zero_write_file_atomic(cp, t.cert_pem, strlen(t.cert_pem), 0644)) < 0) {
                                zero_error_set(err, r, ZERO_E_INTERNAL, "cannot store the TLS certificate in %s: %s",
                                               dir, strerror(-r));
                                goto fail;
                        }
                        log_notice("Made a self-signed TLS certificate for the API: %s", cp);
                }
        }
        if (ca && (r = read_pem("tls_client_ca", ca, &t.trust_pem, err)) < 0)
                goto fail;
        if ((r = fingerprint(t.cert_pem, t.fingerprint, err)) < 0)
                goto fail;
        *ret = t;
        return 0;
fail:
        zero_tls_done(&t);
        return r;
}

void zero_tls_done(struct zero_tls *t) {
        if (t->key_pem)
                explicit_bzero(t->key_pem, strlen(t->key_pem));
        free(t->cert_pem);
        free(t->key_pem);
        free(t->trust_pem);
        *t = (struct zero_tls){};
}
