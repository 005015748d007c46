/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/*
 * Launch measurements and their attestation (issue 17 item 3). At every start, in any mode,
 * zerod records the SHA-256 of what it launches: the image's kernel and initrd (not for a
 * container, which boots none), the instance's command line, the image's base (base.ext4) and
 * the instance spec (mode, image, cpus, memory and the stored spec), in the instance's state
 * directory (STATE/instances/ID/launch.json, written atomically before the runtime starts), with
 * the record's own digest beside it (launch.digest, 64 hex: what the vm plugin hands a VM with a
 * vTPM, whose init extends it into PCR ZERO_ATTEST_PCR). GET /v1/instances/{name}/attestation?nonce=
 * answers that record, the nonce, and the PCR value it predicts, as a payload signed by the node's
 * key (common/attest.h: Ed25519, STATE/attest/node.key, made at zerod's first start).
 *
 * The image's files are hashed once per file version (path, inode, size, mtime) and remembered:
 * images never change once imported, so a start hashes only its spec and command line.
 */
#include <jansson.h>

#include "agent/agent.h"

#define ZERO_ATTEST_PCR 15
#define ZERO_ATTEST_LAUNCH_FILE "launch.json"
#define ZERO_ATTEST_DIGEST_FILE ZERO_LAUNCH_DIGEST_FILE /* plugin.h */
#define ZERO_ATTEST_NONCE_MAX 128

/* zerod's key, made or read at start; -errno with a reason. */
int zero_attest_open(struct zero_agent *a, struct zero_error *err);
void zero_attest_close(struct zero_agent *a);
/* The public half (base64) for GET /v1/node; NULL before zero_attest_open(). */
const char *zero_attest_public_key(const struct zero_agent *a);

/* Measures what the start of row launches (info: the plugin's view of it) and records it. */
int zero_attest_measure(struct zero_agent *a, const struct zero_instance_row *row,
                        const struct zero_instance_info *info, struct zero_error *err);

/* The signed answer for the instance's last launch: {"payload", "signature", "algorithm",
 * "public_key"}; not_found for an instance never started, invalid for a bad nonce. */
int zero_attest_answer(struct zero_agent *a, const struct zero_instance_row *row, const char *nonce, json_t **ret,
                       struct zero_error *err);
