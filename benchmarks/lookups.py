"""The emulator's user lookups in case-sensitive and case-insensitive pools.

``python -m benchmarks.lookups [--users 10000] [--rounds 5] [--quick] [--out DIR]``

Every sign-in and every Admin call naming a user goes through ``Pool.find_user``. A
case-insensitive pool (``UsernameConfiguration: {CaseSensitive: false}``) finds a username in
any case through an index by folded name; an email used as the username is still found by a
scan of the pool's users, as before. The baseline is the lookup as it was before case was
emulated (exact dict access, then the same scan), kept below verbatim and run in this process
on the same pools, so the ratios hold on a busy machine.

Cases, each ``--users`` users in one pool, looked up by names drawn at random from them:

* **username**: baseline (exact pool, the earlier lookup); now in an exact pool; now in a
  case-insensitive pool with the name upper-cased; and, for scale, a scan that folds every
  username (what a case-insensitive lookup would cost without the index);
* **email as username**: the same four, by email address (all scans).

Reported: nanoseconds per lookup (the median of ``--rounds`` rounds, the cases taking turns
round by round) and each case's ratio to its baseline. Results go to
``benchmarks/results/lookups.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from cognito_mfa.testing._jwt import SigningKey
from cognito_mfa.testing._model import Pool, User, fold

RESULTS = Path(__file__).resolve().parent / "results"

Lookup = Callable[[str], User | None]


def _earlier_find_user(pool: Pool, name: str) -> User | None:
    """``Pool.find_user`` before case was emulated (the baseline), verbatim in effect."""
    user = pool.users.get(name)
    if user is not None:
        return user
    for attribute in ("email", "phone_number"):
        if attribute in pool.username_attributes:
            for candidate in pool.users.values():
                if candidate.attributes.get(attribute) == name:
                    return candidate
        elif attribute in pool.alias_attributes:
            for candidate in pool.users.values():
                if (
                    candidate.attributes.get(attribute) == name
                    and candidate.attributes.get(f"{attribute}_verified") == "true"
                ):
                    return candidate
    return None


def _pool(users: int, *, case_sensitive: bool | None, email: bool) -> Pool:
    pool = Pool(
        id="us-east-1_Bench",
        name="bench",
        created=0.0,
        modified=0.0,
        key=SigningKey(kid="bench"),
        username_attributes=["email"] if email else [],
        case_sensitive=case_sensitive,
    )
    for index in range(users):
        name = f"user-{index:06d}"
        pool.add_user(
            User(
                username=name,
                sub=name,
                attributes={"email": f"Person.{index}@Example.com"},
                status="CONFIRMED",
                created=0.0,
                modified=0.0,
            )
        )
    return pool


def _folding_scan(pool: Pool) -> Lookup:
    def lookup(name: str) -> User | None:
        key = fold(name)
        for candidate in pool.users.values():
            if fold(candidate.username) == key:
                return candidate
        return None

    return lookup


def _cases(users: int) -> dict[str, tuple[str, Lookup, list[str]]]:
    """Case name -> (its baseline's name, the lookup, the names it looks up)."""
    rng = random.Random(1)
    exact = _pool(users, case_sensitive=None, email=False)
    caseless = _pool(users, case_sensitive=False, email=False)
    exact_email = _pool(users, case_sensitive=None, email=True)
    caseless_email = _pool(users, case_sensitive=False, email=True)
    picks = [rng.randrange(users) for _ in range(1000)]
    names = [f"user-{i:06d}" for i in picks]
    emails = [f"Person.{i}@Example.com" for i in picks]
    upper = [n.upper() for n in names]
    upper_emails = [e.upper() for e in emails]
    return {
        "username, baseline": ("username, baseline", _bind(_earlier_find_user, exact), names),
        "username, exact pool": ("username, baseline", exact.find_user, names),
        "username, case-insensitive pool": ("username, baseline", caseless.find_user, upper),
        "username, folding scan (no index)": ("username, baseline", _folding_scan(caseless), upper),
        "email, baseline": ("email, baseline", _bind(_earlier_find_user, exact_email), emails),
        "email, exact pool": ("email, baseline", exact_email.find_user, emails),
        "email, case-insensitive pool": (
            "email, baseline",
            caseless_email.find_user,
            upper_emails,
        ),
    }


def _bind(function: Callable[[Pool, str], User | None], pool: Pool) -> Lookup:
    return lambda name: function(pool, name)


def _time(lookup: Lookup, names: list[str], budget: float) -> float:
    """Nanoseconds per lookup, cycling through ``names`` for about ``budget`` seconds."""
    count = 0
    start = time.perf_counter()
    elapsed = 0.0
    while elapsed < budget:
        for name in names:
            if lookup(name) is None:
                raise AssertionError("a lookup missed")
        count += len(names)
        elapsed = time.perf_counter() - start
    return elapsed / count * 1e9


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.lookups")
    parser.add_argument("--users", type=int, default=10_000, help="users in each pool")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=1.0, help="per case and round")
    parser.add_argument("--quick", action="store_true", help="a smoke run: tiny pools, 1 round")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    users, rounds, seconds = args.users, args.rounds, args.seconds
    if args.quick:
        users, rounds, seconds = 200, 1, 0.05
    cases = _cases(users)
    samples: dict[str, list[float]] = {name: [] for name in cases}
    order = list(cases)
    for number in range(rounds):
        # rotated each round, so no case always runs first (or after the same one)
        shift = number % len(order)
        for name in order[shift:] + order[:shift]:
            _, lookup, names = cases[name]
            samples[name].append(_time(lookup, names, seconds))
    medians = {name: statistics.median(values) for name, values in samples.items()}
    rows = [
        {
            "case": name,
            "ns_per_lookup": medians[name],
            "vs_baseline": medians[name] / medians[baseline],
            "samples_ns": samples[name],
        }
        for name, (baseline, _, _) in cases.items()
    ]
    print(_table(rows, users))
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "lookups.json").write_text(
        json.dumps(
            {
                "command": ["python", "-m", "benchmarks.lookups", *(argv or sys.argv[1:])],
                "machine": {"python": platform.python_version(), "cpus": os.cpu_count()},
                "users": users,
                "rows": rows,
            },
            indent=2,
        )
    )
    return 0


def _table(rows: list[dict[str, Any]], users: int) -> str:
    lines = [
        f"| lookup ({users:,} users) | ns per lookup | vs baseline |",
        "|---|---:|---:|",
    ]
    for row in rows:
        ratio = row["vs_baseline"]
        shown = f"{ratio:.2f}" if ratio >= 0.1 else f"{ratio:.4f}"
        lines.append(f"| {row['case']} | {row['ns_per_lookup']:,.0f} | {shown} |")
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
