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

/* api_events.c */
void zero_api_list_events(struct zero_request *req);

/* api.c, for the other api_*.c */
/* 503 "busy" for a locked store, 500 otherwise. */
void zero_api_store_error(struct zero_request *req, int r, const char *what);
/* The instance named by the path's first {}; replies 404 (or 503) itself on failure. */
int zero_api_load_instance(struct zero_request *req, struct zero_instance_row *row);
/* Answers a core call that made an operation (r: how it went): 202 with the operation and its
 * Location, or err mapped to its status. Returns r. */
int zero_api_reply_op(struct zero_request *req, int r, struct zero_op *op, const struct zero_error *err);
