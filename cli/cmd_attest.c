/* SPDX-License-Identifier: Apache-2.0 */
/*
 * zeroctl attest NAME [--nonce N] [--key PUBLIC_KEY] [--file ANSWER]: asks zerod for the signed
 * record of the instance's last launch with a fresh nonce (or N), checks it against the node's key
 * (GET /v1/node's attestation.public_key, or --key: one learnt out of band, which is what makes
 * the check worth more than zerod's word) and prints the measurements. --file checks an answer
 * saved earlier instead of asking. It fails on a signature that does not match (a tampered
 * payload, another key), a payload of another key, instance or nonce (a replay).
 */
#include <getopt.h>
#include <string.h>

#include "cli/output.h"
#include "cli/zeroctl.h"
#include "common/attest.h"
#include "common/util.h"

#define ANSWER_FILE_MAX (64 * 1024)

int zeroctl_parse_attest(int argc, char **argv, struct zeroctl_attest_args *ret, struct zero_error *reterr) {
        enum { OPT_NONCE = 0x100, OPT_KEY, OPT_FILE };
        static const struct option options[] = {
                {"nonce", required_argument, NULL, OPT_NONCE},
                {"key", required_argument, NULL, OPT_KEY},
                {"file", required_argument, NULL, OPT_FILE},
                {"help", no_argument, NULL, 'h'},
                {},
        };
        struct zeroctl_attest_args a = {};
        int c;

        optind = 0;
        opterr = 0;
        while ((c = getopt_long(argc, argv, ":h", options, NULL)) >= 0) {
                switch (c) {
                case OPT_NONCE:
                        a.nonce = optarg;
                        break;
                case OPT_KEY:
                        a.key = optarg;
                        break;
                case OPT_FILE:
                        a.file = optarg;
                        break;
                case 'h':
                        return ZEROCTL_HELP;
                default:
                        return zeroctl_getopt_error(c, argv, reterr);
                }
        }
        c = zeroctl_instance_only(argc, argv, &a.name, reterr);
        if (c < 0)
                return c;
        if (a.nonce && (!*a.nonce || strlen(a.nonce) > 128 ||
                        strspn(a.nonce, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.") != strlen(a.nonce)))
                return zeroctl_usage_error(reterr, "--nonce: 1-128 characters of [A-Za-z0-9._-]");
        if (a.file && !a.nonce)
                return zeroctl_usage_error(reterr, "--file needs the --nonce the answer was asked with");
        *ret = a;
        return 0;
}

static int refuse(struct zero_error *reterr, const char *name, const char *why) {
        return zero_error_set(reterr, -EBADMSG, ZERO_E_INVALID, "the attestation of %s does not verify: %s", name, why);
}

int zeroctl_attest_verify(const json_t *answer, const char *key, const char *nonce, const char *name,
                          json_t **ret_payload, struct zero_error *reterr) {
        const char *payload = json_string_value(json_object_get(answer, "payload"));
        const char *sig = json_string_value(json_object_get(answer, "signature"));
        json_auto_t *p = NULL;
        json_error_t jerr;
        int r;

        if (!payload || !sig)
                return refuse(reterr, name, "the answer has no payload or signature");
        r = zero_attest_verify(key, payload, strlen(payload), sig);
        if (r == -EINVAL)
                return refuse(reterr, name, "the key or the signature is not base64 of an Ed25519 one");
        if (r < 0)
                return refuse(reterr, name, "the signature does not match the payload and the node's key");
        /* Signed by the key: now what it says must be what was asked. */
        p = json_loads(payload, 0, &jerr);
        if (!json_is_object(p))
                return refuse(reterr, name, "the payload is not a JSON object");
        if (!streq(strempty(json_string_value(json_object_get(p, "public_key"))), key))
                return refuse(reterr, name, "the payload names another key");
        if (!streq(strempty(json_string_value(json_object_get(p, "nonce"))), nonce))
                return refuse(reterr, name, "the payload holds another nonce (a replayed answer)");
        if (!streq(strempty(json_string_value(json_object_get(json_object_get(p, "launch"), "instance"))), name))
                return refuse(reterr, name, "the payload is another instance's");
        if (ret_payload)
                *ret_payload = TAKE_PTR(p);
        return 0;
}

static int print_payload(FILE *f, const json_t *p) {
        const json_t *launch = json_object_get(p, "launch"), *m = json_object_get(launch, "measurements"), *v;
        const json_t *pcr = json_object_get(p, "pcr");
        const char *k;

        fprintf(f, "verified: %s on node %s, launched %s as %s (image %s)\n",
                strempty(json_string_value(json_object_get(launch, "instance"))),
                strempty(json_string_value(json_object_get(p, "node"))),
                strempty(json_string_value(json_object_get(launch, "launched_at"))),
                strempty(json_string_value(json_object_get(launch, "mode"))),
                strempty(json_string_value(json_object_get(launch, "image"))));
        fprintf(f, "key:        %s %s\nnonce:      %s\n", strempty(json_string_value(json_object_get(p, "algorithm"))),
                strempty(json_string_value(json_object_get(p, "public_key"))),
                strempty(json_string_value(json_object_get(p, "nonce"))));
        json_object_foreach((json_t *) m, k, v)
                fprintf(f, "%-11s %s\n", k, json_is_string(v) ? json_string_value(v) : "-");
        fprintf(f, "launch:     %s\n", strempty(json_string_value(json_object_get(p, "launch_digest"))));
        if (pcr)
                fprintf(f, "vTPM PCR %lld: %s\n", (long long) json_integer_value(json_object_get(pcr, "index")),
                        strempty(json_string_value(json_object_get(pcr, "value"))));
        return ferror(f) ? -EIO : 0;
}

int zeroctl_cmd_attest(struct zeroctl *z, int argc, char **argv, struct zero_error *reterr) {
        struct zeroctl_attest_args a;
        _cleanup_free_ char *path = NULL, *text = NULL, *esc = NULL;
        json_auto_t *node = NULL, *answer = NULL, *payload = NULL;
        char nonce[33];
        const char *key;
        json_error_t jerr;
        int r;

        r = zeroctl_parse_attest(argc, argv, &a, reterr);
        if (r != 0)
                return r;
        if (!a.nonce) {
                r = zero_random_id(nonce);
                if (r < 0)
                        return zero_error_set(reterr, r, ZERO_E_INTERNAL, "cannot make a nonce: %s", strerror(-r));
                a.nonce = nonce;
        }
        key = a.key;
        if (!key) {
                r = zeroctl_http_call(z->http, "GET", "/v1/node", NULL, 0, &node, NULL, reterr);
                if (r < 0)
                        return r;
                key = json_string_value(json_object_get(json_object_get(node, "attestation"), "public_key"));
                if (!key)
                        return zero_error_set(reterr, -ENOKEY, ZERO_E_INTERNAL, "the node shows no attestation key");
        }
        if (a.file) {
                r = zero_read_file(a.file, ANSWER_FILE_MAX, &text, NULL);
                if (r < 0)
                        return zero_error_set(reterr, r, ZERO_E_USAGE, "cannot read %s: %s", a.file, strerror(-r));
                answer = json_loads(text, 0, &jerr);
                if (!answer)
                        return refuse(reterr, a.name, "the file holds no JSON");
        } else {
                esc = zeroctl_object_path("instances", a.name, "/attestation?nonce=");
                path = esc ? zero_strdup_printf("%s%s", esc, a.nonce) : NULL;
                if (!path)
                        return -ENOMEM;
                r = zeroctl_http_call(z->http, "GET", path, NULL, 0, &answer, NULL, reterr);
                if (r < 0)
                        return r;
        }
        r = zeroctl_attest_verify(answer, key, a.nonce, a.name, &payload, reterr);
        if (r < 0)
                return r;
        return z->opts.json ? zeroctl_print_json(z->out, payload) : print_payload(z->out, payload);
}
