"""The package's copy of the C ABI against its owners: include/cxrcaption.h and the library itself.

The header owns the limits (#define CXR_...), the enums and the struct layouts; the Python package mirrors
them by hand (cxrcaption/_capi.py). These tests fail when the two drift apart:
- every numeric CXR_ macro of the header is a Python constant of the same name (without CXR_) and value;
- every enum of the header is a Python IntEnum with the same members, name by name and value by value;
- a C program compiled against the header prints sizeof and offsetof of every field of every struct, which
  must match ctypes.sizeof and each ctypes field (name, order, offset, size, integer/float/pointer kind);
- the library accepts struct_size up to exactly ctypes.sizeof of each Python struct, and its limits
  (beam_width, max_tokens, length_penalty, image sides) are the Python constants.

The header is found from this file's place in the repository (or $CXR_TEST_HEADER); the tests that need it
are skipped when the package is tested outside the repository. The C compiler is $CXR_CC, $CC, else cc,
gcc or clang; only the layout test is skipped without one.
"""
import ctypes
import math
import os
import re
import shutil
import subprocess
import sys
import tokenize

import numpy as np
import pytest

import cxrcaption
from cxrcaption import CXRError, JoinRule, Photometric, PixelFormat, Status, _capi

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
HEADER = os.environ.get("CXR_TEST_HEADER", os.path.join(ROOT, "include", "cxrcaption.h"))

#: C enum -> (Python IntEnum, prefixes stripped from the C member names, first match wins).
ENUMS = {
    "cxr_status": (Status, ("CXR_E_", "CXR_")),
    "cxr_pixel_format": (PixelFormat, ("CXR_PIXEL_",)),
    "cxr_photometric": (Photometric, ("CXR_",)),
    "cxr_join_rule": (JoinRule, ("CXR_JOIN_",)),
}
#: C struct -> the ctypes Structure that mirrors it. Every struct of the header is versioned (struct_size).
STRUCTS = {
    "cxr_image": _capi.Image,
    "cxr_generate_params": _capi.GenerateParams,
    "cxr_model_info": _capi.ModelInfo,
}
#: CXR_ macros of the header that Python deliberately does not mirror (none today).
NOT_MIRRORED = set()
#: Constants of the package that are its own, not the header's: the decoded-image bound of its readers.
PACKAGE_ONLY = {"MAX_IMAGE_PIXELS"}


# --- Reading the header -----------------------------------------------------------------------------------

_NUMBER = re.compile(r"^([-+]?(?:\d+\.\d*|\.\d+|\d+)(?:[eE][-+]?\d+)?)[uUlLfF]*$")


def _number(text):
    match = _NUMBER.match(text.strip().strip("()").strip())
    if not match:
        return None
    literal = match.group(1)
    return float(literal) if any(c in literal for c in ".eE") else int(literal)


def _code(text):
    """The header without comments."""
    text = re.sub(r"/\*.*?\*/", " ", text, flags=re.S)
    return re.sub(r"//[^\n]*", " ", text)


@pytest.fixture(scope="module")
def header():
    if not os.path.isfile(HEADER):
        pytest.skip(f"{HEADER} is absent: the package is tested outside the repository (set CXR_TEST_HEADER "
                    f"to include/cxrcaption.h to run the ABI checks)")
    with open(HEADER, encoding="utf-8") as f:
        return _code(f.read())


def header_macros(code):
    """{name: value} of every `#define CXR_...` (values None when not a numeric literal)."""
    return {name: _number(value) for name, value in
            re.findall(r"^[ \t]*#[ \t]*define[ \t]+(CXR_\w+)[ \t]+([^\n]+?)[ \t]*$", code, flags=re.M)}


def header_enums(code):
    """{enum name: {member: value}} in declaration order (implicit values count on from the previous one)."""
    enums = {}
    for name, body in re.findall(r"\benum\s+(\w+)\s*\{(.*?)\}", code, flags=re.S):
        members, value = {}, -1
        for item in filter(None, (part.strip() for part in body.split(","))):
            member, _, explicit = (s.strip() for s in item.partition("="))
            value = value + 1 if not explicit else _number(explicit)
            assert value is not None, f"enum {name}: {item!r} is not a number the test understands"
            members[member] = value
        enums[name] = members
    return enums


def header_structs(code):
    """{struct name: [field names in order]} of every struct with a body."""
    structs = {}
    for name, body in re.findall(r"\bstruct\s+(\w+)\s*\{(.*?)\}", code, flags=re.S):
        fields = []
        for declaration in filter(None, (d.strip() for d in body.split(";"))):
            pointer_to_function = re.search(r"\(\s*\*\s*(\w+)\s*\)", declaration)
            if pointer_to_function:
                fields.append(pointer_to_function.group(1))
            else:
                fields.append(re.findall(r"\w+", declaration.split("[")[0])[-1])
        structs[name] = fields
    return structs


# --- Constants and enums ----------------------------------------------------------------------------------

def test_every_header_macro_is_a_python_constant(header):
    macros = header_macros(header)
    assert {"CXR_ABI_VERSION", "CXR_MAX_BEAM_WIDTH", "CXR_MAX_TOKENS", "CXR_MIN_IMAGE_SIDE",
            "CXR_MAX_IMAGE_SIDE", "CXR_MAX_LENGTH_PENALTY"} <= set(macros), f"the parser missed macros: {macros}"
    problems = []
    for name, value in macros.items():
        if name in NOT_MIRRORED:
            continue
        python_name = name[len("CXR_"):]
        if value is None:
            problems.append(f"{name} is not a numeric literal: mirror it by hand and teach this test")
        elif not hasattr(cxrcaption, python_name) or python_name not in cxrcaption.__all__:
            problems.append(f"{name} = {value!r}: cxrcaption.{python_name} is missing (or not in __all__)")
        else:
            mirrored = getattr(cxrcaption, python_name)
            if type(mirrored) is not type(value) or mirrored != value:
                problems.append(f"{name} = {value!r} in the header, cxrcaption.{python_name} = {mirrored!r}")
    constants = {n for n in cxrcaption.__all__ if n.isupper() and not isinstance(getattr(cxrcaption, n), type)}
    extra = sorted(n for n in constants - PACKAGE_ONLY if "CXR_" + n not in macros)
    assert not PACKAGE_ONLY & {n[len("CXR_"):] for n in macros}, "a package-only constant is now in the header"
    assert not extra, f"Python constants without a CXR_ macro in the header: {extra}"
    assert not problems, "\n".join(problems)


def test_every_header_enum_is_a_python_int_enum(header):
    enums = header_enums(header)
    assert set(enums) == set(ENUMS), f"header enums {sorted(enums)}, mirrored {sorted(ENUMS)}: update ENUMS"
    for c_name, members in enums.items():
        python_enum, prefixes = ENUMS[c_name]
        expected = {}
        for member, value in members.items():
            prefix = next((p for p in prefixes if member.startswith(p)), None)
            assert prefix is not None, f"{c_name}.{member} starts with none of {prefixes}"
            expected[member[len(prefix):]] = value
        actual = {name: int(member) for name, member in python_enum.__members__.items()}
        different = sorted(n for n in set(actual) & set(expected) if actual[n] != expected[n])
        missing, extra = sorted(set(expected) - set(actual)), sorted(set(actual) - set(expected))
        assert actual == expected, (f"{c_name} vs {python_enum.__name__}: missing {missing}, extra {extra}, "
                                    f"different values {different}")
        assert python_enum.__name__ in cxrcaption.__all__


# --- Struct layouts: a C program compiled against the header ----------------------------------------------

def _compiler():
    for candidate in (os.environ.get("CXR_CC"), os.environ.get("CC"), "cc", "gcc", "clang"):
        if candidate and shutil.which(candidate):
            return shutil.which(candidate)
    return None


_C_PROLOGUE = r"""
#include <stddef.h>
#include <stdio.h>
#include "cxrcaption.h"
#if defined(__GNUC__) || defined(__clang__)
#define CXR_IS_POINTER(x) (__builtin_classify_type(x) == 5)
#else
#define CXR_IS_POINTER(x) 0
#endif
#define CXR_KIND(x) _Generic((x), int8_t: "i8", uint8_t: "u8", int16_t: "i16", uint16_t: "u16", \
    int32_t: "i32", uint32_t: "u32", int64_t: "i64", uint64_t: "u64", float: "f32", double: "f64", \
    default: CXR_IS_POINTER(x) ? "ptr" : "other")
int main(void) {
"""


def _c_program(macros, enums, structs):
    lines = [_C_PROLOGUE]
    for name in (name for name, value in macros.items() if value is not None):
        lines.append(f'    printf("macro {name} %.17g\\n", (double)({name}));')
    for members in enums.values():
        for member in members:
            lines.append(f'    printf("enum {member} %lld\\n", (long long)({member}));')
    for struct, fields in structs.items():
        lines.append(f'    printf("struct {struct} %zu\\n", sizeof(struct {struct}));')
        for field in fields:
            lvalue = f"((struct {struct} *)0)->{field}"
            lines.append(f'    printf("field {struct} {field} %zu %zu %s\\n", offsetof(struct {struct}, {field}), '
                         f'sizeof({lvalue}), CXR_KIND({lvalue}));')
    lines.append("    return 0;\n}\n")
    return "\n".join(lines)


def _ctypes_kind(field_type):
    """The kind the C program prints (i32, u64, f64, ptr, ...) for a ctypes field type."""
    if issubclass(field_type, (ctypes._Pointer, ctypes._CFuncPtr)):
        return "ptr"
    code = getattr(field_type, "_type_", None) if issubclass(field_type, ctypes._SimpleCData) else None
    if code in ("P", "z", "Z"):
        return "ptr"
    if code and code in "bBhHiIlLqQ":
        return ("u" if code.isupper() else "i") + str(8 * ctypes.sizeof(field_type))
    if code and code in "fd":
        return "f" + str(8 * ctypes.sizeof(field_type))
    return "other"


@pytest.fixture(scope="module")
def c_layout(header, tmp_path_factory):
    """What the C compiler says: {"macro": {...}, "enum": {...}, "struct": {...}, "field": {struct: [...]}}."""
    compiler = _compiler()
    if compiler is None:
        pytest.skip("no C compiler (cc, gcc, clang; or $CXR_CC): the struct layouts are not compared")
    work = tmp_path_factory.mktemp("abi")
    source, program = work / "layout.c", work / "layout"
    source.write_text(_c_program(header_macros(header), header_enums(header), header_structs(header)))
    built = subprocess.run([compiler, "-std=c11", "-I", os.path.dirname(HEADER), str(source), "-o", str(program)],
                           capture_output=True, text=True)
    assert built.returncode == 0, f"{compiler} could not build the layout program:\n{built.stderr}"
    printed = subprocess.run([str(program)], capture_output=True, text=True, check=True).stdout
    layout = {"macro": {}, "enum": {}, "struct": {}, "field": {}}
    for line in printed.splitlines():
        what, *rest = line.split()
        if what == "macro":
            layout["macro"][rest[0]] = float(rest[1])
        elif what == "enum":
            layout["enum"][rest[0]] = int(rest[1])
        elif what == "struct":
            layout["struct"][rest[0]] = int(rest[1])
        else:
            layout["field"].setdefault(rest[0], []).append((rest[1], int(rest[2]), int(rest[3]), rest[4]))
    return layout


def test_the_header_parser_reads_what_the_compiler_reads(header, c_layout):
    """Guards the regexes above: the values they read are the compiler's."""
    assert {n: float(v) for n, v in header_macros(header).items() if v is not None} == c_layout["macro"]
    assert {m: v for members in header_enums(header).values() for m, v in members.items()} == c_layout["enum"]


@pytest.mark.parametrize("struct", sorted(STRUCTS))
def test_ctypes_structs_have_the_c_layout(header, c_layout, struct):
    structs = header_structs(header)
    assert set(structs) == set(STRUCTS), f"header structs {sorted(structs)}, mirrored {sorted(STRUCTS)}: update STRUCTS"
    python = STRUCTS[struct]
    c_fields = c_layout["field"][struct]
    python_fields = [(name, getattr(python, name).offset, getattr(python, name).size, _ctypes_kind(field_type))
                     for name, field_type in python._fields_]
    assert [f[0] for f in python_fields] == [f[0] for f in c_fields], f"{struct}: field names or their order differ"
    assert python_fields == c_fields, f"{struct}: (name, offset, size, kind) differ"
    assert ctypes.sizeof(python) == c_layout["struct"][struct], f"sizeof(struct {struct}) vs ctypes.sizeof"
    assert c_fields[0][0] == "struct_size" and c_fields[0][3] == "u32", f"{struct} is not versioned"


# --- The library's own values ---------------------------------------------------------------------------

def test_abi_version_is_the_librarys():
    assert cxrcaption.library().cxr_abi_version() == cxrcaption.ABI_VERSION


@pytest.mark.parametrize("struct", sorted(STRUCTS))
def test_library_accepts_struct_size_up_to_ctypes_sizeof(struct):
    """cxr_*_init: every multiple of 8 up to ctypes.sizeof is accepted (and exactly that many bytes written),
    anything larger, 0 or not a multiple of 8 is UNSUPPORTED_STRUCT_SIZE (and nothing written)."""
    python = STRUCTS[struct]
    size = ctypes.sizeof(python)
    init = getattr(cxrcaption.library(), struct + "_init")
    slack = 256
    canary = 0xA5

    def call(struct_size):
        buffer = (ctypes.c_uint8 * (size + slack))(*([canary] * (size + slack)))
        status = init(ctypes.cast(buffer, ctypes.POINTER(python)), struct_size)
        return status, bytes(buffer)

    for struct_size in range(8, size + 1, 8):
        status, written = call(struct_size)
        assert status == Status.OK, f"{struct}_init refused struct_size {struct_size} (ctypes.sizeof is {size}): " \
                                    f"{cxrcaption.last_error()}"
        assert int.from_bytes(written[:4], sys.byteorder) == struct_size
        assert written[struct_size:] == bytes([canary]) * (size + slack - struct_size), \
            f"{struct}_init({struct_size}) wrote past struct_size"
    for struct_size in [0, 4, size - 4, size + 4] + list(range(size + 8, size + slack + 1, 8)):
        status, written = call(struct_size)
        assert status == Status.UNSUPPORTED_STRUCT_SIZE, \
            f"{struct}_init accepted struct_size {struct_size}; ctypes.sizeof({python.__name__}) is {size}"
        assert written == bytes([canary]) * (size + slack), f"{struct}_init({struct_size}) failed but wrote"


def _limit_pattern(limit):
    """A regex for a limit as the library's message writes it (100.0 may read 100 or 100.0)."""
    number = rf"{int(limit)}(\.0+)?" if isinstance(limit, float) and limit.is_integer() else re.escape(str(limit))
    return rf"(?<!\d)(?<!\d\.){number}(?!\d)(?!\.\d)"  # a whole number: "1...64" names 64, "640" does not


def _rejected(call, status, limit, what):
    """call() (one step past `limit`) fails with `status` and a message that names the limit."""
    try:
        call()
    except CXRError as error:
        assert error.status == status, error
        assert re.search(_limit_pattern(limit), error.message), \
            f"the library's message does not name the limit {limit}: {error.message!r}"
    else:
        pytest.fail(f"the library accepted {what}: its limit is not the Python constant {limit}")


def test_library_generate_limits_are_the_python_constants(session):
    image = np.random.RandomState(7).randint(0, 256, (cxrcaption.MIN_IMAGE_SIDE,) * 2).astype(np.uint8)
    beams = cxrcaption.MAX_BEAM_WIDTH
    assert len(session.generate(image, beam_width=beams, max_results=beams, max_tokens=4)) >= 1
    _rejected(lambda: session.generate(image, beam_width=beams + 1, max_results=1), Status.INVALID_ARGUMENT, beams,
              f"beam_width {beams + 1}")
    tokens = cxrcaption.MAX_TOKENS
    assert len(session.generate(image, beam_width=1, max_tokens=tokens, return_attention=False)) == 1
    _rejected(lambda: session.generate(image, beam_width=1, max_tokens=tokens + 1), Status.INVALID_ARGUMENT, tokens,
              f"max_tokens {tokens + 1}")
    penalty = cxrcaption.MAX_LENGTH_PENALTY
    assert len(session.generate(image, beam_width=1, max_tokens=4, length_penalty=penalty)) == 1
    above = math.nextafter(penalty, math.inf)
    _rejected(lambda: session.generate(image, beam_width=1, length_penalty=above), Status.INVALID_ARGUMENT, penalty,
              f"length_penalty {above!r}")


@pytest.mark.parametrize("side", ["width", "height"])
def test_library_image_side_limits_are_the_python_constants(session, side):
    smallest, largest = cxrcaption.MIN_IMAGE_SIDE, cxrcaption.MAX_IMAGE_SIDE

    def generate(length):
        sides = {"width": smallest, "height": smallest, side: length}
        pixels = bytes(range(256)) * (sides["width"] * sides["height"] // 256 + 1)
        return session.generate(pixels, format=PixelFormat.GRAY8, beam_width=1, max_tokens=4, **sides)

    assert len(generate(smallest)) == 1
    _rejected(lambda: generate(smallest - 1), Status.INVALID_IMAGE, smallest, f"image {side} {smallest - 1}")
    _rejected(lambda: generate(largest + 1), Status.INVALID_IMAGE, largest, f"image {side} {largest + 1}")


# --- One owner: the package writes no limit as a number of its own ----------------------------------------

def test_package_sources_write_no_limit_literal():
    """Outside the constants' own definitions in _capi.py, a limit is written as its constant, in code and in
    messages and docstrings alike. (MIN_IMAGE_SIDE 16 and MAX_LENGTH_PENALTY 100 are too common as numbers
    to police this way.)"""
    limits = {cxrcaption.MAX_BEAM_WIDTH, cxrcaption.MAX_TOKENS, cxrcaption.MAX_IMAGE_SIDE}
    words = re.compile(r"(?<![\w.])(" + "|".join(str(n) for n in sorted(limits)) + r")(?![\w.])")
    package = os.path.dirname(os.path.abspath(cxrcaption.__file__))
    found = []
    for name in sorted(os.listdir(package)):
        if not name.endswith(".py"):
            continue
        with tokenize.open(os.path.join(package, name)) as f:
            tokens = list(tokenize.generate_tokens(f.readline))
        for token in tokens:
            if token.type not in (tokenize.NUMBER, tokenize.STRING, tokenize.COMMENT):
                continue
            line = token.line.strip()
            if name == "_capi.py" and re.match(r"^[A-Z_]+ = [\d.]+$", line):
                continue  # the definitions themselves
            if words.search(token.string):
                found.append(f"{name}:{token.start[0]}: {line}")
    assert not found, "limits written as numbers (use the constants):\n" + "\n".join(found)
