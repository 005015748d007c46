/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
#include "agent/http.h"

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
