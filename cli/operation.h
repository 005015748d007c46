/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/*
 * Asynchronous verbs: zerod answers 202 with an operation and a Location header; zeroctl
 * long-polls GET /v1/operations/{id}?wait=N until the operation leaves "running" or the user's
 * --timeout passes. The operation goes on in zerod either way: a timeout only stops the waiting.
 */
#include <jansson.h>

#include "cli/zeroctl.h"

/* Path to poll, with "?wait=N" appended: the Location header when it is a path, else
 * /v1/operations/{id}. */
char *zeroctl_operation_poll_path(const char *location, const char *id, unsigned wait_s);

/* The id of the operation zerod answered with (a copy); -EBADMSG with a reason when op is not one. */
int zeroctl_operation_id(const json_t *op, char **ret, struct zero_error *reterr);
/* Takes the operation zerod answered with (op, reference borrowed) and waits for its end.
 * *ret_final: the last operation seen (also on failure and timeout), or NULL. */
int zeroctl_operation_wait(struct zeroctl *z, json_t *op, const char *location, unsigned timeout_s,
                           json_t **ret_final, struct zero_error *reterr);

/* Sends the request, waits, reports: "<done> <name> (operation ID)" on success ("<verb> <name>
 * accepted (operation ID)" when timeout_s is 0: --timeout 0 does not wait), the operation's
 * error in *reterr on failure; with --json the final operation. */
int zeroctl_operation_run(struct zeroctl *z, const char *method, const char *path,
                          const json_t *body, unsigned timeout_s, const char *verb,
                          const char *done, const char *name, struct zero_error *reterr);
