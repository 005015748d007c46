/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Compiled into every plugin module (zero_plugin_module() in CMakeLists.txt), which links the
 * common code statically and hides it (-Wl,--exclude-libs,ALL): the one symbol besides the
 * entry point by which the loading process hands down its log level and ident (zero_log_pass_on()).
 */
#include "common/log.h"

__attribute__((visibility("default"))) void zero_module_set_log(int prio, const char *ident);

void zero_module_set_log(int prio, const char *ident) {
        zero_log_set_max_priority(prio);
        zero_log_set_ident(ident);
}
