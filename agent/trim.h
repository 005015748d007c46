/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/*
 * What zerod holds only while it works, given back when it goes quiet: after its start, and
 * when the last running operation ended (operation.c). An idle zerod's resident memory is then
 * what it keeps (its live data, and the pages its loop touches), not what its start and its
 * last burst of work touched (docs/benchmarks.md, "Idle": 9.3 MiB after the start before,
 * 2 MiB after):
 *  - the store's page cache: SQLite's unused pages (reads come from the kernel's cache);
 *  - the heap's free pages (malloc_trim: glibc returns only the top of the heap by itself);
 *  - file pages mapped read-only and never written: the code and constants of zerod, its
 *    libraries and plugins that the start ran (the plugins' probes, the card's sync, the
 *    store's migrations, GnuTLS's and libsystemd's initialisation). Unmapped with
 *    MADV_DONTNEED, never evicted: they stay in the kernel's page cache, and the next request
 *    that runs them maps them again (a minor fault per 64 KiB). A mapping with any page written
 *    (copy-on-write: relocations, RELRO, a debugger's breakpoint) is left whole, as its
 *    written pages would be lost.
 * Single-threaded, like the loop: no other thread may write a read-only mapping meanwhile.
 */
#include "agent/agent.h"

void zero_trim(struct zero_agent *a);
/* zero_trim() once the loop has nothing more urgent to do (an idle-priority defer source): the
 * replies that the work's end woke are sent first, and a burst that goes on skips it (it runs
 * only if no operation is running then). At most one a second: within a second of the last, a
 * one-shot timer at that second's end instead (operations one after the other). */
void zero_trim_when_idle(struct zero_agent *a);
/* Drops a trim still to come (zerod's exit: zero_op_free_all()). */
void zero_trim_cancel(struct zero_agent *a);
