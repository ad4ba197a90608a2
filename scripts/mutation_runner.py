"""The pytest plugin scripts/mutation.py loads (``-p mutation_runner``): every mutant of one module in one session.

Starting pytest, Django, a test database and the emulator for each mutant would cost more than its tests.
Here one session runs them all: a mutant is applied by compiling the mutated module and giving each of the
module's functions the mutated code (``__code__``: every reference to the function, including
``from module import name`` elsewhere, runs it), or by rebinding a module constant; then its tests run
(stopping at the first failure) and everything is put back. Session and module fixtures (the emulator, the
database) stay up between mutants.

A test that fails on a mutant is run again without it: a test that fails either way is not evidence (its
failure is left out and it is not used again). A mutant whose tests outlast the time budget ends the session
(a mutant's endless loop may still spin in a server thread): the driver starts a new one for the rest.

Input: MUTATION_PLAN (JSON: module, path, mutants with their tests); output: MUTATION_OUT (JSON lines).
"""

from __future__ import annotations

import ast
import importlib
import json
import os
import signal
import time
import types
from pathlib import Path
from typing import Any

import pytest
from _pytest.runner import runtestprotocol


class MutantTimeout(Exception):
    pass


def _functions(module: types.ModuleType) -> list[types.FunctionType]:
    """The functions the module defines, including methods, properties and class/static methods."""
    found: list[types.FunctionType] = []

    def from_namespace(values: Any, owner: str) -> None:
        for value in values:
            if isinstance(value, staticmethod | classmethod):
                value = value.__func__
            if isinstance(value, property):
                found.extend(f for f in (value.fget, value.fset, value.fdel) if isinstance(f, types.FunctionType))
            elif isinstance(value, types.FunctionType) and value.__module__ == owner:
                found.append(value)
            elif isinstance(value, type) and value.__module__ == owner and value.__qualname__ not in seen:
                seen.add(value.__qualname__)
                from_namespace(list(vars(value).values()), owner)

    seen: set[str] = set()
    from_namespace(list(vars(module).values()), module.__name__)
    return found


def _codes(code: types.CodeType, into: dict[str, types.CodeType]) -> dict[str, types.CodeType]:
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            into[const.co_qualname] = const
            _codes(const, into)
    return into


def apply(module: types.ModuleType, path: str, mutated: bytes, constant: str | None) -> list[Any]:
    """Put the mutant in place; return what undoes it."""
    undo: list[Any] = []
    if constant is not None:  # a module constant: evaluate its mutated value
        for node in ast.parse(mutated).body:
            targets = node.targets if isinstance(node, ast.Assign) else [node.target] \
                if isinstance(node, ast.AnnAssign) else []
            if any(isinstance(t, ast.Name) and t.id == constant for t in targets):
                value = eval(compile(ast.Expression(node.value), path, "eval"), vars(module))  # noqa: S307
                undo.append(("constant", constant, getattr(module, constant)))
                setattr(module, constant, value)
        return undo
    codes = _codes(compile(mutated, path, "exec"), {})
    for fn in _functions(module):
        new = codes.get(fn.__code__.co_qualname)
        if new is not None and new.co_firstlineno == fn.__code__.co_firstlineno and new != fn.__code__:
            undo.append(("code", fn, fn.__code__))
            fn.__code__ = new
    return undo


def restore(module: types.ModuleType, undo: list[Any]) -> None:
    for kind, target, old in reversed(undo):
        if kind == "constant":
            setattr(module, target, old)
        else:
            target.__code__ = old


def forget_process_state() -> None:
    """What the product keeps per process: a mutant may have left something odd in it."""
    from django.core.cache import cache

    from graphfns import models
    from membership import identity
    from membership.models import MicrosoftSettings

    identity._apps.clear()
    identity._http_cache.clear()
    models._memo.clear()
    MicrosoftSettings.forget()
    cache.clear()


def _run(item: pytest.Item) -> bool:
    """Run one test (setting up what it needs, tearing down only its own fixtures); True if it passed."""
    item.session._setupstate.teardown_exact(item)  # leave the previous test's module if this one is elsewhere
    reports = runtestprotocol(item, log=False, nextitem=item.parent)
    return not any(r.failed for r in reports)


def _alarm(signum: int, frame: Any) -> None:
    raise MutantTimeout("the mutant's tests outlasted their time budget")


@pytest.hookimpl(tryfirst=True)
def pytest_runtestloop(session: pytest.Session) -> bool:
    plan = json.loads(Path(os.environ["MUTATION_PLAN"]).read_text())
    out = Path(os.environ["MUTATION_OUT"]).open("a")  # noqa: SIM115 - written to until the session ends
    items = {item.nodeid: item for item in session.items}
    module = importlib.import_module(plan["module_name"])
    source = Path(plan["path"]).read_bytes()
    unreliable: set[str] = set()
    signal.signal(signal.SIGALRM, _alarm)
    for m in plan["mutants"]:
        out.write(json.dumps({"name": m["name"], "status": "running"}) + "\n")
        out.flush()
        mutated = source[:m["start"]] + m["replacement"].encode() + source[m["end"]:]
        started = time.monotonic()
        status, killer = "survived", None
        undo = apply(module, plan["path"], mutated, m.get("constant"))
        if not undo:
            status = "error"  # nothing changed: the harness could not apply it
        signal.alarm(int(m["budget"]))
        try:
            # The selected tests first; for a survivor, the rest of the tests that run its lines.
            wanted = [*m["tests"], *m.get("more", [])]
            # a path without "::" (--also) stands for every test collected from it
            wanted = [n for w in wanted for n in ([w] if "::" in w else [i for i in items if i.startswith(w + "::")])]
            for nodeid in wanted:
                item = items.get(nodeid)
                if status == "error" or item is None or nodeid in unreliable:
                    continue
                if not _run(item):
                    restore(module, undo)
                    undo = []
                    forget_process_state()
                    if _run(item):  # fails only with the mutant: killed
                        status, killer = "killed", nodeid
                        break
                    unreliable.add(nodeid)  # fails without it too: no evidence either way
                    undo = apply(module, plan["path"], mutated, m.get("constant"))
        except MutantTimeout:
            status = "timeout"
        finally:
            signal.alarm(0)
            restore(module, undo)
            forget_process_state()
        out.write(json.dumps({"name": m["name"], "status": status, "killer": killer,
                              "seconds": round(time.monotonic() - started, 2)}) + "\n")
        out.flush()
        if status == "timeout":
            os._exit(3)  # a server thread may still run the mutant: start afresh
    session._setupstate.teardown_exact(None)
    out.write(json.dumps({"unreliable": sorted(unreliable)}) + "\n")
    out.close()
    return True
