#!/usr/bin/env bash
# Proves the integrations from the outside, as users meet them (issue 8):
#   1. scripts/install.sh into a temporary prefix (and a DESTDIR staging), the installed tree, versions;
#   2. examples/c/caption.c built against the installed copy with pkg-config and with CMake
#      (find_package(cxrcaption)), both run on a fixture PNG with the golden model, same output;
#   3. include/cxrcaption.hpp: its test program (Tests/integrations/hpp_test.cpp) against the installed copy;
#   4. include/cxrcaption_dcmtk.hpp with strict warnings, with and without OpenJPEG; examples/cpp/dicom_caption.cpp
#      (DCMTK, through that header) built with CMake (with OpenJPEG) and with pkg-config + DCMTK flags (without),
#      run on the DICOM fixtures (Tests/integrations/fixtures, Tests/CXRKitTests/Fixtures/readers) and, when
#      ../shared is there, the real DICOMs; the build without OpenJPEG must refuse JPEG 2000 with a clear
#      message, the one with it must decode it;
#   5. a fresh virtualenv, `pip install ./python` with the library bundled, pytest python/tests and
#      examples/python/tests, and pydicom_caption.py printing exactly what dicom_caption prints, on every
#      DICOM fixture (JPEG 2000 included) and real DICOM.
# Exits non-zero on the first failure.
#
# Needs (Debian 12): Swift 6, cmake, pkg-config, libpng-dev, libopenblas-dev, libdcmtk-dev, libopenjp2-7-dev,
# libjpeg62-turbo-dev, python3-venv,
# a C/C++ compiler, and PyPI (or a mirror: CXR_PIP_ARGS) for numpy, pillow, pydicom, pytest, setuptools.
#
# Environment:
#   CXR_BUILD_DIR        SwiftPM scratch path (default .build)
#   CXR_CONFIG           debug or release (default debug)
#   CXR_PYTHON_BASE      the Python that creates the test virtualenv (default python3)
#   CXR_PIP_ARGS         extra pip arguments (e.g. --index-url ... or --find-links ...)
#   CXR_CC, CXR_CXX      C and C++ compilers (default cc, c++)
#   CXR_KEEP_TEMP=1      keep the temporary directory (printed) for inspection
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
if ! command -v swift >/dev/null 2>&1 && [ -x /opt/swift/usr/bin/swift ]; then export PATH="/opt/swift/usr/bin:$PATH"; fi
build_dir="${CXR_BUILD_DIR:-.build}"
config="${CXR_CONFIG:-debug}"
python_base="${CXR_PYTHON_BASE:-python3}"
read -r -a pip_args <<<"${CXR_PIP_ARGS:-}"
cc="${CXR_CC:-$(command -v cc || command -v clang)}"
cxx="${CXR_CXX:-$(command -v c++ || command -v clang++)}"
model="$root/Tests/CXRKitTests/Fixtures/golden/model.safetensors"
pngs="$root/Tests/c/fixtures"
gray_png="$pngs/nih_txv_00000001_000.png"
rgb_png="$pngs/iu_CXR3_IM-1384-1001.png"
dicoms="$root/Tests/integrations/fixtures"
readers="$root/Tests/CXRKitTests/Fixtures/readers"
real_dicoms="$root/../shared/data/real-cxr/dicom"

step() { printf '\n== %s\n' "$*"; }
fail() { printf 'FAILED: %s\n' "$*" >&2; exit 1; }
for tool in cmake pkg-config "$cc" "$cxx"; do
    command -v "$tool" >/dev/null 2>&1 || fail "$tool is missing (apt-get install cmake pkg-config build-essential)"
done
[ -f /usr/include/dcmtk/dcmdata/dctk.h ] || fail "DCMTK headers are missing (apt-get install libdcmtk-dev)"
pkg-config --exists libopenjp2 || fail "OpenJPEG is missing (apt-get install libopenjp2-7-dev)"

work="$(mktemp -d "${TMPDIR:-/tmp}/cxrcaption-integrations.XXXXXX")"
if [ "${CXR_KEEP_TEMP:-0}" = 1 ]; then echo "temporary directory: $work"; else trap 'rm -rf "$work"' EXIT; fi
prefix="$work/prefix"

step "scripts/install.sh --prefix $prefix ($config, $build_dir)"
scripts/install.sh --prefix "$prefix" --config "$config" --build-dir "$build_dir"
expected_files="bin/cxrcaption
include/cxrcaption.h
include/cxrcaption.hpp
include/cxrcaption_dcmtk.hpp
lib/cmake/cxrcaption/cxrcaptionConfig.cmake
lib/cmake/cxrcaption/cxrcaptionConfigVersion.cmake
lib/libcxrcaption.so
lib/__SONAME__
lib/libcxrcaption.so.__VERSION__
lib/pkgconfig/cxrcaption.pc"
installed="$(cd "$prefix" && find . -type f -o -type l | sed 's|^\./||' | sort)"
# The SONAME follows CXR_ABI_VERSION (ABI 1 is .so.0); the versioned file is the library's version.
version="$(sed -nE 's/.*static let text: StaticString = "([0-9.]+)".*/\1/p' Sources/CXRKit/Support/Version.swift)"
abi="$(sed -nE 's/^#define CXR_ABI_VERSION ([0-9]+)$/\1/p' include/cxrcaption.h)"
soname="libcxrcaption.so.$((abi - 1))"
expected_files="$(sed -e "s/__VERSION__/$version/" -e "s/__SONAME__/$soname/" <<<"$expected_files" | sort)"
[ "$installed" = "$expected_files" ] || fail "installed files differ from the expected list:
$(diff <(echo "$expected_files") <(echo "$installed"))"
cmp include/cxrcaption.h "$prefix/include/cxrcaption.h" && cmp include/cxrcaption.hpp "$prefix/include/cxrcaption.hpp"
cmp include/cxrcaption_dcmtk.hpp "$prefix/include/cxrcaption_dcmtk.hpp"
readelf -d "$prefix/lib/libcxrcaption.so.$version" | grep -q "SONAME.*\[$soname\]" || fail "the library's SONAME is not $soname"
[ "$(readlink "$prefix/lib/$soname")" = "libcxrcaption.so.$version" ] && [ "$(readlink "$prefix/lib/libcxrcaption.so")" = "$soname" ] \
    || fail "lib/$soname -> libcxrcaption.so.$version and lib/libcxrcaption.so -> $soname expected"
export PKG_CONFIG_PATH="$prefix/lib/pkgconfig${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}"
library_version="$("$python_base" -c 'import ctypes, sys
lib = ctypes.CDLL(sys.argv[1]); lib.cxr_version.restype = ctypes.c_char_p; print(lib.cxr_version().decode())' "$prefix/lib/libcxrcaption.so")"
pc_version="$(pkg-config --modversion cxrcaption)"
cli_version="$("$prefix/bin/cxrcaption" --version)"
[ "$library_version" = "$pc_version" ] && [ "$cli_version" = "$pc_version" ] \
    || fail "versions differ: library $library_version, cxrcaption.pc $pc_version, CLI $cli_version"
[ "$(pkg-config --variable=prefix cxrcaption)" = "$prefix" ] || fail "cxrcaption.pc prefix is not $prefix"
echo "installed $(wc -l <<<"$installed") files, version $pc_version everywhere"

scripts/install.sh --prefix /opt/cxrcaption --destdir "$work/stage" --config "$config" --build-dir "$build_dir" \
    --no-build >/dev/null
[ -L "$work/stage/opt/cxrcaption/lib/libcxrcaption.so" ] || fail "--destdir did not stage under DESTDIR/prefix"
grep -qx 'prefix=/opt/cxrcaption' "$work/stage/opt/cxrcaption/lib/pkgconfig/cxrcaption.pc" \
    || fail "a staged cxrcaption.pc must name the final prefix"
echo "--destdir staging: files under DESTDIR/prefix, cxrcaption.pc names the final prefix"

step "C example with pkg-config"
"$cc" -std=c99 -Wall -Wextra -Werror -pedantic -I examples/c examples/c/caption.c examples/c/png_reader.c \
    -o "$work/caption-pkgconfig" $(pkg-config --cflags --libs cxrcaption libpng16) \
    -Wl,-rpath,"$(pkg-config --variable=libdir cxrcaption)"
readelf -d "$work/caption-pkgconfig" | grep -q "NEEDED.*\[$soname\]" || fail "caption does not need $soname"
"$work/caption-pkgconfig" "$model" "$gray_png" 3 | tee "$work/caption-pkgconfig.txt"
grep -q '^  1\. ' "$work/caption-pkgconfig.txt" || fail "the pkg-config build printed no result"

step "C example with CMake: find_package(cxrcaption)"
cmake -S Tests/integrations/c_consumer -B "$work/c-cmake" -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_BUILD_TYPE=Release \
    -DCMAKE_C_COMPILER="$cc" >"$work/c-cmake.log" || { cat "$work/c-cmake.log"; fail "cmake configure"; }
grep "cxrcaption $pc_version from $prefix/lib/cmake/cxrcaption" "$work/c-cmake.log" || fail "CMake did not find the installed copy"
cmake --build "$work/c-cmake" >"$work/c-build.log" || { cat "$work/c-build.log"; fail "cmake build"; }
readelf -d "$work/c-cmake/caption" | grep -q "NEEDED.*\[$soname\]" \
    || fail "the CMake build must record the SONAME $soname, not a path"
"$work/c-cmake/caption" "$model" "$gray_png" 3 >"$work/caption-cmake.txt"
cmp "$work/caption-pkgconfig.txt" "$work/caption-cmake.txt" || fail "pkg-config and CMake builds print different results"
echo "same output as the pkg-config build"
for wanted in 9.0 0.2 1.0; do
    if cmake -S Tests/integrations/c_consumer -B "$work/c-cmake-$wanted" -DCMAKE_PREFIX_PATH="$prefix" \
        -DCMAKE_C_COMPILER="$cc" -DCXRCAPTION_REQUIRED_VERSION="$wanted" >"$work/c-cmake-$wanted.log" 2>&1; then
        fail "find_package(cxrcaption $wanted) accepted version $pc_version"
    fi
done
echo "find_package(cxrcaption 9.0 / 0.2 / 1.0) refuse $pc_version (cxrcaptionConfigVersion.cmake)"

step "cxrcaption.hpp: strict warnings, and its test program against the installed headers and library"
printf '#include "cxrcaption.hpp"\nint main() { return cxr::abi_version() == CXR_ABI_VERSION ? 0 : 1; }\n' >"$work/hpp_only.cpp"
"$cxx" -std=c++17 -Wall -Wextra -Werror -pedantic -Wconversion -Wsign-conversion -Wold-style-cast \
    $(pkg-config --cflags cxrcaption) -fsyntax-only "$work/hpp_only.cpp"
"$cc" -std=c99 -O1 -I examples/c -c examples/c/png_reader.c -o "$work/png_reader.o"
"$cxx" -std=c++17 -Wall -Wextra -Werror -pedantic -O1 -I examples/c Tests/integrations/hpp_test.cpp "$work/png_reader.o" \
    -o "$work/hpp_test" $(pkg-config --cflags --libs cxrcaption libpng16) -Wl,-rpath,"$prefix/lib"
"$work/hpp_test" "$model" "$gray_png" "$rgb_png"

step "cxrcaption_dcmtk.hpp: strict warnings, with and without OpenJPEG"
printf '#include "cxrcaption_dcmtk.hpp"\nint main() { return cxr::dcmtk::DicomImage().image().struct_size == sizeof(cxr_image) ? 0 : 1; }\n' \
    >"$work/dcmtk_only.cpp"
for flags in "" "-DCXRCAPTION_DCMTK_OPENJPEG $(pkg-config --cflags libopenjp2)"; do
    # shellcheck disable=SC2086
    "$cxx" -std=c++17 -Wall -Wextra -Werror -pedantic -Wconversion -Wsign-conversion -Wold-style-cast \
        $(pkg-config --cflags cxrcaption) $flags -fsyntax-only "$work/dcmtk_only.cpp"
done
echo "compiles alone, -Wconversion -Wsign-conversion -Wold-style-cast -Werror, with and without CXRCAPTION_DCMTK_OPENJPEG"

step "DICOM example (DCMTK) with CMake (OpenJPEG), and with pkg-config + DCMTK link flags (no OpenJPEG)"
cmake -S examples/cpp -B "$work/dicom-cmake" -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_BUILD_TYPE=Release \
    -DCMAKE_CXX_COMPILER="$cxx" >"$work/dicom-cmake.log" || { cat "$work/dicom-cmake.log"; fail "cmake configure (DCMTK?)"; }
grep -q "dicom_caption: JPEG 2000 through OpenJPEG" "$work/dicom-cmake.log" || { cat "$work/dicom-cmake.log"; fail "CMake did not find OpenJPEG"; }
cmake --build "$work/dicom-cmake" >"$work/dicom-build.log" || { cat "$work/dicom-build.log"; fail "cmake build"; }
dicom_caption="$work/dicom-cmake/dicom_caption"
"$cxx" -std=c++17 -Wall -Wextra -Werror -pedantic examples/cpp/dicom_caption.cpp -o "$work/dicom_caption_pc" \
    $(pkg-config --cflags --libs cxrcaption) -Wl,-rpath,"$(pkg-config --variable=libdir cxrcaption)" \
    -ldcmjpls -ldcmjpeg -ldcmdata -loflog -lofstd

dicom_files=("$dicoms/rg1_small.dcm" "$dicoms/rg1_small_signed_rescaled.dcm" "$dicoms/rg1_small_jpeg_baseline.dcm"
             "$dicoms/rgb_planar.dcm" "$dicoms/rg1_thumb_jpeg2000.dcm")
for f in "$readers"/*.dcm; do case "$(basename "$f")" in refused_*) ;; *) dicom_files+=("$f") ;; esac; done
if [ -d "$real_dicoms" ]; then dicom_files+=("$real_dicoms"/*.dcm); else echo "SKIPPED the real DICOMs: $real_dicoms is absent"; fi
dicom_run() { # file: runs both builds (the pkg-config one has no JPEG 2000), keeps the CMake build's output
    local out="$work/dicom-$(basename "$1").txt"
    "$dicom_caption" "$model" "$1" >"$out" || fail "dicom_caption failed on $1"
    case "$1" in
        *jpeg2000*) ;;
        *) "$work/dicom_caption_pc" "$model" "$1" | cmp - "$out" || fail "the two builds differ on $1" ;;
    esac
    "$dicom_caption" "$model" "$1" --attributes | head -1
    grep -q '^  1\. ' "$out" || fail "no impression for $1"
}
for f in "${dicom_files[@]}"; do dicom_run "$f"; done
diff <(sed 1d "$work/dicom-rg1_small.dcm.txt") <(sed 1d "$work/dicom-rg1_small_signed_rescaled.dcm.txt") \
    || fail "signed + RescaleIntercept must give the same impressions as the unsigned original"
echo "rg1_small_signed_rescaled.dcm: the same impressions as rg1_small.dcm (signed pixels + rescale read right)"
if "$work/dicom_caption_pc" "$model" "$dicoms/rg1_thumb_jpeg2000.dcm" >/dev/null 2>"$work/j2k.err"; then
    fail "dicom_caption built without OpenJPEG accepted JPEG 2000 pixel data"
fi
grep -q 'cannot decode its pixel data: transfer syntax JPEG 2000.*needs OpenJPEG' "$work/j2k.err" \
    || { cat "$work/j2k.err"; fail "unclear JPEG 2000 message"; }
echo "JPEG 2000 refused without OpenJPEG: $(cat "$work/j2k.err")"
for f in "$readers"/refused_*.dcm; do
    if "$dicom_caption" "$model" "$f" >/dev/null 2>"$work/refused.err"; then fail "dicom_caption accepted $f"; fi
    echo "refused: $(cat "$work/refused.err")"
done

step "Python package: fresh virtualenv, pip install ./python (library bundled), pytest"
"$python_base" -m venv "$work/venv"
py="$work/venv/bin/python"
"$py" -m pip install -q --disable-pip-version-check "${pip_args[@]}" -r python/tests/requirements.txt
cp -r python "$work/python-src"  # pip builds in the source folder: keep the checkout clean
rm -rf "$work/python-src/build" "$work/python-src/src/cxrcaption.egg-info" "$work/python-src/src/cxrcaption/libcxrcaption.so"
CXRCAPTION_BUNDLE_LIBRARY="$prefix/lib/libcxrcaption.so" \
    "$py" -m pip install -q --disable-pip-version-check "${pip_args[@]}" "$work/python-src"
(cd "$work" && env -u CXRCAPTION_LIBRARY "$py" -c 'import cxrcaption, os
path = cxrcaption.library_path()
assert path == os.path.join(os.path.dirname(cxrcaption.__file__), "libcxrcaption.so"), path
assert "site-packages" in cxrcaption.__file__, cxrcaption.__file__
print("cxrcaption", cxrcaption.__version__, "from", os.path.dirname(cxrcaption.__file__), "with its bundled library")')
env -u CXRCAPTION_LIBRARY "$py" -m pytest -q -p no:cacheprovider python/tests
env -u CXRCAPTION_LIBRARY "$py" -m pytest -q -p no:cacheprovider examples/python/tests

step "pydicom example prints what the DCMTK example prints"
pydicom_same() { # file
    local out="$work/dicom-$(basename "$1").txt"
    env -u CXRCAPTION_LIBRARY "$py" examples/python/pydicom_caption.py --model "$model" "$1" >"$work/pydicom.txt"
    cmp "$work/pydicom.txt" "$out" || { diff "$work/pydicom.txt" "$out" | head; fail "pydicom and DCMTK examples differ on $1"; }
    echo "identical: $(basename "$1")"
}
for f in "${dicom_files[@]}"; do pydicom_same "$f"; done

printf '\nintegrations: all checks passed\n'
