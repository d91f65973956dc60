"""The served front (uvicorn): boto3, HTTP/1.1 details, CORS, bursts, the command line."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import threading
from typing import Any

import aioboto3
import boto3
import fronts
import httpx
import pytest
from aiobotocore.config import AioConfig
from botocore.config import Config
from botocore.exceptions import ClientError
from fronts import srp_sign_in

from cognito_mfa.testing import Emulator, EmulatorServer, SeededPool, Seeder

pytestmark = pytest.mark.served

PASSWORD = "Correct-Horse-9"

served_emulator = fronts.served_emulator  # the shared fixture


async def seed(server: EmulatorServer, *users: str, **user_options: Any) -> SeededPool:
    """A pool, a client and users, seeded with aioboto3's default (aiohttp) client."""
    session = aioboto3.Session(
        aws_access_key_id="testing", aws_secret_access_key="testing", region_name="us-east-1"
    )
    async with session.client(
        "cognito-idp", endpoint_url=server.url, config=AioConfig(retries={"total_max_attempts": 1})
    ) as client:
        seeder = Seeder(client, clock=server.emulator.now)
        pool = await seeder.create_pool_and_client()
        for username in users:
            await seeder.create_user(pool, username, PASSWORD, **user_options)
    return pool


def sync_client(server: EmulatorServer, **credentials: str) -> Any:
    return boto3.client(
        "cognito-idp",
        region_name="us-east-1",
        endpoint_url=server.url,
        config=Config(retries={"total_max_attempts": 1}),
        **credentials,
    )


async def test_boto3_sync_password_and_srp_sign_in(served_emulator: EmulatorServer) -> None:
    pool = await seed(served_emulator, "alice")
    client = sync_client(
        served_emulator, aws_access_key_id="testing", aws_secret_access_key="testing"
    )
    try:
        tokens = client.initiate_auth(
            AuthFlow="USER_PASSWORD_AUTH",
            ClientId=pool.client_id,
            AuthParameters={"USERNAME": "alice", "PASSWORD": PASSWORD},
        )["AuthenticationResult"]
        assert client.get_user(AccessToken=tokens["AccessToken"])["Username"] == "alice"
        assert client.admin_get_user(UserPoolId=pool.pool_id, Username="alice")["Enabled"]

        signed_in = await srp_sign_in(
            client, pool, "alice", PASSWORD, now=served_emulator.emulator.now()
        )
        assert "IdToken" in signed_in["AuthenticationResult"]
        with pytest.raises(ClientError) as info:
            await srp_sign_in(
                client, pool, "alice", "Nope-Horse-9", now=served_emulator.emulator.now()
            )
        assert info.value.response["Error"] == {
            "Code": "NotAuthorizedException",
            "Message": "Incorrect username or password.",
        }
    finally:
        client.close()


async def test_aioboto3_aiohttp_srp_sign_in(served_emulator: EmulatorServer) -> None:
    pool = await seed(served_emulator, "bob")
    session = aioboto3.Session(region_name="us-east-1")  # no credentials: user operations only
    async with session.client("cognito-idp", endpoint_url=served_emulator.url) as client:
        signed_in = await srp_sign_in(
            client, pool, "bob", PASSWORD, now=served_emulator.emulator.now()
        )
        tokens = signed_in["AuthenticationResult"]
        await client.global_sign_out(AccessToken=tokens["AccessToken"])
        with pytest.raises(ClientError) as info:
            await client.get_user(AccessToken=tokens["AccessToken"])
        assert info.value.response["Error"]["Code"] == "NotAuthorizedException"


def test_cors_preflight_and_exposed_headers(served_emulator: EmulatorServer) -> None:
    with httpx.Client(base_url=served_emulator.url) as http:
        preflight = http.options(
            "/",
            headers={
                "Origin": "http://localhost:3000",
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "content-type,x-amz-target,x-amz-user-agent",
            },
        )
        assert preflight.status_code == 204
        assert preflight.headers["access-control-allow-origin"] == "*"
        assert "POST" in preflight.headers["access-control-allow-methods"]
        assert preflight.headers["access-control-allow-headers"] == (
            "content-type,x-amz-target,x-amz-user-agent"
        )
        answer = http.post(
            "/",
            content=b"{}",
            headers={
                "Origin": "http://localhost:3000",
                "X-Amz-Target": "AWSCognitoIdentityProviderService.InitiateAuth",
                "Content-Type": "application/x-amz-json-1.1",
            },
        )
        assert answer.status_code == 400
        assert answer.headers["access-control-allow-origin"] == "*"
        assert "x-amzn-ErrorType" in answer.headers["access-control-expose-headers"]


async def test_control_routes(served_emulator: EmulatorServer) -> None:
    pool = await seed(served_emulator, "carol", phone="+15555550100", mfa=["SMS"])
    async with httpx.AsyncClient(base_url=served_emulator.url) as http:
        sign_in = {
            "AuthFlow": "USER_PASSWORD_AUTH",
            "ClientId": pool.client_id,
            "AuthParameters": {"USERNAME": "carol", "PASSWORD": PASSWORD},
        }
        headers = {
            "X-Amz-Target": "AWSCognitoIdentityProviderService.InitiateAuth",
            "Content-Type": "application/x-amz-json-1.1",
        }
        started = await http.post("/", json=sign_in, headers=headers)
        assert started.json()["ChallengeName"] == "SMS_MFA"
        messages = (await http.get("/_emulator/messages")).json()
        assert len(messages) == 1
        assert {"username", "medium", "destination", "code"} <= set(messages[0])
        assert messages[0]["username"] == "carol"
        assert messages[0]["medium"] == "SMS"
        assert messages[0]["destination"] == "+15555550100"
        assert messages[0]["code"] == served_emulator.emulator.last_code("carol", "SMS")

        before = served_emulator.emulator.now()
        assert (await http.post("/_emulator/clock", json={"advance": 90})).status_code == 200
        assert served_emulator.emulator.now() - before >= 90

        fault = {"operation": "InitiateAuth", "error": "TooManyRequestsException", "count": 2}
        assert (await http.post("/_emulator/faults", json=fault)).status_code == 200
        for _ in range(2):
            refused = await http.post("/", json=sign_in, headers=headers)
            assert refused.json()["__type"] == "TooManyRequestsException"
        assert "Session" in (await http.post("/", json=sign_in, headers=headers)).json()

        assert (await http.post("/_emulator/faults", json=fault)).status_code == 200
        assert (await http.delete("/_emulator/faults")).status_code == 200
        assert "Session" in (await http.post("/", json=sign_in, headers=headers)).json()

        bad = await http.post("/_emulator/clock", json={"advance": "soon"})
        assert bad.status_code == 400
        assert (await http.post("/_emulator/faults", content=b"[")).status_code == 400
        assert (await http.get("/nowhere")).status_code == 404


def _read_response(stream: Any) -> tuple[int, dict[str, str], bytes]:
    status = int(stream.readline().split()[1])
    headers: dict[str, str] = {}
    while (line := stream.readline()) not in (b"\r\n", b""):
        name, _, value = line.decode().partition(":")
        headers[name.strip().lower()] = value.strip()
    return status, headers, stream.read(int(headers["content-length"]))


def test_keep_alive_content_length_and_chunked_bodies(served_emulator: EmulatorServer) -> None:
    host, port = served_emulator.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port))) as sock, sock.makefile("rb") as stream:
        request = (
            b"POST / HTTP/1.1\r\nHost: x\r\nX-Amz-Target: "
            b"AWSCognitoIdentityProviderService.CreateUserPool\r\n"
            b"Content-Type: application/x-amz-json-1.1\r\n"
            b"Authorization: AWS4-HMAC-SHA256 Credential=testing/20260101/us-east-1/"
            b"cognito-idp/aws4_request, SignedHeaders=host, Signature=00\r\n"
        )
        body = b'{"PoolName": "one"}'
        sock.sendall(request + b"Content-Length: %d\r\n\r\n" % len(body) + body)
        status, headers, answer = _read_response(stream)
        assert status == 200 and json.loads(answer)["UserPool"]["Name"] == "one"
        assert headers.get("connection") != "close"
        # The same connection again, with a chunked body this time.
        chunks = b"%x\r\n%s\r\n0\r\n\r\n" % (len(b'{"PoolName": "two"}'), b'{"PoolName": "two"}')
        sock.sendall(request + b"Transfer-Encoding: chunked\r\n\r\n" + chunks)
        status, _, answer = _read_response(stream)
        assert status == 200 and json.loads(answer)["UserPool"]["Name"] == "two"
        sock.sendall(b"GET /_emulator/messages HTTP/1.1\r\nHost: x\r\n\r\n")
        assert _read_response(stream)[::2] == (200, b"[]")


def test_stop_cuts_idle_connections_and_joins_threads() -> None:
    before = set(threading.enumerate())
    server = EmulatorServer(Emulator())
    with server:
        host, port = server.url.removeprefix("http://").split(":")
        idle = socket.create_connection((host, int(port)))
        idle.sendall(b"GET /_emulator/messages HTTP/1.1\r\nHost: x\r\n\r\n")
        with idle.makefile("rb") as stream:
            assert _read_response(stream)[0] == 200
        # The connection stays open (keep-alive) while the server stops.
    try:
        # nothing the server started outlives it (an idle worker thread left by an earlier
        # test may end meanwhile: that is not this server's)
        assert set(threading.enumerate()) <= before
        assert idle.recv(1) == b""  # the server closed its side
    finally:
        idle.close()
    with pytest.raises(RuntimeError):
        _ = server.url


def test_a_delayed_call_does_not_hold_up_others(served_emulator: EmulatorServer) -> None:
    served_emulator.emulator.inject_fault("CreateUserPool", error=None, delay=1.0)
    url = served_emulator.url
    slow_done = threading.Event()

    def slow() -> None:
        with httpx.Client(base_url=url) as http:
            http.post(
                "/",
                content=b'{"PoolName": "slow"}',
                headers={"X-Amz-Target": "AWSCognitoIdentityProviderService.CreateUserPool"},
            )
        slow_done.set()

    thread = threading.Thread(target=slow)
    thread.start()
    try:
        with httpx.Client(base_url=url) as http:
            assert http.get("/_emulator/messages").status_code == 200
        assert not slow_done.is_set()
    finally:
        thread.join()
    assert slow_done.is_set()


def test_cognito_server_fixture(cognito_server: EmulatorServer) -> None:
    with httpx.Client(base_url=cognito_server.url) as http:
        assert http.get("/_emulator/messages").json() == []


@pytest.mark.parametrize("stop_signal", [signal.SIGTERM, signal.SIGINT])
def test_command_line_prints_one_url_and_stops_cleanly(stop_signal: signal.Signals) -> None:
    process = subprocess.Popen(
        [sys.executable, "-W", "error", "-m", "cognito_mfa.testing", "serve", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, "PYTHONWARNINGS": "error"},
    )
    try:
        assert process.stdout is not None
        url = process.stdout.readline().decode().strip()
        assert url.startswith("http://127.0.0.1:")
        with httpx.Client(base_url=url) as http:
            assert http.get("/_emulator/messages").json() == []
        process.send_signal(stop_signal)
        out, err = process.communicate(timeout=20)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 0, err.decode()
    assert out == b""
    assert err == b""


async def test_two_hundred_clients_connecting_at_once_are_all_answered(
    served_emulator: EmulatorServer,
) -> None:
    """A real listen backlog: a burst of connections all get answers (no timing asserted)."""
    host, port = served_emulator.url.removeprefix("http://").split(":")

    async def one() -> bytes:
        reader, writer = await asyncio.open_connection(host, int(port))
        writer.write(b"GET /_emulator/messages HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        await writer.drain()
        answer = await reader.read()
        writer.close()
        await writer.wait_closed()
        return answer

    answers = await asyncio.gather(*(one() for _ in range(200)))
    assert all(answer.startswith(b"HTTP/1.1 200") for answer in answers)
    assert all(answer.endswith(b"[]") for answer in answers)
