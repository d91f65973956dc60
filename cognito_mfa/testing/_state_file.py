"""The emulator's state file: an append-only journal of changed records, compacted now and then.

Layout: UTF-8 JSON lines. The first line is a header,
``{"format": "cognito-mfa-emulator-journal", "version": 2, "region": ...}``; every other line
is one change set, ``{"c": [{"k": KEY, "v": RECORD-or-null}, ...]}``, where KEY names a stored
record (``["user", pool_id, username]``, see :mod:`._state`) and ``null`` means it is gone.
Loading applies the lines in order. A state-changing call appends exactly one line holding
every record it changed, so the cost of a call is the size of its change, not of the state.

Compaction. When the lines appended since the last snapshot outweigh ``compaction_ratio``
times the snapshot (and ``compaction_min_bytes``, 256 KiB by default), the file is rewritten
as a snapshot: the header and one line per live record, after dropping expired refresh
tokens and sign-ins. The
snapshot is written to a temporary file in the same directory, fsync'ed, renamed over the
journal with :func:`os.replace`, and the directory fsync'ed. Challenge sessions (and the
one-time codes in them) are never stored.

Durability (``fsync``). Each change set is written with one ``write`` to the file before the
call's answer is returned, so a crash of the process (even ``kill -9``) loses at most the
call in flight. With ``fsync=True`` (the default) the line is also fsync'ed before the
answer, so a power loss loses no acknowledged call; ``fsync=False`` trades that for speed.

Crashes. A crash in the middle of an append leaves a last line without its newline: it is
dropped (and cut from the file) at the next start, as that call was never answered. A crash
in the middle of a compaction leaves the old file intact and a temporary file
(``.NAME.*.tmp``), which the next start deletes. Anything else wrong with the file is an error
(:class:`StateFileError`): one line naming the file and what is wrong (a line number, the
path of a field), never a value from the file, which may be a secret.

Files of the earlier whole-state format (one JSON document, ``"version": 1``) are read and
rewritten in this format.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any, Final

from ._emulator import Emulator
from ._records import StateError
from ._state import Key

__all__ = ["StateFileError", "keep_state_in", "load_emulator", "write_state_atomically"]

FORMAT: Final = "cognito-mfa-emulator-journal"
VERSION: Final = 2


class StateFileError(ValueError):
    """The state file cannot be used; the message is one line naming the file."""


def write_state_atomically(path: Path, state: dict[str, Any]) -> None:
    """Write ``state`` as one JSON document to ``path``: a crash leaves the old file or the new."""
    _write_atomically(path, [json.dumps(state, separators=(",", ":")).encode()])


def _write_atomically(path: Path, lines: Iterable[bytes]) -> int:
    """Replace ``path`` with ``lines`` (each followed by a newline); returns the size written."""
    directory = path.parent
    fd, temp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=directory)
    size = 0
    try:
        with os.fdopen(fd, "wb") as temp:
            for line in lines:
                temp.write(line)
                temp.write(b"\n")
                size += len(line) + 1
            temp.flush()
            os.fsync(temp.fileno())
        os.replace(temp_name, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temp_name)
        raise
    _fsync_directory(directory)
    return size


def _fsync_directory(directory: Path) -> None:
    # makes a rename durable
    dir_fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def _remove_stray_temporaries(path: Path) -> None:
    """Delete temporary files a crash left behind (they may hold keys and TOTP secrets)."""
    for stray in path.parent.glob(f".{path.name}.*.tmp"):
        with contextlib.suppress(FileNotFoundError):
            stray.unlink()


def _header(region: str) -> bytes:
    return json.dumps(
        {"format": FORMAT, "version": VERSION, "region": region}, separators=(",", ":")
    ).encode()


def _change_line(changes: list[tuple[Key, dict[str, Any] | None]]) -> bytes:
    entries = [{"k": list(key), "v": plain} for key, plain in changes]
    return json.dumps({"c": entries}, separators=(",", ":")).encode()


class _Journal:
    """The open state file of one emulator: appends change sets, rewrites snapshots."""

    def __init__(self, path: Path, *, fsync: bool, ratio: float, min_bytes: int, size: int) -> None:
        self.path = path
        self.fsync = fsync
        self.ratio = ratio
        self.min_bytes = min_bytes
        self._fd: int | None = os.open(path, os.O_WRONLY | os.O_APPEND)
        self._snapshot_size = size
        self._size = size
        self._appended = 0

    def record(self, changes: list[tuple[Key, dict[str, Any] | None]]) -> None:
        if self._fd is None:
            raise OSError("the emulator's state file is closed")
        data = _change_line(changes) + b"\n"
        view = memoryview(data)
        try:
            while view:
                written = os.write(self._fd, view)
                view = view[written:]
            if self.fsync:
                os.fsync(self._fd)
        except OSError:
            # never leave half a line for the next one to be appended to
            with contextlib.suppress(OSError):
                os.ftruncate(self._fd, self._size)
            raise
        self._size += len(data)
        self._appended += len(data)

    def needs_compaction(self) -> bool:
        limit = max(self.ratio * self._snapshot_size, self.min_bytes)
        return self._appended > limit

    def compact(self, region: str, records: list[tuple[Key, dict[str, Any]]]) -> None:
        lines = [_header(region)] + [_change_line([(key, plain)]) for key, plain in records]
        size = _write_atomically(self.path, lines)
        old, self._fd = self._fd, os.open(self.path, os.O_WRONLY | os.O_APPEND)
        if old is not None:
            os.close(old)
        self._snapshot_size = size
        self._size = size
        self._appended = 0

    def close(self) -> None:
        fd, self._fd = self._fd, None
        if fd is not None:
            try:
                if not self.fsync:
                    os.fsync(fd)  # a clean stop leaves everything on disk either way
            finally:
                os.close(fd)


def load_emulator(
    path: Path | str | None,
    *,
    fsync: bool = True,
    compaction_ratio: float = 2.0,
    compaction_min_bytes: int = 256 * 1024,
    **kwargs: Any,
) -> Emulator:
    """An :class:`Emulator` restored from the state file ``path``, that keeps it up to date.

    A missing file is created. After each call that changes a stored record the emulator
    appends the change before answering; call :meth:`Emulator.close` when done. The file is
    compacted when what was appended since the last snapshot exceeds ``compaction_ratio``
    times the snapshot and ``compaction_min_bytes``. ``kwargs`` go
    to the emulator (clock, randomness, ...). ``path=None``: a fresh emulator, no file.

    Raises :class:`StateFileError` (a ``ValueError``) for a file that cannot be used, and
    ``OSError`` when it cannot be read or written.
    """
    if path is None:
        return Emulator(**kwargs)
    if not compaction_ratio > 0:
        raise ValueError("compaction_ratio must be positive")
    path = Path(path)
    _remove_stray_temporaries(path)
    if path.exists():
        emulator, size = _read(path, kwargs)
    else:
        emulator = Emulator(**kwargs)
        size = _write_atomically(path, [_header(emulator.region)])
    journal = _Journal(
        path, fsync=fsync, ratio=compaction_ratio, min_bytes=compaction_min_bytes, size=size
    )
    emulator.attach(journal)
    emulator.prune()
    return emulator


def keep_state_in(
    emulator: Emulator,
    path: Path | str,
    *,
    fsync: bool = True,
    compaction_ratio: float = 2.0,
    compaction_min_bytes: int = 256 * 1024,
) -> None:
    """Make a running ``emulator`` keep its state in ``path`` from now on.

    The file is (re)written at once as a snapshot of the emulator's records, then kept up to
    date as :func:`load_emulator`'s are. An emulator loaded from that same file already keeps
    it: nothing is done then. Raises ``ValueError`` when the emulator keeps another file.
    """
    if not compaction_ratio > 0:
        raise ValueError("compaction_ratio must be positive")
    path = Path(path)
    current = emulator.journal_path
    if current is not None:
        if current.resolve() == path.resolve():
            return
        raise ValueError(f"the emulator already keeps its state in {current}")
    _remove_stray_temporaries(path)
    lines = [_header(emulator.region)] + [
        _change_line([(key, plain)]) for key, plain in emulator.plain_records()
    ]
    size = _write_atomically(path, lines)
    journal = _Journal(
        path, fsync=fsync, ratio=compaction_ratio, min_bytes=compaction_min_bytes, size=size
    )
    emulator.attach(journal)


def _read(path: Path, kwargs: dict[str, Any]) -> tuple[Emulator, int]:
    """Load ``path``; returns the emulator and the size of the file's usable part."""
    data = path.read_bytes()
    first, newline, _ = data.partition(b"\n")
    header = _header_of(first) if newline else None
    if header is None:
        return _read_whole_state(path, data, kwargs)
    region = header.get("region", "us-east-1")
    if not isinstance(region, str):
        raise StateFileError(f"{path}: line 1: the region is not a string")
    kwargs.setdefault("region", region)
    emulator = Emulator(**kwargs)
    good = data.rfind(b"\n") + 1
    lines = data[:good].split(b"\n")[:-1]
    for number, line in enumerate(lines[1:], start=2):
        _apply(emulator, path, number, line)
    if good < len(data):
        # a last line without its newline: the call that wrote it was never answered
        with open(path, "r+b") as file:
            file.truncate(good)
            file.flush()
            os.fsync(file.fileno())
    return emulator, good


def _header_of(line: bytes) -> dict[str, Any] | None:
    try:
        value = json.loads(line)
    except ValueError:
        return None
    if isinstance(value, dict) and value.get("format") == FORMAT:
        return value
    return None


def _apply(emulator: Emulator, path: Path, number: int, line: bytes) -> None:
    where = f"{path}: line {number}"
    try:
        value = json.loads(line)
    except (ValueError, RecursionError):
        raise StateFileError(f"{where}: not JSON") from None
    entries = value.get("c") if isinstance(value, dict) else None
    if not isinstance(entries, list):
        raise StateFileError(f"{where}: not a change set")
    for index, entry in enumerate(entries):
        key = entry.get("k") if isinstance(entry, dict) else None
        plain = entry.get("v") if isinstance(entry, dict) else None
        if (
            not isinstance(key, list)
            or not key
            or not all(isinstance(part, str) for part in key)
            or not (plain is None or isinstance(plain, dict))
        ):
            raise StateFileError(f"{where}: change {index + 1} is malformed")
        try:
            emulator.restore(tuple(key), plain, f"change {index + 1}")
        except StateError as exc:
            raise StateFileError(f"{where}: {exc}") from None


def _read_whole_state(path: Path, data: bytes, kwargs: dict[str, Any]) -> tuple[Emulator, int]:
    """The earlier format: one JSON document. Converted to a journal at once."""
    try:
        state = json.loads(data)
    except (ValueError, RecursionError):
        raise StateFileError(f"{path}: not an emulator state file (not JSON)") from None
    if not isinstance(state, dict):
        raise StateFileError(f"{path}: not an emulator state file (not a JSON object)")
    if "version" not in state:
        raise StateFileError(f"{path}: not an emulator state file (no version)")
    try:
        emulator = Emulator.from_state(state, **kwargs)
    except StateError as exc:
        raise StateFileError(f"{path}: {exc}") from None
    except ValueError:
        raise StateFileError(f"{path}: unsupported emulator state version") from None
    except (TypeError, AttributeError, KeyError):
        raise StateFileError(f"{path}: not a usable emulator state") from None
    records = emulator.plain_records()
    lines = [_header(emulator.region)] + [_change_line([(key, plain)]) for key, plain in records]
    return emulator, _write_atomically(path, lines)
