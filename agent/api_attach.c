/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Online configuration: a volume or a NIC added to or removed from an existing instance.
 *
 *   POST   /v1/instances/{name}/volumes          {"name", "path", "personality"}
 *   DELETE /v1/instances/{name}/volumes/{volume}
 *   POST   /v1/instances/{name}/nics             {"network", "ip", "mac"}
 *   DELETE /v1/instances/{name}/nics/{nic id}
 *
 * Each is an operation (202): "attach" records the attachment (or the NIC, with its address) in
 * the same transaction as the operation, then plugs it into the running instance; "detach"
 * unplugs it, then forgets it. A stopped instance only changes in the store, and its next start
 * has the new set. A running instance whose plugin cannot plug (containers: a mount or a veth
 * cannot be added to a running OCI container in a way that survives its restart) answers 409.
 * The checks and the recording are the core's (instance_service.h): this only parses and answers.
 */
#include "agent/api.h"
#include "agent/instance_service.h"

static void attach(struct zero_request *req, bool volume) {
        json_t *body = zero_request_body(req);
        struct zero_error err = {};
        struct zero_op *op = NULL;
        int r;

        if (!json_is_object(body))
                return zero_reply_error(req, 422, "invalid", "a JSON object is expected: %s",
                                        volume ? "{\"name\", \"path\", \"personality\"}" : "{\"network\", \"ip\", \"mac\"}");
        r = zero_instance_attach(zero_request_agent(req), zero_request_param(req, 0), volume, body, &op, &err);
        (void) zero_api_reply_op(req, r, op, &err);
}

static void detach(struct zero_request *req, bool volume) {
        struct zero_error err = {};
        struct zero_op *op = NULL;
        int r = zero_instance_detach(zero_request_agent(req), zero_request_param(req, 0), volume,
                                     zero_request_param(req, 1), &op, &err);

        (void) zero_api_reply_op(req, r, op, &err);
}

void zero_api_attach_volume(struct zero_request *req) {
        attach(req, true);
}

void zero_api_detach_volume(struct zero_request *req) {
        detach(req, true);
}

void zero_api_attach_nic(struct zero_request *req) {
        attach(req, false);
}

void zero_api_detach_nic(struct zero_request *req) {
        detach(req, false);
}
