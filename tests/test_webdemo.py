"""The example web application: ``python -m cognito_mfa web-demo`` run as a process on a free
port, its HTML pages driven with httpx as a browser without scripts would."""

from __future__ import annotations

import io
import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlparse

import httpx
import pyotp
import pytest
from redis_server import redis_server

from cognito_mfa.testing.seed import SeededPool
from cognito_mfa.web import AppKey

ROOT = Path(__file__).resolve().parent.parent


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class Demo:
    def __init__(self, url: str, lines: list[str]) -> None:
        self.url = url
        self.lines = lines


@contextmanager
def web_demo(*flags: str, env: dict[str, str] | None = None) -> Iterator[Demo]:
    """``python -m cognito_mfa web-demo --port FREE *flags``, until its URL is printed."""
    port = _free_port()
    environment = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1", **(env or {})}
    if env is None or "COGNITO_MFA_APP_KEY" not in env:
        environment.pop("COGNITO_MFA_APP_KEY", None)
    process = subprocess.Popen(
        [sys.executable, "-m", "cognito_mfa", "web-demo", "--port", str(port), *flags],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=environment,
        cwd=ROOT,
    )
    lines: list[str] = []
    try:
        assert process.stdout is not None
        deadline = time.monotonic() + 90
        url = None
        while url is None and time.monotonic() < deadline:
            line = process.stdout.readline()
            if not line:
                break
            lines.append(line.rstrip("\n"))
            if line.startswith("web demo ready at "):
                url = line.removeprefix("web demo ready at ").strip()
        assert url == f"http://127.0.0.1:{port}/", lines
        yield Demo(url, lines)
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:  # pragma: no cover - a stuck server
            process.kill()
            process.wait()
        if process.stdout is not None:
            process.stdout.close()


@pytest.fixture(scope="module")
def demo() -> Iterator[Demo]:
    with web_demo() as running:
        yield running


def _csrf(page: httpx.Response) -> str:
    match = re.search(r'name=csrf value="([^"]+)"', page.text)
    assert match, page.text
    return match.group(1)


def _post(client: httpx.Client, page: httpx.Response, action: str, **fields: str) -> httpx.Response:
    assert f'action="{action}"' in page.text, page.text
    return client.post(action, data={"csrf": _csrf(page), **fields})


def _title(page: httpx.Response) -> str:
    match = re.search(r"<h1>([^<]*)</h1>", page.text)
    assert match, page.text
    return match.group(1)


def test_start_up_says_the_key_the_pool_and_the_user(demo: Demo) -> None:
    assert demo.lines[0].startswith("COGNITO_MFA_APP_KEY is not set: using a fresh random key")
    assert sum("COGNITO_MFA_APP_KEY" in line for line in demo.lines) == 1
    assert any(line.startswith("embedded emulator: pool us-east-1_") for line in demo.lines)
    assert "demo user: alice / Correct-Horse-9 (sets up an authenticator app)" in demo.lines
    # the lifetimes are read from the demo's app client (5-minute sign-in sessions)
    client = next(line for line in demo.lines if line.startswith("embedded emulator: "))
    client_id = client.rsplit(" ", 1)[-1]
    assert (
        f"app client {client_id}: sign-ins are kept 300 s (AuthSessionValidity), "
        "token cookies 2592000 s (refresh token validity)"
    ) in demo.lines


def test_totp_set_up_sign_out_code_remember_and_no_code(demo: Demo) -> None:
    with httpx.Client(base_url=demo.url, follow_redirects=True, timeout=30) as browser:
        home = browser.get("/")
        assert _title(home) == "Sign in"
        cookie = home.headers["set-cookie"]
        assert "HttpOnly" in cookie and "SameSite=strict" in cookie

        # no CSRF token: refused, nothing sent
        forged = browser.post("/sign-in", data={"username": "alice", "password": "x"})
        assert forged.status_code == 403 and "form expired" in forged.text

        wrong = _post(browser, home, "/sign-in", username="alice", password="Wrong-Horse-1")
        assert wrong.status_code == 401 and _title(wrong) == "Sign in"

        # 1. first sign-in: the account needs a second factor; set up TOTP with the QR page
        setup = _post(browser, home, "/sign-in", username="alice", password="Correct-Horse-9")
        assert _title(setup) == "Set up two-factor sign-in", setup.text
        # the sign-in is kept for the app client's AuthSessionValidity: 5 minutes
        kept = [c for c in setup.headers.get_list("set-cookie") if c.startswith("demo_sign_in=")]
        assert len(kept) == 1 and "Max-Age=300;" in kept[0], kept
        qr_page = _post(browser, setup, "/sign-in/totp")
        assert _title(qr_page) == "Set up your authenticator app"
        assert "<svg" in qr_page.text
        uri = re.search(r"<code id=otpauth>([^<]+)</code>", qr_page.text)
        assert uri
        query = parse_qs(urlparse(unquote(uri.group(1).replace("&amp;", "&"))).query)
        totp = pyotp.TOTP(query["secret"][0])
        wrong_code = "000000" if totp.now() != "000000" else "111111"
        refused = _post(browser, qr_page, "/sign-in/answer", code=wrong_code)
        assert refused.status_code == 401 and 'class="error"' in refused.text
        assert _title(refused) == "Set up two-factor sign-in"  # still open: the same secret
        qr_page = _post(browser, refused, "/sign-in/totp")
        assert uri.group(1) in qr_page.text
        step = int(time.time()) // 30
        account = _post(browser, qr_page, "/sign-in/answer", code=totp.at(step * 30))
        assert _title(account) == "Your account", account.text
        assert "<strong id=username>alice</strong>" in account.text
        totp_setting = re.search(
            r"id=mfa-software_token>.*?<option value=(\w+) selected>", account.text
        )
        assert totp_setting and totp_setting.group(1) in ("on", "preferred"), account.text

        # the account page's MFA settings: make TOTP the preferred factor
        account = _post(browser, account, "/account/mfa", software_token="preferred")
        assert _title(account) == "Your account", account.text
        assert re.search(
            r"id=mfa-software_token><option value=off>off</option><option value=on>on</option>"
            r"<option value=preferred selected>",
            account.text,
        ), account.text

        # 2. sign out; sign in again with a code (the next time step: codes are single-use)
        out = _post(browser, account, "/sign-out")
        assert _title(out) == "Sign in" and "demo_access" not in browser.cookies
        code_page = _post(browser, out, "/sign-in", username="alice", password="Correct-Horse-9")
        assert _title(code_page) == "Enter your code"
        assert "Authenticator app" in code_page.text and "remember_device" in code_page.text
        # 3. ... and remember this browser
        account = _post(
            browser, code_page, "/sign-in/answer", code=totp.at((step + 1) * 30),
            remember_device="1",
        )  # fmt: skip
        assert _title(account) == "Your account", account.text
        assert "(this browser)" in account.text
        assert browser.cookies.get("demo_device")

        # 4. sign out; the remembered browser signs in with the password alone
        out = _post(browser, account, "/sign-out")
        assert browser.cookies.get("demo_device")
        account = _post(browser, out, "/sign-in", username="alice", password="Correct-Horse-9")
        assert _title(account) == "Your account", account.text

        # 5. forget this browser on the account page: the code is asked again
        key = re.search(r'name=device_key value="([^"]+)"', account.text)
        assert key
        account = _post(browser, account, "/account/devices/forget", device_key=key.group(1))
        assert "demo_device" not in browser.cookies
        assert "<ul id=devices><li>none</li></ul>" in account.text
        out = _post(browser, account, "/sign-out")
        again = _post(browser, out, "/sign-in", username="alice", password="Correct-Horse-9")
        assert _title(again) == "Enter your code"


def test_not_signed_in_goes_to_the_sign_in_page(demo: Demo) -> None:
    with httpx.Client(base_url=demo.url, follow_redirects=True, timeout=30) as browser:
        assert _title(browser.get("/account")) == "Sign in"
        browser.cookies.set("demo_access", "not-a-token", domain="127.0.0.1")
        browser.cookies.set("demo_id", "not-a-token", domain="127.0.0.1")
        page = browser.get("/")
        assert page.status_code == 401 and _title(page) == "Sign in"
        assert "Your session ended" in page.text
        assert "demo_access" not in browser.cookies


@pytest.mark.served
def test_two_replicas_share_one_pool_and_one_redis(
    cognito_server: Any, cognito_pool: SeededPool, cognito_seeder: Any
) -> None:
    import anyio

    user = anyio.run(
        lambda: cognito_seeder.create_user(
            cognito_pool, "bob", "Correct-Horse-9", phone="+15555550100", mfa=["SMS"],
            preferred="SMS",
        )
    )  # fmt: skip
    with redis_server() as redis_url:
        flags = ["--endpoint-url", cognito_server.url, "--pool-id", cognito_pool.pool_id]
        flags += ["--client-id", cognito_pool.client_id, "--redis-url", redis_url]
        # credentials (the served emulator takes any) so that the app client's settings are read
        env = {
            "COGNITO_MFA_APP_KEY": AppKey.generate(),
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
        }
        with web_demo(*flags, env=env) as one, web_demo(*flags, env=env) as two:
            assert not any("COGNITO_MFA_APP_KEY" in line for line in one.lines)
            assert not any("embedded emulator" in line for line in one.lines)
            assert (
                f"app client {cognito_pool.client_id}: sign-ins are kept 180 s "
                "(AuthSessionValidity), token cookies 2592000 s (refresh token validity)"
            ) in one.lines
            with httpx.Client(follow_redirects=True, timeout=30) as browser:
                home = browser.get(one.url)
                started = browser.post(
                    one.url + "sign-in",
                    data={"csrf": _csrf(home), "username": "bob", "password": user.password},
                )
                assert _title(started) == "Enter your code", started.text
                with cognito_server.lock:
                    code = cognito_server.emulator.last_code("bob", "SMS")
                # the answer goes to the other replica: the sign-in is in the shared store
                done = browser.post(
                    two.url + "sign-in/answer", data={"csrf": _csrf(started), "code": code}
                )
                assert _title(done) == "Your account", done.text
                assert "<strong id=username>bob</strong>" in done.text


# --- the command and the example's source -------------------------------------------------------


def _web_demo_command(*flags: str) -> tuple[int, str, str]:
    from cognito_mfa.cli import Console, main

    stdout, stderr = io.StringIO(), io.StringIO()
    status = main(["web-demo", *flags], Console(io.StringIO(), stdout, stderr))
    return status, stdout.getvalue(), stderr.getvalue()


def test_the_command_runs_the_example_from_examples_web_app() -> None:
    import cognito_mfa.webdemo as webdemo

    # shipped from the repository's examples/web_app/ (an editable install points there)
    assert Path(webdemo.__file__).parts[-3:] == ("examples", "web_app", "__init__.py")
    assert sorted(webdemo.__all__) == ["DEMO_PASSWORD", "DEMO_USERNAME", "create_app", "main"]
    assert (webdemo.DEMO_USERNAME, webdemo.DEMO_PASSWORD) == ("alice", "Correct-Horse-9")
    # the command reaches the example's main, which checks its flags before serving anything
    status, out, err = _web_demo_command("--pool-id", "us-east-1_Abc123")
    assert status == 1 and out == "error: --pool-id and --client-id go together\n", err


@pytest.fixture
def fresh_webdemo(monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    """The example imported anew in the test, and whatever it imported partly dropped after."""
    for name in [name for name in sys.modules if name.startswith("cognito_mfa.webdemo")]:
        monkeypatch.delitem(sys.modules, name)
    before = set(sys.modules)
    yield monkeypatch
    for name in set(sys.modules) - before:
        if name.startswith("cognito_mfa.webdemo"):
            del sys.modules[name]


def test_an_install_without_the_example_says_to_reinstall(
    fresh_webdemo: pytest.MonkeyPatch,
) -> None:
    fresh_webdemo.setitem(sys.modules, "cognito_mfa.webdemo", None)  # an import of it fails
    status, out, err = _web_demo_command()
    assert status != 0 and out == ""
    assert "not installed with this package: reinstall it" in err


def test_missing_extras_say_which_to_install(fresh_webdemo: pytest.MonkeyPatch) -> None:
    fresh_webdemo.setitem(sys.modules, "uvicorn", None)
    status, out, err = _web_demo_command()
    assert status != 0 and out == ""
    assert "uvicorn" in err and "pip install 'cognito-mfa[webdemo]'" in err
