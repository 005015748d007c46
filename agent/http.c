/* SPDX-License-Identifier: Apache-2.0 */
/* zerod's HTTP front (http.h): the server of common/http.h made from zerod's configuration. */
#include "agent/http.h"

#include "agent/agent.h"
#include "agent/http_front.h"
#include "agent/operation.h"

struct zero_agent *zero_request_agent(struct zero_request *req) {
        struct zero_front *f = zero_http_userdata(zero_request_server(req));
        return f->agent;
}

/* The core's "operation ended" (subscribe.h): the long-polls parked on it answer. */
static void on_operation_ended(void *userdata, const char *id) {
        struct zero_front *f = userdata;
        zero_http_wake(f->http, id);
}

/* The core's "an operation reached a step": the long-polls for that step (ID@STEP) answer. */
static void on_operation_step(void *userdata, const char *key) {
        struct zero_front *f = userdata;
        zero_http_wake(f->http, key);
}

/* The core's "operation durable": its 202, parked until then, goes. */
static void on_operation_durable(void *userdata, const char *id) {
        struct zero_front *f = userdata;
        char key[ZERO_OP_WAKE_KEY_MAX];

        zero_op_durable_key(key, id);
        zero_http_wake(f->http, key);
}

/* The core's "event appended": every event stream looks for it. */
static void on_event_appended(void *userdata, const char *type) {
        struct zero_front *f = userdata;
        zero_http_streams_wake(f->http);
}

int zero_front_new(struct zero_agent *a, const struct zero_route *routes, struct zero_front **ret) {
        struct zero_config *cfg = a->config;
        struct zero_front *f = calloc(1, sizeof(*f));
        int r;

        if (!f)
                return -ENOMEM;
        f->agent = a;
        f->socket_gid = (gid_t) -1;
        r = http_metrics_init(f, routes);
        if (r < 0) {
                free(f);
                return r;
        }
        r = zero_http_server_new(&(struct zero_http_settings){.event = a->event,
                                                              .routes = routes,
                                                              .body_max = cfg->body_max,
                                                              .max_parked = (unsigned) cfg->max_parked,
                                                              .max_connections = (unsigned) cfg->max_connections,
                                                              .max_connections_per_client =
                                                                      (unsigned) cfg->max_connections_per_client,
                                                              .header_timeout_s = (unsigned) cfg->header_timeout_s,
                                                              .idle_timeout_s = (unsigned) cfg->idle_timeout_s,
                                                              .authenticate = http_authenticate,
                                                              .authorize = http_authorize,
                                                              .actor = &a->actor,
                                                              .completed = http_request_completed,
                                                              .userdata = f},
                                 &f->http);
        if (r < 0) {
                http_metrics_done(f);
                free(f);
                return r;
        }
        r = http_listen_all(f);
        if (r >= 0)
                r = zero_subscribe(a, ZERO_TOPIC_OPERATION_ENDED, on_operation_ended, f);
        if (r >= 0)
                r = zero_subscribe(a, ZERO_TOPIC_OPERATION_STEP, on_operation_step, f);
        if (r >= 0)
                r = zero_subscribe(a, ZERO_TOPIC_EVENT_APPENDED, on_event_appended, f);
        if (r >= 0)
                r = zero_subscribe(a, ZERO_TOPIC_OPERATION_DURABLE, on_operation_durable, f);
        if (r < 0) {
                zero_front_free(f);
                return r;
        }
        *ret = f;
        return 0;
}

struct zero_front *zero_front_free(struct zero_front *f) {
        if (!f)
                return NULL;
        zero_unsubscribe(f->agent, ZERO_TOPIC_OPERATION_ENDED, on_operation_ended, f);
        zero_unsubscribe(f->agent, ZERO_TOPIC_OPERATION_STEP, on_operation_step, f);
        zero_unsubscribe(f->agent, ZERO_TOPIC_EVENT_APPENDED, on_event_appended, f);
        zero_unsubscribe(f->agent, ZERO_TOPIC_OPERATION_DURABLE, on_operation_durable, f);
        f->http = zero_http_server_free(f->http);
        zero_tls_done(&f->tls);
        http_metrics_done(f);
        free(f);
        return NULL;
}
