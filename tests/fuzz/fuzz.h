/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/*
 * What the fuzz targets (tests/fuzz/fuzz_*.c, docs/fuzzing.md) share: a scratch directory and a
 * node for the validators that read the store. Each target defines LLVMFuzzerTestOneInput() and
 * calls the project's own entry point; nothing here copies the project's logic.
 */
#include <stddef.h>
#include <stdint.h>

struct zero_agent;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Called once per process: logs silenced (unless $ZERO_FUZZ_LOG gives a syslog priority), and a
 * scratch directory made under $TMPDIR, removed at exit. */
const char *fuzz_scratch_dir(void);

/* data as a NUL-terminated string (cut at its first NUL, as a C reader of it would be); freed
 * by the next call. */
const char *fuzz_string(const uint8_t *data, size_t size);

/* A node without an event loop, HTTP or card driver, for the create validators: 2 cpus, 4 GiB,
 * the plugins container and vm (available) and bms (not available), and a store in the scratch
 * directory holding:
 *   image    busybox (its base.ext4 of 64 MiB: FUZZ_IMAGE_BASE_SIZE)
 *   volumes  data, logs (ready, free), held (attached to the instance holder), half (creating),
 *            taken-root (so an instance named taken cannot make its root volume)
 *   networks net 10.77.0.0/24 (bridge zb-net), small 10.78.0.0/29, lab 192.168.100.0/24
 *   instance holder (stopped), with held attached at /data
 * Validation only reads it, so it stays the same across inputs. */
struct zero_agent *fuzz_agent(void);
#define FUZZ_IMAGE_BASE_SIZE (64LL << 20)

/* Aborts (a crash libFuzzer reports) with the message when cond does not hold: for invariants
 * the contract of an entry point states. */
#define FUZZ_ASSERT(cond, ...) fuzz_assert(!!(cond), #cond, __VA_ARGS__)
void fuzz_assert(int ok, const char *cond, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
