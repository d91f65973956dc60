"""The example notebook: committed without outputs, and executed here as a user would run it.

``examples/emulator_walkthrough.ipynb`` is run cell by cell with nbclient in a fresh IPython
kernel of *this* interpreter (a kernel spec written to a temporary directory, so neither a
user's own kernels nor a missing system-wide ``python3`` kernel change what runs), with the
repository root as its working directory. Its outputs are then checked: the QR code as SVG,
the TOTP challenge answered, and ``get_user_data()``'s factors.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import nbformat
import pytest
from jupyter_client.kernelspec import KernelSpecManager
from jupyter_client.manager import AsyncKernelManager
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOK = ROOT / "examples" / "emulator_walkthrough.ipynb"
KERNEL = "cognito-mfa-tests"


def _read() -> Any:
    return nbformat.read(NOTEBOOK, as_version=4)


def _code_cells(notebook: Any) -> list[Any]:
    return [cell for cell in notebook.cells if cell.cell_type == "code"]


def test_the_committed_notebook_has_no_outputs() -> None:
    notebook = _read()
    nbformat.validate(notebook)
    for number, cell in enumerate(_code_cells(notebook)):
        assert cell.outputs == [], f"code cell {number} has outputs: strip them before committing"
        assert cell.execution_count is None, f"code cell {number} has an execution count"


def test_the_notebook_is_async_without_an_event_loop_of_its_own() -> None:
    source = "\n".join(cell.source for cell in _code_cells(_read()))
    assert "await " in source
    for forbidden in ("asyncio.run", "nest_asyncio", "input(", "get_event_loop"):
        assert forbidden not in source, f"the notebook uses {forbidden}"


def _text_of(output: Any) -> str:
    if output.output_type == "stream":
        return str(output.text)
    return str(output.get("data", {}).get("text/plain", ""))


def test_the_notebook_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # jupyter's paths: no deprecation notice, and runtime files in the test's directory
    monkeypatch.setenv("JUPYTER_PLATFORM_DIRS", "1")
    monkeypatch.setenv("JUPYTER_RUNTIME_DIR", str(tmp_path / "runtime"))
    kernel_dir = tmp_path / "kernels" / KERNEL
    kernel_dir.mkdir(parents=True)
    spec = {
        "argv": [
            sys.executable,
            "-Xfrozen_modules=off",  # quiets the debugger's warning about frozen modules
            "-m",
            "ipykernel_launcher",
            "-f",
            "{connection_file}",
        ],
        "display_name": "cognito-mfa tests",
        "language": "python",
    }
    (kernel_dir / "kernel.json").write_text(json.dumps(spec), encoding="utf-8")
    kernels = str(tmp_path / "kernels")
    sockets = str(tmp_path / "kernel")
    managers: list[AsyncKernelManager] = []

    class Manager(AsyncKernelManager):
        """Only our kernel spec; IPC sockets in the test's directory rather than TCP ports."""

        def __init__(self, **kwargs: Any) -> None:
            specs = KernelSpecManager(kernel_dirs=[kernels])
            super().__init__(kernel_spec_manager=specs, transport="ipc", **kwargs)
            self.ip = sockets
            managers.append(self)

    notebook = _read()
    client = NotebookClient(
        notebook,
        kernel_name=KERNEL,
        kernel_manager_class=Manager,
        timeout=60,
        resources={"metadata": {"path": str(ROOT)}},
    )
    client.execute()  # raises CellExecutionError, with the cell, if any cell fails
    assert len(managers) == 1
    assert not managers[0].has_kernel, "the kernel was left running"

    outputs = [output for cell in _code_cells(notebook) for output in cell.outputs]
    assert not [output for output in outputs if output.output_type == "error"]
    text = "\n".join(_text_of(output) for output in outputs)
    svgs = [o for o in outputs if "image/svg+xml" in o.get("data", {})]
    assert len(svgs) == 1, "the QR code is shown once, as SVG"
    assert svgs[0].data["image/svg+xml"].lstrip().startswith("<svg")
    assert "challenges: none" in text
    assert "TOTP enrolled and preferred" in text
    assert "challenge: SOFTWARE_TOKEN_MFA (Notebook)" in text
    assert "signed in as alice" in text
    assert "enabled:   ['SOFTWARE_TOKEN_MFA']" in text
    assert "preferred: SOFTWARE_TOKEN_MFA" in text
    assert "UserData(username='alice'" in text
    assert "new device: True" in text
    assert "remembered at once: True" in text
    assert "challenges with the remembered device: none" in text
    # the secret never shows: not in a repr, and only inside the QR code's picture
    assert "**********" in text
    assert "otpauth" not in text
