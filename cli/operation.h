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
/* The same, knowing that the operation reached step `step` (NULL: as op says). At "handover" zerod
 * went with the host's kernel (a bms instance has the host): while it does not answer, the wait
 * says "host handed to the tenant; the card answers" once and looks again every second, then
 * "host taken back: zerod answers again" (nothing with --json). An operation the card answers
 * for ("answered_by": "card": a stop or switch asked of it while the tenant holds the host) is
 * looked at every second, and zerod's silence after it (the host's boot) is the same absence.
 * n_printed (NULL: nothing printed): the operation's steps printed so far, each new one printed
 * as a look finds it. */
int zeroctl_operation_wait_from(struct zeroctl *z, json_t *op, const char *location, unsigned timeout_s,
                                const char *step, size_t *n_printed, json_t **ret_final, struct zero_error *reterr);

/* follow.c: waits for operation op (zerod's answer, borrowed) of instance name, printing each step
 * as zerod ends it ("    stop      12 ms"), the host's absence while a tenant has it, and the steps
 * the stream missed; "<step> failed" when it failed. *ret_final: the last operation seen. */
int zeroctl_operation_follow(struct zeroctl *z, const char *name, json_t *op, const char *location,
                             unsigned wait_s, json_t **ret_final, struct zero_error *reterr);

/* Sends the request, waits, reports: "<done> <name> (operation ID)" on success ("<verb> <name>
 * accepted (operation ID)" when timeout_s is 0: --timeout 0 does not wait), the operation's
 * error in *reterr on failure; with --json the final operation. */
int zeroctl_operation_run(struct zeroctl *z, const char *method, const char *path,
                          const json_t *body, unsigned timeout_s, const char *verb,
                          const char *done, const char *name, struct zero_error *reterr);
