"""Mutation testing of the security code: would a test notice if a check were broken?

    python scripts/mutation.py [--module membership/identity.py ...] [--reuse-map] [--min-score 90]

1. The repository (tracked and untracked, not ignored files) is copied to a temporary directory, where
   the tests run (and a mutant is written for a fresh-process run); the working tree is never touched.
2. One coverage run of the suite (without tests/e2e and tests/emulator) with a context per test maps each
   line of the modules to the tests that run it, and records each test's duration (``var/mutation/``).
3. Each module is parsed with ``ast`` and mutated one change at a time: comparison, boolean and arithmetic
   operators swapped, ``not`` dropped, ``if`` conditions made False, numbers and booleans changed, one
   element removed from a literal list, tuple or set, a keyword argument dropped, a call or an assignment
   statement deleted (keyword arguments only of the calls that carry a check, such as jwt.decode).
4. Each module's mutants run in one pytest session (scripts/mutation_runner.py swaps the functions' code in
   place): a mutant meets first a selection of the tests that run its lines (the most targeted and the
   fastest of each test module, ``-x``), then, if it survives, the rest of them; a failing or timed-out run
   kills it. Tests the shared session cannot trust are run again in a fresh process for survivors.

A mutant is named by its function and its change (``validate_id_token | 'iat' removed from [...]``), not by
its line, so the names survive edits elsewhere in the file. docs/mutation.md lists the mutants no test can
observe, with the reason; the score leaves them out. The run prints the score per module and every survivor,
writes var/mutation/results.json, and fails when a module scores below --min-score.
"""

from __future__ import annotations

import argparse
import ast
import contextlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
from collections import defaultdict
from dataclasses import asdict, dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MODULES = [
    "membership/identity.py",
    "graphfns/authentication.py",
    "graphfns/resources.py",
    "membership/flows.py",
    "graphfns/models.py",
]
TEST_PATHS = ["tests", "--ignore=tests/e2e", "--ignore=tests/emulator"]
BASELINE = ROOT / "docs" / "mutation.md"
OUT = ROOT / "var" / "mutation"
SLOW = 3.0  # seconds

_COMPARE_SWAPS: dict[type, type] = {
    ast.Eq: ast.NotEq, ast.NotEq: ast.Eq, ast.Lt: ast.LtE, ast.LtE: ast.Lt, ast.Gt: ast.GtE, ast.GtE: ast.Gt,
    ast.In: ast.NotIn, ast.NotIn: ast.In, ast.Is: ast.IsNot, ast.IsNot: ast.Is,
}
# Calls whose keyword arguments carry a check: each is dropped in turn.
_CHECKING_CALLS = {"jwt.decode", "jwt.PyJWK", "_signing_keys", "url_has_allowed_host_and_scheme", "quote",
                   "cls.objects.filter", "ApiKey.objects.filter", "client_credential", "msal_app",
                   "call.client.request", "initiate_auth_code_flow"}
# Calls whose arguments are a failure's code and message: changing the message is not a broken check.
_MESSAGE_CALLS = {"FunctionError", "SignInFailure", "refuse", "unavailable", "unreachable", "log.warning"}


@dataclass
class Mutant:
    module: str
    name: str  # "<function> | <change>", stable across unrelated edits
    line: int
    end_line: int
    start: int  # byte offsets in the source
    end: int
    replacement: str
    tests: list[str] = field(default_factory=list)
    status: str = ""  # killed | survived | timeout | uncovered | unobservable | invalid | error
    seconds: float = 0.0
    killer: str = ""  # the test that caught it


# -- generating mutants ----------------------------------------------------------------------------------------


def _src(node: ast.AST) -> str:
    return ast.unparse(node)


def _call_name(node: ast.Call) -> str:
    return _src(node.func)


class _Generator(ast.NodeVisitor):
    def __init__(self, module: str, source: bytes) -> None:
        self.module = module
        self.source = source
        self.line_starts = [0]
        for line in source.splitlines(keepends=True):
            self.line_starts.append(self.line_starts[-1] + len(line))
        self.scope: list[str] = []
        self.in_function = 0
        self.in_message = 0
        self.mutants: list[Mutant] = []
        self.names: defaultdict[str, int] = defaultdict(int)

    def offset(self, line: int, col: int) -> int:
        return self.line_starts[line - 1] + col

    def add(self, node: ast.AST, replacement: str, change: str) -> None:
        where = ".".join(self.scope) or "<module>"
        name = f"{where} | {change}"
        self.names[name] += 1
        if self.names[name] > 1:
            name += f" #{self.names[name]}"
        self.mutants.append(Mutant(
            self.module, name, node.lineno, node.end_lineno or node.lineno,  # type: ignore[attr-defined]
            self.offset(node.lineno, node.col_offset),  # type: ignore[attr-defined]
            self.offset(node.end_lineno or node.lineno, node.end_col_offset or 0),  # type: ignore[attr-defined]
            replacement,
        ))

    def active(self) -> bool:
        return self.in_function > 0 and not self.in_message

    # scopes: functions are mutated; class bodies (model fields) and docstrings are not
    def visit_FunctionDef(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        self.scope.append(node.name)
        self.in_function += 1
        body = node.body[1:] if ast.get_docstring(node) is not None else node.body
        for stmt in body:
            self.visit(stmt)
        self.in_function -= 1
        self.scope.pop()

    visit_AsyncFunctionDef = visit_FunctionDef  # type: ignore[assignment]

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        self.scope.append(node.name)
        for stmt in node.body:
            if isinstance(stmt, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                self.visit(stmt)
        self.scope.pop()

    def visit_Module(self, node: ast.Module) -> None:
        for stmt in node.body:
            if isinstance(stmt, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                self.visit(stmt)
            elif isinstance(stmt, ast.Assign | ast.AnnAssign) and isinstance(stmt.value, ast.Constant | ast.BinOp
                                                                             | ast.Set | ast.Tuple | ast.List):
                # module constants (LEEWAY, FLOW_TTL, _SYSTEM_SEGMENTS…): mutated as if in a function
                target = stmt.targets[0] if isinstance(stmt, ast.Assign) else stmt.target
                self.scope.append(_src(target))
                self.in_function += 1
                self.visit(stmt.value)
                self.in_function -= 1
                self.scope.pop()

    # statements
    def visit_If(self, node: ast.If) -> None:
        if self.active():
            self.add(node.test, "False", f"if {_src(node.test)} → if False")
        self.generic_visit(node)

    def visit_Expr(self, node: ast.Expr) -> None:
        if self.active() and isinstance(node.value, ast.Call):
            self.add(node, "pass", f"{_src(node.value)} deleted")
        self.generic_visit(node)

    def visit_Assign(self, node: ast.Assign) -> None:
        if self.active() and all(isinstance(t, ast.Attribute | ast.Subscript) for t in node.targets):
            self.add(node, "pass", f"{_src(node)} deleted")
        self.generic_visit(node)

    # expressions
    def visit_Call(self, node: ast.Call) -> None:
        message = _call_name(node) in _MESSAGE_CALLS
        if self.active() and _call_name(node) in _CHECKING_CALLS:
            for i, kw in enumerate(node.keywords):
                if kw.arg is None:
                    continue
                kws = node.keywords[:i] + node.keywords[i + 1:]
                self.add(node, _src(ast.Call(node.func, node.args, kws)), f"{_src(node)}: {kw.arg}= dropped")
        self.visit(node.func)
        if message:  # the code (first argument) stays; messages and fields are not checks
            self.in_message += 1
        for arg in node.args:
            self.visit(arg)
        for kw in node.keywords:
            self.visit(kw.value)
        if message:
            self.in_message -= 1

    def visit_Compare(self, node: ast.Compare) -> None:
        if self.active():
            for i, op in enumerate(node.ops):
                swap = _COMPARE_SWAPS.get(type(op))
                if swap is not None:
                    ops = [*node.ops[:i], swap(), *node.ops[i + 1:]]
                    new = _src(ast.Compare(node.left, ops, node.comparators))
                    self.add(node, f"({new})", f"{_src(node)} → {new}")
        self.generic_visit(node)

    def visit_BoolOp(self, node: ast.BoolOp) -> None:
        if self.active():
            other = ast.Or() if isinstance(node.op, ast.And) else ast.And()
            new = _src(ast.BoolOp(other, node.values))
            self.add(node, f"({new})", f"{_src(node)} → {new}")
        self.generic_visit(node)

    def visit_UnaryOp(self, node: ast.UnaryOp) -> None:
        if self.active() and isinstance(node.op, ast.Not):
            self.add(node, f"({_src(node.operand)})", f"{_src(node)} → {_src(node.operand)}")
        self.generic_visit(node)

    def visit_BinOp(self, node: ast.BinOp) -> None:
        strings = any(isinstance(s, ast.JoinedStr) or (isinstance(s, ast.Constant) and isinstance(s.value, str))
                      for s in (node.left, node.right))
        if self.active() and not strings and isinstance(node.op, ast.Add | ast.Sub):
            other = ast.Sub() if isinstance(node.op, ast.Add) else ast.Add()
            new = _src(ast.BinOp(node.left, other, node.right))
            self.add(node, f"({new})", f"{_src(node)} → {new}")
        self.generic_visit(node)

    def visit_Constant(self, node: ast.Constant) -> None:
        if not self.active():
            return
        value = node.value
        if isinstance(value, bool):
            self.add(node, str(not value), f"{value} → {not value}")
        elif isinstance(value, int):
            new = value + 1 if value <= 2 else value * 30
            self.add(node, str(new), f"{value} → {new}")

    def _elements(self, node: ast.List | ast.Tuple | ast.Set) -> None:
        if self.active() and isinstance(node.ctx if not isinstance(node, ast.Set) else ast.Load(), ast.Load) \
                and len(node.elts) >= 2:
            for i, elt in enumerate(node.elts):
                rest = node.elts[:i] + node.elts[i + 1:]
                new = type(node)(rest, ast.Load()) if not isinstance(node, ast.Set) else ast.Set(rest)
                text = _src(new)
                if isinstance(node, ast.Tuple) and len(rest) == 1:
                    text = f"({_src(rest[0])},)"
                elif isinstance(node, ast.Tuple):
                    text = f"({text})"
                self.add(node, text, f"{_src(elt)} removed from {_src(node)}")
        self.generic_visit(node)

    visit_List = _elements  # type: ignore[assignment]
    visit_Tuple = _elements  # type: ignore[assignment]
    visit_Set = _elements  # type: ignore[assignment]


def mutants_of(module: str, source: bytes) -> list[Mutant]:
    gen = _Generator(module, source)
    gen.visit(ast.parse(source))
    valid = []
    for m in gen.mutants:
        try:
            compile(apply(source, m), module, "exec")
        except SyntaxError:
            m.status = "invalid"
        valid.append(m)
    return valid


def apply(source: bytes, m: Mutant) -> bytes:
    return source[:m.start] + m.replacement.encode() + source[m.end:]


# -- which tests run which lines -------------------------------------------------------------------------------


def copy_repository(dest: Path) -> None:
    files = subprocess.run(["git", "ls-files", "-co", "--exclude-standard", "-z"], cwd=ROOT, check=True,
                           capture_output=True).stdout.decode().split("\0")
    for name in filter(None, files):
        src = ROOT / name
        if src.is_file() and not src.is_symlink():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / name)
    (dest / ".venv").symlink_to((ROOT / ".venv").resolve())


def _env() -> dict[str, str]:
    # No stale bytecode: a mutant and the original may share size and modification second.
    return {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}


def coverage_map(work: Path, modules: list[str], reuse: bool, cached: Path) -> tuple[
        dict[str, dict[int, set[str]]], dict[str, float]]:
    """For each module, line → the tests (node ids) that run it; and each passing test's duration."""
    cached.parent.mkdir(parents=True, exist_ok=True)
    if reuse and cached.exists():
        data = json.loads(cached.read_text())
        return ({m: {int(k): set(v) for k, v in lines.items()} for m, lines in data["lines"].items()},
                data["durations"])
    junit = work / "junit.xml"
    cov_args = [f"--cov={m.removesuffix('.py').replace('/', '.')}" for m in modules]
    cmd = [sys.executable, "-m", "pytest", *TEST_PATHS, "-q", "-p", "no:cacheprovider", *cov_args,
           "--cov-context=test", "--cov-report=", f"--junitxml={junit}"]
    print("coverage map:", " ".join(cmd[3:]), flush=True)
    env = {**_env(), "COVERAGE_FILE": str(work / ".coverage")}
    subprocess.run(cmd, cwd=work, env=env, check=False)

    durations: dict[str, float] = {}
    for case in ET.parse(junit).getroot().iter("testcase"):  # noqa: S314 - pytest's own report
        if case.find("failure") is not None or case.find("error") is not None or case.find("skipped") is not None:
            continue
        path = case.get("classname", "").replace(".", "/")
        # classname is tests.pkg.test_mod (or …test_mod.Class); node ids are tests/pkg/test_mod.py::name
        parts = path.split("/")
        while parts and not (work / ("/".join(parts) + ".py")).exists():
            parts.pop()
        if not parts:
            continue
        node = "/".join(parts) + ".py::" + "::".join([*case.get("classname", "").split(".")[len(parts):],
                                                      case.get("name", "")])
        durations[node] = float(case.get("time", "0"))

    import coverage

    data = coverage.CoverageData(basename=str(work / ".coverage"))
    data.read()
    lines: dict[str, dict[int, set[str]]] = {}
    for module in modules:
        by_line = data.contexts_by_lineno(str(work / module))
        lines[module] = {}
        for line, contexts in by_line.items():
            tests = {c.rsplit("|", 1)[0] for c in contexts if c}
            lines[module][line] = {t for t in tests if t in durations}
    cached.write_text(json.dumps({"lines": {m: {k: sorted(v) for k, v in ls.items()} for m, ls in lines.items()},
                                  "durations": durations}))
    return lines, durations


def covering_tests(m: Mutant, tree: ast.Module, lines: dict[int, set[str]]) -> set[str]:
    tests: set[str] = set()
    for line in range(m.line, m.end_line + 1):
        tests |= lines.get(line, set())
    constant = m.name.split(" | ")[0]
    if not constant.lstrip("_").isupper():
        return tests
    # A module constant (its line runs at import, outside any test): the tests that run a function reading it.
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef) and any(isinstance(n, ast.Name) and n.id == constant
                                                     for n in ast.walk(node)):
            for line in range(node.lineno, (node.end_lineno or node.lineno) + 1):
                tests |= lines.get(line, set())
    return tests


# -- running ---------------------------------------------------------------------------------------------------


def unobservable() -> dict[str, str]:
    """docs/mutation.md: "- `<module> | <mutant name>` — reason" lines."""
    known: dict[str, str] = {}
    if BASELINE.exists():
        for line in BASELINE.read_text().splitlines():
            match = re.match(r"^- `([^`]+)` — (.+)$", line)
            if match:
                known[match.group(1)] = match.group(2)
    return known


def selection(tests: list[str], durations: dict[str, float], breadth: dict[str, int], limit: int) -> list[str]:
    """At most ``limit`` tests: half the most targeted (those that run the fewest lines of the module: a test of
    validate_id_token before a whole sign-in), half the fastest of each test module in turn (so every kind of
    test that runs the line is tried); fastest first. Slow tests (Celery workers, a browser, property-based
    runs) only when nothing else runs the line."""
    quick = [t for t in tests if durations.get(t, 0.0) <= SLOW] or tests
    targeted = sorted(quick, key=lambda t: (breadth.get(t, 0), durations.get(t, 0.0), t))[:limit // 2]
    by_file: defaultdict[str, list[str]] = defaultdict(list)
    for t in sorted(quick, key=lambda t: (durations.get(t, 0.0), t)):
        if t not in targeted:
            by_file[t.split("::")[0]].append(t)
    rounds = sorted((i, durations.get(t, 0.0), t) for ts in by_file.values() for i, t in enumerate(ts))
    chosen = targeted + [t for _, _, t in rounds][:limit - len(targeted)]
    return sorted(chosen, key=lambda t: (durations.get(t, 0.0), t))


def run_module(work: Path, module: str, source: bytes, mutants: list[Mutant], lines: dict[int, set[str]],
               durations: dict[str, float], limit: int, quick: bool, also: list[str]) -> None:
    """Run the mutants of one module in one pytest session (scripts/mutation_runner.py), starting a new session
    after a mutant that timed out or crashed it."""
    pending = [m for m in mutants if m.tests or also]
    breadth: defaultdict[str, int] = defaultdict(int)
    for tests in lines.values():
        for t in tests:
            breadth[t] += 1
    more: dict[str, list[str]] = {}
    for m in pending:
        chosen = selection(m.tests, durations, breadth, limit) + also
        rest = sorted(set(m.tests) - set(chosen), key=lambda t: (durations.get(t, 0.0) > SLOW, breadth.get(t, 0), t))
        more[m.name] = [] if quick else rest
        m.tests = chosen
    (work / module).write_bytes(source)
    crashes = 0
    unreliable: set[str] = set()
    while pending:
        plan, out = work / "plan.json", work / "results.jsonl"
        out.write_text("")
        scopes = {m.name: m.name.split(" | ")[0] for m in pending}
        constant = {name: scope for name, scope in scopes.items() if scope.lstrip("_").isupper()}
        plan.write_text(json.dumps({
            "module_name": module.removesuffix(".py").replace("/", "."), "path": str(work / module),
            "mutants": [{"name": m.name, "start": m.start, "end": m.end, "replacement": m.replacement,
                         "tests": m.tests, "more": more[m.name], "constant": constant.get(m.name),
                         "budget": 30 + 5 * sum(durations.get(t, 1.0) for t in [*m.tests, *more[m.name]])}
                        for m in pending],
        }))
        tests = sorted({t for m in pending for t in [*m.tests, *more[m.name]]})
        env = {**_env(), "MUTATION_PLAN": str(plan), "MUTATION_OUT": str(out),
               "PYTHONPATH": str(work / "scripts")}
        proc = subprocess.Popen([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                                 "-p", "mutation_runner", *tests], cwd=work, env=env, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, start_new_session=True)
        output, _ = proc.communicate()
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)  # servers or workers a test left running
        by_name = {m.name: m for m in pending}
        running = None
        for line in out.read_text().splitlines():
            record = json.loads(line)
            if "name" not in record:
                unreliable.update(record.get("unreliable", []))
                continue
            m = by_name[record["name"]]
            m.status, running = record["status"], m
            if record["status"] != "running":
                m.seconds, m.killer, running = record["seconds"], record.get("killer") or "", None
                print(f"  {m.status:9} {m.seconds:6.1f}s  {module}:{m.line}  {m.name}", flush=True)
        if running is not None:  # the session died during this mutant: the mutant broke the process
            running.status = "timeout"
            print(f"  {'crashed':9} {'':6}   {module}:{running.line}  {running.name}", flush=True)
        elif proc.returncode not in (0, 3) and all(m.status in ("", "running") for m in pending):
            crashes += 1
            print(output.decode()[-3000:])
            if crashes > 1:
                raise SystemExit(f"the pytest session for {module} does not start")
        pending = [m for m in pending if m.status in ("", "running")]
    if unreliable:
        print(f"  tests that failed without a mutant in the shared session (run in a fresh process instead): "
              f"{len(unreliable)}", flush=True)
    for m in mutants:
        again = [t for t in [*m.tests, *more.get(m.name, [])] if t in unreliable]
        if m.status == "survived" and again:
            m.status = fresh_run(work, module, source, m, again)
            print(f"  {m.status:9} (fresh)  {module}:{m.line}  {m.name}", flush=True)


def fresh_run(work: Path, module: str, source: bytes, m: Mutant, tests: list[str]) -> str:
    """Run ``tests`` in a new process with the mutant written into the module: for the tests that could not
    be trusted in the shared session."""
    (work / module).write_bytes(apply(source, m))
    try:
        proc = subprocess.run([sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider", *tests],
                              cwd=work, env=_env(), capture_output=True, timeout=900, check=False)
        if proc.returncode != 0:
            (work / module).write_bytes(source)  # the same tests without the mutant: do they pass?
            clean = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *tests],
                                   cwd=work, env=_env(), capture_output=True, timeout=900, check=False)
            return "killed" if clean.returncode == 0 else "survived"
        return "survived"
    except subprocess.TimeoutExpired:
        return "timeout"
    finally:
        (work / module).write_bytes(source)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--module", action="append", choices=MODULES, help="only this module (repeatable)")
    parser.add_argument("--reuse-map", action="store_true", help="reuse var/mutation/coverage-map.json")
    parser.add_argument("--list", action="store_true", help="list the mutants and stop")
    parser.add_argument("--map-only", action="store_true", help="make the coverage map and stop")
    parser.add_argument("--match", help="only mutants whose name contains this text")
    parser.add_argument("--min-score", type=float, default=90.0)
    parser.add_argument("--max-tests", type=int, default=80, help="tests run per mutant at most (default 80)")
    parser.add_argument("--map", type=Path, default=OUT / "coverage-map.json", help="the coverage map's file")
    parser.add_argument("--results", type=Path, default=OUT / "results.json", help="where the results go")
    parser.add_argument("--quick", action="store_true",
                        help="only the selected tests per mutant, not then the rest of those that cover it")
    parser.add_argument("--also", action="append", help="a test file to run for every mutant too (one the coverage "
                        "map does not know yet; repeatable)")
    parser.add_argument("--survivors-of", type=Path, help="run only the mutants that survived in these results")
    parser.add_argument("--report", action="store_true",
                        help="only print the scores of --results again, with docs/mutation.md as it is now")
    args = parser.parse_args()
    modules = args.module or MODULES
    known = unobservable()
    if args.report:
        saved = json.loads(args.results.read_text())
        results = {mod: [Mutant(**m) for m in ms] for mod, ms in saved.items()}
        for mod, ms in results.items():
            for m in ms:
                if f"{mod} | {m.name}" in known:
                    m.status = "unobservable"
        return report(results, known, args.min_score)

    sources = {m: (ROOT / m).read_bytes() for m in modules}  # once: the tree may change during the run
    all_mutants = {m: mutants_of(m, sources[m]) for m in modules}
    if args.survivors_of:
        previous = json.loads(args.survivors_of.read_text())
        again = {m["name"] for ms in previous.values() for m in ms if m["status"] in ("survived", "uncovered")}
        all_mutants = {mod: [m for m in ms if m.name in again] for mod, ms in all_mutants.items()}
    if args.list:
        for module, mutants in all_mutants.items():
            for mu in mutants:
                mark = " (unobservable)" if f"{module} | {mu.name}" in known else ""
                print(f"{module}:{mu.line}  {mu.name}{mark}")
        print(sum(len(v) for v in all_mutants.values()), "mutants")
        return 0

    with tempfile.TemporaryDirectory(prefix="mutation-") as tmp:
        work = Path(tmp)
        copy_repository(work)
        lines, durations = coverage_map(work, modules, args.reuse_map, args.map)
        if args.map_only:
            return 0
        results: dict[str, list[Mutant]] = {}
        for module in modules:
            source = sources[module]
            (work / module).write_bytes(source)
            tree = ast.parse(source)
            mutants = [m for m in all_mutants[module] if not args.match or args.match in m.name]
            print(f"\n== {module}: {len(mutants)} mutants", flush=True)
            for m in mutants:
                if m.status == "invalid":
                    continue
                if f"{module} | {m.name}" in known:
                    m.status = "unobservable"
                    continue
                m.tests = sorted(covering_tests(m, tree, lines.get(module, {})))
                if not m.tests and not args.also:
                    m.status = "uncovered"
            run_module(work, module, source, [m for m in mutants if m.status == ""], lines.get(module, {}),
                       durations, args.max_tests, args.quick, args.also or [])
            results[module] = mutants
            args.results.parent.mkdir(parents=True, exist_ok=True)
            args.results.write_text(json.dumps({mod: [asdict(m) for m in ms] for mod, ms in results.items()},
                                               indent=1, ensure_ascii=False))
    return report(results, known, args.min_score, complete=not (args.survivors_of or args.match))


def report(results: dict[str, list[Mutant]], known: dict[str, str], min_score: float, complete: bool = True) -> int:
    print("\nmodule                          mutants  unobservable  caught  survived  score")
    failed = False
    for module, mutants in results.items():
        counted = [m for m in mutants if m.status not in ("invalid", "unobservable")]
        caught = [m for m in counted if m.status in ("killed", "timeout")]
        score = 100.0 * len(caught) / len(counted) if counted else 100.0
        failed |= score < min_score
        n_unobs = sum(m.status == "unobservable" for m in mutants)
        print(f"{module:32} {len(counted) + n_unobs:7}  {n_unobs:12}  {len(caught):6}  "
              f"{len(counted) - len(caught):8}  {score:5.1f}%")
    print("\nsurvivors (add a test, or list them in docs/mutation.md with the reason no test can see them):")
    for module, mutants in results.items():
        for m in mutants:
            if m.status in ("survived", "uncovered", "error"):
                print(f"- `{module} | {m.name}` ({m.status}, line {m.line})")
    for key in known if complete else []:  # only a run of every mutant can tell which are gone
        if key.split(" | ")[0] in results and not any(f"{mod} | {m.name}" == key
                                                       for mod, ms in results.items() for m in ms):
            print(f"note: docs/mutation.md names a mutant that no longer exists: {key}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
