"""Stored sign-ins (cognito_mfa.web): sealing, the stores' one-time take, and WebSignIn's steps
against the in-process emulator, on the memory store and on a real redis-server."""

from __future__ import annotations

import asyncio
import base64
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from redis_server import redis_server

import cognito_mfa as cm
import cognito_mfa.web as web
from cognito_mfa.testing import EMULATOR_ENDPOINT
from cognito_mfa.testing.seed import SeededPool, SeededUser

KEY = web.AppKey(b"k" * 32)
PHONE = "+15555550100"


@pytest.fixture(scope="module")
def redis_url() -> Iterator[str]:
    with redis_server() as url:
        yield url


@pytest.fixture(params=["memory", "redis"])
async def store(request: pytest.FixtureRequest) -> AsyncIterator[web.FlowStore]:
    if request.param == "memory":
        store: web.FlowStore = web.MemoryFlowStore()
    else:
        store = web.RedisFlowStore.from_url(request.getfixturevalue("redis_url"))
    try:
        yield store
    finally:
        await store.aclose()


def _pool(seeded: SeededPool, config: Any) -> cm.UserPool:
    return cm.UserPool(
        seeded.pool_id, seeded.client_id, endpoint_url=EMULATOR_ENDPOINT, botocore_config=config
    )


async def _sms_user(factory: Any) -> SeededUser:
    user: SeededUser = await factory(phone=PHONE, mfa=["SMS"], preferred="SMS")
    return user


# --- the key and the seal --------------------------------------------------------------------


def test_the_key_is_long_enough_hidden_and_read_from_base64(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with pytest.raises(cm.InvalidInput):
        web.AppKey(b"short")
    with pytest.raises(cm.InvalidInput):
        web.AppKey.from_base64("not base64 at all!")
    text = web.AppKey.generate()
    assert len(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))) == 32
    key = web.AppKey.from_base64(text)
    assert text not in repr(key) and "hidden" in repr(key)
    monkeypatch.delenv(web.APP_KEY_ENV, raising=False)
    with pytest.raises(cm.InvalidInput, match=web.APP_KEY_ENV):
        web.AppKey.from_env()
    monkeypatch.setenv(web.APP_KEY_ENV, base64.b64encode(b"x" * 40).decode())
    sealed = web.AppKey.from_env().seal(b"state", binding=("h", "p", "c"), nonce=b"n" * 12)
    assert web.AppKey(b"x" * 40).open(sealed, binding=("h", "p", "c")) == b"state"


def test_a_sealed_state_opens_only_where_and_with_what_it_was_sealed() -> None:
    sealed = KEY.seal(b'{"state": 1}', binding=("handle", "pool", "client"), nonce=b"\x07" * 12)
    assert b"state" not in sealed  # encrypted at rest
    assert KEY.open(sealed, binding=("handle", "pool", "client")) == b'{"state": 1}'
    flipped = bytearray(sealed)
    flipped[-1] ^= 1
    for record, binding in [
        (bytes(flipped), ("handle", "pool", "client")),  # tampered
        (sealed, ("other", "pool", "client")),  # moved to another handle
        (sealed, ("handle", "other-pool", "client")),  # another pool
        (sealed, ("handle", "pool", "other-client")),  # another app client
        (b"\x01short", ("handle", "pool", "client")),
        (b"", ("handle", "pool", "client")),
    ]:
        with pytest.raises(web.SignInStateRefused):
            KEY.open(record, binding=binding)
    with pytest.raises(web.SignInStateRefused):
        web.AppKey(b"z" * 32).open(sealed, binding=("handle", "pool", "client"))  # another key


# --- the stores --------------------------------------------------------------------------------

HANDLE = "A" * 43


async def test_a_store_gives_a_record_out_once(store: web.FlowStore) -> None:
    assert isinstance(store, web.FlowStore)
    with pytest.raises(web.SignInExpired):
        await store.take(HANDLE)
    await store.put(HANDLE, b"\x01record", ttl=60)
    assert await store.take(HANDLE) == b"\x01record"
    with pytest.raises(web.SignInAlreadyAnswered):
        await store.take(HANDLE)
    await store.put(HANDLE, b"\x01again", ttl=60)
    await store.discard(HANDLE)
    with pytest.raises(web.SignInExpired):
        await store.take(HANDLE)
    for bad in ("short", "A" * 42 + "!", None):
        with pytest.raises(web.SignInExpired):
            await store.take(bad)  # type: ignore[arg-type]
    with pytest.raises(cm.InvalidInput):
        await store.put(HANDLE, b"\x01r", ttl=0)


async def test_a_stored_record_expires(store: web.FlowStore) -> None:
    if isinstance(store, web.MemoryFlowStore):
        now = [100.0]
        store = web.MemoryFlowStore(clock=lambda: now[0])
        await store.put(HANDLE, b"\x01r", ttl=5)
        now[0] += 5
    else:
        await store.put(HANDLE, b"\x01r", ttl=0.05)
        await asyncio.sleep(0.2)
    with pytest.raises(web.SignInExpired):
        await store.take(HANDLE)


async def test_the_memory_store_is_bounded() -> None:
    store = web.MemoryFlowStore(max_entries=2)
    handles = [letter * 43 for letter in "ABC"]
    for handle in handles:
        await store.put(handle, b"\x01r", ttl=60)
    assert len(store) == 2
    with pytest.raises(web.SignInExpired):
        await store.take(handles[0])  # the oldest went first
    with pytest.raises(cm.InvalidInput):
        web.MemoryFlowStore(max_entries=0)


async def test_the_memory_store_drops_expired_entries_as_it_goes() -> None:
    now = [0.0]
    store = web.MemoryFlowStore(clock=lambda: now[0])
    await store.put("A" * 43, b"\x01r", ttl=5)
    now[0] = 61.0  # past the entry's life and the sweep interval
    await store.put("B" * 43, b"\x01r", ttl=5)
    assert list(store._entries) == ["B" * 43]


async def test_redis_store_failures_are_typed() -> None:
    store = web.RedisFlowStore.from_url("redis://127.0.0.1:1/0")
    try:
        with pytest.raises(cm.ConnectionFailed):
            await store.take(HANDLE)
    finally:
        await store.aclose()
    with pytest.raises(cm.InvalidInput):
        web.RedisFlowStore.from_url("http://example.com")


# --- WebSignIn across requests -------------------------------------------------------------


async def test_a_sign_in_started_on_one_replica_is_finished_on_another(
    store: web.FlowStore,
    cognito_pool: SeededPool,
    cognito_user_factory: Any,
    cognito_emulator: Any,
    cognito_client_config: Any,
) -> None:
    user = await _sms_user(cognito_user_factory)
    async with (
        _pool(cognito_pool, cognito_client_config) as pool_a,
        _pool(cognito_pool, cognito_client_config) as pool_b,
    ):
        first, second = web.WebSignIn(pool_a, KEY, store), web.WebSignIn(pool_b, KEY, store)
        started = await first.start(user.username, user.password)
        assert isinstance(started, web.ChallengePending)
        assert started.public() == {
            "name": "SMS_MFA",
            "destination": "+*******0100",
            "delivery_medium": "SMS",
            "code_length": 6,
        }
        assert started.handle not in repr(started)
        code = cognito_emulator.last_code(user.username, "SMS")
        wrong = "000000" if code != "000000" else "111111"
        # a wrong code: refused, the same challenge stored again under a new handle
        retry = await second.answer(started.handle, code=wrong)
        assert isinstance(retry, web.ChallengePending)
        assert isinstance(retry.rejected, cm.CodeMismatch) and retry.rejected.sign_in_alive
        assert retry.handle != started.handle
        with pytest.raises(web.SignInAlreadyAnswered):
            await first.answer(started.handle, code=code)  # the old handle is used up
        # malformed answers are refused before anything is sent; the sign-in stays open
        shape = await first.answer(retry.handle, code="12")
        assert isinstance(shape, web.ChallengePending)
        assert isinstance(shape.rejected, cm.InvalidInput)
        kind = await second.answer(shape.handle, mfa_type="SMS")
        assert isinstance(kind, web.ChallengePending)
        assert isinstance(kind.rejected, cm.FlowStateError)
        with pytest.raises(cm.InvalidInput):
            await second.answer(kind.handle, code=code, mfa_type="SMS")  # nothing taken
        done = await first.answer(kind.handle, code=code)
        assert isinstance(done, web.SignedIn)
        assert done.tokens.username == user.username
        assert "hidden" in repr(done)


async def test_the_same_answer_sent_twice_at_once_succeeds_once(
    store: web.FlowStore,
    cognito_pool: SeededPool,
    cognito_user_factory: Any,
    cognito_emulator: Any,
    cognito_client_config: Any,
) -> None:
    user = await _sms_user(cognito_user_factory)
    async with (
        _pool(cognito_pool, cognito_client_config) as pool_a,
        _pool(cognito_pool, cognito_client_config) as pool_b,
    ):
        replicas = [web.WebSignIn(pool_a, KEY, store), web.WebSignIn(pool_b, KEY, store)]
        started = await replicas[0].start(user.username, user.password)
        assert isinstance(started, web.ChallengePending)
        code = cognito_emulator.last_code(user.username, "SMS")
        results = await asyncio.gather(
            *(replica.answer(started.handle, code=code) for replica in replicas),
            return_exceptions=True,
        )
        assert sorted(type(result).__name__ for result in results) == [
            "SignInAlreadyAnswered",
            "SignedIn",
        ]


async def test_tampered_moved_or_foreign_state_is_refused_before_anything_is_sent(
    store: web.FlowStore,
    cognito_seeder: Any,
    cognito_pool: SeededPool,
    cognito_user_factory: Any,
    cognito_client_config: Any,
) -> None:
    user = await _sms_user(cognito_user_factory)
    other = await cognito_seeder.create_client(cognito_pool.pool_id)
    async with (
        _pool(cognito_pool, cognito_client_config) as pool,
        _pool(other, cognito_client_config) as foreign_pool,
    ):
        signin = web.WebSignIn(pool, KEY, store)
        sent: list[str] = []
        call = pool.transport.call

        async def spy(operation: str, params: Any) -> Any:
            sent.append(operation)
            return await call(operation, params)

        pool.transport.call = spy  # type: ignore[method-assign]
        started = await signin.start(user.username, user.password)
        assert isinstance(started, web.ChallengePending)
        record = await store.take(started.handle)
        moved = "B" * 43
        await store.put(moved, record, ttl=60)
        flipped = bytearray(record)
        flipped[20] ^= 1
        tampered = "C" * 43
        await store.put(tampered, bytes(flipped), ttl=60)
        foreign = "D" * 43
        await store.put(foreign, record, ttl=60)
        before = list(sent)
        for handle in (moved, tampered):
            with pytest.raises(web.SignInStateRefused):
                await signin.answer(handle, code="123456")
        with pytest.raises(web.SignInStateRefused):  # another app client's service
            await web.WebSignIn(foreign_pool, KEY, store).answer(foreign, code="123456")
        fresh = "E" * 43
        await store.put(fresh, record, ttl=60)
        with pytest.raises(web.SignInStateRefused):  # another application key
            await web.WebSignIn(pool, web.AppKey(b"q" * 32), store).answer(fresh, code="1")
        assert sent == before


async def test_an_expired_sign_in_is_refused(
    cognito_pool: SeededPool, cognito_user_factory: Any, cognito_client_config: Any
) -> None:
    user = await _sms_user(cognito_user_factory)
    now = [1000.0]
    async with _pool(cognito_pool, cognito_client_config) as pool:
        # the store keeps it (a store that does not expire): the sealed expiry still holds
        signin = web.WebSignIn(pool, KEY, web.MemoryFlowStore(), ttl=30, clock=lambda: now[0])
        started = await signin.start(user.username, user.password)
        assert isinstance(started, web.ChallengePending)
        now[0] += 31
        with pytest.raises(web.SignInExpired):
            await signin.answer(started.handle, code="123456")
        with pytest.raises(cm.InvalidInput):
            web.WebSignIn(pool, KEY, ttl=0)
        with pytest.raises(cm.InvalidInput):
            web.WebSignIn(pool, b"k" * 32)  # type: ignore[arg-type]


async def test_a_wrong_code_keeps_the_sign_ins_deadline(
    cognito_pool: SeededPool, cognito_user_factory: Any, cognito_client_config: Any
) -> None:
    # Cognito's session keeps running after a wrong code: storing the retry with a fresh TTL
    # would keep it past the session's end (a late answer would reach Cognito only to fail)
    user = await _sms_user(cognito_user_factory)
    now = [1000.0]
    store = web.MemoryFlowStore(clock=lambda: now[0])
    async with _pool(cognito_pool, cognito_client_config) as pool:
        signin = web.WebSignIn(pool, KEY, store, ttl=60, clock=lambda: now[0])
        started = await signin.start(user.username, user.password)
        assert isinstance(started, web.ChallengePending)
        now[0] += 40
        retry = await signin.answer(started.handle, code="000000")
        assert isinstance(retry, web.ChallengePending)
        assert isinstance(retry.rejected, cm.CodeMismatch)
        now[0] += 21  # 61 s after the start: past the first deadline, though 21 s after the retry
        with pytest.raises(web.SignInExpired):
            await signin.answer(retry.handle, code="000000")


async def test_a_sign_in_that_fails_is_not_stored_again(
    cognito_pool: SeededPool,
    cognito_user_factory: Any,
    cognito_emulator: Any,
    cognito_client_config: Any,
) -> None:
    user = await _sms_user(cognito_user_factory)
    store = web.MemoryFlowStore()
    async with _pool(cognito_pool, cognito_client_config) as pool:
        signin = web.WebSignIn(pool, KEY, store)
        started = await signin.start(user.username, user.password)
        assert isinstance(started, web.ChallengePending)
        cognito_emulator.advance(181)  # past Cognito's AuthSessionValidity
        with pytest.raises(cm.SessionExpired):
            await signin.answer(started.handle, code="123456")
        assert len(store) == 1  # only the used-up marker of the old handle
        with pytest.raises(cm.NotAuthorized):
            await signin.start(user.username, "Wrong-Horse-1")
        await signin.discard(started.handle)
        await signin.discard("not a handle")
        assert len(store) == 0


# --- HTTP mapping ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("error", "status", "slug"),
    [
        (cm.CodeMismatch("x"), 401, "wrong-code"),
        (cm.EnableSoftwareTokenMFA("x"), 401, "wrong-code"),
        (cm.NotAuthorized("Incorrect username or password."), 401, "wrong-credentials"),
        (cm.UserNotFound("User does not exist."), 401, "wrong-credentials"),
        (cm.SessionExpired("x"), 410, "sign-in-expired"),
        (web.SignInExpired("x"), 410, "sign-in-expired"),
        (cm.PasswordAttemptsExceeded("Password attempts exceeded"), 429, "too-many-attempts"),
        (cm.LimitExceeded("x"), 429, "too-many-attempts"),
        (cm.TooManyRequests("x"), 429, "too-many-attempts"),
        (cm.InvalidInput("code must be 6 digits"), 422, "invalid-input"),
        (cm.InvalidPassword("Password not long enough"), 422, "invalid-input"),
        (cm.FlowStateError("not offered"), 422, "invalid-input"),
        (cm.ConnectionFailed("refused"), 503, "unavailable"),
        (cm.RequestTimeout("slow"), 503, "unavailable"),
        (cm.InternalError("x"), 503, "unavailable"),
        (web.SignInAlreadyAnswered("x"), 409, "already-answered"),
        (web.SignInStateRefused("x"), 400, "sign-in-refused"),
        (cm.TokenExpired("x"), 401, "not-signed-in"),
        (cm.JwksUnavailable("x"), 503, "unavailable"),
        (cm.ResourceNotFound("x"), 500, "server-error"),
        (RuntimeError("x"), 500, "server-error"),
    ],
)
def test_errors_map_to_http_problems(error: BaseException, status: int, slug: str) -> None:
    problem = web.problem_for(error)
    assert (problem.status, problem.slug) == (status, slug)
    body = problem.body(sign_in_open=False)
    assert body["type"] == web.PROBLEM_TYPE_BASE + slug and body["status"] == status
    assert body["detail"] and body["sign_in_open"] is False


def test_importing_the_library_imports_no_web_framework_or_redis() -> None:
    code = (
        "import sys, cognito_mfa, cognito_mfa.web; "
        "print(sorted(m for m in ('fastapi', 'redis', 'starlette') if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "[]"
