/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/*
 * What a shared object exports, read from its file without loading it. dlopen() runs the
 * constructors of the object and of every library it needs, and some of those stay mapped after
 * dlclose() (OpenSSL's libcrypto is NODELETE): asking a file "are you a runtime plugin or a card
 * driver?" by loading it cost zerod 3.2 MiB of RSS for the lab's driver and its libcurl
 * (plugin_loader.c). Reads the section headers' dynamic symbol table (SHT_DYNSYM): an object
 * stripped of its section headers answers -ENOEXEC, and the caller loads it as before. Only
 * the running machine's ELF class and byte order; every offset is checked against the file.
 */
#include <stdbool.h>

/* 1 if the object at path defines (exports) the symbol name, 0 if not, -errno when it cannot be
 * read as a native ELF object with a dynamic symbol table (-ENOEXEC, or open/mmap's error). */
int zero_elf_exports(const char *path, const char *name);
