/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/*
 * The node's attestation key and what is signed with it (GnuTLS): an Ed25519 key made once in
 * zerod's state directory (PKCS#8 PEM, 0600), its public half as base64 of its 32 raw bytes (what
 * GET /v1/node shows and zeroctl attest checks against), signatures as base64 of 64 bytes. zerod
 * signs an instance's launch record (agent/attest.c); zeroctl verifies it (cli/cmd_attest.c).
 * SHA-256 of files and buffers, lowercase hex, for the measurements.
 */
#include <stddef.h>

#include "zero/error.h"

#define ZERO_ATTEST_ALGORITHM "ed25519"
#define ZERO_SHA256_HEX 65 /* 64 hex digits and a NUL */

struct zero_attest_key;

/* The key at path, made (and written 0600, crash-consistently) when there is none. */
int zero_attest_key_load(const char *path, struct zero_attest_key **ret, struct zero_error *err);
struct zero_attest_key *zero_attest_key_free(struct zero_attest_key *k);
/* Base64 of the 32-byte Ed25519 public key; valid while k is. */
const char *zero_attest_key_public(const struct zero_attest_key *k);
/* The signature of data (base64, caller frees). */
int zero_attest_sign(const struct zero_attest_key *k, const void *data, size_t n, char **ret_b64);
/* 0 when sig_b64 is public_b64's signature of data; -EBADMSG when it is not (a tampered record,
 * another key), -EINVAL when the key or signature is not base64 of the right size. */
int zero_attest_verify(const char *public_b64, const void *data, size_t n, const char *sig_b64);

void zero_sha256_hex(const void *data, size_t n, char ret[static ZERO_SHA256_HEX]);
/* The file's digest, read in 1 MiB pieces: -errno when it cannot be read. */
int zero_sha256_file_hex(const char *path, char ret[static ZERO_SHA256_HEX]);
/* The PCR value after extending old (hex, 64 digits) by digest (hex): SHA-256(old || digest), as
 * TPM2_PCR_Extend computes it. -EINVAL for anything that is not 64 hex digits. */
int zero_sha256_extend_hex(const char *old, const char *digest, char ret[static ZERO_SHA256_HEX]);
