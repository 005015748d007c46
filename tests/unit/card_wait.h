/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/*
 * A card driver's asynchronous op (include/zero/card.h, ABI 4) run to its end by a test or a
 * benchmark that owns the loop:
 *
 *   struct card_wait w = {};
 *   r = card_wait(e, &w, d->ops.volume_export(card, &v, kind, card_wait_done, &w, &err), &err);
 *
 * r is the op's refusal at once, or done's r (err then holds done's error); w.res holds what the
 * op handed back (an export's path). The loop runs until done comes, 60 s at most (-ETIME).
 */
#include <stdbool.h>
#include <string.h>
#include <systemd/sd-event.h>

#include "common/util.h"
#include "zero/card.h"

struct card_wait {
        bool done;
        bool inside; /* done came from inside the call: the ABI forbids it */
        bool calling;
        int r;
        struct zero_card_result res;
        struct zero_error err;
};

static inline void card_wait_done(void *userdata, int r, const struct zero_card_result *res,
                                  const struct zero_error *err) {
        struct card_wait *w = userdata;

        w->inside = w->inside || w->calling;
        w->done = true;
        w->r = r;
        w->res = res ? *res : (struct zero_card_result){};
        w->err = err ? *err : (struct zero_error){};
}

static inline int card_wait(sd_event *e, struct card_wait *w, int r, struct zero_error *err) {
        uint64_t deadline = zero_monotonic_usec() + 60 * 1000000ULL;

        if (r < 0)
                return r;
        if (w->done) /* from inside the call */
                return -EPROTO;
        while (!w->done) {
                if (zero_monotonic_usec() > deadline)
                        return -ETIME;
                if (sd_event_run(e, 100 * 1000) < 0)
                        return -EIO;
        }
        if (w->r < 0 && err)
                *err = w->err;
        return w->r;
}
