/* SPDX-License-Identifier: Apache-2.0 */
/* Fault points (fault.h). */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "agent/fault.h"
#include "common/log.h"
#include "common/util.h"

#ifdef ZERO_FAULT_INJECTION
void zero_fault_point(const char *name) {
        const char *armed = getenv("ZERO_FAULT_POINT"), *action = getenv("ZERO_FAULT_ACTION");

        if (!armed || !streq(armed, name))
                return;
        log_notice("Fault point %s reached: %s", name, action && streq(action, "abort") ? "aborting" : "exiting");
        fflush(stderr);
        if (action && streq(action, "abort"))
                abort();
        _exit(ZERO_FAULT_EXIT_STATUS);
}
#endif
