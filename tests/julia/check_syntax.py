#!/usr/bin/env python3
"""Parses every .jl file of LibUNet.jl with tree-sitter-julia; any syntax error fails.

A parse is the most that can be checked here (no Julia runtime): it catches unbalanced blocks,
malformed calls and typos in keywords, not undefined names or wrong types.

Usage: check_syntax.py JULIA_DIR      Prints one line per file and "N passed, N failed".
"""

import os
import sys

import tree_sitter_julia
from tree_sitter import Language, Parser

PARSER = Parser(Language(tree_sitter_julia.language()))


def syntax_errors(source: bytes):
    """(line, column, text) of every ERROR or MISSING node of the parse."""
    errors, stack = [], [PARSER.parse(source).root_node]
    while stack:
        node = stack.pop()
        if node.type == "ERROR" or node.is_missing:
            row, col = node.start_point
            snippet = source[node.start_byte:node.end_byte][:40].decode("utf-8", "replace")
            errors.append((row + 1, col + 1, ("missing " if node.is_missing else "") + repr(snippet)))
        elif node.has_error:
            stack.extend(node.children)
    return sorted(errors)


def self_test():
    assert not syntax_errors(b"function f(x)\n    ccall((:a, lib), Cint, (Ptr{Cvoid},), x)\nend\n")
    for broken in (b"function f(x)\n  x + 1\n", b"f(x = ccall((:a, lib), Cint, (Cint,), x)\n",
                   b"struct A\n  x::Int\nend end\n"):
        assert syntax_errors(broken), f"self-test: broken code parsed cleanly: {broken!r}"


def main(argv):
    if len(argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    self_test()
    passed = failed = 0
    for root, _, files in sorted(os.walk(argv[1])):
        for name in sorted(files):
            if not name.endswith(".jl"):
                continue
            path = os.path.join(root, name)
            with open(path, "rb") as f:
                errors = syntax_errors(f.read())
            if errors:
                failed += 1
                for line, col, text in errors:
                    print(f"FAIL {path}:{line}:{col}: syntax error at {text}")
            else:
                passed += 1
                print(f"ok   {path}")
    print(f"{passed} passed, {failed} failed")
    return 1 if failed or not passed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
