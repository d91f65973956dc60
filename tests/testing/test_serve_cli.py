"""Serving from the command line: seed files, the CLI user's whole path, stopping with delays."""

from __future__ import annotations

import json
import os
import shlex
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import boto3
import httpx
import pytest
from botocore.config import Config

from cognito_mfa.testing.seedfile import DEMO_SEED, SeedError, load_seed

pytestmark = pytest.mark.served

SECRET_PASSWORD = "Sekrit-Horse-91"

TOML_SEED = f"""
[[pools]]
name = "main"
mfa = "OPTIONAL"
device_configuration = {{ ChallengeRequiredOnNewDevice = true }}

[[pools.clients]]
name = "web"

[[pools.clients]]
name = "back-end"
secret = true

[[pools.users]]
username = "alice"
password = "{SECRET_PASSWORD}"
phone = "+15555550100"
email = "alice@example.com"
attributes = {{ given_name = "Alice" }}
totp = true
mfa = ["SMS", "TOTP"]
preferred = "TOTP"

[[pools.users]]
username = "bob"
password = "{SECRET_PASSWORD}"

[[pools]]
name = "other"
mfa = "OFF"
"""

SEED_ARGS = ("--seed", "seed.json")
ENV = {
    **os.environ,
    "PYTHONWARNINGS": "error",
    "AWS_EC2_METADATA_DISABLED": "true",  # the CLI's pool has no credentials: no IMDS probe
}


# -- the seed file ---------------------------------------------------------------------------


def test_toml_and_json_seed_files_load(tmp_path: Path) -> None:
    toml_file = tmp_path / "seed.toml"
    toml_file.write_text(TOML_SEED, encoding="utf-8")
    seed = load_seed(toml_file)
    assert [p.name for p in seed.pools] == ["main", "other"]
    assert [c.name for c in seed.pools[0].clients] == ["web", "back-end"]
    assert seed.pools[0].users[0].password.get_secret_value() == SECRET_PASSWORD
    assert SECRET_PASSWORD not in repr(seed)

    json_file = tmp_path / "seed.json"
    json_file.write_text(json.dumps(seed.model_dump(mode="json")), encoding="utf-8")
    assert [p.name for p in load_seed(json_file).pools] == ["main", "other"]
    assert load_seed("demo") is DEMO_SEED


def test_the_readmes_seed_file_loads(tmp_path: Path) -> None:
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    start = readme.index("```toml\n[[pools]]") + len("```toml\n")
    path = tmp_path / "seed.toml"
    path.write_text(readme[start : readme.index("```", start)], encoding="utf-8")
    (pool,) = load_seed(path).pools
    assert pool.case_sensitive is False and pool.mfa == "OPTIONAL"
    assert [c.name for c in pool.clients] == ["web"]
    assert [u.username for u in pool.users] == ["alice"]


@pytest.mark.parametrize(
    ("content", "where"),
    [
        (
            '{"pools": [{"name": "p", "users": [{"username": "u", "password": "abc"}]}]}',
            "pools.0.users.0.password",
        ),
        (
            '{"pools": [{"name": "p", "users": [{"username": "u", "password": "Sekrit-Horse-91",'
            ' "mfa": ["FAX"]}]}]}',
            "pools.0.users.0.mfa.0",
        ),
        ('{"pools": [{"name": "p", "colour": "blue"}]}', "pools.0.colour"),
        ('{"pools": [{"name": "p"}, {"name": "p"}]}', "share the pool name"),
        ('{"pools": [{"name": "p", "mfa": "SOMETIMES"}]}', "pools.0.mfa"),
        ('{"pools": []}', "pools"),
        (
            '{"pools": [{"name": "p", "clients": [{"name": "c", "auth_flows": ["X"]}]}]}',
            "pools.0.clients.0",
        ),
        ('{"pools": [', "not valid JSON"),
        (
            '{"pools": [{"name": "p", "clients": [], "users": [{"username": "u",'
            ' "password": "Sekrit-Horse-91"}]}]}',
            "needs at least one client",
        ),
    ],
)
def test_a_bad_seed_file_is_one_line_naming_the_file_and_field(
    tmp_path: Path, content: str, where: str
) -> None:
    path = tmp_path / "seed.json"
    path.write_text(content.replace("Sekrit-Horse-91", SECRET_PASSWORD), encoding="utf-8")
    with pytest.raises(SeedError) as info:
        load_seed(path)
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith(f"{path}: ")
    assert where in message
    assert SECRET_PASSWORD not in message and "abc" not in message.replace(str(path), "")


def test_a_bad_toml_file_and_a_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "seed.toml"
    path.write_text(f'[[pools]\npassword = "{SECRET_PASSWORD}"\n', encoding="utf-8")
    with pytest.raises(SeedError, match=r"seed\.toml: not valid TOML") as info:
        load_seed(path)
    assert SECRET_PASSWORD not in str(info.value)
    with pytest.raises(SeedError, match="cannot read"):
        load_seed(tmp_path / "missing.json")


# -- served from the command line ------------------------------------------------------------


class Served:
    def __init__(self, process: subprocess.Popen[bytes], exports: dict[str, str]) -> None:
        self.process = process
        self.exports = exports

    @property
    def url(self) -> str:
        return self.exports["COGNITO_ENDPOINT_URL"]


def _read_exports(stream: IO[bytes], last: str) -> dict[str, str]:
    exports: dict[str, str] = {}
    while last not in exports:
        line = stream.readline().decode()
        assert line, "the server ended before printing its exports"
        assert line.startswith("export "), line
        name, _, value = line.removeprefix("export ").strip().partition("=")
        exports[name] = shlex.split(value)[0]
    return exports


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[Any]:
    processes: list[subprocess.Popen[bytes]] = []

    def start(*args: str, last: str) -> Served:
        process = subprocess.Popen(
            [sys.executable, "-m", *args, "--port", "0"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=ENV,
            cwd=tmp_path,
        )
        processes.append(process)
        assert process.stdout is not None
        return Served(process, _read_exports(process.stdout, last))

    yield start
    for process in processes:
        if process.poll() is None:
            process.kill()
        process.communicate()


def _stop(served: Served) -> None:
    served.process.send_signal(signal.SIGTERM)
    _, err = served.process.communicate(timeout=20)
    assert served.process.returncode == 0, err.decode()
    assert err == b""


def test_serve_seed_file_prints_shell_exports(serve: Any, tmp_path: Path) -> None:
    (tmp_path / "seed.toml").write_text(TOML_SEED, encoding="utf-8")
    served = serve(
        "cognito_mfa.testing", "serve", "--seed", "seed.toml", last="COGNITO_CLIENT_OTHER_APP_ID"
    )
    exports = served.exports
    assert exports["COGNITO_USER_POOL_ID"] == exports["COGNITO_POOL_MAIN_ID"]
    assert exports["COGNITO_CLIENT_ID"] == exports["COGNITO_CLIENT_MAIN_WEB_ID"]
    assert "COGNITO_CLIENT_SECRET" not in exports  # the first client has none
    assert exports["COGNITO_CLIENT_MAIN_BACK_END_SECRET"]
    assert "COGNITO_CLIENT_OTHER_APP_ID" in exports  # a pool without clients gets "app"

    cognito = boto3.client(
        "cognito-idp",
        region_name="us-east-1",
        endpoint_url=served.url,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=Config(retries={"total_max_attempts": 1}),
    )
    pool_id = exports["COGNITO_POOL_MAIN_ID"]
    described = cognito.describe_user_pool(UserPoolId=pool_id)["UserPool"]
    assert described["Name"] == "main"
    mfa = cognito.get_user_pool_mfa_config(UserPoolId=pool_id)
    assert mfa["MfaConfiguration"] == "OPTIONAL"
    assert (
        cognito.get_user_pool_mfa_config(UserPoolId=exports["COGNITO_POOL_OTHER_ID"])[
            "MfaConfiguration"
        ]
        == "OFF"
    )
    alice = cognito.admin_get_user(UserPoolId=pool_id, Username="alice")
    attributes = {a["Name"]: a["Value"] for a in alice["UserAttributes"]}
    assert attributes["given_name"] == "Alice"
    assert attributes["phone_number_verified"] == "true"
    assert alice["PreferredMfaSetting"] == "SOFTWARE_TOKEN_MFA"
    assert set(alice["UserMFASettingList"]) == {"SMS_MFA", "SOFTWARE_TOKEN_MFA"}
    started = cognito.initiate_auth(
        AuthFlow="USER_PASSWORD_AUTH",
        ClientId=exports["COGNITO_CLIENT_ID"],
        AuthParameters={"USERNAME": "bob", "PASSWORD": SECRET_PASSWORD},
    )
    assert "AuthenticationResult" in started
    _stop(served)


def test_a_bad_seed_file_stops_the_command_with_one_line(tmp_path: Path) -> None:
    (tmp_path / "seed.json").write_text(
        json.dumps({"pools": [{"name": "p", "users": [{"username": "u", "password": "ab"}]}]}),
        encoding="utf-8",
    )
    done = subprocess.run(
        [sys.executable, "-m", "cognito_mfa", "emulator", "serve", "--port", "0", *SEED_ARGS],
        capture_output=True,
        env=ENV,
        cwd=tmp_path,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert done.stdout == b""
    lines = done.stderr.decode().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("error: seed.json: pools.0.users.0.password")
    assert '"ab"' not in lines[0] and "'ab'" not in lines[0]


def _cli(
    served: Served, *args: str, answers: list[Any], cwd: Path
) -> subprocess.CompletedProcess[str]:
    """Run ``cognito-mfa ARGS`` with the seed's exports, answering prompts line by line.

    An answer may be a callable, called when the previous line has been written (so a code
    can be fetched once the CLI has asked for it).
    """
    env = {**ENV, **served.exports}
    process = subprocess.Popen(
        [sys.executable, "-m", "cognito_mfa", *args],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
        cwd=cwd,
        text=True,
    )
    assert process.stdin is not None
    for answer in answers:
        line = answer() if callable(answer) else answer
        process.stdin.write(line + "\n")
        process.stdin.flush()
    out, err = process.communicate(timeout=60)
    return subprocess.CompletedProcess(process.args, process.returncode, out, err)


def test_a_cli_user_serves_seeds_signs_in_and_sets_up_totp(serve: Any, tmp_path: Path) -> None:
    """The README's path: serve --seed demo, source the exports, sign in, set up TOTP."""
    served = serve(
        "cognito_mfa", "emulator", "serve", "--seed", "demo", last="COGNITO_POOL_DEMO_ID"
    )
    password = DEMO_SEED.pools[0].users[0].password.get_secret_value()
    signed_in = _cli(served, "sign-in", "--username", "alice", answers=[password], cwd=tmp_path)
    assert signed_in.returncode == 0, signed_in.stderr
    assert "signed in as alice" in signed_in.stdout

    pool_id = served.exports["COGNITO_USER_POOL_ID"]

    def totp_code() -> str:
        # wait until the CLI has associated the secret, then read its code on the emulator clock
        with httpx.Client(base_url=served.url) as http:
            for _ in range(200):
                answer = http.get(
                    "/_emulator/totp", params={"pool_id": pool_id, "username": "alice"}
                )
                if answer.status_code == 200:
                    return str(answer.json()["code"])
                time.sleep(0.05)
        raise AssertionError("the CLI never associated a TOTP secret")

    setup = _cli(
        served,
        "totp",
        "setup",
        "--username",
        "alice",
        "--prefer",
        answers=[password, totp_code],
        cwd=tmp_path,
    )
    assert setup.returncode == 0, setup.stderr
    assert "authenticator app enrolled and preferred" in setup.stdout

    with httpx.Client(base_url=served.url) as http:
        http.post("/_emulator/clock", json={"advance": 30}).raise_for_status()  # a fresh step
    again = _cli(
        served, "sign-in", "--username", "alice", answers=[password, totp_code], cwd=tmp_path
    )
    assert again.returncode == 0, again.stderr
    assert "signed in as alice" in again.stdout
    _stop(served)


def test_sigterm_stops_the_server_at_once_with_a_delay_pending(serve: Any) -> None:
    served = serve("cognito_mfa.testing", "serve", "--seed", "demo", last="COGNITO_POOL_DEMO_ID")
    answers: list[httpx.Response] = []
    with httpx.Client(base_url=served.url, timeout=120) as http:
        fault = {"operation": "InitiateAuth", "error": None, "delay": 300}
        http.post("/_emulator/faults", json=fault).raise_for_status()

        def delayed() -> None:
            answers.append(
                http.post(
                    "/",
                    content=b"{}",
                    headers={"X-Amz-Target": "AWSCognitoIdentityProviderService.InitiateAuth"},
                )
            )

        thread = threading.Thread(target=delayed)
        thread.start()
        time.sleep(0.5)  # the call is sleeping in its injected delay
        started = time.monotonic()
        _stop(served)
        thread.join(timeout=30)
    assert time.monotonic() - started < 15
    assert [a.status_code for a in answers] == [503]


# -- a seed applied again to a state file ----------------------------------------------------


def _admin(served: Served) -> Any:
    return boto3.client(
        "cognito-idp",
        region_name="us-east-1",
        endpoint_url=served.url,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=Config(retries={"total_max_attempts": 1}),
    )


def _snapshot(cognito: Any, pool_id: str) -> tuple[list[str], list[str], dict[str, Any]]:
    """The pools' ids, the main pool's client ids, and alice and bob as AdminGetUser sees them."""
    pools = [p["Id"] for p in cognito.list_user_pools(MaxResults=60)["UserPools"]]
    clients = cognito.list_user_pool_clients(UserPoolId=pool_id)["UserPoolClients"]
    users = {}
    for name in ("alice", "bob"):
        user = cognito.admin_get_user(UserPoolId=pool_id, Username=name)
        user.pop("ResponseMetadata")
        users[name] = user
    return pools, [c["ClientId"] for c in clients], users


def test_a_restart_with_the_same_state_and_seed_keeps_the_ids(serve: Any, tmp_path: Path) -> None:
    (tmp_path / "seed.toml").write_text(TOML_SEED, encoding="utf-8")
    start = ("--state", "state.jsonl", "--seed", "seed.toml")
    last = "COGNITO_CLIENT_OTHER_APP_ID"
    first = serve("cognito_mfa.testing", "serve", *start, last=last)
    pool_id = first.exports["COGNITO_POOL_MAIN_ID"]
    cognito = _admin(first)
    before = _snapshot(cognito, pool_id)
    # a user made by hand while serving: the state file keeps it, the seed leaves it be
    cognito.admin_create_user(UserPoolId=pool_id, Username="carol", MessageAction="SUPPRESS")
    _stop(first)

    second = serve("cognito_mfa.testing", "serve", *start, last=last)
    assert second.exports == {**first.exports, "COGNITO_ENDPOINT_URL": second.url}
    cognito = _admin(second)
    assert _snapshot(cognito, pool_id) == before
    assert cognito.admin_get_user(UserPoolId=pool_id, Username="carol")["Username"] == "carol"
    _stop(second)

    # a user added to the seed between two starts is the one thing created
    with_dave = TOML_SEED.replace(
        '[[pools]]\nname = "other"',
        f'[[pools.users]]\nusername = "dave"\npassword = "{SECRET_PASSWORD}"\n\n'
        '[[pools]]\nname = "other"',
    )
    assert with_dave != TOML_SEED
    (tmp_path / "seed.toml").write_text(with_dave, encoding="utf-8")
    third = serve("cognito_mfa", "emulator", "serve", *start, last=last)
    assert third.exports == {**first.exports, "COGNITO_ENDPOINT_URL": third.url}
    cognito = _admin(third)
    assert _snapshot(cognito, pool_id) == before
    dave = cognito.admin_get_user(UserPoolId=pool_id, Username="dave")
    assert dave["UserStatus"] == "CONFIRMED"
    signed_in = cognito.initiate_auth(
        AuthFlow="USER_PASSWORD_AUTH",
        ClientId=third.exports["COGNITO_CLIENT_ID"],
        AuthParameters={"USERNAME": "dave", "PASSWORD": SECRET_PASSWORD},
    )
    assert "AuthenticationResult" in signed_in
    _stop(third)
