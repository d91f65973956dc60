"""Two replicas of a web service (two uvicorn processes) sharing one real redis-server and one
served emulator: a sign-in moves between them, a raced answer wins once, and 200 concurrent
sign-ins across both finish without error or cross-talk."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from redis_server import redis_server

from cognito_mfa.testing.seed import SeededPool
from cognito_mfa.web import AppKey

pytestmark = pytest.mark.served
TESTS = Path(__file__).resolve().parent
PHONE = "+15555550100"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _wait_ready(url: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"the replica exited with {process.returncode}")
        try:
            if httpx.get(f"{url}/auth/csrf", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    pytest.fail("the replica did not start")


@pytest.fixture
def replicas(cognito_server: Any, cognito_pool: SeededPool) -> Iterator[list[str]]:
    """Two replica processes on free ports; their URLs."""
    with redis_server() as redis_url:
        env = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join([str(TESTS.parent), str(TESTS)]),
            "REPLICA_ENDPOINT": cognito_server.url,
            "REPLICA_POOL_ID": cognito_pool.pool_id,
            "REPLICA_CLIENT_ID": cognito_pool.client_id,
            "REPLICA_REDIS_URL": redis_url,
            "COGNITO_MFA_APP_KEY": AppKey.generate(),
        }
        processes: list[subprocess.Popen[bytes]] = []
        urls = []
        try:
            for _ in range(2):
                port = _free_port()
                command = [sys.executable, "-m", "uvicorn", "--factory", "web_replica:create_app"]
                command += ["--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"]
                processes.append(subprocess.Popen(command, env=env, cwd=TESTS))
                urls.append(f"http://127.0.0.1:{port}")
            for url, process in zip(urls, processes, strict=True):
                _wait_ready(url, process)
            yield urls
        finally:
            for process in processes:
                process.terminate()
            for process in processes:
                try:
                    process.wait(timeout=15)
                except subprocess.TimeoutExpired:  # pragma: no cover - a stuck replica
                    process.kill()
                    process.wait()


class Browser:
    """One user's browser: its cookies, sent to whichever replica it talks to."""

    def __init__(self) -> None:
        self.cookies: dict[str, str] = {}
        self.client = httpx.AsyncClient(timeout=60)

    async def call(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        headers = {"X-CSRF-Token": self.cookies.get("cm_csrf", "")}
        cookie = "; ".join(f"{name}={value}" for name, value in self.cookies.items())
        if cookie:
            headers["Cookie"] = cookie
        response = await self.client.request(method, url, headers=headers, **kwargs)
        for name, value in response.cookies.items():
            self.cookies[name] = value
        for header in response.headers.get_list("set-cookie"):
            if "Max-Age=0" in header or "expires=Thu, 01 Jan 1970" in header:
                self.cookies.pop(header.split("=", 1)[0], None)
        return response

    async def csrf(self, url: str) -> None:
        await self.call("GET", f"{url}/auth/csrf")

    async def aclose(self) -> None:
        await self.client.aclose()


def _code(server: Any, username: str) -> str:
    with server.lock:
        code: str = server.emulator.last_code(username, "SMS")
        return code


async def test_a_sign_in_moves_between_replicas_and_a_raced_answer_wins_once(
    replicas: list[str], cognito_server: Any, cognito_user_factory: Any
) -> None:
    one, two = replicas
    user = await cognito_user_factory(phone=PHONE, mfa=["SMS"], preferred="SMS")
    browser = Browser()
    try:
        await browser.csrf(one)
        login = {"username": user.username, "password": user.password}
        started = await browser.call("POST", f"{one}/auth/login", json=login)
        assert started.json()["challenge"]["name"] == "SMS_MFA", started.text
        code = _code(cognito_server, user.username)
        raced = await asyncio.gather(
            browser.call("POST", f"{one}/auth/login/answer", json={"code": code}),
            browser.call("POST", f"{two}/auth/login/answer", json={"code": code}),
        )
        assert sorted(r.status_code for r in raced) == [200, 409], [r.text for r in raced]
        me = await browser.call("GET", f"{two}/auth/me")
        assert me.json()["username"] == user.username, me.text
        # and a sign-in started on the second replica finishes on the first
        await browser.call("POST", f"{two}/auth/logout")
        again = await browser.call("POST", f"{two}/auth/login", json=login)
        assert again.json()["challenge"]["name"] == "SMS_MFA"
        code = _code(cognito_server, user.username)
        done = await browser.call("POST", f"{one}/auth/login/answer", json={"code": code})
        assert done.json() == {"status": "signed_in"}, done.text
    finally:
        await browser.aclose()


async def test_200_concurrent_sign_ins_across_two_replicas(
    replicas: list[str], cognito_server: Any, cognito_user_factory: Any
) -> None:
    users = [
        await cognito_user_factory(phone=PHONE, mfa=["SMS"], preferred="SMS") for _ in range(200)
    ]

    async def sign_in(number: int) -> str:
        user = users[number]
        first, second = replicas[number % 2], replicas[1 - number % 2]
        browser = Browser()
        try:
            await browser.csrf(first)
            login = {"username": user.username, "password": user.password}
            started = await browser.call("POST", f"{first}/auth/login", json=login)
            assert started.status_code == 200, started.text
            code = _code(cognito_server, user.username)
            done = await browser.call("POST", f"{second}/auth/login/answer", json={"code": code})
            assert done.json() == {"status": "signed_in"}, done.text
            me = await browser.call("GET", f"{first}/auth/me")
            username: str = me.json()["username"]
            return username
        finally:
            await browser.aclose()

    names = await asyncio.gather(*(sign_in(number) for number in range(len(users))))
    assert names == [user.username for user in users]  # no cross-talk
