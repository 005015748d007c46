/* SPDX-License-Identifier: Apache-2.0 */
/* zeroctl's global options, its table of verbs and the program proper (main.c only wraps it in
 * curl_global_init/cleanup, so the unit tests can link all of this). */
#include "cli/zeroctl.h"

#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/output.h"
#include "common/util.h"

#ifndef ZERO_VERSION
#define ZERO_VERSION "0"
#endif

#define VERB(n, s, fn, u, sum, ...)                                                                \
        { .name = (n), .sub = (s), .run = (fn), .usage = (u), .summary = (sum), __VA_ARGS__ }

const struct zeroctl_verb zeroctl_verbs[] = {
        VERB("node", NULL, zeroctl_cmd_node, "node", "show the node: resources, mode, plugins"),
        VERB("image", "import", zeroctl_cmd_image_import,
             "image import NAME SOURCE [--kernel FILE [--initrd FILE]] [--keep-setuid] [--node-path]",
             "upload a rootfs directory or archive as an image",
             .details = "SOURCE is read here and uploaded, wherever zerod runs: a directory goes as a tar\n"
                        "made while it is sent (nothing is held in memory), an archive (.tar, gzip or xz)\n"
                        "as it is. A directory or archive whose top holds rootfs/ (and vmlinuz,\n"
                        "initrd.img) is the image layout of deploy/images/build-busybox-image. Files are\n"
                        "read with your permissions. Device nodes, FIFOs and sockets are refused.\n\n"
                        "Options:\n"
                        "  --kernel FILE  the kernel VMs of the image boot (SOURCE a directory: it is\n"
                        "                 sent as rootfs/ beside it)\n"
                        "  --initrd FILE  its initramfs\n"
                        "  --keep-setuid  keep setuid and setgid bits (cleared by default)\n"
                        "  --node-path    SOURCE, --kernel and --initrd are paths on the node that zerod\n"
                        "                 reads itself (absolute, or made so here); zerod takes them only\n"
                        "                 below its [images] import_dirs\n"
                        "Waits for the import (an operation) within --timeout.\n"),
        VERB("image", "list", zeroctl_cmd_image_list, "image list", "list images (also: image ls)"),
        VERB("image", "ls", zeroctl_cmd_image_list, "image ls", NULL),
        VERB("image", "show", zeroctl_cmd_image_show, "image show NAME", "show one image"),
        VERB("image", "rm", zeroctl_cmd_image_rm, "image rm NAME", "delete an unused image"),
        VERB("volume", "create", zeroctl_cmd_volume_create,
             "volume create NAME [--size SIZE] [--image IMG]",
             "create a volume: blank, or a clone of an image",
             .details = "Options:\n"
                        "  --size SIZE    bytes, or with a 1024-based unit: 512M, 10G, 1T; needed\n"
                        "                 for a blank volume (a clone's default: its image's)\n"
                        "  --image IMG    clone the image's root filesystem (copy-on-write)\n"),
        VERB("volume", "list", zeroctl_cmd_volume_list, "volume list",
             "list volumes (also: volume ls)"),
        VERB("volume", "ls", zeroctl_cmd_volume_list, "volume ls", NULL),
        VERB("volume", "show", zeroctl_cmd_volume_show, "volume show NAME",
             "show one volume, with its I/O statistics"),
        VERB("volume", "rm", zeroctl_cmd_volume_rm, "volume rm NAME", "delete a detached volume"),
        VERB("volume", "resize", zeroctl_cmd_volume_resize, "volume resize NAME SIZE",
             "grow a volume",
             .details = "Arguments:\n"
                        "  SIZE           the new size: bytes, or 512M, 10G, 1T (1024-based)\n"),
        VERB("volume", "qos", zeroctl_cmd_volume_qos, "volume qos NAME [--iops N] [--bps N]",
             "limit a volume's I/O",
             .details = "Options (at least one; 0 = unlimited; one left out stays as it is):\n"
                        "  --iops N       read + write operations per second\n"
                        "  --bps N        read + write bytes per second; also 100M, 1G\n"),
        VERB("network", "create", zeroctl_cmd_network_create, "network create NAME SUBNET",
             "create a network (a bridge) for NICs",
             .details = "Arguments:\n"
                        "  SUBNET         its IPv4 subnet, e.g. 10.77.0.0/24\n"),
        VERB("network", "list", zeroctl_cmd_network_list, "network list",
             "list networks (also: network ls)"),
        VERB("network", "ls", zeroctl_cmd_network_list, "network ls", NULL),
        VERB("network", "show", zeroctl_cmd_network_show, "network show NAME", "show one network"),
        VERB("network", "rm", zeroctl_cmd_network_rm, "network rm NAME",
             "delete a network no NIC uses"),
        VERB("create", NULL, zeroctl_cmd_create,
             "create NAME --image IMG [--mode MODE] [--cpus N] [--memory MIB] [--env K=V]...\n"
             "        [--hostname H] [--cwd DIR] [--read-only] [-i] [--tpm] [--root-volume VOL]\n"
             "        [--volume VOL:PATH[:PERSONALITY]]... [--nic NET[,ip=IP][,mac=MAC]]...\n"
             "        [--evict stop] [-- CMD ARG...]",
             "create an instance",
             .details =
                     "Options:\n"
                     "  --image IMG    the image to run (required)\n"
                     "  --mode MODE    the runtime: container (the default), vm or bms; see Modes\n"
                     "  --cpus N       CPUs (default: zerod's)\n"
                     "  --memory MIB   memory in MiB, or with a unit: 512M, 2G (default: zerod's)\n"
                     "  --env K=V      an environment variable; repeat for more\n"
                     "  --hostname H   the instance's hostname\n"
                     "  --cwd DIR      the command's working directory\n"
                     "  --read-only    mount the root filesystem read-only\n"
                     "  -i, --stdin    keep the container's stdin open (a pipe) for console -i;\n"
                     "                 without it stdin is /dev/null (a VM's serial is always\n"
                     "                 open)\n"
                     "  --tpm          a vTPM (swtpm) whenever it runs as a VM: /dev/tpm0,\n"
                     "                 its state kept with the instance; see zeroctl attest\n"
                     "  --root-volume VOL\n"
                     "                 boot from this free volume (default: a new volume\n"
                     "                 NAME-root cloned from the image, deleted with the\n"
                     "                 instance)\n"
                     "  --volume VOL:PATH[:PERSONALITY]\n"
                     "                 attach a data volume, mounted at PATH in a container;\n"
                     "                 PERSONALITY: virtio-blk (default), virtio-scsi or nvme;\n"
                     "                 a PATH with ':' needs PERSONALITY spelled out; repeatable\n"
                     "  --nic NET[,ip=IP][,mac=MAC]\n"
                     "                 a NIC on network NET; zerod picks the IP and MAC left out;\n"
                     "                 repeatable\n"
                     "  --evict stop   a mode that needs the node to itself (bms): stop the\n"
                     "                 instances that hold it first (without it, refused with\n"
                     "                 their names)\n"
                     "  -- CMD ARG...  the command to run, argv[0] first\n"
                     "\n"
                     "A bms instance's create prints each step as zerod ends it; after\n"
                     "handover_load the host is the tenant's (\"host handed to the tenant; the\n"
                     "card answers\"), and the create ends once the card took the host back.\n",
             .help_more = zeroctl_help_modes),
        VERB("ls", NULL, zeroctl_cmd_list, "ls", "list instances (also: list)"),
        VERB("list", NULL, zeroctl_cmd_list, "list", NULL),
        VERB("show", NULL, zeroctl_cmd_show, "show NAME", "show one instance"),
        VERB("start", NULL, zeroctl_cmd_start, "start NAME [--evict stop]", "start an instance",
             .details = "Options:\n"
                        "  --evict stop   a bms instance needs the node to itself: stop the\n"
                        "                 instances that hold it first (without it, refused with\n"
                        "                 their names)\n"),
        VERB("stop", NULL, zeroctl_cmd_stop, "stop NAME [--grace S]", "stop an instance",
             .details =
                     "Options:\n"
                     "  --grace S      seconds between SIGTERM and SIGKILL (default: zerod's,\n"
                     "                 10); 0 kills at once. The global --timeout is how long\n"
                     "                 zeroctl waits for the stop, at least the grace and 30 s\n"),
        VERB("restart", NULL, zeroctl_cmd_restart, "restart NAME", "restart an instance"),
        VERB("switch", NULL, zeroctl_cmd_switch, "switch NAME MODE [--grace S] [--force] [--evict stop]",
             "run an instance in another mode, showing each step",
             .details = "Arguments:\n"
                        "  MODE           vm, container or bms: one this node offers (see Modes)\n"
                        "\n"
                        "Options:\n"
                        "  --grace S      seconds between SIGTERM and SIGKILL when it stops\n"
                        "                 (default: zerod's)\n"
                        "  --force        kill it at once instead of stopping it\n"
                        "  --evict stop   to bms: stop the instances that hold the node first\n"
                        "\n"
                        "The instance keeps its volumes and NICs; one that ran runs again in the\n"
                        "new mode, a stopped one stays stopped. Each step is printed as zerod\n"
                        "finishes it, then the total time. A failed switch leaves the instance\n"
                        "in its old mode. With --json: the final operation.\n"
                        "\n"
                        "To bms the host is handed to the instance: after handover_load zerod\n"
                        "goes with the host's kernel, zeroctl prints \"host handed to the tenant;\n"
                        "the card answers\" and waits (--timeout) until zerod is back after the\n"
                        "take-back (\"host taken back\"), then prints the steps left. A running\n"
                        "bms instance is stopped or switched back through the card's API.\n",
             .help_more = zeroctl_help_modes),
        VERB("migrate", NULL, zeroctl_cmd_migrate,
             "migrate NAME TARGET [--downtime MS] [--bandwidth B] [--target-token T]",
             "move a running VM to another node, live",
             .details = "Arguments:\n"
                        "  TARGET         the other node's API: https://HOST:PORT\n"
                        "\n"
                        "Options:\n"
                        "  --downtime MS  the longest the guest may be paused (default: zerod's)\n"
                        "  --bandwidth B  bytes per second QEMU may send (default: zerod's)\n"
                        "  --target-token T\n"
                        "                 a token the target gave this node, when this node's\n"
                        "                 [migration] token_file has none\n"
                        "\n"
                        "The guest keeps running while its memory is sent; its volumes and NICs go\n"
                        "with it, with the same MAC and IP. A progress line shows the RAM sent and\n"
                        "left, the dirty rate and QEMU's expected downtime; at the end, QEMU's\n"
                        "downtime and total time. A failed migration leaves the guest running here.\n"
                        "With --json: the final operation.\n"),
        VERB("rm", NULL, zeroctl_cmd_rm, "rm NAME [--force] [--keep-volumes]", "delete an instance",
             .details = "Options:\n"
                        "  -f, --force    kill a running instance at once (SIGKILL) instead of\n"
                        "                 stopping it with its grace period\n"
                        "  --keep-volumes\n"
                        "                 keep the root volume zerod made from the image (data\n"
                        "                 volumes and a --root-volume are always kept)\n"),
        VERB("console", NULL, zeroctl_cmd_console, "console NAME [--bytes N] [--follow] | console -i NAME",
             "print the tail of an instance's console log, or attach to it",
             .details = "Options:\n"
                        "  --bytes N      how much of the log's end to print (default: zerod's)\n"
                        "  -f, --follow   then print what the instance writes as it comes, across\n"
                        "                 stops and starts, until it is deleted or ^C\n"
                        "  -i, --interactive\n"
                        "                 attach: what the instance writes from now on, and what\n"
                        "                 is typed goes to its stdin (a container's); the local\n"
                        "                 terminal is in raw mode meanwhile. Ctrl-] (or the end\n"
                        "                 of stdin) leaves; the instance runs on\n"),
        VERB("exec", NULL, zeroctl_cmd_exec, "exec [-i] [-t] [-e KEY=VALUE]... [-w DIR] NAME -- CMD [ARGS...]",
             "run a command in a running container",
             .details = "Options:\n"
                        "  -i, --interactive\n"
                        "                 give zeroctl's stdin to the command (else it reads\n"
                        "                 an empty stdin)\n"
                        "  -t, --tty      run it on a terminal (its stdout and stderr are then\n"
                        "                 one); with -i on a terminal, zeroctl's is in raw mode\n"
                        "                 meanwhile (every key goes to the command, ^C too)\n"
                        "  -e, --env KEY=VALUE\n"
                        "                 set a variable in the command's environment\n"
                        "  -w, --workdir DIR\n"
                        "                 the command's working directory in the container\n"
                        "\n"
                        "The command runs beside the container's own process (crun exec), with\n"
                        "its stdout and stderr on zeroctl's. zeroctl exits with its exit status\n"
                        "(128+N when signal N ended it); ^C or a lost connection kills it. The\n"
                        "'--' keeps the command's own options (and --json) from zeroctl.\n"),
        VERB("attach-volume", NULL, zeroctl_cmd_attach_volume,
             "attach-volume INSTANCE VOLUME --path PATH [--personality PERSONALITY]",
             "attach a data volume to an instance",
             .details = "Arguments:\n"
                        "  VOLUME         a ready volume attached to no instance\n"
                        "\n"
                        "Options:\n"
                        "  --path PATH    where a container mounts it (absolute; zerod wants\n"
                        "                 one for a VM too)\n"
                        "  --personality PERSONALITY\n"
                        "                 the device a VM sees: virtio-blk (default),\n"
                        "                 virtio-scsi or nvme\n"
                        "\n"
                        "A stopped instance only changes in zerod's records; a running VM gets\n"
                        "the device hot-plugged; a running container must be stopped first.\n"),
        VERB("detach-volume", NULL, zeroctl_cmd_detach_volume, "detach-volume INSTANCE VOLUME",
             "detach a data volume from an instance (the volume is kept)"),
        VERB("attach-nic", NULL, zeroctl_cmd_attach_nic,
             "attach-nic INSTANCE NETWORK [--ip IP] [--mac MAC]", "add a NIC to an instance",
             .details = "Arguments:\n"
                        "  NETWORK        the network the NIC is on\n"
                        "\n"
                        "Options:\n"
                        "  --ip IP        its address, in the network's subnet (default: zerod\n"
                        "                 picks a free one)\n"
                        "  --mac MAC      its unicast MAC (default: zerod makes one)\n"
                        "\n"
                        "A stopped instance only changes in zerod's records; a running VM gets\n"
                        "the device hot-plugged; a running container must be stopped first.\n"
                        "'zeroctl show INSTANCE' lists the new NIC's ID.\n"),
        VERB("detach-nic", NULL, zeroctl_cmd_detach_nic, "detach-nic INSTANCE NIC_ID",
             "remove a NIC from an instance",
             .details = "Arguments:\n"
                        "  NIC_ID         the NIC's ID, as 'zeroctl show INSTANCE' lists it\n"),
        VERB("events", NULL, zeroctl_cmd_events, "events [--after ID] [--limit N] [--follow]",
             "print the node's events",
             .details = "One line per event, oldest first: ID TIME TYPE INSTANCE DATA, DATA as\n"
                        "JSON. Without --after, the newest 100 (--limit N: N), and a line on\n"
                        "stderr when the page is full (there may be more before). With --json:\n"
                        "zerod's page, or with --follow one JSON object per line.\n"
                        "\n"
                        "Options:\n"
                        "  --after ID     the events after this one instead (0: from the oldest\n"
                        "                 zerod keeps)\n"
                        "  --limit N      at most N events, 1 to 1000 (default 100)\n"
                        "  -f, --follow   print the newest (or those after --after), then poll\n"
                        "                 every second for new ones until interrupted\n"),
        VERB("op", "show", zeroctl_cmd_op_show, "op show ID", "show one operation"),
        VERB("attest", NULL, zeroctl_cmd_attest, "attest NAME [--nonce N] [--key PUBLIC_KEY] [--file ANSWER]",
             "verify an instance's signed launch measurements",
             .details = "Asks zerod for the record of the instance's last launch (the SHA-256 of its\n"
                        "kernel, initrd, command line, image base and spec), signed by the node's\n"
                        "Ed25519 key with a fresh nonce, checks the signature, the nonce and the\n"
                        "instance, and prints the measurements. Fails on a tampered or replayed\n"
                        "answer.\n"
                        "\n"
                        "Options:\n"
                        "  --nonce N      the nonce to ask with (default: 32 random hex digits)\n"
                        "  --key PUBLIC_KEY\n"
                        "                 the node's public key (base64), learnt out of band\n"
                        "                 (default: GET /v1/node's, which trusts zerod's word)\n"
                        "  --file ANSWER  check an answer saved earlier (with its --nonce)\n"),
        VERB("completion", NULL, zeroctl_cmd_completion, "completion bash",
             "print a bash completion script",
             .details = "Prints a script for bash's 'complete': commands, each command's options,\n"
                        "and the names of instances, images, volumes and networks, which it asks\n"
                        "zerod for as you type (at most 2 s; --url, --token and --cacert on the\n"
                        "line are used) with 'zeroctl completion names KIND', KIND one of\n"
                        "instances, images, volumes and networks. Installed as\n"
                        "share/bash-completion/completions/zeroctl; to try it in a shell:\n"
                        "source <(zeroctl completion bash)\n"),
};
const size_t zeroctl_n_verbs = ELEMENTSOF(zeroctl_verbs);

int zeroctl_usage_error(struct zero_error *reterr, const char *fmt, ...) {
        va_list ap;
        int r;

        va_start(ap, fmt);
        r = zero_error_setv(reterr, -EINVAL, ZERO_E_USAGE, fmt, ap);
        va_end(ap);
        return r;
}

int zeroctl_getopt_error(int c, char **argv, struct zero_error *reterr) {
        const char *arg = optind > 0 ? argv[optind - 1] : "";

        if (c == ':')
                return zeroctl_usage_error(reterr, "option '%s' needs a value", arg);
        if (optopt > 0 && optopt < 256 && strncmp(arg, "--", 2) != 0)
                return zeroctl_usage_error(reterr, "unknown option '-%c'", optopt);
        return zeroctl_usage_error(reterr, "unknown option '%s'", arg);
}

int zeroctl_parse_uint(const char *what, const char *s, int64_t min, int64_t max, int64_t *ret,
                       struct zero_error *reterr) {
        if (zero_parse_int64(s, min, max, ret) < 0)
                return zeroctl_usage_error(reterr,
                                           "%s must be a whole number from %" PRId64 " to %" PRId64
                                           ", not '%s'",
                                           what, min, max, s);
        return 0;
}

/* A unit a number may carry, and what one of it is worth. */
struct unit {
        const char *suffix;
        int64_t factor;
};

/* A decimal number followed by one of units' suffixes, times its factor, in min..max: -EINVAL
 * for no number or another suffix, -ERANGE beyond the bounds. */
static int parse_scaled(const char *s, const struct unit *units, size_t n_units, int64_t min, int64_t max,
                        int64_t *ret) {
        char *end;
        long long v;

        if (!s || *s < '0' || *s > '9')
                return -EINVAL;
        errno = 0;
        v = strtoll(s, &end, 10);
        if (errno != 0)
                return -ERANGE;
        for (size_t i = 0; i < n_units; i++)
                if (streq(end, units[i].suffix)) {
                        if (v < min || v > max / units[i].factor)
                                return -ERANGE;
                        *ret = v * units[i].factor;
                        return 0;
                }
        return -EINVAL;
}

int zeroctl_parse_memory_mib(const char *s, int64_t *ret) {
        static const struct unit units[] = {{"", 1}, {"M", 1}, {"MiB", 1}, {"G", 1024}, {"GiB", 1024}};

        /* 1 PiB of memory is past any host this runs on. */
        return parse_scaled(s, units, ELEMENTSOF(units), 1, 1LL << 30, ret);
}

int zeroctl_parse_size_bytes(const char *s, int64_t *ret) {
        static const struct unit units[] = {{"", 1},          {"B", 1},          {"K", 1LL << 10}, {"KiB", 1LL << 10},
                                            {"M", 1LL << 20}, {"MiB", 1LL << 20}, {"G", 1LL << 30}, {"GiB", 1LL << 30},
                                            {"T", 1LL << 40}, {"TiB", 1LL << 40}};

        /* JSON integers, and the server's sizes, are int64. */
        return parse_scaled(s, units, ELEMENTSOF(units), 0, INT64_MAX, ret);
}

int zeroctl_json_set_string(json_t *o, const char *key, const char *value, const char *what,
                            struct zero_error *reterr) {
        json_t *s = json_string(value);

        /* JSON strings are UTF-8; jansson refuses anything else. */
        if (!s)
                return zeroctl_usage_error(reterr, "%s is not valid UTF-8", what);
        return json_object_set_new(o, key, s) < 0 ? -ENOMEM : 0;
}

int zeroctl_parse_words(int argc, char **argv, size_t n, const char **ret_words,
                        struct zero_error *reterr) {
        static const struct option options[] = {{"help", no_argument, NULL, 'h'}, {}};
        int c;

        optind = 0;
        opterr = 0;
        while ((c = getopt_long(argc, argv, ":h", options, NULL)) >= 0) {
                if (c == 'h')
                        return ZEROCTL_HELP;
                return zeroctl_getopt_error(c, argv, reterr);
        }
        if ((size_t) (argc - optind) < n)
                return zeroctl_usage_error(reterr, "missing argument");
        if ((size_t) (argc - optind) > n)
                return zeroctl_usage_error(reterr, "unexpected argument '%s'", argv[optind + n]);
        for (size_t i = 0; i < n; i++)
                ret_words[i] = argv[optind + (int) i];
        return 0;
}

int zeroctl_instance_and_word(int argc, char **argv, const char *what, const char **ret_name,
                              const char **ret_word, struct zero_error *reterr) {
        if (argc - optind < 1)
                return zeroctl_usage_error(reterr, "missing instance name");
        if (argc - optind < 2)
                return zeroctl_usage_error(reterr, "missing %s", what);
        if (argc - optind > 2)
                return zeroctl_usage_error(reterr, "unexpected argument '%s'", argv[optind + 2]);
        *ret_name = argv[optind];
        *ret_word = argv[optind + 1];
        return 0;
}

int zeroctl_instance_only(int argc, char **argv, const char **ret_name, struct zero_error *reterr) {
        if (argc - optind < 1)
                return zeroctl_usage_error(reterr, "missing instance name");
        if (argc - optind > 1)
                return zeroctl_usage_error(reterr, "unexpected argument '%s'", argv[optind + 1]);
        *ret_name = argv[optind];
        return 0;
}

int zeroctl_parse_name_only(int argc, char **argv, const char **ret_name,
                            struct zero_error *reterr) {
        return zeroctl_parse_words(argc, argv, 1, ret_name, reterr);
}

int zeroctl_parse_no_args(int argc, char **argv, struct zero_error *reterr) {
        return zeroctl_parse_words(argc, argv, 0, NULL, reterr);
}

int zeroctl_get_and_print(struct zeroctl *z, const char *path, struct zero_error *reterr) {
        json_t *j = NULL;
        int r;

        r = zeroctl_http_call(z->http, "GET", path, NULL, 0, &j, NULL, reterr);
        if (r < 0)
                return r;
        if (z->opts.json)
                r = zeroctl_print_json(z->out, j);
        else {
                r = zeroctl_print_object(z->out, j);
                if (r == -EBADMSG)
                        r = zero_error_set(reterr, r, ZERO_E_INTERNAL,
                                           "zerod answered %s with no JSON object", path);
        }
        json_decref(j);
        return r;
}

/* A page of a list: zerod takes at most 1,000 (ZERO_API_PAGE_MAX). */
#define ZEROCTL_PAGE 500

int zeroctl_list_collection(struct zeroctl *z, int argc, char **argv, const char *collection,
                            const char *what, zeroctl_table_fn print_table,
                            struct zero_error *reterr) {
        _cleanup_free_ char *path = NULL;
        json_auto_t *j = NULL;
        int r;

        r = zeroctl_parse_no_args(argc, argv, reterr);
        if (r != 0)
                return r;
        /* A page at a time, following "next" (a zerod that does not page answers everything and
         * no "next"); the pages make one list, printed at the end. */
        path = zero_strdup_printf("/v1/%s?limit=%d", collection, ZEROCTL_PAGE);
        if (!path)
                return -ENOMEM;
        for (;;) {
                json_auto_t *page = NULL;
                const char *next;

                r = zeroctl_http_call(z->http, "GET", path, NULL, 0, &page, NULL, reterr);
                if (r < 0)
                        return r;
                if (!json_is_array(json_object_get(page, collection)))
                        return zero_error_set(reterr, -EBADMSG, ZERO_E_INTERNAL, "zerod's %s list has no \"%s\" array",
                                              what, collection);
                if (!j)
                        j = json_pack("{s:[]}", collection);
                if (!j || json_array_extend(json_object_get(j, collection), json_object_get(page, collection)) < 0)
                        return -ENOMEM;
                next = json_string_value(json_object_get(page, "next"));
                if (!next || json_array_size(json_object_get(page, collection)) == 0)
                        break;
                free(path);
                /* next is a name ([a-z0-9-]): nothing to escape. */
                path = zero_strdup_printf("/v1/%s?limit=%d&after=%s", collection, ZEROCTL_PAGE, next);
                if (!path)
                        return -ENOMEM;
        }
        if (z->opts.json)
                return zeroctl_print_json(z->out, j);
        r = print_table(z->out, json_object_get(j, collection), zero_now_usec());
        if (r == -EBADMSG)
                return zero_error_set(reterr, r, ZERO_E_INTERNAL, "zerod's %s list has no \"%s\" array",
                                      what, collection);
        return r;
}

int zeroctl_show_named(struct zeroctl *z, int argc, char **argv, const char *collection,
                       struct zero_error *reterr) {
        _cleanup_free_ char *path = NULL;
        const char *name;
        int r;

        r = zeroctl_parse_name_only(argc, argv, &name, reterr);
        if (r != 0)
                return r;
        path = zeroctl_object_path(collection, name, NULL);
        if (!path)
                return -ENOMEM;
        return zeroctl_get_and_print(z, path, reterr);
}

int zeroctl_delete_named(struct zeroctl *z, int argc, char **argv, const char *collection,
                         const char *what, struct zero_error *reterr) {
        _cleanup_free_ char *path = NULL;
        const char *name;
        int r;

        r = zeroctl_parse_name_only(argc, argv, &name, reterr);
        if (r != 0)
                return r;
        path = zeroctl_object_path(collection, name, NULL);
        if (!path)
                return -ENOMEM;
        r = zeroctl_http_call(z->http, "DELETE", path, NULL, 0, NULL, NULL, reterr);
        if (r < 0)
                return r;
        /* 204 has no body: with --json there is nothing to print. */
        if (!z->opts.json)
                fprintf(z->out, "deleted %s %s\n", what, name);
        return 0;
}

char *zeroctl_object_path(const char *collection, const char *name, const char *suffix) {
        _cleanup_free_ char *escaped = zeroctl_path_escape(name);

        if (!escaped)
                return NULL;
        return zero_strdup_printf("/v1/%s/%s%s", collection, escaped, strempty(suffix));
}

static bool is_socket(const char *path) {
        struct stat st;
        return stat(path, &st) == 0 && S_ISSOCK(st.st_mode);
}

const char *zeroctl_default_url(void) {
        static char quickstart[PATH_MAX + sizeof("unix:/var/run/zerod.sock")];
        char cwd[PATH_MAX];

        /* ./deploy/quickstart's socket, from where it was started (issue 16: without ZERO_URL
         * zeroctl looked for the system's only), when the system's is not there. */
        if (!is_socket(&ZEROCTL_DEFAULT_URL[5]) && is_socket(ZEROCTL_QUICKSTART_SOCKET) && getcwd(cwd, sizeof(cwd)))
                if (snprintf(quickstart, sizeof(quickstart), "unix:%s/%s", cwd, ZEROCTL_QUICKSTART_SOCKET) <
                    (int) sizeof(quickstart))
                        return quickstart;
        return ZEROCTL_DEFAULT_URL;
}

int zeroctl_parse_global(int argc, char **argv, struct zeroctl_options *ret, int *ret_index,
                         struct zero_error *reterr) {
        enum { OPT_URL = 0x100, OPT_JSON, OPT_TIMEOUT, OPT_VERSION, OPT_TOKEN, OPT_CACERT };
        static const struct option options[] = {
                {"url", required_argument, NULL, OPT_URL},
                {"token", required_argument, NULL, OPT_TOKEN},
                {"cacert", required_argument, NULL, OPT_CACERT},
                {"json", no_argument, NULL, OPT_JSON},
                {"timeout", required_argument, NULL, OPT_TIMEOUT},
                {"help", no_argument, NULL, 'h'},
                {"version", no_argument, NULL, OPT_VERSION},
                {},
        };
        struct zeroctl_options o = {.timeout_s = ZEROCTL_DEFAULT_TIMEOUT_S};
        const char *env = getenv("ZERO_URL");
        int64_t v;
        int c, r;

        o.url = env && *env ? env : zeroctl_default_url();
        o.token = getenv("ZERO_TOKEN");
        o.cacert = getenv("ZERO_CACERT");
        optind = 0;
        opterr = 0;
        /* '+': stop at the verb, whose options are its own. */
        while ((c = getopt_long(argc, argv, "+:h", options, NULL)) >= 0) {
                switch (c) {
                case OPT_URL:
                        o.url = optarg;
                        break;
                case OPT_TOKEN:
                        o.token = optarg;
                        break;
                case OPT_CACERT:
                        o.cacert = optarg;
                        break;
                case OPT_JSON:
                        o.json = true;
                        break;
                case OPT_TIMEOUT:
                        r = zeroctl_parse_uint("--timeout", optarg, 0, 86400, &v, reterr);
                        if (r < 0)
                                return r;
                        o.timeout_s = (unsigned) v;
                        break;
                case 'h':
                        o.help = true;
                        break;
                case OPT_VERSION:
                        o.version = true;
                        break;
                default:
                        return zeroctl_getopt_error(c, argv, reterr);
                }
        }
        *ret = o;
        *ret_index = optind;
        return 0;
}

/* The global options (zeroctl_parse_global's) and whether each takes a value. */
static const struct {
        const char *name;
        bool value;
} global_options[] = {
        {"--url", true}, {"--token", true}, {"--cacert", true}, {"--timeout", true}, {"--json", false},
};

/* How many words the global option at argv[i] takes (1 or 2 with its value), 0 for another,
 * -EINVAL for one whose value is missing. */
static int global_option_words(int argc, char **argv, int i) {
        for (size_t k = 0; k < ELEMENTSOF(global_options); k++) {
                size_t len = strlen(global_options[k].name);
                if (strncmp(argv[i], global_options[k].name, len) != 0)
                        continue;
                if (argv[i][len] == '\0' && global_options[k].value)
                        return i + 1 < argc ? 2 : -EINVAL;
                if (argv[i][len] == '\0')
                        return 1;
                if (argv[i][len] == '=' && global_options[k].value)
                        return 1;
        }
        return 0;
}

int zeroctl_hoist_globals(int argc, char **argv, int verb_start, int verb_end, char ***ret_argv,
                          struct zero_error *reterr) {
        _cleanup_free_ char **out = calloc((size_t) argc + 1, sizeof(char *));
        _cleanup_free_ bool *moved = calloc((size_t) argc + 1, sizeof(bool));
        int n = 0, hoisted = 0, i;

        if (!out || !moved)
                return -ENOMEM;
        for (i = verb_end; i < argc && !streq(argv[i], "--"); i++) {
                int w = global_option_words(argc, argv, i);
                if (w < 0)
                        return zeroctl_usage_error(reterr, "option '%s' needs a value", argv[i]);
                for (int k = 0; k < w; k++)
                        moved[i + k] = true;
                hoisted += w > 0;
                i += w > 0 ? w - 1 : 0;
        }
        for (i = 0; i < verb_start; i++)
                out[n++] = argv[i];
        for (i = verb_end; i < argc; i++)
                if (moved[i])
                        out[n++] = argv[i];
        for (i = verb_start; i < argc; i++)
                if (!moved[i])
                        out[n++] = argv[i];
        *ret_argv = TAKE_PTR(out);
        return hoisted;
}

/* Whether word is the first of two-word verbs ("image", "volume", ...). */
static bool has_subverbs(const char *word) {
        for (size_t i = 0; i < zeroctl_n_verbs; i++)
                if (zeroctl_verbs[i].sub && streq(zeroctl_verbs[i].name, word))
                        return true;
        return false;
}

const struct zeroctl_verb *zeroctl_find_verb(int argc, char **argv, int *ret_consumed) {
        if (argc < 1)
                return NULL;
        for (size_t i = 0; i < zeroctl_n_verbs; i++) {
                const struct zeroctl_verb *v = &zeroctl_verbs[i];
                if (!streq(v->name, argv[0]))
                        continue;
                if (!v->sub) {
                        *ret_consumed = 1;
                        return v;
                }
                if (argc >= 2 && streq(v->sub, argv[1])) {
                        *ret_consumed = 2;
                        return v;
                }
        }
        return NULL;
}

void zeroctl_print_help(FILE *f) {
        fputs("Usage: zeroctl [--url URL] [--token T] [--cacert F] [--json] [--timeout S] COMMAND [ARGS...]\n"
              "\n"
              "The operator's command line for zerod, the Zero node agent.\n"
              "\n"
              "Options (before or after the command, but not after a create's --):\n"
              "  --url URL     where zerod listens: http://HOST:PORT or unix:/PATH\n"
              "                (default: $ZERO_URL, else " ZEROCTL_DEFAULT_URL ",\n"
              "                or ./" ZEROCTL_QUICKSTART_SOCKET " where only that one is: the\n"
              "                quickstart's)\n"
              "  --token T     bearer token for https:// (default: $ZERO_TOKEN; zerod token\n"
              "                create makes one); the unix socket needs none\n"
              "  --cacert F    the certificate zerod's is checked against (default:\n"
              "                $ZERO_CACERT; a self-signed zerod's is STATE/tls/server.crt)\n"
              "  --json        print zerod's JSON answers instead of tables\n"
              "  --timeout S   how long create, start, stop, restart, switch, rm, attach-*\n"
              "                and detach-* wait for their operation to finish (default\n"
              "                300; 0 = do not wait); a stop's grace is its --grace\n"
              "  -h, --help    show this help\n"
              "  --version     show zeroctl's version\n"
              "\n"
              "Commands:\n",
              f);
        for (size_t i = 0; i < zeroctl_n_verbs; i++) {
                const struct zeroctl_verb *v = &zeroctl_verbs[i];
                char word[32];
                if (!v->summary)
                        continue;
                snprintf(word, sizeof(word), "%s%s%s", v->name, v->sub ? " " : "",
                         v->sub ? v->sub : "");
                fprintf(f, "  %-15s %s\n", word, v->summary);
        }
        fputs("\nRun 'zeroctl COMMAND --help' for a command's arguments.\n"
              "Exit status: 0 success, 1 failure, 2 usage error.\n",
              f);
}

static void print_error(const struct zeroctl_verb *verb, const struct zero_error *e, int r) {
        if (!e->message[0])
                fprintf(stderr, "zeroctl: %s\n", strerror(r < 0 ? -r : EIO));
        else if (e->detail[0])
                fprintf(stderr, "zeroctl: %s (%s)\n", e->message, e->detail);
        else
                fprintf(stderr, "zeroctl: %s\n", e->message);
        if (e->code == ZERO_E_USAGE) {
                if (verb)
                        fprintf(stderr, "Usage: zeroctl %s\n", verb->usage);
                fputs("Try 'zeroctl --help'.\n", stderr);
        }
}

int zeroctl_main(int argc, char **argv) {
        _cleanup_(zeroctl_http_freep) struct zeroctl_http *http = NULL;
        struct zero_error err = {};
        struct zeroctl z = {.out = stdout, .exit_status = -1};
        const struct zeroctl_verb *verb = NULL;
        _cleanup_free_ char **hoisted = NULL;
        int index, consumed = 0, r;

        r = zeroctl_parse_global(argc, argv, &z.opts, &index, &err);
        if (r < 0) {
                print_error(NULL, &err, r);
                return ZEROCTL_EXIT_USAGE;
        }
        if (z.opts.help) {
                zeroctl_print_help(stdout);
                return ZEROCTL_EXIT_OK;
        }
        if (z.opts.version) {
                printf("zeroctl %s\n", ZERO_VERSION);
                return ZEROCTL_EXIT_OK;
        }
        if (index >= argc) {
                zeroctl_print_help(stderr);
                return ZEROCTL_EXIT_USAGE;
        }
        verb = zeroctl_find_verb(argc - index, argv + index, &consumed);
        if (verb) {
                /* The global options after the verb go before it, and are read again. */
                r = zeroctl_hoist_globals(argc, argv, index, index + consumed, &hoisted, &err);
                if (r == -ENOMEM)
                        return ZEROCTL_EXIT_FAILURE;
                if (r > 0) {
                        argv = hoisted;
                        r = zeroctl_parse_global(argc, argv, &z.opts, &index, &err);
                }
                if (r < 0) {
                        print_error(verb, &err, r);
                        return ZEROCTL_EXIT_USAGE;
                }
        }
        if (!verb) {
                if (index + 1 < argc && has_subverbs(argv[index]))
                        zeroctl_usage_error(&err, "unknown command '%s %s'", argv[index],
                                            argv[index + 1]);
                else
                        zeroctl_usage_error(&err, "unknown command '%s'", argv[index]);
                print_error(NULL, &err, -EINVAL);
                return ZEROCTL_EXIT_USAGE;
        }

        r = zeroctl_http_new(z.opts.url, z.opts.timeout_s ? z.opts.timeout_s : 60, &http, &err);
        if (r >= 0 && zeroctl_http_set_auth(http, z.opts.token, z.opts.cacert) < 0)
                r = zero_error_set(&err, -ENOMEM, ZERO_E_INTERNAL, "out of memory");
        if (r < 0) {
                print_error(NULL, &err, r);
                return err.code == ZERO_E_USAGE ? ZEROCTL_EXIT_USAGE : ZEROCTL_EXIT_FAILURE;
        }
        z.http = http;
        /* The verb sees its own name as argv[0], as getopt expects. */
        index += consumed - 1;
        r = verb->run(&z, argc - index, argv + index, &err);
        if (r == ZEROCTL_HELP) {
                printf("Usage: zeroctl %s\n", verb->usage);
                if (verb->details)
                        printf("\n%s", verb->details);
                if (verb->help_more)
                        verb->help_more(&z, stdout);
                r = 0;
        }
        if (fflush(stdout) != 0 && r >= 0)
                r = zero_error_set(&err, -errno, ZERO_E_INTERNAL, "cannot write output: %m");
        if (r < 0) {
                print_error(verb, &err, r);
                return err.code == ZERO_E_USAGE ? ZEROCTL_EXIT_USAGE : ZEROCTL_EXIT_FAILURE;
        }
        return z.exit_status >= 0 ? z.exit_status : ZEROCTL_EXIT_OK;
}
