/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/*
 * Fault injection for the crash tests: named points in the operation engine where a test build
 * of zerod dies on request, as a power cut or a kill -9 would take it.
 *
 * Every step of every operation kind has two points: "KIND.STEP", after the step is committed as
 * the one about to run and before it runs, and "KIND.STEP.done", after it ran and before the next
 * is committed. A step that pauses for an answer and names it (operation.h) has a third between
 * them, "KIND.STEP.ANSWER": the answer has arrived and nothing of it is recorded (spawn's
 * "reported": the shim's report with the pid). `zerod --list-fault-points` prints them all, so a
 * test that walks the list covers a new step without being told.
 *
 * ZERO_FAULT_POINT=NAME in zerod's environment arms one point; ZERO_FAULT_ACTION=abort makes it
 * abort() (a core dump, SIGABRT) instead of _exit(ZERO_FAULT_EXIT_STATUS) (no cleanup at all).
 * Only builds configured with -DZERO_FAULT_INJECTION=ON have the points (./deploy/check's);
 * elsewhere zero_fault_point() is empty and the list is refused.
 */
#define ZERO_FAULT_EXIT_STATUS 86

#ifdef ZERO_FAULT_INJECTION
void zero_fault_point(const char *name);
#else
static inline void zero_fault_point(const char *name) {
        (void) name;
}
#endif
