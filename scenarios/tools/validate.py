#!/usr/bin/env python3
"""Validates scenario files against scenarios/scenario.schema.json.

    python3 scenarios/tools/validate.py scenarios/
    python3 scenarios/tools/validate.py scenarios/session/resume-twice.json
    python3 scenarios/tools/validate.py --expect-invalid mockgateway/tests/bad-scenarios

Arguments are files or directories (searched recursively for *.json; the
schema itself is skipped). By default every file must be valid; with
--expect-invalid DIR (repeatable) every file under DIR must be rejected.
Exit status: 0 all as expected, 1 otherwise, 2 usage error, 77 (the
"skipped" status of meson and automake) when python3-jsonschema is missing.

Needs python3-jsonschema (Debian 12: 4.10), which implements draft 2020-12.
"""
import argparse
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_SCHEMA = os.path.join(os.path.dirname(HERE), "scenario.schema.json")

try:
    import jsonschema
    from jsonschema import Draft202012Validator
except ImportError:  # pragma: no cover
    print("validate.py: python3-jsonschema is not installed (apt-get install python3-jsonschema); skipping",
          file=sys.stderr)
    sys.exit(77)


def collect(paths):
    out = []
    for p in paths:
        if os.path.isdir(p):
            for root, dirs, files in os.walk(p):
                dirs.sort()
                for f in sorted(files):
                    if f.endswith(".json") and f != "scenario.schema.json":
                        out.append(os.path.join(root, f))
        elif os.path.isfile(p):
            out.append(p)
        else:
            raise FileNotFoundError(p)
    return out


def where(err):
    return "/".join(str(x) for x in err.absolute_path) or "(top level)"


def errors_of(validator, path):
    """Returns a list of messages: empty when the file is valid."""
    try:
        with open(path, "rb") as f:
            doc = json.loads(f.read().decode("utf-8"))
    except (ValueError, UnicodeDecodeError) as e:
        return ["not valid JSON: %s" % e]
    errs = sorted(validator.iter_errors(doc), key=lambda e: list(map(str, e.absolute_path)))
    msgs = []
    for e in errs:
        # For a step, the interesting errors are inside the allOf/if/then of its type.
        leaves = [e]
        if e.context:
            best = jsonschema.exceptions.best_match(e.context)
            leaves = [best] if best is not None else leaves
        for leaf in leaves:
            msgs.append("%s: %s" % (where(leaf), leaf.message))
    return msgs


def main(argv):
    ap = argparse.ArgumentParser(description="Validate scenario files against the scenario JSON Schema.")
    ap.add_argument("paths", nargs="*", help="scenario files or directories that must be valid")
    ap.add_argument("--expect-invalid", action="append", default=[], metavar="PATH",
                    help="files or directories whose every file must be rejected")
    ap.add_argument("--schema", default=DEFAULT_SCHEMA, help="the schema (default: %(default)s)")
    ap.add_argument("-q", "--quiet", action="store_true", help="print failures and the summary only")
    args = ap.parse_args(argv)
    if not args.paths and not args.expect_invalid:
        ap.error("give scenario files or directories")

    with open(args.schema, "rb") as f:
        schema = json.loads(f.read().decode("utf-8"))
    Draft202012Validator.check_schema(schema)
    validator = Draft202012Validator(schema)

    try:
        good, bad = collect(args.paths), collect(args.expect_invalid)
    except FileNotFoundError as e:
        print("validate.py: no such file or directory: %s" % e, file=sys.stderr)
        return 2
    if not good and not bad:
        print("validate.py: no *.json files found", file=sys.stderr)
        return 1

    failed = 0
    for path in good:
        msgs = errors_of(validator, path)
        if msgs:
            failed += 1
            for m in msgs:
                print("INVALID  %s: %s" % (path, m))
        elif not args.quiet:
            print("ok       %s" % path)
    for path in bad:
        msgs = errors_of(validator, path)
        if not msgs:
            failed += 1
            print("ACCEPTED %s: the schema must reject this file" % path)
        elif not args.quiet:
            print("rejected %s: %s" % (path, msgs[0]))
    print("%d scenario(s) to accept, %d to reject: %d wrong" % (len(good), len(bad), failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
