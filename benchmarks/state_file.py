"""The emulator's state file under a write load: the journal against the whole-file rewrite.

``python -m benchmarks.state_file [--seconds 20] [--threads 4] [--quick] [--dir DIR]``

Each variant runs three back-to-back loads of ``--seconds`` on one emulator and one state file
(the state grows from load to load, as it does under a long test session), the two variants
taking turns load by load so both meet the same machine over time: ``--threads``
threads signing in as fast as they can, each sign-in USER_SRP_AUTH then PASSWORD_VERIFIER
through :meth:`Emulator.handle` (the client's SRP computed in the thread, outside the lock;
the calls into the emulator serialised by one lock, as the fronts serialise them). Every
sign-in changes the state (a new sign-in and refresh token), so every one is written.

* **journal**: :func:`cognito_mfa.testing._state_file.load_emulator` (one appended line per
  call, fsync'ed; compaction; expired tokens pruned);
* **whole file**: what the served front did before, after every successful state-changing
  call: :func:`write_state_atomically` of the whole :meth:`Emulator.to_state` (temporary
  file, fsync, rename, directory fsync), in the same lock.

Reported per load: sign-ins per second (wall clock) and per second of this process's CPU (less
sensitive to other work on a shared machine, blind to time spent waiting for fsync), the file
size at its end, the live state's size (the records a snapshot holds), the load average;
per variant, the slowest load's throughput over the fastest (the target: within 20%, i.e. at
least 0.8) and the journal's throughput over the whole-file rewrite's in the same load.
Results go to ``benchmarks/results/state_file.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cognito_mfa import _srp as srp
from cognito_mfa.testing import Emulator
from cognito_mfa.testing._emulator import TARGET_PREFIX
from cognito_mfa.testing._state_file import load_emulator, write_state_atomically

PASSWORD = "Correct-Horse-9"
VARIANTS = ("journal", "whole file")
RESULTS = Path(__file__).resolve().parent / "results"


def _call(emulator: Emulator, operation: str, body: dict[str, Any], signed: bool = False) -> Any:
    wire = emulator.handle(TARGET_PREFIX + operation, json.dumps(body).encode(), signed=signed)
    if wire.status != 200:
        raise RuntimeError(f"{operation}: HTTP {wire.status}")
    return json.loads(wire.body)


def _seed(emulator: Emulator, users: int) -> tuple[str, str]:
    pool_id = _call(emulator, "CreateUserPool", {"PoolName": "load"}, True)["UserPool"]["Id"]
    client_id = _call(
        emulator,
        "CreateUserPoolClient",
        {"UserPoolId": pool_id, "ClientName": "load"},
        True,
    )["UserPoolClient"]["ClientId"]
    for number in range(users):
        name = f"user-{number}"
        _call(
            emulator,
            "AdminCreateUser",
            {"UserPoolId": pool_id, "Username": name, "MessageAction": "SUPPRESS"},
            True,
        )
        _call(
            emulator,
            "AdminSetUserPassword",
            {"UserPoolId": pool_id, "Username": name, "Password": PASSWORD, "Permanent": True},
            True,
        )
    return pool_id, client_id


class _Load:
    """Signs in from several threads for a while, through one lock."""

    def __init__(
        self,
        emulator: Emulator,
        pool_id: str,
        client_id: str,
        after_change: Callable[[], None],
    ) -> None:
        self.emulator = emulator
        self.pool_name = srp.pool_name_of(pool_id)
        self.client_id = client_id
        self.after_change = after_change
        self.lock = threading.Lock()

    def handle(self, operation: str, body: dict[str, Any]) -> Any:
        with self.lock:
            answer = _call(self.emulator, operation, body)
            self.after_change()
        return answer

    def sign_in(self, username: str) -> None:
        a = srp.secret_exponent(os.urandom(srp.SECRET_EXPONENT_BITS // 8))
        big_a = srp.client_public(a)
        started = self.handle(
            "InitiateAuth",
            {
                "AuthFlow": "USER_SRP_AUTH",
                "ClientId": self.client_id,
                "AuthParameters": {"USERNAME": username, "SRP_A": format(big_a, "x")},
            },
        )
        params = started["ChallengeParameters"]
        key = srp.client_key(
            pool_name=self.pool_name,
            user_id=params["USER_ID_FOR_SRP"],
            password=PASSWORD,
            a=a,
            big_a=big_a,
            srp_b_hex=params["SRP_B"],
            salt_hex=params["SALT"],
        )
        timestamp = srp.format_timestamp(datetime.now(UTC))
        signature = srp.password_claim_signature(
            key, self.pool_name, params["USER_ID_FOR_SRP"], params["SECRET_BLOCK"], timestamp
        )
        done = self.handle(
            "RespondToAuthChallenge",
            {
                "ClientId": self.client_id,
                "ChallengeName": "PASSWORD_VERIFIER",
                "Session": started["Session"],
                "ChallengeResponses": {
                    "USERNAME": params["USER_ID_FOR_SRP"],
                    "PASSWORD_CLAIM_SECRET_BLOCK": params["SECRET_BLOCK"],
                    "TIMESTAMP": timestamp,
                    "PASSWORD_CLAIM_SIGNATURE": signature,
                },
            },
        )
        if "AuthenticationResult" not in done:
            raise RuntimeError("the sign-in did not finish")

    def run(self, seconds: float, threads: int) -> int:
        """Sign in from ``threads`` threads for ``seconds``; returns how many finished."""
        deadline = time.monotonic() + seconds
        counts = [0] * threads
        errors: list[BaseException] = []

        def worker(index: int) -> None:
            try:
                while time.monotonic() < deadline:
                    self.sign_in(f"user-{index}")
                    counts[index] += 1
            except BaseException as exc:  # reported after the join
                errors.append(exc)

        pool = [threading.Thread(target=worker, args=(i,)) for i in range(threads)]
        for thread in pool:
            thread.start()
        for thread in pool:
            thread.join()
        if errors:
            raise errors[0]
        return sum(counts)


def _live_size(emulator: Emulator) -> int:
    """The bytes a snapshot of the live records takes (what compaction would write)."""
    return sum(
        len(json.dumps(plain, separators=(",", ":"))) + 40 for _, plain in emulator.plain_records()
    )


class _Variant:
    """One emulator with its state file and its way of persisting."""

    def __init__(self, name: str, directory: Path, threads: int) -> None:
        self.name = name
        self.path = directory / f"{name.replace(' ', '-')}.state"
        if name == "journal":
            self.emulator = load_emulator(self.path)
            after_change: Callable[[], None] = _nothing  # the emulator appends its own change
        else:
            self.emulator = Emulator()
            after_change = self._rewrite
        pool_id, client_id = _seed(self.emulator, threads)
        after_change()
        self.load = _Load(self.emulator, pool_id, client_id, after_change)

    def _rewrite(self) -> None:
        write_state_atomically(self.path, self.emulator.to_state())

    def run(self, number: int, seconds: float, threads: int) -> dict[str, Any]:
        stolen = _steal()
        cpu, start = time.process_time(), time.monotonic()
        done = self.load.run(seconds, threads)
        cpu, elapsed = time.process_time() - cpu, time.monotonic() - start
        row = {
            "variant": self.name,
            "load": number,
            "sign_ins": done,
            "seconds": elapsed,
            "per_second": done / elapsed,
            "per_cpu_second": done / cpu,
            "host_steal_seconds": _steal() - stolen,
            "load_average": os.getloadavg()[0],
            "file_bytes": self.path.stat().st_size,
            "live_bytes": _live_size(self.emulator),
            "refresh_tokens": len(self.emulator.to_state()["refresh_tokens"]),
        }
        print(
            f"{self.name} load {number}: {row['per_second']:.1f} sign-ins/s, "
            f"{row['per_cpu_second']:.1f} per CPU second, file {row['file_bytes']:,} B, "
            f"load average {row['load_average']:.1f}",
            file=sys.stderr,
            flush=True,
        )
        return row


def _nothing() -> None:
    pass


def _steal() -> float:
    """CPU seconds the host took from this machine so far (Linux ``/proc/stat``; 0 elsewhere)."""
    try:
        fields = Path("/proc/stat").read_text().splitlines()[0].split()
    except OSError:
        return 0.0
    return int(fields[8]) / os.sysconf("SC_CLK_TCK") if len(fields) > 8 else 0.0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.state_file")
    parser.add_argument("--seconds", type=float, default=20.0, help="length of each load")
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--quick", action="store_true", help="1-second loads (a smoke run)")
    parser.add_argument("--dir", type=Path, help="where the state files go (a temporary dir)")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    seconds = 1.0 if args.quick else args.seconds
    rows = []
    with tempfile.TemporaryDirectory(dir=args.dir) as scratch:
        variants = [_Variant(name, Path(scratch), args.threads) for name in VARIANTS]
        # the loads alternate between the variants, so both see the same machine over time
        for number in range(1, 4):
            for variant in variants:
                rows.append(variant.run(number, seconds, args.threads))
        for variant in variants:
            variant.emulator.close()
    table = _table(rows)
    print(table)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "state_file.json").write_text(
        json.dumps(
            {
                "command": ["python", "-m", "benchmarks.state_file", *(argv or sys.argv[1:])],
                "machine": {"python": platform.python_version(), "cpus": os.cpu_count()},
                "srp_fast": srp.FAST,
                "rows": rows,
            },
            indent=2,
        )
    )
    return 0


def _table(rows: list[dict[str, Any]]) -> str:
    lines = [
        "| variant | load | sign-ins/s | per CPU second | vs whole file, same load | "
        "file size | live state | file / live | load average |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    whole = {r["load"]: r for r in rows if r["variant"] == "whole file"}
    for row in sorted(rows, key=lambda r: (VARIANTS.index(r["variant"]), r["load"])):
        versus = row["per_second"] / whole[row["load"]]["per_second"]
        lines.append(
            f"| {row['variant']} | {row['load']} | {row['per_second']:.1f} | "
            f"{row['per_cpu_second']:.1f} | {versus:.2f} | {row['file_bytes']:,} B | "
            f"{row['live_bytes']:,} B | {row['file_bytes'] / row['live_bytes']:.2f} | "
            f"{row['load_average']:.1f} |"
        )
    for variant in VARIANTS:
        mine = [r for r in rows if r["variant"] == variant]
        wall = [r["per_second"] for r in mine]
        cpu = [r["per_cpu_second"] for r in mine]
        lines.append(
            f"| {variant} | slowest / fastest load | {min(wall) / max(wall):.2f} | "
            f"{min(cpu) / max(cpu):.2f} | | | | | |"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
