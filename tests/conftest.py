from __future__ import annotations

import os
from functools import cache
from typing import Any

import pytest
from hypothesis import HealthCheck, settings
from referee import Referee

from vidgate import spec

# Hypothesis budgets: cheap by default (make test stays within minutes on 2 cores),
# deep on demand (VIDGATE_HYPOTHESIS=deep, for scheduled runs).
PROFILES = {"default": 25, "deep": 1000}
PROFILE = os.environ.get("VIDGATE_HYPOTHESIS", "default")
if PROFILE not in PROFILES:
    raise RuntimeError(f"VIDGATE_HYPOTHESIS={PROFILE!r}: use one of {', '.join(PROFILES)}")
EXAMPLES = PROFILES[PROFILE]
for _name, _count in PROFILES.items():
    settings.register_profile(
        _name,
        max_examples=_count,
        deadline=None,
        derandomize=_name == "default",
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    )
settings.load_profile(PROFILE)


def integral_float(value: object) -> bool:
    """3.0 and the like somewhere in a body: JSON Schema integers that vidgate deliberately
    refuses (see the specs' info.description); generated bodies holding one are left out."""
    if isinstance(value, float):
        return value.is_integer()
    if isinstance(value, dict):
        return any(integral_float(v) for v in value.values())
    if isinstance(value, list):
        return any(integral_float(v) for v in value)
    return False


LAYERS = ("contract", "docs", "live", "proof")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """A test in no other layer is a unit test (so ``-m unit`` selects it)."""
    for item in items:
        if not any(item.get_closest_marker(layer) for layer in LAYERS):
            item.add_marker(pytest.mark.unit)


# Under pytest-xdist (`make test` runs 2 workers) the tests whose node id starts with one of these
# go to one worker together, so what they share is built once: a module-scoped fixture (the mock
# server; every README block run once), or a mypy cache. Every other test is sent on its own.
# (pytest-xdist's own --dist loadgroup does not group under pytest 9.2: it renames item._nodeid,
# which pytest no longer reads.)
ONE_WORKER = (
    "tests/test_readme.py::",
    "tests/test_hostile.py::",
    "tests/test_typed_surface.py::test_mypy_",
)


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """--dist load (the default), with the tests of ONE_WORKER kept together (largest first)."""
    if config.getvalue("dist") != "load":
        return None
    from xdist.scheduler import LoadScopeScheduling  # type: ignore[import-untyped]

    class Scheduling(LoadScopeScheduling):  # type: ignore[misc]
        def _split_scope(self, nodeid: str) -> str:
            return next((group for group in ONE_WORKER if nodeid.startswith(group)), nodeid)

    return Scheduling(config, log)


@cache
def referee(gateway: spec.Gateway) -> Referee:
    """One referee per gateway for the whole run (building the registry is the slow part)."""
    return Referee(gateway)


# ---------------------------------------------------------------------------- client fixtures
import inspect  # noqa: E402
from collections.abc import Callable, Iterator  # noqa: E402

import respx  # noqa: E402

import vidgate.aio  # noqa: E402
import vidgate.client  # noqa: E402
from vidgate.gateways import gateway as entry  # noqa: E402

API_KEY = "sk-test-0123456789abcdef"
BASE_URLS = {gw: entry(gw).default_base_url for gw in spec.GATEWAYS}
CLASSES: dict[tuple[str, str], Any] = {}  # (gateway, flavour) -> client class, from the table
for _gw in spec.GATEWAYS:
    CLASSES[(_gw, "sync")] = vidgate.client.client_for(_gw)
    CLASSES[(_gw, "async")] = vidgate.aio.client_for(_gw)


class FakeTime:
    """A clock that moves only when the client sleeps."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds

    async def asleep(self, seconds: float) -> None:
        self.sleep(seconds)


@pytest.fixture(autouse=True)
def _no_runtime_history(monkeypatch: pytest.MonkeyPatch) -> None:
    """Hermetic waits: no test reads or writes the user's run-time history (tests of the history
    point VIDGATE_HISTORY at their own file)."""
    monkeypatch.setenv("VIDGATE_HISTORY", "off")


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def fake_time() -> FakeTime:
    return FakeTime()


@pytest.fixture(params=["sync", "async"])
def flavour(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def make_client(
    flavour: str, fake_time: FakeTime, monkeypatch: pytest.MonkeyPatch
) -> Callable[..., Any]:
    """Build a client of the test's flavour with a fake clock; env vars cleared."""
    for gw in spec.GATEWAYS:
        monkeypatch.delenv(entry(gw).env_key, raising=False)
        monkeypatch.delenv(entry(gw).env_url, raising=False)

    def build(gateway: str = "imini", **kw: Any) -> Any:
        kw.setdefault("api_key", API_KEY)
        kw.setdefault("clock", fake_time)
        kw.setdefault("sleep", fake_time.sleep if flavour == "sync" else fake_time.asleep)
        kw.setdefault("seed", 0)
        return CLASSES[(gateway, flavour)](**kw)

    return build


async def call(value: Any) -> Any:
    """Await an async client's result; pass a sync client's through."""
    return await value if inspect.isawaitable(value) else value


def _strict_router(gateway: spec.Gateway) -> Iterator[respx.MockRouter]:
    with respx.mock(
        base_url=BASE_URLS[gateway], assert_all_called=True, assert_all_mocked=True
    ) as router:
        yield router


@pytest.fixture
def imini_api() -> Iterator[respx.MockRouter]:
    yield from _strict_router("imini")


@pytest.fixture
def apimart_api() -> Iterator[respx.MockRouter]:
    yield from _strict_router("apimart")


# ---------------------------------------------------------------------------- PostgreSQL
import sys  # noqa: E402
import uuid  # noqa: E402
from pathlib import Path  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "scripts"))
import pgtemp  # noqa: E402


@pytest.fixture(scope="session")
def pg_server() -> Iterator[str]:
    """A throwaway PostgreSQL server for the whole run (started once, always stopped);
    skipped, saying why, only when none can be had."""
    try:
        import psycopg  # noqa: F401
    except ImportError:
        pytest.skip("psycopg is not installed (the vidgate[postgres] extra)")
    try:
        server = pgtemp.temporary_postgres()
        url = server.__enter__()
    except pgtemp.Unavailable as exc:
        pytest.skip(f"no PostgreSQL server can be started here: {exc}")
    try:
        yield url
    finally:
        server.__exit__(None, None, None)


def schema_url(server: str) -> str:
    """A fresh, empty schema on the test server, as a journal URL (one batch per schema)."""
    import psycopg

    name = f"t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {name}")  # type: ignore[arg-type,unused-ignore]
    return f"{server}?options=-csearch_path%3D{name}"


@pytest.fixture(params=["sqlite", "postgresql"])
def journal_url(request: pytest.FixtureRequest) -> str | None:
    """Each journal backend in turn: None (SQLite in the output folder) or a PostgreSQL URL."""
    if request.param == "sqlite":
        return None
    return schema_url(request.getfixturevalue("pg_server"))
