/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
#include "agent/http.h"
#include "store/store.h"

struct zero_op;

extern const struct zero_route zero_api_routes[];

/* api_card.c: volumes and networks */
void zero_api_list_volumes(struct zero_request *req);
void zero_api_get_volume(struct zero_request *req);
void zero_api_post_volume(struct zero_request *req);
void zero_api_delete_volume(struct zero_request *req);
void zero_api_resize_volume(struct zero_request *req);
void zero_api_put_volume_qos(struct zero_request *req);
void zero_api_list_networks(struct zero_request *req);
void zero_api_get_network(struct zero_request *req);
void zero_api_post_network(struct zero_request *req);
void zero_api_delete_network(struct zero_request *req);

/* api_attach.c: volumes and NICs of an existing instance */
void zero_api_attach_volume(struct zero_request *req);
void zero_api_detach_volume(struct zero_request *req);
void zero_api_attach_nic(struct zero_request *req);
void zero_api_detach_nic(struct zero_request *req);

/* api_image.c: images, imported from host paths or uploaded */
void zero_api_list_images(struct zero_request *req);
void zero_api_get_image(struct zero_request *req);
void zero_api_post_image(struct zero_request *req);
void zero_api_delete_image(struct zero_request *req);
extern const struct zero_upload_ops zero_api_image_upload;

/* api_tokens.c: bearer tokens (admin only) */
void zero_api_list_tokens(struct zero_request *req);
void zero_api_post_token(struct zero_request *req);
void zero_api_delete_token(struct zero_request *req);

/* api_migrate.c: live migration (migration.h), and the cancel of an operation */
void zero_api_migrate_instance(struct zero_request *req);
void zero_api_post_migration(struct zero_request *req);
void zero_api_migration_switchover(struct zero_request *req);
void zero_api_cancel_operation(struct zero_request *req);
/* api.c: GET /v1/operations/{id}'s answer (the row and, while it runs, its progress). */
void zero_api_reply_operation(struct zero_request *req, const char *id);
/* api_list.c: the node and the instances from the instance view, and the lists' pages */
void zero_api_get_node(struct zero_request *req);
void zero_api_list_instances(struct zero_request *req);
void zero_api_get_instance(struct zero_request *req);
/* A list's page: ?limit= (1..ZERO_API_PAGE_MAX; none: all), ?after= (a name: the previous page's
 * "next"), ?state= (one of the collection's states) and ?mode= (a mode's name), as the rules say
 * the collection takes them (others are ignored, as unknown parameters are). A bad value is
 * answered 422 here (-EINVAL): nothing is read. */
#define ZERO_API_PAGE_MAX 1000
struct zero_api_page_rules {
        const char *(*state_name)(int i); /* the states' names by index, NULL: no ?state= */
        int n_states;
        bool modes;            /* ?mode= */
        const char *state_key; /* the state's parameter when not "state" (operations: "status") */
        size_t default_limit;  /* without ?limit= (0: all) */
};
struct zero_api_page {
        size_t limit; /* 0: all */
        const char *after, *state, *mode;
        int state_index;       /* -1: any */
        const char *state_key; /* the state's parameter, with state */
        const char *instance;  /* operations' ?instance=, set by their handler */
};
int zero_api_page_params(struct zero_request *req, const struct zero_api_page_rules *rules, struct zero_api_page *ret);
/* The next page's Link header (RFC 8288, rel="next"), when there is one (next: its after=). */
void zero_api_link_next(struct zero_request *req, const char *collection, const struct zero_api_page *p,
                        const char *next);

/* api_metrics.c: GET /metrics, the Prometheus text format */
void zero_api_get_metrics(struct zero_request *req);

/* api_events.c */
void zero_api_list_events(struct zero_request *req);

/* api_console.c: GET /v1/instances/{name}/console, its tail or (follow) a stream. */
void zero_api_get_console(struct zero_request *req);
/* api_attest.c: GET /v1/instances/{name}/attestation?nonce= */
void zero_api_get_attestation(struct zero_request *req);
/* POST /v1/instances/{name}/console: the interactive console, over the upgraded connection (the
 * frames of api_exec.c's): what the instance writes, and what the client types to its stdin. */
void zero_api_attach_console(struct zero_request *req);

/* api_exec.c: POST /v1/instances/{name}/exec, a command beside the instance, streamed over the
 * upgraded connection */
void zero_api_exec_instance(struct zero_request *req);
/* What exec and the interactive console refuse before their upgrade (426 without the Upgrade
 * headers, 503 without room, 404, 409 unless running; what: "exec", for messages): replies and
 * returns < 0, or gives the running instance. */
struct zero_inst;
int zero_api_stream_instance(struct zero_request *req, const char *what, struct zero_inst **ret);

/* api.c, for the other api_*.c */
/* 503 "busy" for a locked store, 500 otherwise. */
void zero_api_store_error(struct zero_request *req, int r, const char *what);
/* The instance named by the path's first {}; replies 404 (or 503) itself on failure. */
int zero_api_load_instance(struct zero_request *req, struct zero_instance_row *row);
/* The request's JSON body; without one, answers 400 "a JSON body is required" (": SHAPE" after
 * it when shape is given) and returns NULL. */
json_t *zero_api_require_body(struct zero_request *req, const char *shape);
/* A core call that turns a request's JSON body into an operation (zero_instance_create,
 * zero_migration_incoming). */
typedef int (*zero_api_body_core_fn)(struct zero_agent *a, json_t *body, struct zero_op **ret_op,
                                     struct zero_error *err);
/* A POST whose JSON body one core call turns into an operation: zero_api_require_body, then
 * zero_api_reply_op of what core answered. */
void zero_api_post_op(struct zero_request *req, zero_api_body_core_fn core);
/* Answers a core call that made an operation (r: how it went): 202 with the operation and its
 * Location, or err mapped to its status. Returns r. */
int zero_api_reply_op(struct zero_request *req, int r, struct zero_op *op, const struct zero_error *err);
/* Answers a core call that made an operation the way the request answered when its work was
 * synchronous: the request is parked until the operation ended ("operation ended", the same
 * mechanism as GET /v1/operations/{id}?wait=), then succeeded() answers for its success, and a
 * failure is answered with its error (the status of its code). r < 0: err at once. An operation
 * that has not ended after 300 s, or one whose request cannot be parked ([limits] max_parked),
 * is answered 202 with its Location, as other operations are: it goes on. Returns r. */
struct zero_api_answer {
        void (*succeeded)(struct zero_request *req, const struct zero_operation_row *op);
};
int zero_api_answer_when_ended(struct zero_request *req, int r, struct zero_op *op, const struct zero_error *err,
                               const struct zero_api_answer *answer);
