/* SPDX-License-Identifier: Apache-2.0 */
/* Children of zerod watched on its loop (spawn.h). */
#include "agent/spawn.h"

#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/util.h"

int zero_spawn(struct zero_agent *a, char *const argv[], sd_event_child_handler_t cb, void *userdata,
                     sd_event_source **ret) {
        sd_event_source *s = NULL;
        pid_t parent = getpid(), pid;
        int r;

        pid = fork();
        if (pid < 0)
                return -errno;
        if (pid == 0) {
                if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != parent)
                        _exit(127);
                /* Background work: the instances and the API come first, for the CPU and the disk
                 * (nice 10; best-effort I/O at its lowest priority, 7). */
                (void) setpriority(PRIO_PROCESS, 0, 10);
                (void) syscall(SYS_ioprio_set, 1 /* IOPRIO_WHO_PROCESS */, 0, (2 << 13) | 7 /* BE, 7 */);
                zero_child_exec(argv, STDERR_FILENO);
        }
        r = sd_event_add_child(a->event, &s, pid, WEXITED, cb, userdata);
        if (r >= 0)
                r = sd_event_source_set_child_process_own(s, true);
        if (r < 0) {
                if (!s) {
                        (void) kill(pid, SIGKILL);
                        (void) waitpid(pid, NULL, 0);
                }
                sd_event_source_disable_unref(s); /* owns the child: kills and reaps it */
                return r;
        }
        *ret = s;
        return 0;
}
