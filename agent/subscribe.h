/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/*
 * What the core tells whoever listens, without knowing who: an operation ended (the HTTP front
 * wakes the long-polls parked on it), an event was appended (it wakes the event streams). The
 * core publishes; the layers above subscribe (agent/http.c, at its start), so the arrows point
 * down only. A subscriber is called from the loop, inside the publishing call: it must not block,
 * and must not free what the publisher is working on (the front only resumes connections).
 */
#include <stddef.h>

struct zero_agent;

enum zero_topic {
        ZERO_TOPIC_OPERATION_ENDED, /* subject: the operation's id */
        ZERO_TOPIC_OPERATION_STEP,  /* subject: ID@STEP, the operation has reached that forward step */
        ZERO_TOPIC_EVENT_APPENDED,  /* subject: the event's type */
        ZERO_TOPIC_OPERATION_DURABLE, /* subject: the operation's id; its row is synced, it runs */
        _ZERO_TOPIC_MAX,
};

/* At most this many subscribers per topic: the front is the one there is. */
#define ZERO_SUBSCRIBERS_MAX 4

typedef void (*zero_subscriber_fn)(void *userdata, const char *subject);

struct zero_subscribers {
        struct {
                zero_subscriber_fn fn;
                void *userdata;
        } s[_ZERO_TOPIC_MAX][ZERO_SUBSCRIBERS_MAX];
};

/* -ENOSPC when the topic has ZERO_SUBSCRIBERS_MAX already. */
int zero_subscribe(struct zero_agent *a, enum zero_topic t, zero_subscriber_fn fn, void *userdata);
/* Forgets fn with userdata (a front that goes); nothing when it is not there. */
void zero_unsubscribe(struct zero_agent *a, enum zero_topic t, zero_subscriber_fn fn, void *userdata);
/* Calls every subscriber of t, in the order they came. */
void zero_publish(struct zero_agent *a, enum zero_topic t, const char *subject);
