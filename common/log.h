/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/*
 * Logging to stderr with "<N>" syslog priority prefixes, which journald reads as the priority
 * of the line (sd-daemon(3)). Library code does not log; callers do, and return the error:
 *     return log_error_errno(r, "Failed to open store: %m");
 */
#include <errno.h>
#include <syslog.h>

#include "common/macro.h"

void zero_log_set_max_priority(int prio);
void zero_log_set_ident(const char *ident);
/* A plugin dlopen()ed with its own copy of this file logs at this process's level and with its
 * ident: its module exports ZERO_LOG_MODULE_SYMBOL (common/log_export.c, added by
 * zero_plugin_module()). The ident is not copied: a string that outlives the module. */
#define ZERO_LOG_MODULE_SYMBOL "zero_module_set_log"
void zero_log_pass_on(void *dl_handle);

/* Logs and returns -|error|; %m in fmt prints strerror(error). */
int zero_log_internal(int prio, int error, const char *fmt, ...) _printf_(3, 4);

#define log_full_errno(prio, error, ...) zero_log_internal((prio), (error), __VA_ARGS__)
#define log_debug(...) zero_log_internal(LOG_DEBUG, 0, __VA_ARGS__)
#define log_info(...) zero_log_internal(LOG_INFO, 0, __VA_ARGS__)
#define log_notice(...) zero_log_internal(LOG_NOTICE, 0, __VA_ARGS__)
#define log_warning(...) zero_log_internal(LOG_WARNING, 0, __VA_ARGS__)
#define log_error(...) zero_log_internal(LOG_ERR, 0, __VA_ARGS__)
#define log_warning_errno(error, ...) zero_log_internal(LOG_WARNING, (error), __VA_ARGS__)
#define log_error_errno(error, ...) zero_log_internal(LOG_ERR, (error), __VA_ARGS__)
#define log_debug_errno(error, ...) zero_log_internal(LOG_DEBUG, (error), __VA_ARGS__)
