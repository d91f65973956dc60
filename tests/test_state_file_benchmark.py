"""The state-file benchmark keeps working: ``python -m benchmarks.state_file`` runs end to end.

No timing thresholds (the figures live in benchmarks/README.md): a very short run of both
variants must finish and write well-formed JSON with three loads each.
"""

from __future__ import annotations

import importlib
import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def test_a_short_run_writes_both_variants(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.syspath_prepend(str(ROOT))
    bench = importlib.import_module("benchmarks.state_file")
    out = tmp_path / "results"
    assert (
        bench.main(
            ["--seconds", "0.3", "--threads", "2", "--dir", str(tmp_path), "--out", str(out)]
        )
        == 0
    )
    rows = json.loads((out / "state_file.json").read_text())["rows"]
    # the variants take turns, load by load
    assert [(r["variant"], r["load"]) for r in rows] == [
        ("journal", 1),
        ("whole file", 1),
        ("journal", 2),
        ("whole file", 2),
        ("journal", 3),
        ("whole file", 3),
    ]
    assert all(r["sign_ins"] > 0 and r["file_bytes"] > 0 for r in rows)
    # the scratch directory is gone: no state file or temporary file is left behind
    assert sorted(p.name for p in tmp_path.iterdir()) == ["results"]
