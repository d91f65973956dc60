"""A benchmark worker process: one JSON command per stdin line, one JSON answer per stdout line.

The runner starts one worker per variant (``COGNITO_MFA_SRP_BACKEND`` set to ``auto`` or
``python``, or the pycognito baseline) and sends them the same commands in turn, so every
figure is taken side by side in the same run. A worker's CPU clock
(``time.process_time``) counts only the client: the emulated Cognito runs in its own process.

Everything a library prints goes to stderr; stdout carries only the answers.
"""

from __future__ import annotations

import importlib
import json
import sys
import traceback
from collections.abc import Callable
from typing import Any, TextIO

# case name -> "module:function"; imported lazily so a worker loads only what it runs
CASES: dict[str, str] = {
    "hello": "benchmarks.worker:hello",
    "srp_math": "benchmarks.srp_math:run",
    "client_cpu": "benchmarks.signin:client_cpu",
    "loop_latency": "benchmarks.signin:loop_latency",
    "throughput": "benchmarks.signin:throughput",
    "memory": "benchmarks.signin:memory",
    "memory_baseline": "benchmarks.signin:memory_baseline",
    "emulator": "benchmarks.emulator:run",
    "profile": "benchmarks.profile:run",
}


def hello(params: dict[str, Any]) -> dict[str, Any]:
    """Which SRP backend this process runs (proves the environment variable took effect)."""
    from cognito_mfa import _srp as srp

    return {"fast": srp.FAST}


def _load(case: str) -> Callable[[dict[str, Any]], dict[str, Any]]:
    module_name, _, attr = CASES[case].partition(":")
    function: Callable[[dict[str, Any]], dict[str, Any]] = getattr(
        importlib.import_module(module_name), attr
    )
    return function


def serve(commands: TextIO, answers: TextIO) -> None:
    for line in commands:
        if not line.strip():
            continue
        command = json.loads(line)
        try:
            result = _load(command["case"])(command.get("params", {}))
            answer: dict[str, Any] = {"ok": True, "result": result}
        except BaseException:  # report it to the runner, which fails the run
            answer = {"ok": False, "error": traceback.format_exc()}
        answers.write(json.dumps(answer) + "\n")
        answers.flush()


def main() -> None:
    answers = sys.stdout
    sys.stdout = sys.stderr  # a stray print() must not corrupt the protocol
    serve(sys.stdin, answers)


if __name__ == "__main__":
    main()
