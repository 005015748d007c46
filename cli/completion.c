/* SPDX-License-Identifier: Apache-2.0 */
/* zeroctl completion bash | completion names KIND (issue 16: bash completion).
 *
 * The script is made from the verb table, so it cannot drift from the help: a verb's options are
 * the --words of its usage and --help text, an option takes a value when an upper-case word
 * follows it (--image IMG), and that word, like the usage's positional words (NAME, INSTANCE,
 * VOLUME...), says what completes there. Names of instances, images, volumes and networks come
 * from zerod as the user types, through "zeroctl completion names KIND" with a 2 s bound. */
#include <ctype.h>
#include <getopt.h>
#include <string.h>

#include "cli/zeroctl.h"
#include "common/util.h"

#define NAMES_TIMEOUT_S 2
#define MAX_OPTIONS 32
/* zeroctl's own options, valid with every verb: completed for all, never listed as a verb's. */
#define GLOBAL_OPTIONS "--url --token --cacert --json --timeout --help --version"

static bool strneq(const char *a, const char *b, size_t n) {
        return strncmp(a, b, n) == 0;
}

static bool is_global_option(const char *name, size_t len) {
        const char *g = GLOBAL_OPTIONS;

        while (*g) {
                size_t gl = strcspn(g, " ");
                if (gl == len && strneq(g, name, len))
                        return true;
                g += gl + (g[gl] == ' ');
        }
        return false;
}

/* What completes an argument: a word list of the script's, or "" for nothing. */
static const char *kind_of_word(const char *w, size_t len, const struct zeroctl_verb *v) {
        static const struct {
                const char *prefix;
                const char *kind;
        } kinds[] = {
                {"INSTANCE", "instances"}, {"IMG", "images"},   {"VOLUME", "volumes"},
                {"VOL", "volumes"},        {"NETWORK", "networks"}, {"NET", "networks"},
                {"MODE", "modes"},         {"FILE", "files"},   {"SOURCE", "files"},
                {"F", "files"},            {"PERSONALITY", "personalities"},
        };
        const char *last = v->sub ? v->sub : v->name;

        if (len == 4 && strneq(w, "NAME", 4)) {
                /* A new name (create, import) has nothing to complete; else the verb's kind. */
                if (streq(last, "create") || streq(last, "import"))
                        return "";
                if (!v->sub)
                        return "instances";
                return streq(v->name, "image")     ? "images"
                       : streq(v->name, "volume")  ? "volumes"
                       : streq(v->name, "network") ? "networks"
                                                   : "";
        }
        for (size_t i = 0; i < ELEMENTSOF(kinds); i++) {
                size_t n = strlen(kinds[i].prefix);
                /* The whole word, or its part before ':', ',' or '[' (VOL:PATH, NET[,ip=IP]). */
                if (len >= n && strneq(w, kinds[i].prefix, n) &&
                    (len == n || w[n] == ':' || w[n] == ',' || w[n] == '['))
                        return kinds[i].kind;
        }
        return "";
}

struct verb_option {
        char name[32];
        const char *value; /* NULL: takes none; else what completes its value ("" nothing) */
};

static void add_option(struct verb_option *opts, size_t *n, const char *name, size_t len, const char *value) {
        if (len >= sizeof(opts[0].name) || is_global_option(name, len))
                return;
        for (size_t i = 0; i < *n; i++)
                if (strlen(opts[i].name) == len && strneq(opts[i].name, name, len)) {
                        if (!opts[i].value)
                                opts[i].value = value;
                        return;
                }
        if (*n >= MAX_OPTIONS)
                return;
        memcpy(opts[*n].name, name, len);
        opts[*n].name[len] = '\0';
        opts[*n].value = value;
        (*n)++;
}

/* Whether p starts an option's entry in a --help text: "  --word ..." or "  -x, --word ...",
 * indented at a line's start (prose that names another option is not its entry). */
static bool at_entry(const char *text, const char *p) {
        const char *q = p;

        while (q > text && q[-1] == ' ')
                q--;
        if (q == text || q[-1] == '\n')
                return q < p;
        /* the --word after "-x, " */
        return q - text >= 3 && q[-1] == ',' && q[-3] == '-' && at_entry(text, q - 3);
}

/* The options text names: in a usage ("[--word"), every "--word" (not a lone "--"); in a --help
 * text, those at an entry, and "-x" where it stands as "-x, --word"; each with what its value is
 * when an upper-case word follows. */
static void scan_options(const char *text, bool usage, const struct zeroctl_verb *v, struct verb_option *opts,
                         size_t *n) {
        for (const char *p = text; p && *p; p++) {
                size_t len;

                if (*p != '-' || p == text || (usage ? !strchr(" [", p[-1]) : !at_entry(text, p)))
                        continue;
                if (p[1] == '-' && islower((unsigned char) p[2])) {
                        len = 2 + strspn(p + 2, "abcdefghijklmnopqrstuvwxyz0123456789-");
                } else if (islower((unsigned char) p[1]) && p[2] == ',') {
                        add_option(opts, n, p, 2, NULL);
                        p += 2;
                        continue;
                } else
                        continue;
                if (p[len] == ' ' && isupper((unsigned char) p[len + 1])) {
                        const char *w = p + len + 1;
                        size_t wl = strcspn(w, " \n]");
                        add_option(opts, n, p, len, kind_of_word(w, wl, v));
                } else
                        add_option(opts, n, p, len, NULL);
                p += len - 1;
        }
}

/* The usage's positional words after the verb, up to its first option: their kinds, spaced. */
static void print_positionals(FILE *f, const struct zeroctl_verb *v) {
        const char *p = v->usage + strlen(v->name) + (v->sub ? 1 + strlen(v->sub) : 0);
        bool first = true;

        for (;;) {
                size_t len;

                p += strspn(p, " ");
                len = strcspn(p, " \n");
                if (len == 0 || *p == '[' || *p == '-')
                        break;
                /* A literal word ("completion bash") completes as itself: "=bash". */
                if (islower((unsigned char) *p))
                        fprintf(f, "%s=%.*s", first ? "" : " ", (int) len, p);
                else
                        fprintf(f, "%s%s", first ? "" : " ",
                                *kind_of_word(p, len, v) ? kind_of_word(p, len, v) : "-");
                first = false;
                p += len;
        }
}

static void print_verb_case(FILE *f, const struct zeroctl_verb *v) {
        struct verb_option opts[MAX_OPTIONS];
        size_t n = 0;

        scan_options(v->usage, true, v, opts, &n);
        scan_options(v->details, false, v, opts, &n);
        fprintf(f, "    \"%s%s%s\")\n        opts=\"", v->name, v->sub ? " " : "", strempty(v->sub));
        for (size_t i = 0; i < n; i++)
                fprintf(f, "%s%s", i ? " " : "", opts[i].name);
        fputs("\"\n        valopts=\"", f);
        for (size_t i = 0, k = 0; i < n; i++)
                if (opts[i].value)
                        fprintf(f, "%s%s:%s", k++ ? " " : "", opts[i].name, opts[i].value);
        fputs("\"\n        pos=\"", f);
        print_positionals(f, v);
        fputs("\" ;;\n", f);
}

/* The first words (node, image, ls, ...) and, for each with second words, those. */
static void print_words(FILE *f) {
        fputs("_zeroctl_verbs=\"", f);
        for (size_t i = 0; i < zeroctl_n_verbs; i++) {
                bool seen = false;
                for (size_t k = 0; k < i; k++)
                        seen = seen || streq(zeroctl_verbs[k].name, zeroctl_verbs[i].name);
                if (!seen)
                        fprintf(f, "%s%s", i ? " " : "", zeroctl_verbs[i].name);
        }
        fputs("\"\n_zeroctl_subverbs() {\n    case $1 in\n", f);
        for (size_t i = 0; i < zeroctl_n_verbs; i++) {
                bool seen = false;
                if (!zeroctl_verbs[i].sub)
                        continue;
                for (size_t k = 0; k < i; k++)
                        seen = seen || streq(zeroctl_verbs[k].name, zeroctl_verbs[i].name);
                if (seen)
                        continue;
                fprintf(f, "    %s) echo \"", zeroctl_verbs[i].name);
                for (size_t k = i; k < zeroctl_n_verbs; k++)
                        if (zeroctl_verbs[k].sub && streq(zeroctl_verbs[k].name, zeroctl_verbs[i].name))
                                fprintf(f, "%s%s", k > i ? " " : "", zeroctl_verbs[k].sub);
                fputs("\" ;;\n", f);
        }
        fputs("    esac\n}\n", f);
}

/* The rest of the script: how a line is read. Global options are skipped wherever they stand
 * (zeroctl takes them anywhere); --url, --token and --cacert are passed on to the names lookup,
 * so it asks the zerod the line talks to. */
static const char script_body[] =
        "_zeroctl_verb() {\n"
        "    opts= valopts= pos=\n"
        "    case $1 in\n"
        "%s"
        "    esac\n"
        "}\n"
        "\n"
        "_zeroctl_complete_kind() {\n"
        "    local kind=$1 cur=$2; shift 2\n"
        "    case $kind in\n"
        "    instances|images|volumes|networks)\n"
        "        COMPREPLY=($(compgen -W \"$(\"$_zeroctl_bin\" \"$@\" completion names \"$kind\" 2>/dev/null)\" -- \"$cur\")) ;;\n"
        "    modes) COMPREPLY=($(compgen -W \"container vm bms\" -- \"$cur\")) ;;\n"
        "    personalities) COMPREPLY=($(compgen -W \"virtio-blk virtio-scsi nvme\" -- \"$cur\")) ;;\n"
        "    files) COMPREPLY=($(compgen -f -- \"$cur\")) ;;\n"
        "    =*) COMPREPLY=($(compgen -W \"${kind#=}\" -- \"$cur\")) ;;\n"
        "    *) COMPREPLY=() ;;\n"
        "    esac\n"
        "}\n"
        "\n"
        "_zeroctl() {\n"
        "    local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD-1]}\n"
        "    local _zeroctl_bin=${COMP_WORDS[0]} verb= i w n=0 opts valopts pos vo\n"
        "    local -a conn=() rest=()\n"
        "    COMPREPLY=()\n"
        "    for ((i = 1; i < COMP_CWORD; i++)); do\n"
        "        w=${COMP_WORDS[i]}\n"
        "        case $w in\n"
        "        --url|--token|--cacert) conn+=(\"$w\" \"${COMP_WORDS[i+1]}\"); i=$((i + 1)) ;;\n"
        "        --url=*|--token=*|--cacert=*) conn+=(\"$w\") ;;\n"
        "        --timeout) i=$((i + 1)) ;;\n"
        "        --timeout=*|--json) ;;\n"
        "        *) rest+=(\"$w\") ;;\n"
        "        esac\n"
        "    done\n"
        "    case $prev in\n"
        "    --url|--token|--timeout) return 0 ;;\n"
        "    --cacert) _zeroctl_complete_kind files \"$cur\"; return 0 ;;\n"
        "    esac\n"
        "    if ((${#rest[@]} == 0)); then\n"
        "        if [[ $cur == -* ]]; then\n"
        "            COMPREPLY=($(compgen -W \"%s\" -- \"$cur\"))\n"
        "        else\n"
        "            COMPREPLY=($(compgen -W \"$_zeroctl_verbs\" -- \"$cur\"))\n"
        "        fi\n"
        "        return 0\n"
        "    fi\n"
        "    verb=${rest[0]}; rest=(\"${rest[@]:1}\")\n"
        "    if [[ -n $(_zeroctl_subverbs \"$verb\") ]]; then\n"
        "        if ((${#rest[@]} == 0)); then\n"
        "            COMPREPLY=($(compgen -W \"$(_zeroctl_subverbs \"$verb\")\" -- \"$cur\"))\n"
        "            return 0\n"
        "        fi\n"
        "        verb=\"$verb ${rest[0]}\"; rest=(\"${rest[@]:1}\")\n"
        "    fi\n"
        "    _zeroctl_verb \"$verb\"\n"
        "    for ((i = 0; i < ${#rest[@]}; i++)); do\n"
        "        w=${rest[i]}\n"
        "        [[ $w == -- ]] && return 0\n"
        "        if [[ $w == -* ]]; then\n"
        "            [[ \" $valopts \" == *\" $w:\"* ]] && i=$((i + 1))\n"
        "        else\n"
        "            n=$((n + 1))\n"
        "        fi\n"
        "    done\n"
        "    for vo in $valopts; do\n"
        "        if [[ ${vo%%%%:*} == \"$prev\" ]]; then\n"
        "            _zeroctl_complete_kind \"${vo#*:}\" \"$cur\" \"${conn[@]}\"\n"
        "            return 0\n"
        "        fi\n"
        "    done\n"
        "    if [[ $cur == -* ]]; then\n"
        "        COMPREPLY=($(compgen -W \"$opts %s\" -- \"$cur\"))\n"
        "        return 0\n"
        "    fi\n"
        "    set -- $pos\n"
        "    ((n < $#)) || return 0\n"
        "    shift $n\n"
        "    _zeroctl_complete_kind \"$1\" \"$cur\" \"${conn[@]}\"\n"
        "}\n"
        "complete -F _zeroctl zeroctl\n";

int zeroctl_completion_bash(FILE *f) {
        _cleanup_free_ char *cases = NULL;
        size_t size = 0;
        FILE *m = open_memstream(&cases, &size);

        if (!m)
                return -ENOMEM;
        for (size_t i = 0; i < zeroctl_n_verbs; i++)
                print_verb_case(m, &zeroctl_verbs[i]);
        if (fclose(m) != 0)
                return -ENOMEM;
        fputs("# bash completion for zeroctl, made by 'zeroctl completion bash' from its verb table.\n"
              "# Names of instances, images, volumes and networks are asked from zerod as you type.\n",
              f);
        print_words(f);
        fprintf(f, script_body, cases, GLOBAL_OPTIONS, GLOBAL_OPTIONS);
        return ferror(f) ? -EIO : 0;
}

/* The names of one collection, one a line: a page of 1,000 (zerod's largest), which is more
 * than a completion can show anyway. */
static int print_names(struct zeroctl *z, const char *kind, struct zero_error *reterr) {
        static const char *const kinds[] = {"instances", "images", "volumes", "networks"};
        _cleanup_free_ char *path = NULL;
        json_auto_t *j = NULL;
        bool known = false;
        size_t i;
        json_t *item;
        int r;

        for (i = 0; i < ELEMENTSOF(kinds); i++)
                known = known || streq(kind, kinds[i]);
        if (!known)
                return zeroctl_usage_error(reterr, "names of '%s': instances, images, volumes or networks", kind);
        path = zero_strdup_printf("/v1/%s?limit=1000", kind);
        if (!path)
                return -ENOMEM;
        r = zeroctl_http_call(z->http, "GET", path, NULL, NAMES_TIMEOUT_S, &j, NULL, reterr);
        if (r < 0)
                return r;
        json_array_foreach(json_object_get(j, kind), i, item) {
                const char *name = json_string_value(json_object_get(item, "name"));
                if (name)
                        fprintf(z->out, "%s\n", name);
        }
        return ferror(z->out) ? -EIO : 0;
}

int zeroctl_cmd_completion(struct zeroctl *z, int argc, char **argv, struct zero_error *reterr) {
        const char *words[2];
        int r;

        r = zeroctl_parse_words(argc, argv, argc > 1 && streq(argv[argc - 2], "names") ? 2 : 1, words, reterr);
        if (r != 0)
                return r;
        if (streq(words[0], "bash"))
                return zeroctl_completion_bash(z->out);
        if (!streq(words[0], "names"))
                return zeroctl_usage_error(reterr, "completion for '%s': only bash", words[0]);
        return print_names(z, words[1], reterr);
}
