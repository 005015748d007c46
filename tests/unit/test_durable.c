/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The store's syncs off the loop (agent/durable.c) against a real store in a temporary directory
 * and the real sync child: a wait is answered from the loop, never before it returns; while the
 * child is stopped (an fsync that takes long) the loop goes on and nothing is answered; the
 * waits made meanwhile are answered together by one more sync (the group commit); a child that
 * dies leaves the syncs on the loop, with nothing lost; zerod going answers what still waits
 * with -ECANCELED; a forgotten wait is never answered.
 */
#include <dirent.h>
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "agent/agent.h"
#include "agent/durable.h"
#include "common/util.h"

struct fixture {
        char dir[64];
        char *wal;
        struct zero_agent a;
};

static struct {
        unsigned calls;
        int last_r;
} heard[8];

static void on_done(struct zero_agent *a, int r, void *userdata) {
        size_t i = (size_t) (uintptr_t) userdata;

        heard[i].calls++;
        heard[i].last_r = r;
}

static int setup(void **state) {
        struct fixture *f = calloc(1, sizeof(*f));
        struct zero_error err = {};
        _cleanup_free_ char *db = NULL;
        sigset_t mask;

        assert_non_null(f);
        memset(heard, 0, sizeof(heard));
        snprintf(f->dir, sizeof(f->dir), "/tmp/zero-durable.XXXXXX");
        assert_non_null(mkdtemp(f->dir));
        db = zero_strdup_printf("%s/zero.db", f->dir);
        f->wal = zero_strdup_printf("%s-wal", db);
        assert_int_equal(zero_store_open(db, &f->a.store, &err), 0);
        assert_int_equal(sd_event_new(&f->a.event), 0);
        sigemptyset(&mask);
        sigaddset(&mask, SIGCHLD);
        sigprocmask(SIG_BLOCK, &mask, NULL);
        assert_int_equal(zero_durable_new(&f->a, f->wal, &f->a.durable), 0);
        *state = f;
        return 0;
}

static int teardown(void **state) {
        struct fixture *f = *state;
        _cleanup_free_ char *cmd = zero_strdup_printf("rm -rf %s", f->dir);

        f->a.durable = zero_durable_free(f->a.durable);
        f->a.store = zero_store_close(f->a.store);
        f->a.event = sd_event_unref(f->a.event);
        assert_int_equal(system(cmd), 0);
        free(f->wal);
        free(f);
        return 0;
}

/* The sync child: this process's one child ("zerod-sync"). */
static pid_t sync_child(void) {
        char path[64], buf[64] = "";
        FILE *fp;

        snprintf(path, sizeof(path), "/proc/self/task/%d/children", (int) getpid());
        fp = fopen(path, "re");
        assert_non_null(fp);
        assert_non_null(fgets(buf, sizeof(buf), fp));
        fclose(fp);
        return (pid_t) atoi(buf);
}

/* A write committed, as an operation's row is before its wait. */
static void commit_one(struct fixture *f, const char *value) {
        assert_int_equal(zero_store_node_set(f->a.store, "durable-test", value), 0);
}

/* Runs the loop until heard[i] was called, at most timeout_ms; whether it was. */
static bool run_until(struct fixture *f, size_t i, unsigned timeout_ms) {
        uint64_t end = zero_now_usec() + (uint64_t) timeout_ms * 1000;

        while (heard[i].calls == 0 && zero_now_usec() < end)
                assert_true(sd_event_run(f->a.event, 10 * 1000) >= 0);
        return heard[i].calls > 0;
}

static void test_answered_from_the_loop(void **state) {
        struct fixture *f = *state;
        unsigned long long syncs, waits;
        char comm[32] = "";
        char path[64];
        FILE *fp;

        commit_one(f, "1");
        assert_int_equal(zero_durable_wait(f->a.durable, on_done, (void *) 0), 0);
        assert_int_equal(heard[0].calls, 0); /* not before the loop turns */
        assert_true(run_until(f, 0, 5000));
        assert_int_equal(heard[0].last_r, 0);
        /* Named so in ps (it has answered: it is past its prctl). */
        snprintf(path, sizeof(path), "/proc/%d/comm", (int) sync_child());
        fp = fopen(path, "re");
        assert_non_null(fp);
        assert_non_null(fgets(comm, sizeof(comm), fp));
        fclose(fp);
        assert_string_equal(comm, "zerod-sync\n");
        zero_durable_counts(f->a.durable, &syncs, &waits);
        assert_int_equal(syncs, 1);
        assert_int_equal(waits, 1);
}

static int on_tick(sd_event_source *s, uint64_t usec, void *userdata) {
        (*(unsigned *) userdata)++;
        return 0;
}

static void test_stopped_child_group_commit(void **state) {
        struct fixture *f = *state;
        pid_t child = sync_child();
        unsigned long long syncs, waits;
        sd_event_source *tick = NULL;
        unsigned ticks = 0;

        /* The first sync asked, then the child stopped before it can answer: an fsync that takes
         * long. Hold it still before the ask, so that the first sync is surely under way. */
        assert_int_equal(kill(child, SIGSTOP), 0);
        commit_one(f, "a");
        assert_int_equal(zero_durable_wait(f->a.durable, on_done, (void *) 0), 0);
        commit_one(f, "b");
        assert_int_equal(zero_durable_wait(f->a.durable, on_done, (void *) 1), 0);
        commit_one(f, "c");
        assert_int_equal(zero_durable_wait(f->a.durable, on_done, (void *) 2), 0);

        /* The loop turns meanwhile: a timer fires again and again, nothing is answered. */
        assert_int_equal(sd_event_add_time_relative(f->a.event, &tick, CLOCK_MONOTONIC, 1000, 0, on_tick, &ticks), 0);
        assert_int_equal(sd_event_source_set_enabled(tick, SD_EVENT_ON), 0);
        for (int i = 0; i < 20; i++) {
                assert_true(sd_event_run(f->a.event, 20 * 1000) >= 0);
                (void) sd_event_source_set_time_relative(tick, 1000);
        }
        tick = sd_event_source_disable_unref(tick);
        assert_true(ticks >= 10);
        for (size_t i = 0; i < 3; i++)
                assert_int_equal(heard[i].calls, 0);

        assert_int_equal(kill(child, SIGCONT), 0);
        assert_true(run_until(f, 2, 5000));
        for (size_t i = 0; i < 3; i++) {
                assert_int_equal(heard[i].calls, 1);
                assert_int_equal(heard[i].last_r, 0);
        }
        /* The first sync answered the first wait; the two made while it ran, one more. */
        zero_durable_counts(f->a.durable, &syncs, &waits);
        assert_int_equal(syncs, 2);
        assert_int_equal(waits, 3);
}

static void test_child_dies(void **state) {
        struct fixture *f = *state;
        pid_t child = sync_child();

        assert_int_equal(kill(child, SIGSTOP), 0);
        commit_one(f, "x");
        assert_int_equal(zero_durable_wait(f->a.durable, on_done, (void *) 0), 0);
        assert_int_equal(kill(child, SIGKILL), 0);
        /* The wait under way is answered (synced on the loop), none is lost. */
        assert_true(run_until(f, 0, 5000));
        assert_int_equal(heard[0].last_r, 0);
        /* From now on a wait is a sync on the loop, answered before it returns. */
        commit_one(f, "y");
        assert_int_equal(zero_durable_wait(f->a.durable, on_done, (void *) 1), 0);
        assert_int_equal(heard[1].calls, 1);
        assert_int_equal(heard[1].last_r, 0);
        assert_int_equal(waitpid(child, NULL, WNOHANG), -1); /* reaped by the loop already */
        assert_int_equal(errno, ECHILD);
}

static void test_forget_and_cancel(void **state) {
        struct fixture *f = *state;
        pid_t child = sync_child();
        int status;

        assert_int_equal(kill(child, SIGSTOP), 0);
        commit_one(f, "p");
        assert_int_equal(zero_durable_wait(f->a.durable, on_done, (void *) 0), 0);
        assert_int_equal(zero_durable_wait(f->a.durable, on_done, (void *) 1), 0);
        assert_int_equal(zero_durable_wait(f->a.durable, on_done, (void *) 2), 0);
        zero_durable_forget(f->a.durable, (void *) 1);
        f->a.durable = zero_durable_free(f->a.durable);
        assert_int_equal(heard[0].calls, 1);
        assert_int_equal(heard[0].last_r, -ECANCELED);
        assert_int_equal(heard[1].calls, 0);
        assert_int_equal(heard[2].calls, 1);
        assert_int_equal(heard[2].last_r, -ECANCELED);
        /* The child is gone with it, reaped (it was stopped: killed, not asked). */
        assert_int_equal(waitpid(child, &status, WNOHANG), -1);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_answered_from_the_loop, setup, teardown),
                cmocka_unit_test_setup_teardown(test_stopped_child_group_commit, setup, teardown),
                cmocka_unit_test_setup_teardown(test_child_dies, setup, teardown),
                cmocka_unit_test_setup_teardown(test_forget_and_cancel, setup, teardown),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
