"""A long-lived process that runs ``gpuemu`` commands for the fuzz suite, one per line.

Reads JSON lines ``{"args": [...]}`` on stdin, runs the command in-process (as the
console script would, minus process start-up) and answers one JSON line
``{"code": int | "traceback" | "memory", "stdout": str, "stderr": str}``. The address
space is capped (``--memory-gb``) so a memory blow-up shows as ``"memory"``, not as a
stalled machine.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import resource
import sys
import traceback


def _run(args: list[str]) -> dict[str, object]:
    import typer.main

    from emulator.cli import app

    out, err = io.StringIO(), io.StringIO()
    code: object
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            result = typer.main.get_command(app).main(args=args, prog_name="gpuemu",
                                                      standalone_mode=False)
            code = 0 if result is None else result
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
        except MemoryError:
            code = "memory"
        except BaseException:  # a traceback: the fuzz suite reports it
            traceback.print_exc()
            code = "traceback"
    return {"code": code, "stdout": out.getvalue()[-4000:], "stderr": err.getvalue()[-8000:]}


def main() -> None:
    """Serve commands from stdin until it closes."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--memory-gb", type=float, default=6.0)
    opts = parser.parse_args()
    limit = int(opts.memory_gb * 2**30)
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    import emulator.cli  # noqa: F401 - import once, before the first case is timed

    print(json.dumps({"ready": True}), flush=True)
    for line in sys.stdin:
        request = json.loads(line)
        print(json.dumps(_run(request["args"])), flush=True)


if __name__ == "__main__":
    main()
