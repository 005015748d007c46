/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/*
 * What the card keeps across its restarts and the host's resets: which volumes, images, networks
 * and NICs exist (with the driver's locators and the state of the job that makes or removes each:
 * "creating", "ready", "deleting"), what is presented to the host ("presenting", "presented",
 * "withdrawing"), and the host's own facts (its state volume, the orchestrator's port).
 *
 * One JSON document, STATE/card.json, replaced as a whole at every change (write a temporary file,
 * fsync, rename, fsync the directory: crash-consistent), rather than SQLite as zerod's store: a
 * card holds tens of objects and changes one per API call, so rewriting a few KiB is cheap, one
 * replace is atomic across every object (no transactions to get right), there is no schema to
 * migrate (fields are added with defaults, "version" says the layout), and the lab's operator can
 * read it. It would be SQLite past thousands of objects or many changes a second.
 *
 * Sections: "volumes", "images", "networks", "nics", "presentations" (objects keyed by id) and
 * "host" (an object). Every record changes through zc_store_put()/zc_store_remove(), which save
 * before they return: the caller's next step runs on a record that is on disk.
 */
#include <jansson.h>

#include "zero/error.h"

#define ZC_STORE_VERSION 1

struct zc_store;

/* Reads path, or starts empty when there is none; a file of a newer version is refused. */
int zc_store_open(const char *path, struct zc_store **ret, struct zero_error *err);
struct zc_store *zc_store_free(struct zc_store *s);
/* The section's object (borrowed): records keyed by id, or the host's facts. */
json_t *zc_store_section(struct zc_store *s, const char *section);
/* The record (borrowed), NULL when there is none. */
json_t *zc_store_get(struct zc_store *s, const char *section, const char *id);
/* Sets the record (stolen) and saves. */
int zc_store_put(struct zc_store *s, const char *section, const char *id, json_t *rec, struct zero_error *err);
/* Sets one field of a record (value stolen) and saves; -ENOENT without the record. */
int zc_store_set(struct zc_store *s, const char *section, const char *id, const char *key, json_t *value,
                 struct zero_error *err);
int zc_store_remove(struct zc_store *s, const char *section, const char *id, struct zero_error *err);
/* The host's fact (borrowed), and its change (value stolen, saved). */
json_t *zc_store_host(struct zc_store *s, const char *key);
int zc_store_set_host(struct zc_store *s, const char *key, json_t *value, struct zero_error *err);
