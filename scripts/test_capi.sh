#!/usr/bin/env bash
# Builds libcxrcaption.so and proves the C API from the outside: header checks (C99 pedantic, C++17), exported
# symbols and dependencies, the C test program (bad-input tables, happy path, concurrency), identity with the
# Swift API, the C example run with the Swift toolchain's libraries hidden, the Python example and its pytest
# suite. Exits non-zero on the first failure.
#
# Environment:
#   CXR_BUILD_DIR     SwiftPM scratch path (default .build)
#   CXR_CONFIG        debug or release (default debug)
#   CXR_PYTHON        a Python with numpy, pillow and pytest (default: python3); CXR_SKIP_PYTHON=1 skips it
#   CXR_CC, CXR_CXX   C and C++ compilers (default cc, c++)
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
build_dir="${CXR_BUILD_DIR:-.build}"
config="${CXR_CONFIG:-debug}"
python="${CXR_PYTHON:-python3}"
# The system compilers, else the Swift toolchain's clang.
cc="${CXR_CC:-$(command -v cc || command -v clang)}"
cxx="${CXR_CXX:-$(command -v c++ || command -v clang++)}"
model="$root/Tests/CXRKitTests/Fixtures/golden/model.safetensors"
fixtures="$root/Tests/c/fixtures"
real_cxr="$root/../shared/data/real-cxr"

step() { printf '\n== %s\n' "$*"; }
fail() { printf 'FAILED: %s\n' "$*" >&2; exit 1; }

step "build libcxrcaption.so and the test tool ($config, $build_dir)"
swift build --scratch-path "$build_dir" -c "$config" --product cxrcaption
swift build --scratch-path "$build_dir" -c "$config" --product cxrcaption-test-tool
bin="$(swift build --scratch-path "$build_dir" -c "$config" --show-bin-path)"
lib="$bin/libcxrcaption.so"
[ -f "$lib" ] || fail "no $lib"
# The SONAME follows CXR_ABI_VERSION (ABI 1 is .so.0). Programs linked with -lcxrcaption record it, so in the
# build folder it is a link to the library, as an install makes it (scripts/install.sh).
abi="$(sed -nE 's/^#define CXR_ABI_VERSION ([0-9]+)$/\1/p' include/cxrcaption.h)"
soname="libcxrcaption.so.$((abi - 1))"
readelf -d "$lib" | grep -q "SONAME.*\[$soname\]" || fail "$lib has no SONAME $soname (CXR_ABI_VERSION $abi)"
ln -sfn libcxrcaption.so "$bin/$soname"
out="$build_dir/capi-tests"
mkdir -p "$out"

step "header: C99 -pedantic -Werror and C++17"
"$cc" -std=c99 -Wall -Wextra -Werror -pedantic -I include -c Tests/c/header_check.c -o "$out/header_check_c.o"
"$cxx" -std=c++17 -Wall -Wextra -Werror -pedantic -x c++ -I include -c Tests/c/header_check.c -o "$out/header_check_cpp.o"
"$cxx" -std=c++17 -Wall -Wextra -Werror -pedantic -I include Tests/c/cpp_smoke.cpp -o "$out/cpp_smoke" \
    -L "$bin" -lcxrcaption -Wl,-rpath,"$bin"
"$out/cpp_smoke" "$model"

step "exports and dependencies of $lib"
exported="$(readelf --dyn-syms -W "$lib" | awk '$7 != "UND" && ($5 == "GLOBAL" || $5 == "WEAK") {print $8}' | sort -u)"
others="$(grep -v '^cxr_' <<<"$exported" || true)"
[ -z "$others" ] || fail "symbols other than cxr_* are exported: $(head -5 <<<"$others" | tr '\n' ' ')"
declared="$(grep -oE '\bcxr_[a-z_0-9]+\(' include/cxrcaption.h | tr -d '(' | sort -u)"
missing="$(comm -23 <(echo "$declared") <(echo "$exported"))"
[ -z "$missing" ] || fail "declared in the header but not exported: $missing"
echo "exported: $(wc -l <<<"$exported") symbols, all cxr_*, every header function among them"
needed="$(readelf -d "$lib" | awk '/NEEDED/ {print $5}' | tr -d '[]')"
echo "NEEDED: $(tr '\n' ' ' <<<"$needed")"
if grep -qi swift <<<"$needed"; then fail "the .so needs a Swift runtime library"; fi
# The image readers (libpng, libjpeg, DCMTK, OpenJPEG) belong to the CLI only.
if grep -Eqi 'png|jpeg|dcm|ofstd|oflog|openjp|charls|ijg' <<<"$needed"; then
    fail "the .so needs an image-reading library (only the CLI may): $(tr '\n' ' ' <<<"$needed")"
fi
readelf -d "$lib" | grep -E 'SONAME|RUNPATH|RPATH' || true

step "C test program against include/ and the .so"
"$cc" -std=c99 -Wall -Wextra -Werror -pedantic -O1 -I include -I examples/c \
    Tests/c/test_capi.c examples/c/png_reader.c -o "$out/test_capi" \
    -L "$bin" -lcxrcaption -lpng16 -lpthread -lm -Wl,-rpath,"$bin"
if [ -d "$real_cxr" ]; then real_arg="$real_cxr"; else real_arg="$out/no-shared-data"; fi
"$out/test_capi" "$model" "$fixtures" "$real_arg" --dump "$out/c-api.dump"

step "identical results from the C API and the Swift API"
"$bin/cxrcaption-test-tool" capi-parity --model "$model" -o "$out/swift-api.dump" \
    "$fixtures/nih_txv_00000001_000.png" "$fixtures/iu_CXR3_IM-1384-1001.png"
cmp "$out/c-api.dump" "$out/swift-api.dump" || { diff "$out/c-api.dump" "$out/swift-api.dump" | head -20; fail "C and Swift results differ"; }
echo "identical: $(grep -c '^result' "$out/c-api.dump") results over $(grep -c '^image' "$out/c-api.dump") image/parameter pairs"

step "C example, with the .so copied alone and the Swift toolchain's libraries hidden"
"$cc" -std=c99 -Wall -Wextra -Werror -pedantic -I include -I examples/c \
    examples/c/caption.c examples/c/png_reader.c -o "$out/caption" -L "$bin" -lcxrcaption -lpng16 -Wl,-rpath,'$ORIGIN'
isolated="$(mktemp -d)"
trap 'rm -rf "$isolated"' EXIT
cp "$lib" "$isolated/$soname"
cp "$out/caption" "$isolated/"
ldd "$isolated/$soname" | tee "$out/ldd.txt"
if grep -q 'not found' "$out/ldd.txt"; then fail "unresolved libraries"; fi
if grep -qi swift "$out/ldd.txt"; then fail "the .so resolves a Swift library"; fi
swift_lib="$(dirname "$(dirname "$(readlink -f "$(command -v swift)")")")/lib/swift/linux"
empty="$isolated/empty"
mkdir -p "$empty"
if [ -d "$swift_lib" ] && unshare -m true 2>/dev/null; then
    unshare -m bash -c "mount --bind '$empty' '$swift_lib' && [ -z \"\$(ls -A '$swift_lib')\" ] \
        && echo 'hidden: $swift_lib' && env -u LD_LIBRARY_PATH '$isolated/caption' '$model' '$fixtures/iu_CXR3_IM-1384-1001.png' 3"
else
    echo "cannot hide $swift_lib (no mount namespace here); running with LD_LIBRARY_PATH unset only"
    env -u LD_LIBRARY_PATH "$isolated/caption" "$model" "$fixtures/iu_CXR3_IM-1384-1001.png" 3
fi
if "$isolated/caption" "$model" "$root/include/cxrcaption.h" >/dev/null 2>"$out/caption-bad.txt"; then fail "caption accepted a non-PNG"; fi
echo "a non-PNG is refused: $(cat "$out/caption-bad.txt")"

if [ "${CXR_SKIP_PYTHON:-0}" = 1 ]; then
    echo "Python: SKIPPED (CXR_SKIP_PYTHON=1)"
else
    step "Python example and pytest ($python)"
    export CXRCAPTION_LIBRARY="$lib"
    "$python" examples/python/caption.py --model "$model" "$fixtures/nih_txv_00000001_000.png" \
        "$fixtures/iu_CXR3_IM-1384-1001.png"
    CXR_TEST_MODEL="$model" CXR_TEST_FIXTURES="$fixtures" "$python" -m pytest -q examples/python/tests
fi

printf '\nC API: all checks passed\n'
