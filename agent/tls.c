/* SPDX-License-Identifier: Apache-2.0 */
#include "agent/tls.h"

#include <arpa/inet.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"
#include "common/secret.h"
#include "common/util.h"

#define TLS_FILE_MAX (1 << 20)

DEFINE_TRIVIAL_CLEANUP_FUNC(gnutls_x509_crt_t, gnutls_x509_crt_deinit)

/* The listen host of "tcp:HOST:PORT" as a subject name (copied into buf), NULL for none. */
static const char *listen_host(const char *listen, char buf[static 256]) {
        const char *h = listen + 4, *colon = strrchr(h, ':');
        size_t n;

        if (strncmp(listen, "tcp:", 4) != 0 || !colon || (size_t) (colon - h) >= 256)
                return NULL;
        n = (size_t) (colon - h);
        memcpy(buf, h, n);
        buf[n] = '\0';
        if (buf[0] == '[' && n > 2 && buf[n - 1] == ']') {
                memmove(buf, buf + 1, n - 2);
                buf[n - 2] = '\0';
        }
        if (buf[0] == '\0' || streq(buf, "0.0.0.0") || streq(buf, "::"))
                return NULL;
        return buf;
}

/* The node's name, localhost, loopback and the TCP listen addresses. */
static int generate(const struct zero_config *c, char **ret_cert, char **ret_key, struct zero_error *err) {
        char hosts[ZERO_LISTEN_MAX][256];
        const char *names[ZERO_LISTEN_MAX + 5] = {c->node_name, "localhost", "127.0.0.1", "::1"};
        size_t n = 4;

        for (size_t i = 0; i < c->n_listen && i < ZERO_LISTEN_MAX; i++) {
                const char *h = listen_host(c->listen[i], hosts[i]);
                if (h)
                        names[n++] = h;
        }
        names[n] = NULL;
        return zero_tls_self_signed(c->node_name, names, ret_cert, ret_key, err);
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
