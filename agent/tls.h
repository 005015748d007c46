/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/*
 * The TCP API's TLS identity: [api] tls_cert and tls_key (PEM files), or, when neither is set, a
 * self-signed certificate that zerod makes once into STATE/tls/ (ECDSA P-256, ten years, the
 * node's name and the listen addresses as subject names), the way Incus makes its server
 * certificate. Clients pin it (curl --cacert STATE/tls/server.crt).
 */
#include "agent/config.h"
#include "zero/error.h"

struct zero_tls {
        char *cert_pem, *key_pem;
        char *trust_pem; /* [api] tls_client_ca: client certificates signed by these are trusted */
        char fingerprint[96]; /* SHA-256 of the certificate, "AA:BB:..." */
};

int zero_tls_load(const struct zero_config *c, struct zero_tls *ret, struct zero_error *err);
void zero_tls_done(struct zero_tls *t);
