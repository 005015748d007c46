# Shared by deploy/check and deploy/quickstart. Sourced, not run.

# Debian 12 packages the build, the tests and the quickstart need.
ZERO_PACKAGES=(
  build-essential cmake pkg-config
  libsystemd-dev libmicrohttpd-dev libjansson-dev libsqlite3-dev libcurl4-openssl-dev libcmocka-dev libinih-dev
  crun busybox-static systemd iproute2 util-linux tar curl jq procps valgrind sqlite3 socat
  libjson-validator-perl libyaml-pp-perl
  qemu-system-common qemu-system-x86 qemu-utils e2fsprogs fio
  clang libclang-rt-14-dev
)

# Installs what is missing, and nothing when all is there (so a second run is fast and offline).
zero_install_packages() {
  local missing=() p
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  echo "Installing Debian packages: ${missing[*]}"
  local sudo=""
  [ "$(id -u)" -eq 0 ] || sudo=sudo
  $sudo apt-get update -q
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
}

zero_build() { # zero_build BUILD_DIR [cmake options...]
  local dir=$1; shift
  cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo "$@" >/dev/null
  cmake --build "$dir" -j"$(nproc)"
}
