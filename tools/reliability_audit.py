#!/usr/bin/env python3
"""Audit table for docs/reliability.md: every public function/type of latent (the headers of
include/latent/latent.hpp), what it validates (the check_* calls and throws in its body), how
it fails (exception types), an example message and the test that proves it (the first
CHECK_THROWS_WITH in tests/ whose message names the function, with its file and TEST_CASE).

Usage: python3 tools/reliability_audit.py > /tmp/audit.md   (pasted into docs/reliability.md)
Plain text parsing, no dependencies: top-level `inline`/`template` definitions and classes in
namespace latent outside any *detail namespace.
"""
import os
import re
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
INC = os.path.join(ROOT, "include")
CHECK_KIND = {
    "check_finite": ("finite", "domain_error"),
    "check_positive": ("> 0, finite", "domain_error"),
    "check_nonnegative": (">= 0, finite", "domain_error"),
    "check_in_range": ("in range", "domain_error"),
    "check_probability": ("in [0, 1]", "domain_error"),
    "check_index": ("index in range", "domain_error"),
    "check_same_shape": ("same shape", "invalid_argument"),
    "check_same_size": ("same size", "invalid_argument"),
    "check_rows": ("rows", "invalid_argument"),
    "check_cols": ("cols", "invalid_argument"),
    "check_size": ("size", "invalid_argument"),
    "check_non_empty": ("non-empty", "invalid_argument"),
    "check_square": ("square", "invalid_argument"),
}


def headers():
    with open(os.path.join(INC, "latent", "latent.hpp")) as f:
        for line in f:
            m = re.match(r'#include "(latent/[^"]+)"', line)
            if m:
                yield m.group(1)


def public_defs(text):
    """Yields (name, kind, body) for top-level public definitions."""
    lines = text.split("\n")
    depth_detail = 0
    i = 0
    while i < len(lines):
        line = lines[i]
        m = re.match(r"namespace (\w+) \{", line)
        if m and "detail" in m.group(1):
            depth_detail += 1
        if re.match(r"\}\s*//\s*namespace \w*detail", line):
            depth_detail -= 1
        if depth_detail == 0:
            m = re.match(r"(class|struct|enum class) (\w+)\b", line)
            dm = re.match(r"(?:inline|constexpr)\s.*?\b(~?\w+)\(", line) if line.startswith(("inline", "constexpr")) else None
            if m and line.rstrip().endswith("{"):
                j = i
                while j < len(lines) and lines[j] != "};":
                    j += 1
                yield m.group(2), m.group(1), "\n".join(lines[i:j + 1])
                i = j
            elif dm or (line.startswith("inline ") and "(" not in line):
                # function: gather until the line "}" at column 0
                head = line
                k = i
                while "(" not in head and k + 1 < len(lines):
                    k += 1
                    head += " " + lines[k].strip()
                nm = re.search(r"\b(\w+)\(", head)
                j = i
                one_liner = line.rstrip().endswith("}") and line.count("{") == line.count("}")
                while not one_liner and j < len(lines) and lines[j] != "}" and not lines[j].startswith("}"):
                    if lines[j].rstrip().endswith(";") and j == i:
                        break
                    j += 1
                if nm:
                    yield nm.group(1), "function", "\n".join(lines[i:j + 1])
                i = j
        i += 1


def validations(body):
    found, types = [], set()
    for m in re.finditer(r"\b(check_\w+)\(\s*(?:fn|function|\"[^\"]*\"|[a-z_]+)\s*,\s*\"([^\"]+)\"", body):
        kind = CHECK_KIND.get(m.group(1))
        if kind:
            found.append(f"{m.group(2)}: {kind[0]}")
            types.add(kind[1])
    for m in re.finditer(r"\b(check_\w+)\(fn, \"([^\"]+)\", \w+, \"([^\"]+)\"", body):
        pass
    if re.search(r"throw_domain|std::domain_error", body):
        types.add("domain_error")
    if re.search(r"throw_shape|std::invalid_argument", body):
        types.add("invalid_argument")
    if re.search(r"std::overflow_error", body):
        types.add("overflow_error")
    if re.search(r"detail::check_(time|vp|ve|gamma_range|counts|pair)\(|_make\(", body):
        types.add("domain_error")
    if re.search(r"static_assert", body):
        found.append("types (static_assert)")
    helpers = sorted(set(re.findall(r"\b(?:detail|\w+_detail)::(check_\w+|\w+_make|\w+_fixed|\w+_learned|\w+_body|check_pair)\(", body)))
    if helpers:
        found.append("via " + ", ".join(helpers))
    return found, types


def test_index():
    """message-bearing CHECK_THROWS_WITH lines: (function, message, file, test case)."""
    out = []
    tdir = os.path.join(ROOT, "tests")
    for dp, _, fs in os.walk(tdir):
        for f in sorted(fs):
            if not f.endswith(".test.cpp"):
                continue
            path = os.path.join(dp, f)
            rel = os.path.relpath(path, ROOT)
            case = "?"
            text = open(path).read()
            for stmt in re.split(r";\n", text):
                for m in re.finditer(r"(?:TEMPLATE_)?TEST_CASE\(\s*\"((?:[^\"\\]|\\.)*)\"(?:\s*\"((?:[^\"\\]|\\.)*)\")?", stmt):
                    case = m.group(1) + (m.group(2) or "")
                for m in re.finditer(r"\"(latent::\w+(?:::\w+)*)((?:[^\"\\]|\\.)*)\"", stmt):
                    out.append((m.group(1), m.group(1) + m.group(2), rel, case))
                if "CHECK_THROWS" in stmt or "REQUIRE_THROWS" in stmt:
                    # Functions called inside an error-path check, with its message if any.
                    msg = re.search(r"Catch::Contains\(\s*\"((?:[^\"\\]|\\.)*)\"", stmt)
                    typ = re.search(r"std::(domain_error|invalid_argument|overflow_error)", stmt)
                    text_msg = msg.group(1) if msg else (typ.group(0) if typ else "throws")
                    for c in set(re.findall(r"latent::(\w+)(?:<[^>]*>)?\(", stmt)):
                        out.append(("latent::" + c, text_msg, rel, case))
    return out


def main():
    tests = test_index()
    print("| header | function / type | validates | fails with | example message | proving test |")
    print("|---|---|---|---|---|---|")
    seen = set()
    n_fun = n_tested = 0
    for h in headers():
        text = open(os.path.join(INC, h)).read()
        for name, kind, body in public_defs(text):
            key = (h, name)
            if key in seen or name.startswith("operator"):
                continue
            seen.add(key)
            n_fun += 1
            checks, types = validations(body)
            qual = f"latent::{name}"
            hit = [t for t in tests if t[0] == qual or t[0].startswith(qual + "::")]
            if hit:
                n_tested += 1
                msg = hit[0][1].replace("|", "\\|")
                if len(msg) > 90:
                    msg = msg[:87] + "..."
                proof = f"`{hit[0][2]}`: \"{hit[0][3][:70]}\""
            else:
                if not types and not checks:
                    proof = "no checks (total function)"
                elif not types:
                    proof = "compile-time checks only"
                else:
                    proof = "**gap**: no error-path test names it"
                msg = ""
            if hit and not types:
                m2 = re.search(r"std::(domain_error|invalid_argument|overflow_error)", hit[0][1])
                types = {(m2.group(1) if m2 else "exception") + " (from a callee)"}
            label = name if kind == "function" else f"{name} ({kind})"
            print(f"| {h.replace('latent/', '')} | {label} | {'; '.join(checks) or '-'} | "
                  f"{', '.join(sorted(types)) or 'never throws'} | {('`' + msg + '`') if msg else '-'} | {proof} |")
    print(f"\n{n_fun} public functions and types; {n_tested} with an error-path test that names them.",
          file=sys.stderr)


if __name__ == "__main__":
    main()
