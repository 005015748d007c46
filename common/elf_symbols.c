/* SPDX-License-Identifier: Apache-2.0 */
/* A shared object's exported symbols read from its file (elf_symbols.h). */
#include "common/elf_symbols.h"

#include <elf.h>
#include <fcntl.h>
#include <link.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include "common/macro.h"

#if __BYTE_ORDER == __LITTLE_ENDIAN
#define NATIVE_DATA ELFDATA2LSB
#else
#define NATIVE_DATA ELFDATA2MSB
#endif
#if __ELF_NATIVE_CLASS == 64
#define NATIVE_CLASS ELFCLASS64
#else
#define NATIVE_CLASS ELFCLASS32
#endif

/* Whether [off, off + len) lies inside a file of size bytes. */
static bool in_file(uint64_t off, uint64_t len, size_t size) {
        return off <= size && len <= size - off;
}

static int find(const uint8_t *m, size_t size, const char *name) {
        const ElfW(Ehdr) *eh = (const ElfW(Ehdr) *) m;
        size_t name_len = strlen(name);

        if (size < sizeof(*eh) || memcmp(eh->e_ident, ELFMAG, SELFMAG) != 0 || eh->e_ident[EI_CLASS] != NATIVE_CLASS ||
            eh->e_ident[EI_DATA] != NATIVE_DATA || eh->e_shentsize != sizeof(ElfW(Shdr)) ||
            eh->e_shoff % _Alignof(ElfW(Shdr)) != 0 ||
            !in_file(eh->e_shoff, (uint64_t) eh->e_shnum * sizeof(ElfW(Shdr)), size))
                return -ENOEXEC;
        const ElfW(Shdr) *sh = (const ElfW(Shdr) *) (m + eh->e_shoff);
        for (size_t i = 0; i < eh->e_shnum; i++) {
                if (sh[i].sh_type != SHT_DYNSYM)
                        continue;
                if (sh[i].sh_link >= eh->e_shnum || sh[i].sh_entsize != sizeof(ElfW(Sym)) ||
                    sh[i].sh_offset % _Alignof(ElfW(Sym)) != 0 ||
                    !in_file(sh[i].sh_offset, sh[i].sh_size, size))
                        return -ENOEXEC;
                const ElfW(Shdr) *str = &sh[sh[i].sh_link];
                if (str->sh_type != SHT_STRTAB || !in_file(str->sh_offset, str->sh_size, size))
                        return -ENOEXEC;
                const char *strtab = (const char *) (m + str->sh_offset);
                const ElfW(Sym) *sym = (const ElfW(Sym) *) (m + sh[i].sh_offset);
                for (size_t k = 0; k < sh[i].sh_size / sizeof(*sym); k++) {
                        uint64_t at = sym[k].st_name;
                        /* name and its terminating NUL inside the string table */
                        if (sym[k].st_shndx == SHN_UNDEF || !in_file(at, name_len + 1, str->sh_size))
                                continue;
                        if (memcmp(strtab + at, name, name_len + 1) == 0)
                                return 1;
                }
                return 0;
        }
        return -ENOEXEC;
}

int zero_elf_exports(const char *path, const char *name) {
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
        struct stat st;
        void *m;
        int r;

        if (fd < 0 || fstat(fd, &st) < 0)
                return -errno;
        if (!S_ISREG(st.st_mode) || st.st_size <= 0)
                return -ENOEXEC;
        /* Only the pages read are touched, and they go with the mapping. */
        m = mmap(NULL, (size_t) st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
        if (m == MAP_FAILED)
                return -errno;
        r = find(m, (size_t) st.st_size, name);
        (void) munmap(m, (size_t) st.st_size);
        return r;
}
