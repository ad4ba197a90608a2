"""``manage.py graph list | call | check | catalog``: the Graph functions from the command line."""

from __future__ import annotations

import json
from argparse import ArgumentParser
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from graphfns import catalog
from graphfns.diagnostics import run_checks
from graphfns.errors import FunctionError
from graphfns.execution import execute
from graphfns.registry import Function, function_named, load
from membership.models import MicrosoftAccount

# Members are created by their first "Sign in with Microsoft", not by the seeded directory.
NO_MEMBERS = ("A member exists here only after their first Sign in with Microsoft (with `make demo`: open the "
              "site and sign in as a seeded user); `manage.py graph members` lists those who have.")


class Command(BaseCommand):
    help = "Microsoft Graph functions: list them, call one, check the configuration, generate the docs' tables."

    def add_arguments(self, parser: ArgumentParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True, metavar="{list,call,members,check,catalog}")
        sub.add_parser("list", help="Every function, its modes and what it does.")
        sub.add_parser("members", help="Members with a Microsoft account: the ids and usernames --as and "
                       "auth_user_id take.")
        call = sub.add_parser("call", help="Run one function and print its result as JSON.")
        call.add_argument("name", help="e.g. users.get")
        call.add_argument("--param", action="append", default=[], metavar="KEY=VALUE",
                          help="A parameter; repeatable. VALUE is read as JSON when it parses (42, true, "
                               "[\"a\"]) unless the parameter is a string; otherwise as text.")
        call.add_argument("--params-json", metavar="JSON", help="All parameters as one JSON object (--param "
                          "values override its keys).")
        who = call.add_mutually_exclusive_group()
        who.add_argument("--as", dest="as_user", metavar="USER", help="Act as this member (user id or username).")
        who.add_argument("--app", action="store_true", help="Act as the application (the default).")
        sub.add_parser("check", help="Diagnose the Microsoft configuration end to end.")
        cat = sub.add_parser("catalog", help="Print the function, error and settings tables of docs/functions.md, "
                             "docs/errors.md and docs/configuration.md.")
        cat.add_argument("--write", action="store_true", help="Rewrite them in docs/.")
        cat.add_argument("--check", action="store_true", help="Fail if docs/ is out of date.")

    def handle(self, *args: Any, **options: Any) -> None:
        getattr(self, "handle_" + options["action"])(**options)

    def handle_list(self, **options: Any) -> None:
        functions = sorted(load().values(), key=lambda f: f.name)
        width = max(len(f.name) for f in functions)
        self.stdout.write(f"{'FUNCTION':<{width}}  {'MODES':<17}  DESCRIPTION")
        for fn in functions:
            modes = "+".join(m for m, ok in (("delegated", fn.delegated), ("app", fn.application)) if ok)
            flags = " (writes)" if fn.writes else ""
            self.stdout.write(f"{fn.name:<{width}}  {modes:<17}  {fn.description}{flags}")

    def handle_call(self, *, name: str, param: list[str], params_json: str | None, as_user: str | None,
                    **options: Any) -> None:
        try:
            fn = function_named(name)
        except FunctionError as exc:
            raise CommandError(f"{exc.code}: {exc.message}") from None
        params = parse_params(fn, param, params_json)
        user = find_user(as_user) if as_user else None
        try:
            result = execute(name, params, user, caller="cli")
        except FunctionError as exc:
            details = f"\n{json.dumps(exc.details, indent=2, default=str)}" if exc.details else ""
            raise CommandError(f"{exc.code}: {exc.message}{details}") from None
        self.stdout.write(json.dumps(result, indent=2, ensure_ascii=False, default=str))

    def handle_members(self, **options: Any) -> None:
        accounts = list(MicrosoftAccount.objects.select_related("user").order_by("user_id"))
        if not accounts:
            self.stdout.write(NO_MEMBERS)
            return
        self.stdout.write(f"{'ID':>5}  {'USERNAME':<32}  {'MICROSOFT ACCOUNT':<32}  STATUS")
        for account in accounts:
            self.stdout.write(f"{account.user_id:>5}  {account.user.get_username():<32}  "
                              f"{account.username:<32}  {account.status}")

    def handle_check(self, **options: Any) -> None:
        checks = run_checks()
        for check in checks:
            self.stdout.write(f"{'✔' if check.ok else '✘'} {check.name}: {check.detail}")
            if not check.ok:
                self.stdout.write(f"  Fix: {check.fix}")
        if not all(c.ok for c in checks):
            raise CommandError("The Microsoft configuration check failed; see the fix above.")
        self.stdout.write(self.style.SUCCESS("The Microsoft configuration works."))

    def handle_catalog(self, *, write: bool, check: bool, **options: Any) -> None:
        if check:
            if stale := catalog.stale():
                raise CommandError(f"{', '.join('docs/' + n for n in stale)}: the generated tables are out of date; "
                                   "run `.venv/bin/python manage.py graph catalog --write`.")
            self.stdout.write("docs/ tables are current.")
        elif write:
            changed = catalog.write()
            self.stdout.write(f"Updated {', '.join('docs/' + n for n in changed)}." if changed
                              else "docs/ was already current.")
        else:
            for table in catalog.generated().values():
                self.stdout.write(table + "\n")


def parse_params(fn: Function, pairs: list[str], params_json: str | None) -> dict[str, Any]:
    params: dict[str, Any] = {}
    if params_json:
        try:
            params = json.loads(params_json)
        except ValueError:
            raise CommandError("--params-json is not valid JSON.") from None
        if not isinstance(params, dict):
            raise CommandError("--params-json must be a JSON object.")
    properties = fn.params.get("properties", {})
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        if not sep or not key:
            raise CommandError(f"--param {pair!r}: write it as KEY=VALUE.")
        if properties.get(key, {}).get("type") == "string":
            params[key] = raw  # "42" stays a string where the function wants one (e.g. a user id)
            continue
        try:
            params[key] = json.loads(raw)
        except ValueError:
            params[key] = raw
    return params


def find_user(ref: str) -> Any:
    User = get_user_model()
    user = User.objects.filter(pk=int(ref)).first() if ref.isdigit() else None
    user = user or User.objects.filter(**{User.USERNAME_FIELD: ref}).first()
    if user is None:
        raise CommandError(f"--as {ref}: no platform user has that id or username. {NO_MEMBERS}")
    return user
