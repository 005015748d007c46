# Shared by deploy/check and deploy/quickstart. Sourced, not run.

# Debian 12 packages the build, the tests and the quickstart need.
# libseccomp-dev: the container plugin compiles its seccomp profile once (docs/architecture.md, Containers).
# libgnutls28-dev: zerod's TLS certificate and token hashes (docs/security.md).
# python3, openssl: the hostile clients of it_api_security (http_flood.py) and its test CA.
ZERO_PACKAGES=(
  build-essential cmake pkg-config
  libsystemd-dev libmicrohttpd-dev libjansson-dev libsqlite3-dev libcurl4-openssl-dev libcmocka-dev libinih-dev
  crun busybox-static systemd iproute2 util-linux tar curl jq procps valgrind sqlite3 socat
  libjson-validator-perl libyaml-pp-perl libseccomp-dev libgnutls28-dev python3 openssl
  qemu-system-common qemu-system-x86 qemu-utils e2fsprogs fio
  xfsprogs # the softcard's volume pool: an XFS image with reflinks (docs/architecture.md, Volumes)
  xz-utils # zero-unpack reads xz-compressed image archives through `xz -dc` (docs/architecture.md, Images)
  zstd # build-host-image compresses the lab's host image with it (gzip without; deploy/images/README.md)
  # it_metrics: promtool check metrics, and a real Prometheus scraping zerod (docs/architecture.md,
  # Metrics); the test runs its own. On a systemd machine Debian also enables prometheus.service
  # (:9090): `systemctl disable --now prometheus` if it is not wanted.
  prometheus
  man-db # it_zeroctl_aids renders each man page cli/genman made with man -l (groff), warnings on
  wrk # bench_api's load: 8 keep-alive connections, exact latency percentiles (docs/benchmarks.md, api)
  clang libclang-rt-14-dev
)

# The aarch64 cross build and its unit tests (./deploy/check, docs/aarch64.md): Debian's cross
# compiler, the arm64 builds of the libraries above (multiarch: `dpkg --add-architecture arm64`,
# zero_add_arch), qemu-user to run the tests' binaries, and qemu-system-arm (which holds
# qemu-system-aarch64) for the aarch64 guest of it_vm_aarch64.
ZERO_CROSS_ARCH=arm64
ZERO_CROSS_PACKAGES=(
  gcc-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user-static qemu-system-arm
  libsystemd-dev:arm64 libmicrohttpd-dev:arm64 libjansson-dev:arm64 libsqlite3-dev:arm64
  libcurl4-openssl-dev:arm64 libcmocka-dev:arm64 libinih-dev:arm64 libseccomp-dev:arm64
  libgnutls28-dev:arm64
)

# zero_add_arch ARCH: dpkg also installs ARCH's packages (multiarch); the next install updates
# apt's lists, since a package of ARCH is missing then.
zero_add_arch() {
  dpkg --print-foreign-architectures | grep -qx "$1" && return 0
  local sudo=""
  [ "$(id -u)" -eq 0 ] || sudo=sudo
  echo "Adding the Debian architecture $1 (multiarch)"
  $sudo dpkg --add-architecture "$1"
}

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

# zero_agent_holder DIR...: prints the pid of the zerod that holds one of the directories (its
# DIR/zerod.lock, flock(2), see common/lock.h) and succeeds; fails when none is held. flock(1)
# takes a free lock for an instant only; a missing lock file is never created.
zero_agent_holder() {
  local d
  for d in "$@"; do
    [ -f "$d/zerod.lock" ] || continue
    if ! flock -n "$d/zerod.lock" true 2>/dev/null; then
      head -c 20 "$d/zerod.lock" | tr -dc 0-9
      echo
      return 0
    fi
  done
  return 1
}
