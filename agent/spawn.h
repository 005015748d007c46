/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/*
 * Children of zerod for work that must not run on the loop (an image's unpacking, the removal of
 * a directory): watched with sd_event_add_child (main.c blocks SIGCHLD), never waited for.
 */
#include <systemd/sd-event.h>

#include "agent/agent.h"

/* A child of zerod that dies with zerod (PR_SET_PDEATHSIG), its stdout and stderr in zerod's
 * log, at nice 10 and the lowest best-effort I/O priority, watched on the loop: cb runs when it
 * exits. The source (*ret) owns the child: freeing it kills and reaps it. */
int zero_spawn(struct zero_agent *a, char *const argv[], sd_event_child_handler_t cb, void *userdata,
                     sd_event_source **ret);
