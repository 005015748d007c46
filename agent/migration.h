/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/*
 * Live migration between nodes, decided in the core (as instance_service.h decides the other
 * verbs). One migration is two operations, one on each node's agent:
 *
 *   source  migrate     POST /v1/instances/{name}/migrate: the instance is described to the
 *                       target agent (its id, name, spec, volumes with their locators, NICs with
 *                       their MAC and address), which prepares it; QEMU sends it; the card
 *                       hands the volumes over while the guest is paused; QEMU switches over;
 *                       the source cleans up and forgets it (migrate_ops.c).
 *   target  migrate_in  POST /v1/migrations (the source agent's request): the same instance
 *                       recorded (state incoming), its card's exports made with the volumes
 *                       still the source's, QEMU started with -incoming defer and listening;
 *                       once the source released the volumes it takes them
 *                       (POST /v1/migrations/{id}/switchover), and the guest runs here
 *                       (migrate_in_ops.c).
 *
 * The agents talk over their HTTP APIs (peer.h), authenticated like any client. Each side's
 * operation is journalled step by step and resumed after a crash; a failure before the
 * switchover undoes both (the source's guest runs on, the target forgets it), a failure after it
 * leaves the instance the target's.
 */
#include <jansson.h>

#include "agent/agent.h"
#include "agent/peer.h"

/* Bounds of a request's parameters (and their defaults, [migration] in the configuration). */
#define ZERO_MIGRATE_DOWNTIME_MS_MIN 1
#define ZERO_MIGRATE_DOWNTIME_MS_MAX 60000
#define ZERO_MIGRATE_DOWNTIME_MS_DEFAULT 20
#define ZERO_MIGRATE_BANDWIDTH_MIN (1ULL << 20)       /* 1 MiB/s */
#define ZERO_MIGRATE_BANDWIDTH_MAX (100ULL << 30)     /* 100 GiB/s */
#define ZERO_MIGRATE_BANDWIDTH_DEFAULT (10ULL << 30)  /* no practical limit on this machine's links */
#define ZERO_MIGRATE_TIMEOUT_S_DEFAULT 300
#define ZERO_MIGRATE_TIMEOUT_S_MAX 86400

/* The source: body {"target": URL, "token"?, "downtime_ms"?, "bandwidth"?, "timeout_s"?}.
 * ZERO_E_INVALID for a bad body, a mode whose plugin cannot migrate, a card that cannot hand
 * volumes over; the instance's refusals as zero_instance_act()'s (it must be running). */
int zero_instance_migrate(struct zero_agent *a, const char *name, json_t *body, struct zero_op **ret_op,
                          struct zero_error *err);

/* The target: body as zero_migration_describe() makes it. The instance, its volumes and NICs are
 * recorded (state incoming) with the migrate_in operation. The same request again (the source's
 * step run again after a crash) answers with the operation it made the first time. */
int zero_migration_incoming(struct zero_agent *a, json_t *body, struct zero_op **ret_op, struct zero_error *err);
/* The target: the source has released the volumes (its guest is paused): the operation op_id
 * takes them. ZERO_E_NOT_FOUND, ZERO_E_WRONG_STATE (not an incoming migration, or ended). 0: taken
 * or under way (zero_migration_taken() tells). */
int zero_migration_switchover(struct zero_agent *a, const char *op_id, struct zero_error *err);
/* The target's step after the card took the volumes: reaching it (or the end) answers the
 * source's switchover request. */
#define ZERO_MIGRATION_TAKEN_STEP "receive"
/* Whether the target's operation (its row) has taken the volumes, or ended. */
bool zero_migration_taken(const struct zero_operation_row *row);

/* The source: what the target needs to know of the instance, to record it as it is here. listen:
 * where its QEMU is to listen (the host the source reaches it at). */
int zero_migration_describe(struct zero_agent *a, const struct zero_instance_row *row, const char *listen,
                            const char *source_op, int64_t timeout_s, json_t **ret, struct zero_error *err);
/* The source: how the operation's step reaches its target (params "target", "token", and the
 * [migration] token, token_file and ca_file), strings valid while op lives; the token read
 * from token_file is put into *ret_token (the caller frees it). */
int zero_migration_peer(struct zero_op *op, struct zero_peer_target *ret, char **ret_token, struct zero_error *err);
/* The host part of an http(s) URL ("10.0.0.2" of "https://10.0.0.2:8443"), or NULL. */
char *zero_migration_url_host(const char *url);
/* Removes the instance's rows, keeping its volumes' files (they are the target's now, or never
 * were this node's), and its run and state directories (a child: ZERO_OP_PENDING until they are
 * gone, the step then runs again). 0 once all is gone. */
int zero_migration_forget(struct zero_op *op);
