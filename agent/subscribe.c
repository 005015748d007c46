/* SPDX-License-Identifier: Apache-2.0 */
/* The core's subscribers (subscribe.h). */
#include "agent/subscribe.h"

#include <errno.h>

#include "agent/agent.h"

int zero_subscribe(struct zero_agent *a, enum zero_topic t, zero_subscriber_fn fn, void *userdata) {
        if (!a || (unsigned) t >= _ZERO_TOPIC_MAX || !fn)
                return -EINVAL;
        for (size_t i = 0; i < ZERO_SUBSCRIBERS_MAX; i++)
                if (!a->subscribers.s[t][i].fn) {
                        a->subscribers.s[t][i].fn = fn;
                        a->subscribers.s[t][i].userdata = userdata;
                        return 0;
                }
        return -ENOSPC;
}

void zero_unsubscribe(struct zero_agent *a, enum zero_topic t, zero_subscriber_fn fn, void *userdata) {
        if (!a || (unsigned) t >= _ZERO_TOPIC_MAX)
                return;
        for (size_t i = 0; i < ZERO_SUBSCRIBERS_MAX; i++)
                if (a->subscribers.s[t][i].fn == fn && a->subscribers.s[t][i].userdata == userdata) {
                        /* Keep the others in order and the free slots at the end. */
                        for (size_t k = i; k + 1 < ZERO_SUBSCRIBERS_MAX; k++)
                                a->subscribers.s[t][k] = a->subscribers.s[t][k + 1];
                        a->subscribers.s[t][ZERO_SUBSCRIBERS_MAX - 1].fn = NULL;
                        a->subscribers.s[t][ZERO_SUBSCRIBERS_MAX - 1].userdata = NULL;
                        return;
                }
}

void zero_publish(struct zero_agent *a, enum zero_topic t, const char *subject) {
        if (!a || (unsigned) t >= _ZERO_TOPIC_MAX)
                return;
        for (size_t i = 0; i < ZERO_SUBSCRIBERS_MAX && a->subscribers.s[t][i].fn; i++)
                a->subscribers.s[t][i].fn(a->subscribers.s[t][i].userdata, subject);
}
