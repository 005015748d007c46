/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/* zerod token ...: argv[0] is "token". Returns the exit status. */
int zero_token_cmd(int argc, char *argv[]);
