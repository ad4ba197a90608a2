"""``python -m emulator serve [--host H] [--port N] [--seed FILE] [--state-dir DIR] [--json]``."""

from __future__ import annotations

import argparse
import contextlib
import json
import signal
import sys
import threading
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m emulator", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="run the HTTPS emulator until interrupted")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=0, help="0 picks a free port")
    serve.add_argument("--seed", type=Path, help="JSON seed file (default: the built-in seed)")
    serve.add_argument("--state-dir", type=Path, default=Path("var/emulator"), help="where the CA and signing key live")
    serve.add_argument("--auto-approve", action="store_true", help="sign in and consent without pages (scripts)")
    serve.add_argument("--json", action="store_true", help="print the connection details as one JSON line")
    serve.add_argument("--verbose", action="store_true", help="log every request")
    args = parser.parse_args(argv)

    from emulator.server import start

    seed = json.loads(args.seed.read_text()) if args.seed else None
    running = start(host=args.host, port=args.port, seed=seed, state_dir=args.state_dir,
                    auto_approve=args.auto_approve, verbose=args.verbose)
    info = running.info
    if args.json:
        print(json.dumps(info), flush=True)
    else:
        for key, value in info.items():
            print(f"{key:>16}: {value}")
        print("Press Ctrl+C to stop.", flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with contextlib.suppress(KeyboardInterrupt):
        stop.wait()
    running.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
