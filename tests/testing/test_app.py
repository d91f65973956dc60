"""The emulator's ASGI app: control routes, their validation and origins, over both ways in."""

from __future__ import annotations

import json
from typing import Any

import fronts
import httpx
import pytest
from fronts import Front

from cognito_mfa.testing import Emulator, EmulatorApp, EmulatorServer
from cognito_mfa.testing.app import MAX_COGNITO_BODY, MAX_CONTROL_BODY

front = fronts.front  # the shared fixture

PASSWORD = "Correct-Horse-9"
INITIATE = {
    "X-Amz-Target": "AWSCognitoIdentityProviderService.InitiateAuth",
    "Content-Type": "application/x-amz-json-1.1",
}


def own_origin(http: httpx.AsyncClient) -> str:
    return f"{http.base_url.scheme}://{http.base_url.netloc.decode()}"


async def test_clock_answers_the_new_time(front: Front) -> None:
    http = await front.http()
    before = (await http.get("/_emulator/clock")).json()["now"]
    moved = await http.post("/_emulator/clock", json={"advance": 90})
    assert moved.status_code == 200
    assert moved.json()["now"] == pytest.approx(before + 90, abs=5)
    with front.lock:
        assert front.emulator.now() >= moved.json()["now"]


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        (b'{"advance": NaN}', "NaN"),
        (b'{"advance": Infinity}', "Infinity"),
        (b'{"advance": -Infinity}', "-Infinity"),
        (b'{"advance": 1e300}', "between"),
        (b'{"advance": -5}', "between"),
        (b'{"advance": "soon"}', "number"),
        (b'{"advance": true}', "number"),
        (b"{}", "required"),
        (b'{"advance": 1, "extra": 2}', "unknown keys: extra"),
        (b"[1]", "JSON object"),
        (b"{", "not JSON"),
        (b'{"advance": [[[[[1]]]]]}', "nested"),
        (b"[" * 100_000, "nested"),  # no RecursionError, no hang: refused by size first
    ],
)
async def test_clock_refuses_bad_input_and_keeps_working(
    front: Front, body: bytes, fragment: str
) -> None:
    http = await front.http()
    refused = await http.post("/_emulator/clock", content=body)
    if len(body) > MAX_CONTROL_BODY:
        assert refused.status_code == 413
    else:
        assert refused.status_code == 400
        assert fragment in refused.json()["message"]
    # the emulator still answers Cognito calls afterwards
    client, seeder, pool = await front.seeded()
    await seeder.create_user(pool, "alice", PASSWORD)
    answered = await client.initiate_auth(
        AuthFlow="USER_PASSWORD_AUTH",
        ClientId=pool.client_id,
        AuthParameters={"USERNAME": "alice", "PASSWORD": PASSWORD},
    )
    assert "AuthenticationResult" in answered


@pytest.mark.parametrize(
    ("fault", "fragment"),
    [
        ({"operation": "InitiateAuth", "delay": 1e300}, "'delay' must be between"),
        ({"operation": "InitiateAuth", "delay": -1}, "'delay' must be between"),
        ({"operation": "InitiateAuth", "count": 0}, "'count' must be between"),
        ({"operation": "InitiateAuth", "count": 1.5}, "'count' must be an integer"),
        ({"operation": "InitiateAuth", "count": True}, "'count' must be an integer"),
        ({"operation": "NoSuchOperation"}, "unknown operation"),
        ({"operation": "../x"}, "'operation' must be"),
        ({"operation": "InitiateAuth", "error": 5}, "'error' must be"),
        ({"operation": "InitiateAuth", "message": "x" * 2000}, "'message' must be"),
        ({"error": "TooManyRequestsException"}, "'operation' must be"),
    ],
)
async def test_faults_refuse_bad_input(front: Front, fault: dict[str, Any], fragment: str) -> None:
    http = await front.http()
    refused = await http.post("/_emulator/faults", json=fault)
    assert refused.status_code == 400
    assert fragment in refused.json()["message"]


async def test_faults_are_injected_and_cleared(front: Front) -> None:
    _client, seeder, pool = await front.seeded()
    await seeder.create_user(pool, "carol", PASSWORD)
    http = await front.http()
    sign_in = {
        "AuthFlow": "USER_PASSWORD_AUTH",
        "ClientId": pool.client_id,
        "AuthParameters": {"USERNAME": "carol", "PASSWORD": PASSWORD},
    }
    fault = {"operation": "InitiateAuth", "error": "TooManyRequestsException", "count": 2}
    assert (await http.post("/_emulator/faults", json=fault)).status_code == 200
    for _ in range(2):
        refused = await http.post("/", json=sign_in, headers=INITIATE)
        assert refused.json()["__type"] == "TooManyRequestsException"
    assert "AuthenticationResult" in (await http.post("/", json=sign_in, headers=INITIATE)).json()
    assert (await http.post("/_emulator/faults", json=fault)).status_code == 200
    assert (await http.delete("/_emulator/faults")).status_code == 200
    assert "AuthenticationResult" in (await http.post("/", json=sign_in, headers=INITIATE)).json()


async def test_bodies_are_bounded(front: Front) -> None:
    http = await front.http()
    big = await http.post("/", content=b" " * (MAX_COGNITO_BODY + 1), headers=INITIATE)
    assert big.status_code == 413
    assert "larger than" in big.json()["message"]
    control = await http.post("/_emulator/faults", content=b" " * (MAX_CONTROL_BODY + 1))
    assert control.status_code == 413


async def test_totp_route_gives_the_code_on_the_emulator_clock(front: Front) -> None:
    _client, seeder, pool = await front.seeded()
    user = await seeder.create_user(pool, "tina", PASSWORD, totp=True)
    http = await front.http()
    query = {"pool_id": pool.pool_id, "username": "tina"}
    first = (await http.get("/_emulator/totp", params=query)).json()
    assert first["code"] == user.totp_code(first["now"])
    await http.post("/_emulator/clock", json={"advance": 3600})
    later = (await http.get("/_emulator/totp", params=query)).json()
    assert later["now"] >= first["now"] + 3600
    assert later["code"] == user.totp_code(later["now"])

    missing = await http.get("/_emulator/totp", params={"pool_id": pool.pool_id})
    assert missing.status_code == 400
    nobody = await http.get("/_emulator/totp", params={**query, "username": "nobody"})
    assert nobody.status_code == 404


async def test_control_routes_refuse_other_origins(front: Front) -> None:
    http = await front.http()
    evil = {"Origin": "https://evil.example"}
    for method, path, body in [
        ("POST", "/_emulator/clock", {"advance": 1}),
        ("GET", "/_emulator/messages", None),
        ("POST", "/_emulator/faults", {"operation": "InitiateAuth"}),
        ("DELETE", "/_emulator/faults", None),
        ("GET", "/_emulator/totp?pool_id=a_b&username=c", None),
    ]:
        refused = await http.request(method, path, json=body, headers=evil)
        assert refused.status_code == 403, (method, path)
        assert "access-control-allow-origin" not in refused.headers
        assert "cross-origin" in refused.json()["message"]
    preflight = await http.options(
        "/_emulator/clock",
        headers={**evil, "Access-Control-Request-Method": "POST"},
    )
    assert preflight.status_code == 403
    # the page's own origin, and clients sending none, are served
    own = await http.get("/_emulator/messages", headers={"Origin": own_origin(http)})
    assert own.status_code == 200
    assert (await http.get("/_emulator/messages")).status_code == 200
    # Cognito's own routes stay open to every origin, as Cognito's are
    cognito = await http.post("/", content=b"{}", headers={**INITIATE, **evil})
    assert cognito.status_code == 400
    assert cognito.headers["access-control-allow-origin"] == "*"


async def test_cross_origin_control_can_be_allowed() -> None:
    app = EmulatorApp(Emulator(), allow_cross_origin_control=True)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://emulator.test"
    ) as http:
        evil = {"Origin": "https://evil.example"}
        moved = await http.post("/_emulator/clock", json={"advance": 1}, headers=evil)
        assert moved.status_code == 200
        assert moved.headers["access-control-allow-origin"] == "*"
        preflight = await http.options(
            "/_emulator/faults", headers={**evil, "Access-Control-Request-Method": "POST"}
        )
        assert preflight.status_code == 204


def test_the_served_option_allows_cross_origin_control() -> None:
    with (
        EmulatorServer(Emulator(), allow_cross_origin_control=True) as server,
        httpx.Client(base_url=server.url) as http,
    ):
        answer = http.get("/_emulator/messages", headers={"Origin": "https://evil.example"})
        assert answer.status_code == 200


async def test_messages_and_unknown_routes(front: Front) -> None:
    http = await front.http()
    assert (await http.get("/_emulator/messages")).json() == []
    assert (await http.get("/nowhere")).status_code == 404
    assert (await http.get("/_emulator/nowhere")).status_code == 404
    jwks = await http.get("/us-east-1_Nope/.well-known/jwks.json")
    assert jwks.status_code == 404
    assert json.loads(jwks.content)["__type"] == "ResourceNotFoundException"
