# Cross build for aarch64 (arm64) on a Debian 12 amd64 machine: Debian's gcc-aarch64-linux-gnu and
# the :arm64 -dev packages of multiarch (`dpkg --add-architecture arm64`; deploy/lib/common.sh,
# ZERO_CROSS_PACKAGES). The tests' binaries run under qemu-user (CMAKE_CROSSCOMPILING_EMULATOR):
# ctest prefixes every test whose command is a target of this tree with it (docs/aarch64.md).
#   cmake -S . -B build-aarch64 --toolchain cmake/aarch64-linux-gnu.cmake -DZERO_TESTS=ON
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)
set(ZERO_CROSS_TRIPLET aarch64-linux-gnu)

set(CMAKE_C_COMPILER ${ZERO_CROSS_TRIPLET}-gcc)
# Libraries and headers of the target only; programs (pkg-config, bash) of the build machine.
# Multiarch puts the arm64 packages' libraries in /usr/lib/aarch64-linux-gnu (so "/" is a root,
# the architecture's directory picks them), the cross libc's in /usr/aarch64-linux-gnu.
set(CMAKE_LIBRARY_ARCHITECTURE ${ZERO_CROSS_TRIPLET})
set(CMAKE_FIND_ROOT_PATH /usr/${ZERO_CROSS_TRIPLET} /)
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)

# pkg-config answers with the arm64 packages' .pc files (multiarch paths), never the build
# machine's: with only PKG_CONFIG_LIBDIR set, the amd64 directories are not searched at all.
set(ENV{PKG_CONFIG_LIBDIR} /usr/lib/${ZERO_CROSS_TRIPLET}/pkgconfig:/usr/share/pkgconfig)
set(ENV{PKG_CONFIG_PATH} "")
set(ENV{PKG_CONFIG_SYSROOT_DIR} "")

# The arm64 libraries of multiarch are in /usr/lib/aarch64-linux-gnu and its loader is
# /lib/ld-linux-aarch64.so.1 (libc6:arm64), so qemu-user needs no -L prefix.
find_program(ZERO_QEMU_AARCH64 NAMES qemu-aarch64-static qemu-aarch64)
if(ZERO_QEMU_AARCH64)
  set(CMAKE_CROSSCOMPILING_EMULATOR ${ZERO_QEMU_AARCH64})
endif()
