"""The token-verification benchmark keeps working: ``python -m benchmarks.verify --quick``.

No timing thresholds (the figures live in benchmarks/README.md): this only checks that it runs
end to end and writes well-formed JSON with every row it reports.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _refuse_constant(name: str) -> float:
    raise ValueError(f"{name} in benchmark JSON")


def test_quick_run_writes_the_verify_benchmark(tmp_path: Path) -> None:
    completed = subprocess.run(
        [sys.executable, "-m", "benchmarks.verify", "--quick", "--out", str(tmp_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert completed.returncode == 0, completed.stderr[-4000:]
    data = json.loads(
        (tmp_path / "verify.json").read_text(encoding="utf-8"), parse_constant=_refuse_constant
    )
    assert data["name"] == "verify" and data["quick"] is True
    cases = [row["case"] for row in data["rows"]]
    for expected in (
        "one RS256 verify (cryptography, alone)",
        "ours: await verify(), one task: rate",
        "ours: verify_cached(): CPU",
        "spread: ours, cold cache: max lateness",
        "at once: no-op tasks (the floor): max lateness",
    ):
        assert expected in cases, expected
    assert any(case.startswith("PyJWT") and case.endswith(": rate") for case in cases)
    for row in data["rows"]:
        assert isinstance(row["value"], int | float), row
        assert math.isfinite(row["value"]) and row["value"] >= 0, row
        if row["ratio"] is not None:
            assert math.isfinite(row["ratio"]) and row["ratio"] > 0, row
        assert f"| verify | {row['case']} |" in completed.stdout
