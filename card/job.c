/* SPDX-License-Identifier: Apache-2.0 */
/* The card's jobs (job.h). */
#include "card/job.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "card/card.h"
#include "common/log.h"
#include "common/subprocess.h"
#include "common/util.h"
#include "io/hotplug.h"

static bool job_first_of_object(struct zc_job *j) {
        for (struct zc_job *o = j->zc->jobs; o && o != j; o = o->next)
                if (streq(o->object, j->object))
                        return false;
        return true;
}

static int on_job_defer(sd_event_source *s, void *userdata);

static void job_schedule(struct zc_job *j) {
        if (!j->defer && sd_event_add_defer(j->zc->event, &j->defer, on_job_defer, j) < 0)
                log_error("Cannot schedule the %s of %s: out of memory", j->what, j->object);
}

static void job_waits_free(struct zc_job *j) {
        j->defer = sd_event_source_disable_unref(j->defer);
        j->timer = sd_event_source_disable_unref(j->timer);
        j->hp = zero_hotplug_free(j->hp);
        j->child = zero_subprocess_free(j->child);
}

static void job_free(struct zc_job *j) {
        job_waits_free(j);
        while (j->waiters) {
                struct zc_waiter *w = j->waiters;
                j->waiters = w->next;
                free(w);
        }
        json_decref(j->args);
        json_decref(j->result);
        free(j);
}

/* The job ended: out of the list, its waiters told, the next of its object started. */
static void job_end(struct zc_job *j) {
        struct zc *zc = j->zc;
        struct zc_waiter *w;

        for (struct zc_job **p = &zc->jobs; *p; p = &(*p)->next)
                if (*p == j) {
                        *p = j->next;
                        break;
                }
        job_waits_free(j);
        if (j->r < 0)
                log_warning("The %s of %s failed: %s", j->what, j->object, j->err.message);
        else
                log_info("The %s of %s is done", j->what, j->object);
        while ((w = j->waiters)) {
                j->waiters = w->next;
                w->fn(w->userdata, j->r, j->r < 0 ? NULL : j->result, j->r < 0 ? &j->err : NULL);
                free(w);
        }
        for (struct zc_job *o = zc->jobs; o; o = o->next)
                if (streq(o->object, j->object)) {
                        o->running = true;
                        job_schedule(o);
                        break;
                }
        job_free(j);
}

#ifdef ZERO_FAULT_INJECTION
/* The card's fault points, for the lab's crash tests (lab_bms_faults): "WHAT.N", step N (from 0)
 * of a job of that kind ("hand-over.5") about to run; ZERO_CARD_FAULT_POINT in the card's
 * environment names the one where it _exit(86)s, as a kill -9 would end it. */
static void job_fault_point(const struct zc_job *j) {
        const char *armed = getenv("ZERO_CARD_FAULT_POINT");
        char name[96];

        if (!armed)
                return;
        snprintf(name, sizeof(name), "%s.%u", j->what, j->step);
        if (!streq(armed, name))
                return;
        log_notice("Fault point %s reached: exiting", name);
        fflush(stderr);
        _exit(86);
}
#else
static void job_fault_point(const struct zc_job *j) {
}
#endif

/* Runs steps until one is under way, fails or the last is done. */
static void job_run(struct zc_job *j) {
        while (j->steps[j->step]) {
                int r;

                job_fault_point(j);
                r = j->steps[j->step](j);
                if (r == 0)
                        return;
                if (r < 0) {
                        j->r = zero_error_default(&j->err, r, "the card");
                        return job_end(j);
                }
                j->step++;
        }
        j->r = 0;
        job_end(j);
}

static int on_job_defer(sd_event_source *s, void *userdata) {
        struct zc_job *j = userdata;

        j->defer = sd_event_source_disable_unref(j->defer);
        if (!j->started)
                j->started = zero_monotonic_usec();
        job_run(j);
        return 0;
}

int zc_job_submit(struct zc *zc, const char *object, const char *id, const char *what, const zc_step_fn *steps,
                  json_t *args, struct zc_job **ret) {
        json_auto_t *a = args;
        struct zc_job *j, **tail;

        if (zc->stopping)
                return -ESHUTDOWN;
        j = calloc(1, sizeof(*j));
        if (!j)
                return -ENOMEM;
        *j = (struct zc_job){.zc = zc, .what = what, .steps = steps, .args = TAKE_PTR(a)};
        snprintf(j->object, sizeof(j->object), "%s", object);
        snprintf(j->id, sizeof(j->id), "%s", strempty(id));
        for (tail = &zc->jobs; *tail; tail = &(*tail)->next)
                ;
        *tail = j;
        if (job_first_of_object(j)) {
                j->running = true;
                job_schedule(j);
        }
        if (ret)
                *ret = j;
        return 0;
}

int zc_job_wait(struct zc_job *j, zc_job_done_fn fn, void *userdata) {
        struct zc_waiter *w = calloc(1, sizeof(*w));

        if (!w)
                return -ENOMEM;
        *w = (struct zc_waiter){.fn = fn, .userdata = userdata, .next = j->waiters};
        j->waiters = w;
        return 0;
}

void zc_job_next(struct zc_job *j, int r, const struct zero_error *err) {
        if (r < 0) {
                if (err)
                        j->err = *err;
                j->r = zero_error_default(&j->err, r, "the card");
                return job_end(j);
        }
        j->step++;
        job_schedule(j);
}

void zc_job_again(struct zc_job *j) {
        job_schedule(j);
}

static int on_job_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        struct zc_job *j = userdata;

        j->timer = sd_event_source_disable_unref(j->timer);
        job_schedule(j);
        return 0;
}

int zc_job_again_in(struct zc_job *j, uint64_t usec) {
        j->timer = sd_event_source_disable_unref(j->timer);
        if (sd_event_add_time_relative(j->zc->event, &j->timer, CLOCK_MONOTONIC, usec, 1000, on_job_timer, j) < 0)
                return zero_error_set(&j->err, -ENOMEM, ZERO_E_INTERNAL, "cannot arm a timer");
        return 0;
}

int zc_job_skip_rest(struct zc_job *j) {
        while (j->steps[j->step + 1])
                j->step++;
        return 1;
}

void zc_job_result(struct zc_job *j, json_t *result) {
        json_decref(j->result);
        j->result = result;
}

bool zc_job_busy(struct zc *zc, const char *object) {
        for (struct zc_job *o = zc->jobs; o; o = o->next)
                if (streq(o->object, object))
                        return true;
        return false;
}

struct zc_job *zc_job_running(struct zc *zc, const char *object) {
        for (struct zc_job *o = zc->jobs; o; o = o->next)
                if (o->running && streq(o->object, object))
                        return o;
        return NULL;
}

struct zc_job *zc_job_last(struct zc *zc, const char *object) {
        struct zc_job *last = NULL;

        for (struct zc_job *o = zc->jobs; o; o = o->next)
                if (streq(o->object, object))
                        last = o;
        return last;
}

void zc_jobs_free(struct zc *zc) {
        while (zc->jobs) {
                struct zc_job *j = zc->jobs;
                j->r = zero_error_set(&j->err, -ESHUTDOWN, ZERO_E_UNAVAILABLE, "the card is stopping");
                job_waits_free(j);
                job_end(j);
        }
}
