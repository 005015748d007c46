# shellcheck shell=bash
# The guest kernel of the image builders (deploy/images/build-busybox-image, build-host-image):
# Debian's cloud kernel package, downloaded once into a cache, unpacked, and the modules an
# initramfs needs, in dependency order. Sourced, not run. The sourcing script defines msg and die
# (one line each, die exits), and an array `temps` of paths it removes on exit.
#
# Environment (the builders document these too):
#   ZERO_IMAGE_KERNEL   kernel to use: a release (6.1.0-56-cloud-amd64), an ABI (6.1.0-56) or a
#                       package name; default: the newest linux-image-6.1.0-N-cloud-amd64 apt knows
#   ZERO_IMAGE_CACHE    where downloaded kernel packages are kept, so that a second run does not
#                       download again (default ${XDG_CACHE_HOME:-~/.cache}/zero/images)
#   ZERO_IMAGE_ARCH     the Debian architecture of the image: amd64 (the default) or arm64
#                       (docs/aarch64.md; dpkg must know it: `dpkg --add-architecture arm64`)

# Debian 12's kernel series; ZERO_IMAGE_KERNEL picks any other.
ZK_SERIES=6.1.0
ZK_ARCH=${ZERO_IMAGE_ARCH:-amd64}
ZK_FLAVOUR=cloud-$ZK_ARCH

# zero_kernel_cache: sets ZK_CACHE (made, absolute).
zero_kernel_cache() {
	ZK_CACHE=${ZERO_IMAGE_CACHE:-${XDG_CACHE_HOME:-${HOME:-/root}/.cache}/zero/images}
	mkdir -p "$ZK_CACHE" || die "cannot create the cache $ZK_CACHE"
	ZK_CACHE=$(realpath -- "$ZK_CACHE")
}

zk_newest() { sort -V | tail -n 1; }
zk_cached_deb() { # zk_cached_deb PACKAGE[:ARCH]: the newest cached .deb of PACKAGE, or nothing
	local f arch=
	[[ $1 != *:* ]] || arch=_${1#*:}
	for f in "$ZK_CACHE/${1%%:*}"_*"$arch".deb; do
		[[ -f $f ]] || continue
		echo "$f"
	done | zk_newest
}
zk_apt_kernels() {
	apt-cache pkgnames "linux-image-$ZK_SERIES-" 2>/dev/null |
		grep -E "^linux-image-${ZK_SERIES//./\\.}-[0-9]+-$ZK_FLAVOUR\$" || true
}

# zero_kernel_package: sets ZK_PKG (the package's name) and ZK_DEB (its .deb in the cache),
# downloading it with apt-get when the cache has none.
zero_kernel_package() {
	local k f
	case $ZK_ARCH in
	amd64 | arm64) ;;
	*) die "ZERO_IMAGE_ARCH=$ZK_ARCH: expected amd64 or arm64" ;;
	esac
	[[ -n ${ZK_CACHE:-} ]] || zero_kernel_cache
	if [[ -n ${ZERO_IMAGE_KERNEL:-} ]]; then
		k=${ZERO_IMAGE_KERNEL#linux-image-}
		[[ $k =~ ^[0-9]+\.[0-9]+\.[0-9]+-[0-9]+$ ]] && k+=-$ZK_FLAVOUR
		ZK_PKG=linux-image-$k
	else
		ZK_PKG=$(zk_apt_kernels | zk_newest)
		if [[ -z $ZK_PKG ]]; then
			# A fresh system has empty package lists; the cache may still hold a kernel.
			ZK_PKG=$(for f in "$ZK_CACHE"/linux-image-"$ZK_SERIES"-*-"$ZK_FLAVOUR"_*.deb; do
				[[ -f $f ]] || continue
				basename "${f%%_*}"
			done | zk_newest)
		fi
		if [[ -z $ZK_PKG && $EUID -eq 0 ]]; then
			msg "apt knows no linux-image-$ZK_SERIES-*-$ZK_FLAVOUR: apt-get update"
			apt-get update -q >&2 || die "apt-get update failed"
			ZK_PKG=$(zk_apt_kernels | zk_newest)
		fi
		[[ -n $ZK_PKG ]] || die "apt knows no linux-image-$ZK_SERIES-*-$ZK_FLAVOUR (run apt-get update, or set ZERO_IMAGE_KERNEL)"
	fi

	zero_deb_fetch "$ZK_PKG" "kernel package"
	ZK_DEB=$ZK_FETCHED
}

# zero_deb_fetch PACKAGE[:ARCH] WHAT: sets ZK_FETCHED to the package's .deb in the cache (made by
# zero_kernel_cache), downloading it with apt-get when the cache has none.
zero_deb_fetch() {
	local f dl apt_opts=()
	[[ -n ${ZK_CACHE:-} ]] || zero_kernel_cache
	ZK_FETCHED=$(zk_cached_deb "$1")
	if [[ -n $ZK_FETCHED ]]; then
		msg "$2 $1: cached $ZK_FETCHED"
		return 0
	fi
	msg "$2 $1: downloading into $ZK_CACHE"
	# A temp dir inside the cache, so that a download cut short never looks like a cached file.
	dl=$(mktemp -d "$ZK_CACHE/.download.XXXXXX")
	temps+=("$dl")
	# Run as root, apt downloads as user _apt: let it write there. Where it cannot reach the
	# directory (a parent closed to others), apt would download as root anyway, with a warning:
	# say so up front instead.
	if [[ $EUID -eq 0 ]]; then
		if ! { id _apt >/dev/null 2>&1 && chown _apt "$dl" && runuser -u _apt -- test -w "$dl"; } 2>/dev/null; then
			apt_opts=(-o APT::Sandbox::User=root)
		fi
	fi
	(cd "$dl" && apt-get download -q "${apt_opts[@]}" "$1") >&2 || die "apt-get download $1 failed"
	for f in "$dl"/*.deb; do
		[[ -f $f ]] || die "apt-get download $1 left no .deb"
		[[ $EUID -ne 0 ]] || chown 0:0 "$f"
		mv -f "$f" "$ZK_CACHE/"
	done
	ZK_FETCHED=$(zk_cached_deb "$1")
	[[ -n $ZK_FETCHED ]] || die "apt-get download $1 left no ${1%%:*}_*.deb"
}

# zero_kernel_unpack DIR: unpacks ZK_DEB into DIR; sets ZK_RELEASE (6.1.0-56-cloud-amd64),
# ZK_VMLINUZ and ZK_MODDIR (its lib/modules/RELEASE, with a modules.dep).
zero_kernel_unpack() {
	local pkg=$1 d modbase='' releases
	dpkg -x "$ZK_DEB" "$pkg" || die "cannot unpack $ZK_DEB (delete it to download it again)"
	for d in lib usr/lib; do
		[[ -d $pkg/$d/modules ]] && modbase=$pkg/${d%lib} && break
	done
	[[ -n $modbase ]] || die "$ZK_DEB has no lib/modules"
	releases=("$modbase"lib/modules/*)
	[[ ${#releases[@]} -eq 1 ]] || die "$ZK_DEB has ${#releases[@]} module trees, expected one"
	ZK_RELEASE=$(basename "${releases[0]}")
	ZK_MODDIR=$modbase/lib/modules/$ZK_RELEASE
	ZK_VMLINUZ=$pkg/boot/vmlinuz-$ZK_RELEASE
	[[ -f $ZK_VMLINUZ ]] || die "$ZK_DEB has no boot/vmlinuz-$ZK_RELEASE"
	# Debian's packages leave modules.dep to depmod in their postinst: make it the same way.
	if [[ ! -f $ZK_MODDIR/modules.dep ]]; then
		busybox depmod -b "$modbase" "$ZK_RELEASE" || die "depmod of $ZK_RELEASE failed"
	fi
}

zk_modname() { # zk_modname PATH: kernel/drivers/nvme/host/nvme-core.ko.xz -> nvme_core
	local b=${1##*/}
	b=${b%%.ko*}
	REPLY=${b//-/_}
}

# zero_kernel_modules ROOT NAME...: the modules NAME and their dependencies, dependencies first,
# uncompressed in ROOT/lib/modules (busybox insmod then needs no decompressor, and the
# initramfs as a whole is compressed anyway), their file names in that order in
# ROOT/lib/modules/load-order. Whatever the kernel has built in is skipped; a name that is
# neither built in nor a module is an error, so that a kernel that lost a driver fails here and
# not at boot. Sets ZK_LOADED and ZK_BUILT_IN (arrays of names).
zero_kernel_modules() {
	local root=$1 line p m d src ko dst
	shift
	local -A dep_of=() path_of=() builtin=() seen=()
	local order=()
	while IFS= read -r line; do
		p=${line%%:*}
		dep_of[$p]=${line#*:}
		zk_modname "$p"
		path_of[$REPLY]=$p
	done <"$ZK_MODDIR/modules.dep"
	while IFS= read -r p; do
		zk_modname "$p"
		builtin[$REPLY]=1
	done <"$ZK_MODDIR/modules.builtin"

	zk_visit() { # depth first: a module's dependencies before the module
		local p=$1 d
		[[ -z ${seen[$p]:-} ]] || return 0
		seen[$p]=1
		for d in ${dep_of[$p]}; do zk_visit "$d"; done
		order+=("$p")
	}
	ZK_BUILT_IN=()
	for m in "$@"; do
		m=${m//-/_}
		if [[ -n ${path_of[$m]:-} ]]; then
			zk_visit "${path_of[$m]}"
		elif [[ -n ${builtin[$m]:-} ]]; then
			ZK_BUILT_IN+=("$m")
		else
			die "module $m is neither built into $ZK_RELEASE nor one of its modules"
		fi
	done

	mkdir -p "$root/lib/modules"
	: >"$root/lib/modules/load-order"
	ZK_LOADED=()
	for p in "${order[@]}"; do
		src=$ZK_MODDIR/$p
		ko=${p##*/}
		ko=${ko%%.ko*}.ko
		dst=$root/lib/modules/$ko
		[[ ! -e $dst ]] || die "two modules named $ko"
		case $p in
		*.ko) cp "$src" "$dst" ;;
		*.ko.xz) xz -dc "$src" >"$dst" ;;
		*.ko.zst) zstd -qdc "$src" >"$dst" ;;
		*.ko.gz) gzip -dc "$src" >"$dst" ;;
		*) die "module $p: unknown compression" ;;
		esac
		echo "$ko" >>"$root/lib/modules/load-order"
		ZK_LOADED+=("${ko%.ko}")
	done
}

# zero_cpio ROOT: the tree ROOT as a newc cpio on stdout, owned by root, in a stable order.
zero_cpio() {
	(cd "$1" && find . -mindepth 1 -printf '%P\n' | LC_ALL=C sort | busybox cpio -o -H newc -R 0:0 2>/dev/null)
}
