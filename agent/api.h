/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
#include "agent/http.h"
#include "store/store.h"

struct zero_card_plan;
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

/* api_events.c */
void zero_api_list_events(struct zero_request *req);

/* api.c, for the other api_*.c */
/* 503 "busy" for a locked store, 500 otherwise. */
void zero_api_store_error(struct zero_request *req, int r, const char *what);
/* The instance named by the path's first {}; replies 404 (or 503) itself on failure. */
int zero_api_load_instance(struct zero_request *req, struct zero_instance_row *row);
/* Stores the new instance (if any), the plan (if any), the update (if any) and the operation in one
 * transaction, then runs the operation and replies 202; replies the error itself on failure. Takes op. */
int zero_api_record_and_launch(struct zero_request *req, struct zero_instance_row *new_row, struct zero_card_plan *plan,
                               struct zero_instance_row *update_row, struct zero_op *op);
/* Ends what a handler began with zero_store_begin() and wrote (r: how that went): the operation's
 * row goes in, the transaction commits, the operation runs and is the answer (202 and its
 * Location); else all is rolled back and the error answered. what and name: a new row, for the
 * 409 of a taken name ("a volume", NULL for none); image: for the 422 of a missing one. Takes op. */
int zero_api_commit_and_launch(struct zero_request *req, int r, struct zero_op *op, const char *what, const char *name,
                               const char *image);
