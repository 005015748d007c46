/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/*
 * zeroctl: the operator's command line for zerod.
 *
 * Like crun, every verb is a small function in a cmd_*.c file that parses its own arguments and
 * makes one or two API calls; only main() prints errors. A verb returns >= 0 on success or
 * -errno with the reason in *reterr. A reason whose code is "usage" is a usage error: main prints
 * the verb's usage text to stderr and exits 2. A reason with a status is an HTTP error and is
 * printed as "<message> (<code>, HTTP <status>)".
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

#include "cli/client.h"
#include "zero/error.h"

#define ZEROCTL_DEFAULT_URL "unix:/run/zero/zerod.sock"
/* ./deploy/quickstart's, relative to where it runs: the default when the system's is missing. */
#define ZEROCTL_QUICKSTART_SOCKET "var/run/zerod.sock"
#define ZEROCTL_DEFAULT_TIMEOUT_S 300
/* Longest wait zeroctl asks for in one long-poll; the server allows up to 300. */
#define ZEROCTL_POLL_WAIT_S 30

#define ZEROCTL_EXIT_OK 0
#define ZEROCTL_EXIT_FAILURE 1
#define ZEROCTL_EXIT_USAGE 2

/* Returned by the argument parsers (> 0, not an error) when --help was asked for. */
#define ZEROCTL_HELP 1

struct zeroctl_options {
        const char *url; /* points into argv or the environment */
        const char *token;  /* --token or $ZERO_TOKEN: a bearer token for TCP */
        const char *cacert; /* --cacert or $ZERO_CACERT: the CA (or self-signed certificate) of zerod */
        bool json;
        unsigned timeout_s; /* how long to wait for an asynchronous operation */
        bool help;
        bool version;
};

/* What a verb gets: the parsed global options and a connected client. */
struct zeroctl {
        struct zeroctl_options opts;
        struct zeroctl_http *http;
        FILE *out; /* stdout; a test may hand in a memory stream */
        int exit_status; /* >= 0: zeroctl's exit status after a success (exec: the command's) */
};

typedef int (*zeroctl_verb_fn)(struct zeroctl *z, int argc, char **argv, struct zero_error *reterr);

struct zeroctl_verb {
        const char *name;
        const char *sub; /* second word ("image import"), or NULL */
        zeroctl_verb_fn run;
        const char *usage;   /* after "zeroctl " */
        const char *summary; /* for zeroctl --help; NULL hides an alias */
        const char *details; /* for zeroctl VERB --help, or NULL */
        /* Printed after details by zeroctl VERB --help: what the node says (modes.c), or NULL. */
        void (*help_more)(struct zeroctl *z, FILE *f);
};

/* zeroctl.c: the dispatch table and the program proper, minus curl_global_init. */
extern const struct zeroctl_verb zeroctl_verbs[];
extern const size_t zeroctl_n_verbs;
int zeroctl_parse_global(int argc, char **argv, struct zeroctl_options *ret, int *ret_index,
                         struct zero_error *reterr);
/* Without ZERO_URL or --url: the system's socket, or where only ./var/run/zerod.sock (a socket)
 * is, that one (absolute). */
const char *zeroctl_default_url(void);
const struct zeroctl_verb *zeroctl_find_verb(int argc, char **argv, int *ret_consumed);
/* Global options anywhere on the line (issue 16: "zeroctl ls --json"): the global options among
 * argv[verb_end..] (up to a "--", after which everything is the verb's: a create's command) moved
 * before the verb, at verb_start, the rest in order. ret_argv (argc + 1 pointers, NULL-ended) is
 * malloc'd; its strings are argv's. Returns how many were moved (an option with its value counts
 * as one), -EINVAL (a usage error in reterr) for one whose value is missing, or -ENOMEM. No verb
 * has an option of these names. */
int zeroctl_hoist_globals(int argc, char **argv, int verb_start, int verb_end, char ***ret_argv,
                          struct zero_error *reterr);
void zeroctl_print_help(FILE *f);
int zeroctl_main(int argc, char **argv);

int zeroctl_usage_error(struct zero_error *reterr, const char *fmt, ...) _printf_(2, 3);
/* The usage error for what getopt_long returned ('?' or ':') with opterr = 0. */
int zeroctl_getopt_error(int c, char **argv, struct zero_error *reterr);

/* Argument parsers shared by the verbs; pure, unit-tested. */
int zeroctl_parse_uint(const char *what, const char *s, int64_t min, int64_t max, int64_t *ret,
                       struct zero_error *reterr);
/* "512", "512M", "512MiB", "2G", "2GiB" → MiB. */
int zeroctl_parse_memory_mib(const char *s, int64_t *ret);
/* Bytes, 1024-based: "4096", "512K", "512KiB", "10M", "10G", "1T" (also "B", "MiB", "GiB",
 * "TiB") → bytes; 0 is allowed (the server judges sizes), more than INT64_MAX is -ERANGE. */
int zeroctl_parse_size_bytes(const char *s, int64_t *ret);
/* Sets o[key] to the string value; a usage error naming `what` when it is not UTF-8. */
int zeroctl_json_set_string(json_t *o, const char *key, const char *value, const char *what,
                            struct zero_error *reterr);
/* Parses "VERB [--help] WORD...": exactly n positional arguments into ret_words. */
int zeroctl_parse_words(int argc, char **argv, size_t n, const char **ret_words,
                        struct zero_error *reterr);
/* The "INSTANCE WORD" a verb takes after its options (argv[optind...]): exactly two words;
 * what names WORD in the "missing ..." usage error. */
int zeroctl_instance_and_word(int argc, char **argv, const char *what, const char **ret_name,
                              const char **ret_word, struct zero_error *reterr);
/* The INSTANCE a verb takes after its own options (argv[optind...]): exactly one word. */
int zeroctl_instance_only(int argc, char **argv, const char **ret_name, struct zero_error *reterr);
/* Parses "VERB [--help] NAME". */
int zeroctl_parse_name_only(int argc, char **argv, const char **ret_name,
                            struct zero_error *reterr);
/* Parses "VERB [--help]". */
int zeroctl_parse_no_args(int argc, char **argv, struct zero_error *reterr);
/* GET path, then its JSON pretty (--json) or as "key: value" lines. */
int zeroctl_get_and_print(struct zeroctl *z, const char *path, struct zero_error *reterr);
/* The three verbs every collection has, "image", "volume" and "network" alike:
 * "VERB": GET /v1/<collection>, then --json or the table print_table makes of its
 * "<collection>" array; */
typedef int (*zeroctl_table_fn)(FILE *f, const json_t *items, uint64_t now_usec);
int zeroctl_list_collection(struct zeroctl *z, int argc, char **argv, const char *collection,
                            const char *what, zeroctl_table_fn print_table,
                            struct zero_error *reterr);
/* "VERB NAME": GET /v1/<collection>/NAME, printed as zeroctl_get_and_print() does; */
int zeroctl_show_named(struct zeroctl *z, int argc, char **argv, const char *collection,
                       struct zero_error *reterr);
/* "VERB NAME": DELETE /v1/<collection>/NAME (answered 204), then "deleted <what> NAME". */
int zeroctl_delete_named(struct zeroctl *z, int argc, char **argv, const char *collection,
                         const char *what, struct zero_error *reterr);
/* "/v1/<collection>/<escaped name><suffix>" */
char *zeroctl_object_path(const char *collection, const char *name, const char *suffix);

/* modes.c: the modes Zero knows, then which this node's zerod offers (GET /v1/node's plugins,
 * asked for at most 2 s), or that it could not be asked. */
void zeroctl_help_modes(struct zeroctl *z, FILE *f);

/* completion.c: "completion bash", the script made from zeroctl_verbs; "completion names KIND",
 * the names bash completes, one a line. */
int zeroctl_completion_bash(FILE *f);
int zeroctl_cmd_completion(struct zeroctl *z, int argc, char **argv, struct zero_error *reterr);

/* cmd_instance.c */
int zeroctl_parse_create(int argc, char **argv, json_t **ret_spec, struct zero_error *reterr);
int zeroctl_parse_stop(int argc, char **argv, const char **ret_name, int64_t *ret_grace_s,
                       struct zero_error *reterr);
/* "start NAME [--evict stop]": *ret_evict NULL when not given. */
int zeroctl_parse_start(int argc, char **argv, const char **ret_name, const char **ret_evict,
                        struct zero_error *reterr);
/* A refusal for a busy node (409, zerod's "... (\"evict\": \"stop\" stops the others first)")
 * told in zeroctl's words: "--evict stop" is the option to give. Returns r. */
int zeroctl_evict_hint(int r, struct zero_error *reterr);
/* ret_interactive may be NULL (then -i is refused as unknown). */
int zeroctl_parse_console(int argc, char **argv, const char **ret_name, int64_t *ret_bytes,
                          bool *ret_follow, bool *ret_interactive, struct zero_error *reterr);
int zeroctl_parse_rm(int argc, char **argv, const char **ret_name, bool *ret_keep_volumes, bool *ret_force,
                     struct zero_error *reterr);
int zeroctl_cmd_create(struct zeroctl *z, int argc, char **argv, struct zero_error *reterr);
int zeroctl_cmd_list(struct zeroctl *z, int argc, char **argv, struct zero_error *reterr);
int zeroctl_cmd_show(struct zeroctl *z, int argc, char **argv, struct zero_error *reterr);
int zeroctl_cmd_start(struct zeroctl *z, int argc, char **argv, struct zero_error *reterr);
int zeroctl_cmd_stop(struct zeroctl *z, int argc, char **argv, struct zero_error *reterr);
int zeroctl_cmd_restart(struct zeroctl *z, int argc, char **argv, struct zero_error *reterr);
int zeroctl_cmd_rm(struct zeroctl *z, int argc, char **argv, struct zero_error *reterr);
int zeroctl_cmd_console(struct zeroctl *z, int argc, char **argv, struct zero_error *reterr);
int zeroctl_cmd_exec(struct zeroctl *z, int argc, char **argv, struct zero_error *reterr);
/* cmd_exec.c: the interactive console (console -i), over the same stream as exec. */
int zeroctl_console_interactive(struct zeroctl *z, const char *name, struct zero_error *reterr);

/* cmd_image.c */
/* zeroctl image import NAME SOURCE [--kernel FILE [--initrd FILE]] [--keep-setuid] [--node-path] */
struct zeroctl_image_import {
        const char *name, *source, *kernel, *initrd; /* point into argv */
        bool keep_setuid;
        bool node_path; /* SOURCE (and kernel, initrd) are paths on the node, sent as JSON */
};
int zeroctl_parse_image_import(int argc, char **argv, struct zeroctl_image_import *ret, struct zero_error *reterr);
/* The JSON body of a --node-path import: {"name", "source", "kernel", "initrd", "keep_setuid"},
 * relative paths made absolute against the working directory. */
int zeroctl_image_import_json(const struct zeroctl_image_import *o, json_t **ret, struct zero_error *reterr);
int zeroctl_cmd_image_import(struct zeroctl *z, int argc, char **argv, struct zero_error *reterr);
int zeroctl_cmd_image_list(struct zeroctl *z, int argc, char **argv, struct zero_error *reterr);
int zeroctl_cmd_image_show(struct zeroctl *z, int argc, char **argv, struct zero_error *reterr);
int zeroctl_cmd_image_rm(struct zeroctl *z, int argc, char **argv, struct zero_error *reterr);

/* cmd_volume.c */
int zeroctl_parse_volume_create(int argc, char **argv, json_t **ret_body,
                                struct zero_error *reterr);
int zeroctl_parse_volume_resize(int argc, char **argv, const char **ret_name, json_t **ret_body,
                                struct zero_error *reterr);
int zeroctl_parse_volume_qos(int argc, char **argv, const char **ret_name, json_t **ret_body,
                             struct zero_error *reterr);
int zeroctl_cmd_volume_create(struct zeroctl *z, int argc, char **argv, struct zero_error *reterr);
int zeroctl_cmd_volume_list(struct zeroctl *z, int argc, char **argv, struct zero_error *reterr);
int zeroctl_cmd_volume_show(struct zeroctl *z, int argc, char **argv, struct zero_error *reterr);
int zeroctl_cmd_volume_rm(struct zeroctl *z, int argc, char **argv, struct zero_error *reterr);
int zeroctl_cmd_volume_resize(struct zeroctl *z, int argc, char **argv, struct zero_error *reterr);
int zeroctl_cmd_volume_qos(struct zeroctl *z, int argc, char **argv, struct zero_error *reterr);

/* cmd_network.c */
int zeroctl_parse_network_create(int argc, char **argv, json_t **ret_body,
                                 struct zero_error *reterr);
int zeroctl_cmd_network_create(struct zeroctl *z, int argc, char **argv,
                               struct zero_error *reterr);
int zeroctl_cmd_network_list(struct zeroctl *z, int argc, char **argv, struct zero_error *reterr);
int zeroctl_cmd_network_show(struct zeroctl *z, int argc, char **argv, struct zero_error *reterr);
int zeroctl_cmd_network_rm(struct zeroctl *z, int argc, char **argv, struct zero_error *reterr);

/* cmd_attach.c: an instance's volumes and NICs, changed after create. */
int zeroctl_parse_attach_volume(int argc, char **argv, const char **ret_instance,
                                json_t **ret_body, struct zero_error *reterr);
int zeroctl_parse_attach_nic(int argc, char **argv, const char **ret_instance, json_t **ret_body,
                             struct zero_error *reterr);
int zeroctl_cmd_attach_volume(struct zeroctl *z, int argc, char **argv,
                              struct zero_error *reterr);
int zeroctl_cmd_detach_volume(struct zeroctl *z, int argc, char **argv,
                              struct zero_error *reterr);
int zeroctl_cmd_attach_nic(struct zeroctl *z, int argc, char **argv, struct zero_error *reterr);
int zeroctl_cmd_detach_nic(struct zeroctl *z, int argc, char **argv, struct zero_error *reterr);

/* cmd_events.c */
struct zeroctl_events_args {
        int64_t after; /* -1: the newest; 0: from the oldest event zerod keeps */
        int64_t limit; /* -1: zerod's default page */
        bool follow;
};
int zeroctl_parse_events(int argc, char **argv, struct zeroctl_events_args *ret,
                         struct zero_error *reterr);
/* "/v1/events?after=N[&limit=M]" (limit <= 0 leaves it out); after < 0: the newest,
 * "/v1/events?last=M" (limit <= 0: 100) */
char *zeroctl_events_path(int64_t after, int64_t limit);
/* "ID TIME TYPE INSTANCE DATA": one event on one line, "-" for a missing instance, the data as
 * compact JSON; -EBADMSG when it is not an object with an integer id. */
int zeroctl_print_event(FILE *f, const json_t *event);
int zeroctl_cmd_events(struct zeroctl *z, int argc, char **argv, struct zero_error *reterr);

/* cmd_switch.c */
struct zeroctl_switch_args {
        const char *name;
        const char *mode;
        int64_t timeout_s; /* grace period of the stop; -1: zerod's */
        bool force;        /* kill at once instead of stopping */
        const char *evict; /* "stop": the node cleared first (a switch to bms); NULL: not */
};
int zeroctl_parse_switch(int argc, char **argv, struct zeroctl_switch_args *ret,
                         struct zero_error *reterr);
/* {"mode", "timeout_s"?, "force"?} for POST /v1/instances/NAME/switch. */
int zeroctl_switch_body(const struct zeroctl_switch_args *a, json_t **ret,
                        struct zero_error *reterr);
/* "    stop        12 ms": one step of an operation and how long it took. */
int zeroctl_print_step(FILE *f, const char *step, uint64_t duration_usec);
int zeroctl_cmd_switch(struct zeroctl *z, int argc, char **argv, struct zero_error *reterr);

/* cmd_migrate.c */
struct zeroctl_migrate_args {
        const char *name;
        const char *target;       /* the other node's API, https://HOST:PORT */
        const char *target_token; /* a token of the target's for this node, when its [migration] has none */
        int64_t downtime_ms;      /* -1: zerod's */
        int64_t bandwidth;        /* bytes per second; -1: zerod's */
};
int zeroctl_parse_migrate(int argc, char **argv, struct zeroctl_migrate_args *ret, struct zero_error *reterr);
/* {"target", "token"?, "downtime_ms"?, "bandwidth"?} for POST /v1/instances/NAME/migrate. */
int zeroctl_migrate_body(const struct zeroctl_migrate_args *a, json_t **ret, struct zero_error *reterr);
/* "send: sent 120 MiB of 256 MiB, 136 MiB left, dirtying 2 MiB/s, expected downtime 3 ms" from a
 * running migrate operation (its step alone before QEMU reports). */
int zeroctl_format_migrate_progress(const json_t *op, char *buf, size_t size);
int zeroctl_cmd_migrate(struct zeroctl *z, int argc, char **argv, struct zero_error *reterr);

/* cmd_attest.c: zeroctl attest NAME [--nonce N] [--key PUBLIC_KEY] [--file ANSWER] */
struct zeroctl_attest_args {
        const char *name;
        const char *nonce; /* NULL: a fresh random one */
        const char *key;   /* the node's public key, base64; NULL: GET /v1/node's */
        const char *file;  /* an answer saved earlier, checked instead of asking */
};
int zeroctl_parse_attest(int argc, char **argv, struct zeroctl_attest_args *ret, struct zero_error *reterr);
/* 0 when answer ({"payload", "signature"}) is key's signature of a payload for instance name with
 * nonce (the payload then in *ret_payload); -EBADMSG with the reason otherwise. */
int zeroctl_attest_verify(const json_t *answer, const char *key, const char *nonce, const char *name,
                          json_t **ret_payload, struct zero_error *reterr);
int zeroctl_cmd_attest(struct zeroctl *z, int argc, char **argv, struct zero_error *reterr);

/* cmd_node.c */
int zeroctl_cmd_node(struct zeroctl *z, int argc, char **argv, struct zero_error *reterr);
int zeroctl_cmd_op_show(struct zeroctl *z, int argc, char **argv, struct zero_error *reterr);
