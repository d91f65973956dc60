"""Every code block of the documentation site (``docs/``) is run, checked, or marked as not run.

A fenced block is classified by the HTML comment on the nearest non-blank line above it:

* no comment, ``python``: run. A page's python blocks run in order in one namespace, with
  top-level ``await`` allowed (as in ``python -m asyncio`` or a notebook); then every
  ``async def test_*`` the page defines is called with the pytest fixtures it names
  (``cognito_emulator``, ``cognito_pool``, ``cognito_user_factory``, ... from the package's
  pytest plugin), exactly as pytest would call it in a user's test suite;
* ``<!-- docs-test: cli -->``: each command line is parsed by the ``cognito-mfa`` parser, so a
  renamed command or flag fails here;
* ``<!-- docs-test: error-tree -->``: the drawn tree is compared with the exception classes;
* ``<!-- docs-test: not run: REASON -->``: not run, and the reason says why.

Any other block fails :func:`test_every_block_is_run_or_marked`. Files pulled in with
``--8<-- "path"`` (pymdownx.snippets) count as part of the page that includes them.
"""

from __future__ import annotations

import ast
import inspect
import logging
import re
import shlex
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

import cognito_mfa as cm
import cognito_mfa.fastapi as cm_fastapi
import cognito_mfa.testing as cmt
import cognito_mfa.web as cm_web
from cognito_mfa.cli import build_parser

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
PAGES = sorted(DOCS.rglob("*.md"))
MARKER = re.compile(r"^<!--\s*docs-test:\s*(?P<body>.*?)\s*-->$")
FENCE = re.compile(r"^(?P<indent>\s*)(?P<fence>```+|~~~+)\s*(?P<info>[^`]*)$")
SNIPPET = re.compile(r'^\s*--8<--\s+"(?P<path>[^"]+)"\s*$')
# the fixtures a page's test functions may ask for (the package's pytest plugin provides them)
FIXTURES = (
    "cognito_emulator",
    "cognito_client",
    "cognito_seeder",
    "cognito_pool",
    "cognito_user_factory",
    "cognito_outbox",
)
LAZY_FIXTURES = ("cognito_server", "tmp_path")


@dataclass(frozen=True)
class Block:
    page: str
    line: int
    language: str
    kind: str  # "run", "cli", "error-tree", "not run" or "unmarked"
    reason: str
    code: str

    @property
    def where(self) -> str:
        return f"{self.page}:{self.line}"


def _expand(path: Path) -> list[tuple[str, str, int]]:
    """The page's lines, snippets inlined, each with the file and line it comes from."""
    lines: list[tuple[str, str, int]] = []
    for number, text in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        match = SNIPPET.match(text)
        if match:
            lines.extend(_expand(ROOT / match["path"]))
        else:
            where = path.relative_to(ROOT) if path.is_relative_to(ROOT) else path
            lines.append((text, str(where), number))
    return lines


def blocks_of(page: Path) -> list[Block]:
    lines = _expand(page)
    blocks: list[Block] = []
    index = 0
    while index < len(lines):
        text, source, number = lines[index]
        match = FENCE.match(text)
        if match is None:
            index += 1
            continue
        start, fence, indent = index, match["fence"], match["indent"]
        language = match["info"].split()[0] if match["info"].strip() else ""
        body: list[str] = []
        index += 1
        while index < len(lines) and not lines[index][0].strip().startswith(fence):
            body.append(lines[index][0][len(indent) :])
            index += 1
        index += 1  # the closing fence
        previous = next((line for line, _, _ in reversed(lines[:start]) if line.strip()), "")
        marker = MARKER.match(previous.strip())
        kind, reason = ("run" if language == "python" else "unmarked"), ""
        if marker is not None:
            body_text = marker["body"]
            if body_text.startswith("not run:"):
                kind, reason = "not run", body_text.removeprefix("not run:").strip()
            else:
                kind = body_text  # "cli", "error-tree"; anything else fails below
        blocks.append(Block(source, number, language, kind, reason, "\n".join(body) + "\n"))
    return blocks


def _page_id(page: Path) -> str:
    return str(page.relative_to(DOCS))


def test_the_docs_have_pages_and_blocks() -> None:
    assert DOCS.joinpath("index.md").exists()
    assert sum(len(blocks_of(page)) for page in PAGES) > 10


@pytest.mark.parametrize("page", PAGES, ids=_page_id)
def test_every_block_is_run_or_marked(page: Path) -> None:
    _check_marked(blocks_of(page))


def _check_marked(blocks: list[Block]) -> None:
    for block in blocks:
        assert block.kind in ("run", "cli", "error-tree", "not run"), (
            f"{block.where}: a {block.language or 'plain'} block that is neither run nor marked "
            "'<!-- docs-test: not run: REASON -->' (or cli, error-tree)"
        )
        if block.kind == "not run":
            assert len(block.reason.split()) >= 3, f"{block.where}: say why it is not run"
        if block.kind == "run":
            ast.parse(block.code, filename=block.where)


def test_the_check_refuses_unmarked_and_unexplained_blocks(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    marked = "<!-- docs-test: not run: it needs a real user pool -->\n```sh\nrun me\n```\n"
    page.write_text(f"# Page\n\n{marked}\n```python\nx = 1\n```\n", encoding="utf-8")
    assert [(b.kind, b.language) for b in blocks_of(page)] == [("not run", "sh"), ("run", "python")]
    _check_marked(blocks_of(page))
    for bad in (
        "```sh\nrun me\n```\n",  # neither run nor marked
        "```\nplain\n```\n",
        "<!-- docs-test: not run: no -->\n```sh\nrun me\n```\n",  # no real reason
        "<!-- docs-test: skip -->\n```python\nx = 1\n```\n",  # an unknown marker
    ):
        page.write_text(f"# Page\n\n{bad}", encoding="utf-8")
        with pytest.raises(AssertionError):
            _check_marked(blocks_of(page))


# --- python blocks ------------------------------------------------------------------------


def _runnable_pages() -> list[Any]:
    params = []
    for page in PAGES:
        code = [block for block in blocks_of(page) if block.kind == "run"]
        if not code:
            continue
        tests = re.findall(r"^async def (test_\w+)\(", "".join(b.code for b in code), re.M)
        for name in tests or [None]:
            params.append(pytest.param(page, name, id=f"{_page_id(page)}::{name or 'blocks'}"))
    return params


async def _run_blocks(page: Path) -> dict[str, Any]:
    namespace: dict[str, Any] = {"__name__": f"docs_{page.stem.replace('-', '_')}"}
    for block in blocks_of(page):
        if block.kind != "run":
            continue
        code = compile(block.code, block.where, "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)
        result = eval(code, namespace)  # a coroutine when the block awaits at top level
        if inspect.isawaitable(result):
            await result
    return namespace


@pytest.fixture(autouse=True)
def _logger_levels() -> Iterator[None]:
    """Pages may set logger levels (security.md quiets botocore): restore them afterwards."""
    loggers = [logging.getLogger(), *map(logging.getLogger, list(logging.root.manager.loggerDict))]
    levels = [(logger, logger.level) for logger in loggers]
    yield
    for logger, level in levels:
        logger.setLevel(level)


@pytest.mark.parametrize(("page", "test_name"), _runnable_pages())
async def test_python_examples(
    page: Path,
    test_name: str | None,
    request: pytest.FixtureRequest,
    cognito_emulator: Any,
    cognito_client: Any,
    cognito_seeder: Any,
    cognito_pool: Any,
    cognito_user_factory: Any,
    cognito_outbox: Any,
) -> None:
    namespace = await _run_blocks(page)
    if test_name is None:
        return
    example = namespace[test_name]
    available = {name: value for name, value in locals().items() if name in FIXTURES}
    arguments = {}
    for name in inspect.signature(example).parameters:
        if name in available:
            arguments[name] = available[name]
        elif name in LAZY_FIXTURES:  # synchronous fixtures, set up only when asked for
            arguments[name] = request.getfixturevalue(name)
        else:
            pytest.fail(f"{page.name}: {test_name} asks for an unknown fixture {name!r}")
    await example(**arguments)


# --- command lines ------------------------------------------------------------------------


def _cli_blocks() -> list[Any]:
    return [
        pytest.param(block, id=block.where)
        for page in PAGES
        for block in blocks_of(page)
        if block.kind == "cli"
    ]


@pytest.mark.parametrize("block", _cli_blocks())
def test_cli_examples_parse(block: Block) -> None:
    parser = build_parser()
    commands = [line.split(" #")[0] for line in block.code.splitlines()]
    commands = [line.strip() for line in commands if line.strip() and not line.startswith("#")]
    assert commands
    for line in commands:
        argv = shlex.split(line)
        assert argv[0] == "cognito-mfa", f"{block.where}: not a cognito-mfa command: {line}"
        try:
            parser.parse_args(argv[1:])
        except SystemExit:
            pytest.fail(f"{block.where}: the command line does not parse: {line}")


# --- the error tree -----------------------------------------------------------------------

TREE_LINE = re.compile(r"^(?P<prefix>[│├└─\s]*)(?P<name>[A-Z]\w+)")


def _public_errors() -> set[str]:
    return {
        name
        for name in cm.__all__
        if isinstance(getattr(cm, name), type) and issubclass(getattr(cm, name), cm.CognitoError)
    }


def test_the_error_tree_is_the_class_tree() -> None:
    trees = [b for page in PAGES for b in blocks_of(page) if b.kind == "error-tree"]
    assert len(trees) == 1, "exactly one block is marked <!-- docs-test: error-tree -->"
    parents: list[tuple[int, str]] = []
    seen: set[str] = set()
    for line in trees[0].code.splitlines():
        match = TREE_LINE.match(line)
        if match is None:
            continue
        depth, name = len(match["prefix"]), match["name"]
        assert hasattr(cm, name), f"the tree names {name}, which cognito_mfa does not export"
        while parents and parents[-1][0] >= depth:
            parents.pop()
        if parents:
            parent = parents[-1][1]
            assert getattr(cm, parent) in getattr(cm, name).__bases__, (
                f"the tree puts {name} under {parent}, but its bases are "
                f"{[base.__name__ for base in getattr(cm, name).__bases__]}"
            )
        parents.append((depth, name))
        seen.add(name)
    assert seen == _public_errors(), f"missing from the tree: {_public_errors() - seen}"


# --- the API reference --------------------------------------------------------------------

DIRECTIVE = re.compile(r"^:::\s*(?P<target>\S+)", re.M)


def _reference_targets(page: str) -> list[str]:
    return DIRECTIVE.findall((DOCS / "reference" / page).read_text(encoding="utf-8"))


@pytest.mark.parametrize(
    ("page", "package", "prefix"),
    [
        ("cognito_mfa.md", cm, "cognito_mfa."),
        ("testing.md", cmt, "cognito_mfa.testing."),
        ("web.md", cm_web, "cognito_mfa.web."),
        ("fastapi.md", cm_fastapi, "cognito_mfa.fastapi."),
    ],
)
def test_the_api_reference_shows_every_public_name_and_nothing_else(
    page: str, package: Any, prefix: str
) -> None:
    targets = _reference_targets(page)
    names = [target.removeprefix(prefix) for target in targets]
    assert all(target.startswith(prefix) for target in targets), targets
    # public names only: never a path through a module, which may be renamed
    assert set(names) <= set(package.__all__), set(names) - set(package.__all__)
    assert len(names) == len(set(names)), "a name is documented twice"
    missing = set(package.__all__) - set(names) - {"__version__"}
    assert not missing, f"docs/reference/{page} does not document {sorted(missing)}"


def test_sphinx_roles_become_links_to_public_names_or_code() -> None:
    import importlib.util

    path = DOCS / "_griffe" / "sphinx_roles.py"
    spec = importlib.util.spec_from_file_location("docs_sphinx_roles", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    rewrite = lambda text: module.ROLE.sub(module._rewrite, text)  # noqa: E731
    assert rewrite(":class:`~cognito_mfa.errors.CodeMismatch`") == (
        "[`CodeMismatch`][cognito_mfa.CodeMismatch]"
    )
    assert rewrite(":class:`SmsMfaChallenge`") == "[`SmsMfaChallenge`][cognito_mfa.SmsMfaChallenge]"
    assert rewrite(":func:`~cognito_mfa.testing.mount`") == "[`mount`][cognito_mfa.testing.mount]"
    # not a documented name: code, never a link that could dangle
    assert rewrite(":meth:`sign_in`") == "`sign_in`"
    assert rewrite(":class:`~cognito_mfa._transport.Transport`") == "`Transport`"
    assert rewrite(":meth:`UserPool.sign_in <cognito_mfa.UserPool.sign_in>`") == (
        "`UserPool.sign_in`"
    )
