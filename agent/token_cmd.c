/* SPDX-License-Identifier: Apache-2.0 */
/*
 * zerod token create|list|revoke: the operator's way to the first token, with the node's own
 * store (zerod may be running: SQLite's WAL lets both at it). The secret goes to stdout alone,
 * so that TOKEN=$(zerod token create ci) works; everything said about it goes to stderr.
 */
#include "agent/token_cmd.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "agent/config.h"
#include "agent/token.h"
#include "common/util.h"

static void token_help(FILE *f) {
        fprintf(f, "Usage: zerod token create NAME [--role admin|read] [--secret-file FILE|--sha256-file FILE\n"
                   "                         [--replace]]\n"
                   "       zerod token list\n"
                   "       zerod token revoke NAME\n\n"
                   "Bearer tokens for the TCP API. The secret is printed once, by create; the node keeps only its\n"
                   "hash. admin may do everything, read only GET.\n\n"
                   "  --config FILE      zerod's configuration (for its state directory)\n"
                   "  --state-dir DIR    the state directory (default /var/lib/zero)\n"
                   "  --role ROLE        admin (the default) or read\n"
                   "  --secret-file FILE\n"
                   "                     create: the secret is FILE's (one line, as create prints them),\n"
                   "                     made elsewhere (the lab's card hands its host the orchestrator's),\n"
                   "                     and not printed\n"
                   "  --sha256-file FILE\n"
                   "                     create: FILE holds only the secret's SHA-256 (64 hex digits, one\n"
                   "                     line): the secret stays with whoever made it (the lab's card: a\n"
                   "                     bms tenant that reads what the host was handed finds no secret)\n"
                   "  --replace          with --secret-file or --sha256-file: a token of that name is replaced (one\n"
                   "                     transaction), as a host does at each boot\n");
}

static int token_list(struct zero_store *s) {
        struct zero_token_row *rows = NULL;
        size_t n = 0;
        int r = zero_store_token_list(s, &rows, &n);

        if (r < 0) {
                fprintf(stderr, "zerod token list: %s\n", strerror(-r));
                return 1;
        }
        printf("%-24s %-6s %-24s %s\n", "NAME", "ROLE", "CREATED", "BY");
        for (size_t i = 0; i < n; i++) {
                char t[32];
                printf("%-24s %-6s %-24s %s\n", rows[i].name, rows[i].role,
                       zero_format_time((uint64_t) rows[i].created_at, t), strempty(rows[i].created_by));
        }
        zero_token_rows_free(rows, n);
        return 0;
}

/* A file of one line (its newline dropped): the secret, or only its SHA-256 (64 hexadecimal
 * digits; what a secret never is: it begins with "zero_"). */
static bool looks_hashed(const char *line, size_t n) {
        return n == 64 && strspn(line, "0123456789abcdef") == 64;
}

int zero_token_import_file(struct zero_store *s, const char *name, enum zero_role role, const char *by,
                           const char *file, enum zero_token_form form, bool replace, bool *ret_hashed,
                           struct zero_error *err) {
        _cleanup_free_ char *secret = NULL;
        struct zero_error e = {};
        size_t n = 0;
        bool hashed;
        int r;

        r = zero_read_file(file, form == ZERO_TOKEN_SECRET ? ZERO_TOKEN_SECRET_SIZE + 1 : 65, &secret, &n);
        if (r < 0)
                return zero_error_set(err, r, ZERO_E_INVALID, "cannot read %s: %s", file,
                                      r == -EFBIG ? "not a token secret" : strerror(-r));
        if (n > 0 && secret[n - 1] == '\n')
                secret[--n] = '\0';
        hashed = form == ZERO_TOKEN_SHA256 || (form == ZERO_TOKEN_EITHER && looks_hashed(secret, n));
        r = hashed ? zero_token_import_hash(s, name, role, by, secret, replace, &e)
                   : zero_token_import(s, name, role, by, secret, replace, &e);
        explicit_bzero(secret, n);
        if (r < 0)
                return zero_error_set(err, r, e.code, "%s: %s", file, e.message);
        if (ret_hashed)
                *ret_hashed = hashed;
        return 0;
}

/* create --secret-file|--sha256-file [--replace]. */
static int token_import(struct zero_store *s, const char *name, enum zero_role role, const char *by, const char *file,
                        bool hashed, bool replace) {
        struct zero_error err = {};

        if (zero_token_import_file(s, name, role, by, file, hashed ? ZERO_TOKEN_SHA256 : ZERO_TOKEN_SECRET, replace,
                                   NULL, &err) < 0) {
                fprintf(stderr, "zerod token create: %s\n", err.message);
                return 1;
        }
        fprintf(stderr, "Token '%s' (role %s) made with the %s of %s.\n", name, zero_role_to_string(role),
                hashed ? "secret's SHA-256" : "secret", file);
        return 0;
}

int zero_token_cmd(int argc, char *argv[]) {
        static const struct option options[] = {
                {"config", required_argument, NULL, 'c'}, {"state-dir", required_argument, NULL, 's'},
                {"role", required_argument, NULL, 'r'},   {"secret-file", required_argument, NULL, 'f'},
                {"replace", no_argument, NULL, 'R'},      {"sha256-file", required_argument, NULL, 'H'},
                {"help", no_argument, NULL, 'h'},
                {},
        };
        _cleanup_(zero_config_freep) struct zero_config *c = zero_config_new();
        _cleanup_(zero_store_closep) struct zero_store *s = NULL;
        _cleanup_free_ char *db = NULL;
        struct zero_error err = {};
        enum zero_role role = ZERO_ROLE_ADMIN;
        const char *verb, *name, *secret_file = NULL;
        bool replace = false, hashed = false;
        char by[32];
        int r;

        if (!c)
                return 1;
        optind = 1;
        for (int o; (o = getopt_long(argc, argv, "h", options, NULL)) >= 0;) {
                switch (o) {
                case 'c':
                        r = zero_config_load_file(c, optarg, &err);
                        break;
                case 's':
                        r = zero_config_set(c, "agent", "state_dir", optarg, &err);
                        break;
                case 'r':
                        role = zero_role_from_string(optarg);
                        r = role == ZERO_ROLE_NONE ? zero_error_set(&err, -EINVAL, ZERO_E_USAGE, "--role: admin or read")
                                                   : 0;
                        break;
                case 'f':
                case 'H':
                        r = secret_file ? zero_error_set(&err, -EINVAL, ZERO_E_USAGE,
                                                         "--secret-file or --sha256-file: one of them, once")
                                        : 0;
                        secret_file = optarg;
                        hashed = o == 'H';
                        break;
                case 'R':
                        replace = true;
                        r = 0;
                        break;
                case 'h':
                        token_help(stdout);
                        return 0;
                default:
                        token_help(stderr);
                        return 2;
                }
                if (r < 0) {
                        fprintf(stderr, "zerod token: %s\n", err.message);
                        return 2;
                }
        }
        verb = optind < argc ? argv[optind] : NULL;
        name = optind + 1 < argc ? argv[optind + 1] : NULL;
        if (!verb || (!streq(verb, "list") && !name) || optind + (streq(verb, "list") ? 1 : 2) < argc ||
            (secret_file && !streq(verb, "create")) || (replace && !secret_file)) {
                token_help(stderr);
                return 2;
        }
        /* The shim and plugins are not needed here, so config_finish's search for them may fail:
         * only the state directory matters. */
        const char *dir = zero_config_get(c, "agent", "state_dir");
        db = zero_strdup_printf("%s/zero.db", dir ? dir : "/var/lib/zero");
        if (!db)
                return 1;
        r = zero_store_open(db, &s, &err);
        if (r < 0) {
                fprintf(stderr, "zerod token: cannot open the store %s: %s\n", db, err.message);
                return 1;
        }
        if (streq(verb, "list"))
                return token_list(s);
        if (streq(verb, "revoke")) {
                r = zero_token_revoke(s, name, &err);
                if (r < 0) {
                        fprintf(stderr, "zerod token revoke: %s\n", err.message);
                        return 1;
                }
                fprintf(stderr, "Token '%s' revoked.\n", name);
                return 0;
        }
        if (!streq(verb, "create")) {
                token_help(stderr);
                return 2;
        }
        snprintf(by, sizeof(by), "uid:%u", (unsigned) getuid());
        if (secret_file)
                return token_import(s, name, role, by, secret_file, hashed, replace);
        char secret[ZERO_TOKEN_SECRET_SIZE];
        r = zero_token_create(s, name, role, by, secret, &err);
        if (r < 0) {
                fprintf(stderr, "zerod token create: %s\n", err.message);
                return 1;
        }
        fprintf(stderr, "Token '%s' (role %s) made; its secret, shown this once (send it as "
                        "\"Authorization: Bearer SECRET\"):\n", name, zero_role_to_string(role));
        printf("%s\n", secret);
        explicit_bzero(secret, sizeof(secret));
        return 0;
}
