"""The lookup benchmark keeps working: ``python -m benchmarks.lookups --quick`` runs end to end.

No timing thresholds (the figures live in benchmarks/README.md): a smoke run must look every
case up, find every name, and write well-formed JSON with each case's ratio to its baseline.
"""

from __future__ import annotations

import importlib
import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def test_a_quick_run_writes_every_case(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.syspath_prepend(str(ROOT))
    bench = importlib.import_module("benchmarks.lookups")
    assert bench.main(["--quick", "--out", str(tmp_path)]) == 0
    result = json.loads((tmp_path / "lookups.json").read_text())
    rows = {row["case"]: row for row in result["rows"]}
    assert set(rows) == {
        "username, baseline",
        "username, exact pool",
        "username, case-insensitive pool",
        "username, folding scan (no index)",
        "email, baseline",
        "email, exact pool",
        "email, case-insensitive pool",
    }
    assert rows["username, baseline"]["vs_baseline"] == 1.0
    assert all(row["ns_per_lookup"] > 0 for row in rows.values())
