/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What the card hands the host through QEMU's fw_cfg (deploy/images/README.md, "The card's
 * contract"), as files in STATE/host that the host's command line names:
 *
 *   zerod.conf    zerod's configuration: TCP on zerod's port, the lab's card driver ([card]
 *                 driver = lab) and where the card's API is on the management link
 *   token.sha256  the SHA-256 of the orchestrator's bearer token for zerod (host-init registers
 *                 it as "card", by its hash): never the secret, which STATE/host/token keeps for
 *                 the orchestrator. The host's fw_cfg is the tenant's to read while a bms tenant
 *                 holds the host (its kernel boots on the same machine), and so is what the host
 *                 left in its memory: a secret handed to the host would outlive the tenant.
 *   card-token    the host's bearer token for the card's API (the lab driver reads it)
 *   state-volume  the serial of the host's state volume (a card volume)
 *   tls.crt/key   zerod's TLS certificate, for the address the orchestrator uses (the card's
 *                 forward: [host] listen), so that ZERO_CACERT is this file as it is
 *   card, net     the card's API on the link (10.0.2.100:80), the management NIC by its MAC
 *
 * The secrets (both tokens, the key) and the certificate are made once and kept: a restart of
 * the card or the host changes nothing the orchestrator holds. What a bms tenant can read of them
 * (card-token, tls.key) and why they are not rotated at the take-back: docs/security.md. The operator's token for the
 * card's own socket is STATE/operator.token.
 */
#include <string.h>

#include "card/card.h"
#include "card/host.h"
#include "card/store.h"
#include "common/attest.h"
#include "common/log.h"
#include "common/util.h"

#define SECRET_FILE_MAX 4096

/* A secret kept in path: read, or made once (0600). */
static int secret_file(const char *path, char ret[static ZERO_SECRET_SIZE], struct zero_error *err) {
        _cleanup_free_ char *text = NULL;
        size_t len;
        int r = zero_read_file(path, SECRET_FILE_MAX, &text, &len);

        if (r >= 0) {
                text[strcspn(text, "\n")] = '\0';
                if (!zero_secret_is_valid(text))
                        return zero_error_set(err, -EINVAL, ZERO_E_INVALID, "%s holds no token secret", path);
                memcpy(ret, text, ZERO_SECRET_SIZE);
                explicit_bzero(text, len);
                return 0;
        }
        if (r != -ENOENT)
                return zero_error_set(err, r, ZERO_E_INTERNAL, "cannot read %s: %s", path, strerror(-r));
        if (zero_secret_new(ret) < 0)
                return zero_error_set(err, -EIO, ZERO_E_INTERNAL, "no random bytes for a token");
        r = zero_write_file_atomic(path, ret, strlen(ret), 0600);
        if (r < 0)
                return zero_error_set(err, r, ZERO_E_INTERNAL, "cannot write %s: %s", path, strerror(-r));
        return 0;
}

static int write_file(const char *dir, const char *name, const char *text, mode_t mode, struct zero_error *err) {
        _cleanup_free_ char *path = zero_strdup_printf("%s/%s", dir, name);
        int r;

        if (!path)
                return -ENOMEM;
        r = zero_write_file_atomic(path, text, strlen(text), mode);
        return r < 0 ? zero_error_set(err, r, ZERO_E_INTERNAL, "cannot write %s: %s", path, strerror(-r)) : 0;
}

static int tls_files(const char *dir, const char *listen, struct zero_error *err) {
        _cleanup_free_ char *crt = zero_strdup_printf("%s/tls.crt", dir), *key = zero_strdup_printf("%s/tls.key", dir);
        _cleanup_free_ char *host = strdup(listen), *cert_pem = NULL, *key_pem = NULL;
        char *colon = host ? strrchr(host, ':') : NULL;
        const char *names[] = {"localhost", "127.0.0.1", "::1", NULL, NULL};
        int r;

        if (!crt || !key || !host)
                return -ENOMEM;
        if (access(crt, F_OK) == 0 && access(key, F_OK) == 0)
                return 0;
        if (colon)
                *colon = '\0';
        if (host[0] == '[' && host[strlen(host) - 1] == ']') {
                host[strlen(host) - 1] = '\0';
                memmove(host, host + 1, strlen(host));
        }
        names[3] = host;
        r = zero_tls_self_signed("zero-host", names, &cert_pem, &key_pem, err);
        /* The key first: a certificate without its key would be taken as made. */
        if (r >= 0)
                r = write_file(dir, "tls.key", key_pem, 0600, err);
        if (r >= 0)
                r = write_file(dir, "tls.crt", cert_pem, 0644, err);
        if (key_pem)
                explicit_bzero(key_pem, strlen(key_pem));
        if (r >= 0)
                log_notice("Made zerod's TLS certificate for %s: %s", listen, crt);
        return r;
}

int zc_fwcfg_prepare(struct zc *zc, struct zero_error *err) {
        struct zc_config *c = zc->config;
        _cleanup_free_ char *dir = zero_strdup_printf("%s/host", c->state_dir);
        _cleanup_free_ char *token = NULL, *card_token = NULL, *op = NULL, *conf = NULL, *net = NULL, *token_hash = NULL;
        char hash[ZERO_SHA256_HEX];
        const char *state = json_string_value(zc_store_host(zc->store, "state_volume"));
        char serial[21];
        int r;

        if (!dir || !state)
                return zero_error_set(err, -EINVAL, ZERO_E_INTERNAL, "the host's state volume is not chosen yet");
        token = zero_strdup_printf("%s/token", dir);
        card_token = zero_strdup_printf("%s/card-token", dir);
        op = zero_strdup_printf("%s/operator.token", c->state_dir);
        token_hash = zero_strdup_printf("%s/token.sha256", dir);
        if (!token || !card_token || !op || !token_hash)
                return -ENOMEM;
        r = zero_mkdir_p(dir, 0700);
        if (r < 0)
                return zero_error_set(err, r, ZERO_E_INTERNAL, "cannot make %s: %s", dir, strerror(-r));
        /* The orchestrator's token is kept: while a tenant holds the host, the card answers it
         * (forward.c, api_auth.c). */
        if ((r = secret_file(token, zc->orchestrator_token, err)) < 0 ||
            (r = secret_file(card_token, zc->host_token, err)) < 0 ||
            (r = secret_file(op, zc->operator_token, err)) < 0 || (r = tls_files(dir, c->listen, err)) < 0)
                return r;
        /* The orchestrator's token as the host gets it: its hash only (made from the secret at
         * every start: nothing to keep in step). */
        zero_sha256_hex(zc->orchestrator_token, strlen(zc->orchestrator_token), hash);
        hash[ZERO_SHA256_HEX - 1] = '\n';
        r = zero_write_file_atomic(token_hash, hash, ZERO_SHA256_HEX, 0600);
        explicit_bzero(hash, sizeof(hash));
        if (r < 0)
                return zero_error_set(err, r, ZERO_E_INTERNAL, "cannot write %s: %s", token_hash, strerror(-r));
        zc_volume_serial(state, serial);
        conf = zero_strdup_printf("# Made by zero-card: the lab host's zerod.\n"
                                  "[agent]\nlisten = tcp:0.0.0.0:%u\nlog_level = %s\n"
                                  "[card]\ndriver = lab\nurl = http://%s\ntoken_file = "
                                  "/run/zero-host/card-token\n",
                                  HOST_FORWARD_PORT, c->zerod_log_level, HOST_CARD_ADDR);
        net = zero_strdup_printf("%s %s\n", HOST_NET, HOST_MGMT_MAC);
        if (!conf || !net)
                return -ENOMEM;
        if ((r = write_file(dir, "zerod.conf", conf, 0600, err)) < 0 ||
            (r = write_file(dir, "state-volume", serial, 0600, err)) < 0 ||
            (r = write_file(dir, "card", HOST_CARD_ADDR "\n", 0600, err)) < 0 ||
            (r = write_file(dir, "net", net, 0600, err)) < 0)
                return r;
        return 0;
}
