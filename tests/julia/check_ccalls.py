#!/usr/bin/env python3
"""Checks LibUNet.jl's ccalls against unet.h and the built libunet.so (no Julia needed).

For every `ccall((:name, libunet), Ret, (ArgTypes...), args...)` in bindings/julia/src:
  - `name` is exported by libunet.so (nm -D),
  - the call passes as many arguments as it declares types, and as many as unet.h's prototype
    has parameters,
  - the return and argument types are the Julia equivalents of the C types (a C type may have
    several: `const char *` is Cstring or Ptr{UInt8}; a pointer parameter is Ptr{T} or Ref{T}).
Every `@cfunction(f, Ret, (ArgTypes...))` must match one of unet.h's callback typedefs.

Usage: check_ccalls.py HEADER LIBUNET_SO JULIA_DIR      (or --self-test)
Prints one line per call and "N passed, N failed"; exits non-zero on any failure.
"""

import os
import re
import subprocess
import sys

# ---- unet.h ----------------------------------------------------------------------------------

SCALARS = {
    "int": "Int32", "unsigned": "UInt32", "double": "Float64", "float": "Float32",
    "int64_t": "Int64", "uint64_t": "UInt64", "uint32_t": "UInt32", "uint16_t": "UInt16",
    "uint8_t": "UInt8", "size_t": "UInt64",
}


def strip_c_comments(text):
    return re.sub(r"/\*.*?\*/", " ", text, flags=re.S)


def c_param_type(param):
    """'const int64_t *shape' or 'int64_t bbox[4]' -> the C type ('int64_t bbox[4]' -> 'int64_t *')."""
    param = " ".join(param.split())
    array = "[" in param
    if array:
        param = param[: param.index("[")].strip()
    m = re.match(r"^(.*?)([A-Za-z_]\w*)$", param)
    if not m or not m.group(1).strip():
        raise ValueError(f"parameter without a name in unet.h: {param!r}")
    return m.group(1).strip() + (" *" if array else "")


def parse_header(text):
    """(functions, callbacks, enums, opaque): name -> (return C type, [parameter C types])."""
    text = strip_c_comments(text).replace("\\\n", " ")  # join continued preprocessor lines
    code = "\n".join(l for l in text.splitlines() if not l.lstrip().startswith("#"))
    code = code.replace('extern "C" {', " ")
    functions, callbacks, enums, opaque = {}, {}, set(), set()
    for stmt in code.split(";"):
        s = " ".join(stmt.split()).lstrip("} ").strip()
        if not s:
            continue
        if s.startswith("UNET_API "):
            m = re.match(r"UNET_API (.*?)([A-Za-z_]\w*)\((.*)\)$", s)
            ret, name, params = m.groups()
            params = [] if params.strip() in ("void", "") else [c_param_type(p) for p in params.split(",")]
            functions[name] = (ret.strip(), params)
        elif s.startswith("typedef enum "):
            enums.add(s[s.index("}") + 1:].strip())
        elif s.startswith("typedef struct "):
            opaque.add(s.split()[-1])
        elif s.startswith("typedef "):
            m = re.match(r"typedef (.*?)\(\*\s*(\w+)\)\((.*)\)$", s)
            ret, name, params = m.groups()
            callbacks[name] = (ret.strip(), [c_param_type(p) for p in params.split(",")])
        else:
            raise ValueError(f"unparsed statement in unet.h: {s}")
    return functions, callbacks, enums, opaque


class TypeMap:
    """The Julia types that may stand for a C type of unet.h."""

    STRINGS = {"Cstring", "Ptr{UInt8}", "Ptr{Int8}"}

    def __init__(self, enums, opaque, callbacks):
        self.enums, self.opaque, self.callbacks = enums, opaque, callbacks

    def accepted(self, c_type, where):
        """where: 'param' (Ref allowed at the top), 'return', 'inner' (inside Ptr/Ref), 'callback'."""
        tokens = c_type.replace("*", " * ").split()
        levels = tokens.count("*")
        base = [t for t in tokens if t not in ("const", "*")]
        if len(base) != 1:
            raise ValueError(f"C type {c_type!r} not understood")
        base = base[0]
        if levels == 0:
            if base == "void":
                return {"Cvoid"} if where == "return" else set()
            if base in SCALARS:
                return {SCALARS[base]}
            if base in self.enums:
                return {"UInt32"}
            if base in self.callbacks:
                return {"Ptr{Cvoid}"}
            raise ValueError(f"C type {c_type!r} has no Julia equivalent in this checker")
        if levels == 1 and base == "char":
            return set(self.STRINGS)
        if levels == 1 and (base == "void" or base in self.opaque):
            return {"Ptr{Cvoid}"}
        pointee = c_type[: c_type.rindex("*")].strip()
        inner = self.accepted(pointee, "inner")
        out = {f"Ptr{{{t}}}" for t in inner}
        if where == "param":
            out |= {f"Ref{{{t}}}" for t in inner}
        return out


# ---- Julia sources ---------------------------------------------------------------------------

JULIA_ALIASES = {
    "Cint": "Int32", "Cuint": "UInt32", "Cfloat": "Float32", "Cdouble": "Float64",
    "Csize_t": "UInt64", "Clonglong": "Int64", "Culonglong": "UInt64", "Cchar": "Int8",
    "Cuchar": "UInt8", "Cshort": "Int16", "Cushort": "UInt16", "Int": "Int64", "UInt": "UInt64",
}


def normalize_julia_type(t):
    t = "".join(t.split())
    return re.sub(r"[A-Za-z_]\w*", lambda m: JULIA_ALIASES.get(m.group(0), m.group(0)), t)


def blank_comments_and_strings(src):
    """The source with comments and string contents replaced by spaces (offsets kept)."""
    out = list(src)
    i, n = 0, len(src)

    def blank(a, b):
        for k in range(a, b):
            if out[k] != "\n":
                out[k] = " "

    while i < n:
        if src.startswith("#=", i):  # nested block comments
            depth, j = 1, i + 2
            while j < n and depth:
                if src.startswith("#=", j):
                    depth, j = depth + 1, j + 2
                elif src.startswith("=#", j):
                    depth, j = depth - 1, j + 2
                else:
                    j += 1
            blank(i, j)
            i = j
        elif src[i] == "#":
            j = src.find("\n", i)
            j = n if j < 0 else j
            blank(i, j)
            i = j
        elif src.startswith('"""', i):
            j = src.find('"""', i + 3)
            j = n if j < 0 else j + 3
            blank(i + 3, j - 3)
            i = j
        elif src[i] == '"':
            j = i + 1
            while j < n and src[j] != '"':
                j += 2 if src[j] == "\\" else 1
            blank(i + 1, j)
            i = j + 1
        else:
            i += 1
    return "".join(out)


def split_top(text):
    """Split at commas outside (), [], {}."""
    parts, depth, cur = [], 0, []
    for ch in text:
        if ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
        if ch == "," and depth == 0:
            parts.append("".join(cur))
            cur = []
        else:
            cur.append(ch)
    parts.append("".join(cur))
    parts = [p.strip() for p in parts]
    if parts and parts[-1] == "":
        parts.pop()  # trailing comma
    return parts


def matching_paren(text, open_index):
    depth = 0
    for k in range(open_index, len(text)):
        if text[k] in "([{":
            depth += 1
        elif text[k] in ")]}":
            depth -= 1
            if depth == 0:
                return k
    raise ValueError("unbalanced parentheses")


def tuple_items(text):
    text = text.strip()
    if not (text.startswith("(") and text.endswith(")")):
        raise ValueError(f"argument types are not a literal tuple: {text}")
    return split_top(text[1:-1])


def find_calls(code, keyword):
    """(line, [top-level arguments]) of every `keyword(` in blanked code."""
    calls = []
    for m in re.finditer(r"(?<![\w.])" + re.escape(keyword) + r"\s*\(", code):
        open_index = m.end() - 1
        close = matching_paren(code, open_index)
        calls.append((code.count("\n", 0, m.start()) + 1, split_top(code[open_index + 1:close])))
    return calls


# ---- the check -------------------------------------------------------------------------------

def check_sources(sources, functions, callbacks, typemap, exported):
    """sources: {file name: text}. Returns (passed lines, failure lines, bound names)."""
    passed, failed, bound = [], [], set()
    for fname, src in sorted(sources.items()):
        code = blank_comments_and_strings(src)
        if "@ccall" in code:
            failed.append(f"{fname}: uses @ccall; this checker reads ccall((:name, libunet), ...) only")
        for line, args in find_calls(code, "ccall"):
            where = f"{fname}:{line}"
            m = re.fullmatch(r"\(\s*:(\w+)\s*,\s*(\w+)\s*\)", args[0]) if args else None
            if not m or len(args) < 3:
                failed.append(f"{where}: not of the form ccall((:name, libunet), Ret, (Types...), args...)")
                continue
            name, lib = m.groups()
            problems = []
            if lib != "libunet":
                problems.append(f"library {lib}, not libunet")
            if name not in exported:
                problems.append("not exported by libunet.so")
            if name not in functions:
                problems.append("not declared in unet.h")
                failed.append(f"{where}: {name}: " + "; ".join(problems))
                continue
            c_ret, c_params = functions[name]
            types = tuple_items(args[2])
            values = args[3:]
            if len(types) != len(values):
                problems.append(f"{len(types)} argument types but {len(values)} arguments")
            if len(types) != len(c_params):
                problems.append(f"{len(types)} arguments; unet.h has {len(c_params)}")
            ret = normalize_julia_type(args[1])
            if ret not in typemap.accepted(c_ret, "return"):
                problems.append(f"returns {args[1]}; unet.h: {c_ret} -> {sorted(typemap.accepted(c_ret, 'return'))}")
            for k, (jt, ct) in enumerate(zip(types, c_params)):
                ok = typemap.accepted(ct, "param")
                if normalize_julia_type(jt) not in ok:
                    problems.append(f"argument {k + 1} is {jt}; unet.h: {ct} -> {sorted(ok)}")
            if problems:
                failed.append(f"{where}: {name}: " + "; ".join(problems))
            else:
                bound.add(name)
                passed.append(f"{where}: {name} ({len(types)} arguments)")
        for line, args in find_calls(code, "@cfunction"):
            where = f"{fname}:{line}"
            try:
                ret, types = normalize_julia_type(args[1]), [normalize_julia_type(t) for t in tuple_items(args[2])]
            except (IndexError, ValueError) as e:
                failed.append(f"{where}: @cfunction not understood ({e})")
                continue
            matches = [cb for cb, (c_ret, c_params) in callbacks.items()
                       if ret in typemap.accepted(c_ret, "return") and len(types) == len(c_params)
                       and all(t in typemap.accepted(c, "callback") for t, c in zip(types, c_params))]
            if matches:
                passed.append(f"{where}: @cfunction matches {', '.join(matches)}")
            else:
                failed.append(f"{where}: @cfunction {args[1]} {args[2]} matches no callback type of unet.h")
    return passed, failed, bound


def exported_symbols(lib):
    out = subprocess.run(["nm", "-D", "--defined-only", lib], check=True, capture_output=True, text=True).stdout
    return {line.split()[-1].split("@")[0] for line in out.splitlines() if line.strip()}


# Functions LibUNet.jl must bind (the Model, load, builtin, predict, segment, progress).
REQUIRED = {
    "unet_model_load", "unet_model_load_builtin", "unet_model_builtin_names", "unet_model_free",
    "unet_model_create", "unet_predict", "unet_segment", "unet_predict_opts_set_progress",
    "unet_segment_opts_set_progress", "unet_predict_opts_cancel", "unet_last_error",
}


def self_test():
    """The checker must report each kind of mistake it exists to catch."""
    header = """
    typedef enum unet_dtype { UNET_U8 = 1 } unet_dtype_t;
    typedef struct unet_model unet_model_t;
    typedef int (*unet_progress_fn)(void *user, double fraction, const char *stage);
    UNET_API int unet_f(const unet_model_t *m, const char *path, int64_t shape[4], unet_dtype_t t);
    UNET_API int unet_g(const char *const **names, size_t *count);
    """
    functions, callbacks, enums, opaque = parse_header(header)
    typemap = TypeMap(enums, opaque, callbacks)
    good = """
    f(m, p, s, t) = ccall((:unet_f, libunet), Cint, (Ptr{Cvoid}, Cstring, Ptr{Int64}, Cuint), m, p, s, t)
    g(n, c) = ccall((:unet_g, libunet), Cint,   # a comment with ccall(
                    (Ref{Ptr{Ptr{UInt8}}}, Ref{Csize_t},), n, c)
    h = @cfunction(cb, Cint, (Ptr{Cvoid}, Cdouble, Ptr{UInt8}))
    s = "ccall((:nothing_here, x))"
    """
    passed, failed, _ = check_sources({"good.jl": good}, functions, callbacks, typemap, {"unet_f", "unet_g"})
    assert not failed and len(passed) == 3, (passed, failed)
    bad_cases = {
        "wrong type": "ccall((:unet_f, libunet), Cint, (Ptr{Cvoid}, Cstring, Ptr{Int32}, Cuint), m, p, s, t)",
        "too few": "ccall((:unet_f, libunet), Cint, (Ptr{Cvoid}, Cstring, Ptr{Int64}), m, p, s)",
        "values vs types": "ccall((:unet_f, libunet), Cint, (Ptr{Cvoid}, Cstring, Ptr{Int64}, Cuint), m, p, s)",
        "return": "ccall((:unet_f, libunet), Cvoid, (Ptr{Cvoid}, Cstring, Ptr{Int64}, Cuint), m, p, s, t)",
        "unknown": "ccall((:unet_nope, libunet), Cint, (), )",
        "not exported": "ccall((:unet_g, libunet), Cint, (Ref{Ptr{Ptr{UInt8}}}, Ref{Csize_t}), n, c)",
        "library": "ccall((:unet_f, other), Cint, (Ptr{Cvoid}, Cstring, Ptr{Int64}, Cuint), m, p, s, t)",
        "cfunction": "@cfunction(cb, Cint, (Ptr{Cvoid}, Cint, Ptr{UInt8}))",
        "macro": "@ccall libunet.unet_f()::Cint",
    }
    for what, src in bad_cases.items():
        _, failed, _ = check_sources({"bad.jl": src}, functions, callbacks, typemap, {"unet_f"})
        assert failed, f"self-test: a mistake ({what}) went unnoticed"
    print(f"self-test: {len(bad_cases)} kinds of mistake caught, the good calls pass")


def main(argv):
    if argv[1:] == ["--self-test"]:
        self_test()
        return 0
    if len(argv) != 4:
        print(__doc__, file=sys.stderr)
        return 2
    header, lib, julia_dir = argv[1:]
    self_test()
    with open(header) as f:
        functions, callbacks, enums, opaque = parse_header(f.read())
    typemap = TypeMap(enums, opaque, callbacks)
    sources = {}
    for root, _, files in os.walk(julia_dir):
        for name in files:
            if name.endswith(".jl"):
                path = os.path.join(root, name)
                with open(path) as f:
                    sources[os.path.relpath(path, julia_dir)] = f.read()
    passed, failed, bound = check_sources(sources, functions, callbacks, typemap, exported_symbols(lib))
    for line in passed:
        print("ok  ", line)
    missing = REQUIRED - bound
    if missing:
        failed.append(f"LibUNet.jl binds none of {sorted(missing)}")
    for line in failed:
        print("FAIL", line)
    print(f"{len(passed)} passed, {len(failed)} failed")
    return 1 if failed or not passed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
