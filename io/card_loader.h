/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/*
 * Finds the card driver in the plugin directory, dlopen()s it and checks its ABI
 * (include/zero/card.h): zerod's [card] driver = NAME is DIR/NAME.so; the card daemon loads the
 * softcard by its path.
 */
#include "zero/card.h"

#define ZERO_CARD_DRIVER_DEFAULT "softcard"

struct zero_card_lib {
        void *handle;
        const struct zero_card_driver *driver;
        char *path;
};

/* Loads DIR/NAME.so. Refused, with a log line naming the file and saying why, and the reason in
 * err: a NAME that is no plain file name (-EINVAL), a missing file (-ENOENT), one that does not
 * load or exports no ZERO_CARD_DRIVER_ENTRY (-ENOEXEC), another ABI version or a struct without
 * every op of this one (-EPROTONOSUPPORT). */
/* who: the loading program, as the refusal of another version names it ("this zerod speaks ..."). */
int zero_card_lib_load(const char *dir, const char *name, const char *who, struct zero_card_lib *ret,
                       struct zero_error *err);
/* The same for a file named by its path (the card daemon's softcard.so). */
int zero_card_lib_load_path(const char *path, const char *who, struct zero_card_lib *ret, struct zero_error *err);
/* dlclose()s: after the driver's close(), whose code lives there. */
void zero_card_lib_done(struct zero_card_lib *lib);
