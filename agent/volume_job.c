/* SPDX-License-Identifier: Apache-2.0 */
/* The card's work on one volume, off the loop, and everyone waiting for it (volume_job.h). */
#include "agent/volume_job.h"

#include <string.h>

#include "agent/card.h"
#include "common/log.h"
#include "common/util.h"

struct waiter {
        zero_volume_job_fn done; /* NULL: nobody (any more) */
        void *userdata;
};

struct zero_volume_job {
        struct zero_agent *agent;
        struct zero_volume_job *next;
        char *name, *id;
        bool remove;
        bool noop; /* nothing to do: answered from the loop */
        struct waiter *waiters;
        size_t n_waiters;
        sd_event_source *defer; /* answers of a synchronous driver, and noops */
        int r;
        struct zero_error err;
};

static const char *const vol_state_names[_ZERO_VOL_STATE_MAX] = {
        [ZERO_VOL_CREATING] = "creating",
        [ZERO_VOL_READY] = "ready",
        [ZERO_VOL_DELETING] = "deleting",
};

const char *zero_vol_state_name(enum zero_vol_state s) {
        return zero_state_name_at(vol_state_names, _ZERO_VOL_STATE_MAX, s);
}

enum zero_vol_state zero_vol_state_from_name(const char *s) {
        return (enum zero_vol_state) zero_state_index(vol_state_names, _ZERO_VOL_STATE_MAX, s);
}

bool zero_vol_state_has_job(enum zero_vol_state s) {
        return s == ZERO_VOL_CREATING || s == ZERO_VOL_DELETING;
}

int zero_vol_set_state(struct zero_volume_row *row, enum zero_vol_state s) {
        const char *name = zero_vol_state_name(s);
        char *dup = name ? strdup(name) : NULL;

        if (!dup)
                return name ? -ENOMEM : -EINVAL;
        free(row->state);
        row->state = dup;
        row->updated_at = (int64_t) zero_now_usec();
        return 0;
}

static struct zero_volume_job *job_free(struct zero_volume_job *j) {
        if (!j)
                return NULL;
        j->defer = sd_event_source_disable_unref(j->defer);
        free(j->waiters);
        free(j->name);
        free(j->id);
        free(j);
        return NULL;
}

static struct zero_volume_job *job_find(struct zero_agent *a, const char *name) {
        for (struct zero_volume_job *j = a->volume_jobs; j; j = j->next)
                if (streq(j->name, name))
                        return j;
        return NULL;
}

static int job_add_waiter(struct zero_volume_job *j, zero_volume_job_fn done, void *userdata) {
        struct waiter *w;

        if (!done)
                return 0;
        w = reallocarray(j->waiters, j->n_waiters + 1, sizeof(*w));
        if (!w)
                return -ENOMEM;
        j->waiters = w;
        j->waiters[j->n_waiters++] = (struct waiter){done, userdata};
        return 0;
}

/* The driver is done: the row follows, then everyone waiting hears. */
static void job_rows(struct zero_volume_job *j, int *r, struct zero_error *err) {
        struct zero_agent *a = j->agent;
        struct zero_volume_row row = {};
        int k;

        if (zero_store_volume_get(a->store, j->name, &row) < 0 || !streq(row.id, j->id)) {
                zero_volume_row_done(&row);
                return; /* gone already (a job done twice over a crash) */
        }
        if (*r < 0)
                log_warning("%s volume %s failed: %s", j->remove ? "Deleting" : "Making", j->name, err->message);
        else if (j->remove) {
                k = zero_store_volume_delete(a->store, j->name);
                if (k < 0)
                        *r = zero_error_set(err, k, ZERO_E_UNAVAILABLE, "cannot forget volume %s: %s", j->name, strerror(-k));
                else {
                        log_info("Volume %s is deleted", j->name);
                        zero_agent_event(a, "volume.deleted", NULL, json_pack("{s:s}", "name", j->name));
                }
        } else if (zero_vol_state_of(&row) == ZERO_VOL_CREATING) {
                k = zero_vol_set_state(&row, ZERO_VOL_READY);
                if (k >= 0)
                        k = zero_store_volume_update(a->store, &row);
                if (k < 0)
                        *r = zero_error_set(err, k, ZERO_E_UNAVAILABLE, "cannot record volume %s as ready: %s", j->name,
                                            strerror(-k));
                else {
                        log_info("Volume %s is ready (%s, %lld bytes)", j->name, row.format, (long long) row.size_bytes);
                        zero_agent_event(a, "volume.created", NULL, json_pack("{s:s}", "name", j->name));
                }
        }
        zero_volume_row_done(&row);
}

static void job_finish(struct zero_volume_job *j, int r, const struct zero_error *e) {
        struct zero_agent *a = j->agent;
        struct zero_error err = e ? *e : (struct zero_error){};
        struct waiter *w = TAKE_PTR(j->waiters);
        size_t n = j->n_waiters;

        for (struct zero_volume_job **p = &a->volume_jobs; *p; p = &(*p)->next)
                if (*p == j) {
                        *p = j->next;
                        break;
                }
        if (!j->noop)
                job_rows(j, &r, &err);
        job_free(j);
        /* Out of the list first: a waiter may ask for the next job on this volume. */
        for (size_t i = 0; i < n; i++)
                if (w[i].done)
                        w[i].done(w[i].userdata, r, &err);
        free(w);
}

static void on_driver_done(void *userdata, int r, const struct zero_error *err) {
        job_finish(userdata, r, err);
}

static int on_defer(sd_event_source *s, void *userdata) {
        struct zero_volume_job *j = userdata;

        j->defer = sd_event_source_disable_unref(j->defer);
        job_finish(j, j->r, &j->err);
        return 0;
}

/* The driver's work: its asynchronous op, or the synchronous one answered from the loop. */
static int job_start(struct zero_volume_job *j, const struct zero_volume_row *row, struct zero_error *err) {
        struct zero_agent *a = j->agent;
        const struct zero_card_driver *d = a->card_driver;
        struct zero_card_vol cv;
        int r;

        r = zero_card_vol_init(a, row, &cv);
        if (r < 0)
                return zero_error_set(err, r, ZERO_E_INTERNAL, "volume %s: its image is unreadable: %s", row->name,
                                      strerror(-r));
        if (j->remove && ZERO_CARD_HAS(d, volume_delete_async))
                r = d->ops.volume_delete_async(a->card, &cv.v, on_driver_done, j, err);
        else if (!j->remove && ZERO_CARD_HAS(d, volume_create_async))
                r = d->ops.volume_create_async(a->card, &cv.v, on_driver_done, j, err);
        else {
                j->r = j->remove ? d->ops.volume_delete(a->card, &cv.v, &j->err)
                                 : d->ops.volume_create(a->card, &cv.v, &j->err);
                r = sd_event_add_defer(a->event, &j->defer, on_defer, j);
                if (r < 0)
                        zero_error_default(err, r, "Failed to schedule the volume's answer");
        }
        zero_card_vol_done(&cv);
        return r;
}

int zero_volume_job_wait(struct zero_agent *a, const char *name, zero_volume_job_fn done, void *userdata,
                         struct zero_error *err) {
        struct zero_volume_row row = {};
        struct zero_volume_job *j = job_find(a, name);
        int r;

        if (j)
                return job_add_waiter(j, done, userdata) < 0 ? zero_error_default(err, -ENOMEM, "volume job") : 0;
        j = calloc(1, sizeof(*j));
        if (!j || !(j->name = strdup(name))) {
                job_free(j);
                return zero_error_default(err, -ENOMEM, "volume job");
        }
        j->agent = a;
        r = zero_store_volume_get(a->store, name, &row);
        if (r < 0 && r != -ENOENT) {
                job_free(j);
                return zero_error_set(err, r, ZERO_E_UNAVAILABLE, "cannot read volume %s: %s", name, strerror(-r));
        }
        j->noop = r == -ENOENT || !zero_vol_state_has_job(zero_vol_state_of(&row));
        j->remove = !j->noop && zero_vol_state_of(&row) == ZERO_VOL_DELETING;
        j->id = r >= 0 ? strdup(row.id) : NULL;
        r = job_add_waiter(j, done, userdata);
        if (r >= 0 && j->noop)
                r = sd_event_add_defer(a->event, &j->defer, on_defer, j);
        else if (r >= 0)
                r = j->id ? job_start(j, &row, err) : -ENOMEM;
        zero_volume_row_done(&row);
        if (r < 0) {
                job_free(j);
                return zero_error_default(err, r, "Failed to start the volume's job");
        }
        j->next = a->volume_jobs;
        a->volume_jobs = j;
        return 0;
}

void zero_volume_jobs_forget(struct zero_agent *a, void *userdata) {
        for (struct zero_volume_job *j = a->volume_jobs; j; j = j->next)
                for (size_t i = 0; i < j->n_waiters; i++)
                        if (j->waiters[i].userdata == userdata)
                                j->waiters[i].done = NULL;
}

void zero_volume_jobs_resume(struct zero_agent *a) {
        struct zero_volume_row *rows = NULL;
        size_t n = 0;

        if (zero_store_volume_list(a->store, &rows, &n) < 0) {
                log_error("Cannot list volumes: those left half-made or half-deleted wait for the next start");
                return;
        }
        for (size_t i = 0; i < n; i++) {
                struct zero_error err = {};

                if (!zero_vol_state_has_job(zero_vol_state_of(&rows[i])))
                        continue;
                log_info("Volume %s was left %s: finishing it", rows[i].name, rows[i].state);
                if (zero_volume_job_wait(a, rows[i].name, NULL, NULL, &err) < 0)
                        log_warning("Volume %s stays %s: %s", rows[i].name, rows[i].state, err.message);
        }
        zero_volume_rows_free(rows, n);
}

void zero_volume_jobs_free(struct zero_agent *a) {
        while (a->volume_jobs) {
                struct zero_volume_job *j = a->volume_jobs;
                a->volume_jobs = j->next;
                job_free(j);
        }
}
