#!/usr/bin/env bash
# Builds libcxrcaption and the CLI and installs them for C, C++, pkg-config and CMake users:
#
#   <prefix>/lib/libcxrcaption.so.<version>      the library, SONAME libcxrcaption.so.N (N follows CXR_ABI_VERSION),
#   <prefix>/lib/libcxrcaption.so.N -> .so.<version>, <prefix>/lib/libcxrcaption.so -> .so.N (the usual links)
#   <prefix>/include/cxrcaption.h, cxrcaption.hpp, cxrcaption_dcmtk.hpp (DICOM via DCMTK -> cxr_image)
#   <prefix>/lib/pkgconfig/cxrcaption.pc
#   <prefix>/lib/cmake/cxrcaption/cxrcaptionConfig.cmake, cxrcaptionConfigVersion.cmake  (cxrcaption::cxrcaption)
#   <prefix>/bin/cxrcaption                      (the CLI, product cxrcaption-cli)
#
# Usage: scripts/install.sh [--prefix DIR] [--destdir DIR] [--config release|debug] [--build-dir DIR]
#                           [--no-build] [--no-cli]
#   --prefix     where the files will live (default /usr/local); written into cxrcaption.pc
#   --destdir    stage under DIR instead (DIR/<prefix>/...), for packagers; also $DESTDIR
#   --config     SwiftPM configuration (default release)
#   --build-dir  SwiftPM scratch path (default $CXR_BUILD_DIR or .build)
#   --no-build   install what the build directory already holds
#   --no-cli     library, headers and package files only
#
# The library carries its own Swift runtime (it needs only libc, libm, libstdc++, libgcc_s and libopenblas).
# The CLI is linked against the Swift toolchain's shared runtime: it runs where that toolchain is installed
# (its RUNPATH names it). Afterwards, for a prefix outside the linker's paths, programs need
# -Wl,-rpath,<prefix>/lib (or LD_LIBRARY_PATH); under /usr/local run `ldconfig`.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
prefix=/usr/local
destdir="${DESTDIR:-}"
config=release
build_dir="${CXR_BUILD_DIR:-.build}"
build=1
cli=1

usage() { sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//' >&2; exit 2; }
while [ $# -gt 0 ]; do
    case "$1" in
        --prefix) prefix="${2:?--prefix needs a directory}"; shift 2 ;;
        --prefix=*) prefix="${1#*=}"; shift ;;
        --destdir) destdir="${2:?--destdir needs a directory}"; shift 2 ;;
        --destdir=*) destdir="${1#*=}"; shift ;;
        --config) config="${2:?--config needs release or debug}"; shift 2 ;;
        --config=*) config="${1#*=}"; shift ;;
        --build-dir) build_dir="${2:?--build-dir needs a directory}"; shift 2 ;;
        --build-dir=*) build_dir="${1#*=}"; shift ;;
        --no-build) build=0; shift ;;
        --no-cli) cli=0; shift ;;
        -h|--help) usage ;;
        *) echo "install.sh: unknown argument '$1'" >&2; usage ;;
    esac
done
case "$config" in release|debug) ;; *) echo "install.sh: --config must be release or debug, not '$config'" >&2; exit 2 ;; esac
case "$prefix" in /*) ;; *) prefix="$(pwd)/$prefix" ;; esac
prefix="${prefix%/}"

cd "$root"
if ! command -v swift >/dev/null 2>&1 && [ -x /opt/swift/usr/bin/swift ]; then export PATH="/opt/swift/usr/bin:$PATH"; fi

version="$(sed -nE 's/.*static let text: StaticString = "([0-9.]+)".*/\1/p' Sources/CXRKit/Support/Version.swift)"
[[ "$version" =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]] || { echo "install.sh: cannot read the version from Sources/CXRKit/Support/Version.swift (got '$version')" >&2; exit 1; }

if [ "$build" = 1 ]; then
    echo "install.sh: building libcxrcaption $version ($config, $build_dir)"
    swift build --scratch-path "$build_dir" -c "$config" --product cxrcaption
    if [ "$cli" = 1 ]; then swift build --scratch-path "$build_dir" -c "$config" --product cxrcaption-cli; fi
fi
bin="$build_dir/$config"
[ -f "$bin/libcxrcaption.so" ] || { echo "install.sh: no $bin/libcxrcaption.so (build first, or drop --no-build)" >&2; exit 1; }
if [ "$cli" = 1 ] && [ ! -f "$bin/cxrcaption-cli" ]; then echo "install.sh: no $bin/cxrcaption-cli" >&2; exit 1; fi

dest="$destdir$prefix"
substitute() { sed -e "s|@PREFIX@|$prefix|g" -e "s|@VERSION@|$version|g" -e "s|@SONAME@|$soname|g" "$1"; }

# The SONAME is the build's (Package.swift derives it from CXR_ABI_VERSION): programs linked with
# -lcxrcaption record it, the runtime loader finds it as a link to the versioned file.
soname="$(readelf -d "$bin/libcxrcaption.so" | sed -nE 's/.*\(SONAME\).*\[(.*)\]/\1/p')"
[[ "$soname" =~ ^libcxrcaption\.so\.[0-9]+$ ]] || { echo "install.sh: $bin/libcxrcaption.so has no SONAME libcxrcaption.so.N (got '$soname')" >&2; exit 1; }

install -d "$dest/lib" "$dest/include" "$dest/lib/pkgconfig" "$dest/lib/cmake/cxrcaption"
install -m 0755 "$bin/libcxrcaption.so" "$dest/lib/libcxrcaption.so.$version"
ln -sfn "libcxrcaption.so.$version" "$dest/lib/$soname"
ln -sfn "$soname" "$dest/lib/libcxrcaption.so"
install -m 0644 include/cxrcaption.h include/cxrcaption.hpp include/cxrcaption_dcmtk.hpp "$dest/include/"
substitute cxrcaption.pc.in > "$dest/lib/pkgconfig/cxrcaption.pc"
substitute cmake/cxrcaptionConfig.cmake.in > "$dest/lib/cmake/cxrcaption/cxrcaptionConfig.cmake"
substitute cmake/cxrcaptionConfigVersion.cmake.in > "$dest/lib/cmake/cxrcaption/cxrcaptionConfigVersion.cmake"
chmod 0644 "$dest/lib/pkgconfig/cxrcaption.pc" "$dest/lib/cmake/cxrcaption/"*.cmake
if [ "$cli" = 1 ]; then
    install -d "$dest/bin"
    install -m 0755 "$bin/cxrcaption-cli" "$dest/bin/cxrcaption"
fi

echo "install.sh: installed libcxrcaption $version into ${destdir:+$destdir}$prefix"
echo "  pkg-config: PKG_CONFIG_PATH=$prefix/lib/pkgconfig pkg-config --cflags --libs cxrcaption"
echo "  CMake:      cmake -DCMAKE_PREFIX_PATH=$prefix ...   then find_package(cxrcaption) and cxrcaption::cxrcaption"
