"""The sync client is generated from the async one (scripts/unasync.py); make check checks it."""

from __future__ import annotations

import asyncio
import inspect
import shutil
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "scripts"))
import unasync

import vidgate
from vidgate import _twin, aio, client

ROOT = Path(__file__).resolve().parent.parent


def _copies(tmp_path: Path) -> tuple[Path, Path]:
    source, target = tmp_path / "aio.py", tmp_path / "client.py"
    shutil.copy(unasync.SOURCE, source)
    shutil.copy(unasync.TARGET, target)
    return source, target


def _check(source: Path, target: Path) -> int:
    return unasync.main(["--check", "--source", str(source), "--target", str(target)])


def test_committed_client_is_the_twin_of_aio() -> None:
    assert unasync.main(["--check"]) == 0


def test_client_names_its_source_and_generator() -> None:
    first = unasync.TARGET.read_text(encoding="utf-8").splitlines()[0]
    assert first.startswith(
        "# generated from src/vidgate/aio.py by scripts/unasync.py; do not edit"
    )


def test_make_check_and_make_generate_run_it() -> None:
    makefile = (ROOT / "Makefile").read_text()
    check = makefile.split("\ncheck:", 1)[1].split("\n\n", 1)[0]
    generate = makefile.split("\ngenerate:", 1)[1].split("\n\n", 1)[0]
    assert "python scripts/unasync.py --check" in check
    assert "python scripts/unasync.py\n" in generate + "\n"


def test_a_hand_edit_of_client_fails_the_check_naming_the_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source, target = _copies(tmp_path)
    assert _check(source, target) == 0  # the copies agree before the edit
    text = target.read_text(encoding="utf-8")
    edited = text.replace("        self._sleep(delay)\n", "        self._sleep(delay / 2)\n", 1)
    assert edited != text
    target.write_text(edited, encoding="utf-8")
    capsys.readouterr()
    assert _check(source, target) == 1
    err = capsys.readouterr().err
    assert f"stale: {target} differs" in err
    assert "make generate" in err
    lines = err.splitlines()  # the diff shows the edit and what regenerating writes back
    assert any(line.startswith("-") and "self._sleep(delay / 2)" in line for line in lines)
    assert any(line.startswith("+") and line.endswith("self._sleep(delay)") for line in lines)


def test_an_edit_of_aio_alone_fails_the_check(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source, target = _copies(tmp_path)
    text = source.read_text(encoding="utf-8")
    source.write_text(
        text.replace("(retried on 429,", "(retried on 408, 429,", 1), encoding="utf-8"
    )
    assert _check(source, target) == 1
    assert f"stale: {target}" in capsys.readouterr().err


def test_generate_writes_the_same_bytes_twice(tmp_path: Path) -> None:
    source, target = _copies(tmp_path)
    target.write_text("stale\n", encoding="utf-8")
    assert unasync.main(["--source", str(source), "--target", str(target)]) == 0
    once = target.read_bytes()
    assert unasync.main(["--source", str(source), "--target", str(target)]) == 0
    assert target.read_bytes() == once == unasync.TARGET.read_bytes()


# a keyword, a stdlib name, httpx (left as a name httpx lacks), a vidgate name, a docstring word
SAMPLE = ("await ", "AsyncIterator", "httpx.AsyncClient", "AsyncMethods", "non-blocking")


def _without(old: str) -> tuple[tuple[str, str], ...]:
    pairs = tuple(pair for pair in unasync.PAIRS if pair[0] != old)
    assert len(pairs) == len(unasync.PAIRS) - 1
    return pairs


@pytest.mark.parametrize("old", SAMPLE)
def test_a_missing_pair_is_refused_naming_what_is_left(old: str) -> None:
    with pytest.raises(unasync.TwinError) as info:
        unasync.twin(unasync.SOURCE.read_text(encoding="utf-8"), _without(old))
    left = {"httpx.AsyncClient": "httpx.SyncClient", "await ": "'await'"}.get(old, old)
    assert left in str(info.value)


@pytest.mark.slow
@pytest.mark.parametrize("old", [old for old, _ in unasync.PAIRS if old not in SAMPLE])
def test_every_other_pair_is_needed(old: str) -> None:
    with pytest.raises(unasync.TwinError):
        unasync.twin(unasync.SOURCE.read_text(encoding="utf-8"), _without(old))


def test_a_pair_that_swaps_nothing_is_refused() -> None:
    pairs = (*unasync.PAIRS, ("AsyncNowhere", "Nowhere"))
    with pytest.raises(unasync.TwinError, match="AsyncNowhere"):
        unasync.twin(unasync.SOURCE.read_text(encoding="utf-8"), pairs)


def test_async_only_marks_drop_the_whole_statement_or_the_line() -> None:
    source = (
        "import asyncio  # unasync: async-only\n"
        "import time\n"
        "__all__ = [\n"
        '    "A",\n'
        '    "B",  # unasync: async-only\n'
        "]\n"
        "class B(Exception):  # unasync: async-only\n"
        "    x = 1\n"
        "\n"
        "    def f(self) -> None:\n"
        "        pass\n"
        "try:\n"
        "    time.sleep(0)\n"
        "except asyncio.CancelledError:  # unasync: async-only\n"
        "    raise B()\n"
        "except KeyboardInterrupt:\n"
        "    pass\n"
    )
    assert unasync.drop_async_only(source) == (
        "import time\n"
        "__all__ = [\n"
        '    "A",\n'
        "]\n"
        "try:\n"
        "    time.sleep(0)\n"
        "except KeyboardInterrupt:\n"
        "    pass\n"
    )


# ---------------------------------------------------------------------------- the names users see
PUBLIC = {
    "imini": (client.Imini, aio.AsyncImini),
    "apimart": (client.Apimart, aio.AsyncApimart),
    "base": (client.SyncClient, aio.AsyncClient),
}


def test_the_public_names_stay() -> None:
    assert client.__all__ == ["Apimart", "Imini", "SyncClient", "client_for"]
    assert aio.__all__ == [
        "AsyncApimart",
        "AsyncClient",
        "AsyncImini",
        "WaitCancelled",
        "client_for",
    ]
    assert (vidgate.Imini, vidgate.AsyncImini) == PUBLIC["imini"]
    assert vidgate.WaitCancelled is aio.WaitCancelled
    assert not hasattr(client, "WaitCancelled")


@pytest.mark.parametrize("name", sorted(PUBLIC))
def test_each_method_of_the_twin_has_the_async_signature(name: str) -> None:
    sync, async_ = PUBLIC[name]
    renamed = {"__aenter__": "__enter__", "__aexit__": "__exit__", "aclose": "close"}
    methods = {
        n
        for n, v in vars(aio.AsyncClient).items()
        if callable(v) and (not n.startswith("_") or n in renamed or n == "__init__")
    }
    assert {"generate", "get", "wait", "watch", "generate_and_wait", "download"} <= methods
    for method in methods:
        theirs = inspect.signature(getattr(async_, method))
        ours = inspect.signature(getattr(sync, renamed.get(method, method)))
        assert list(ours.parameters) == list(theirs.parameters), method


def test_sync_docstrings_read_as_sync() -> None:
    docs = [client.__doc__ or ""] + [
        inspect.getdoc(v) or "" for c in (client.SyncClient,) for v in vars(c).values()
    ]
    docs.append(client.SyncClient.__doc__ or "")
    text = "\n".join(docs)
    for word in ("async", "await", "See ", "non-blocking", "WaitCancelled", "vidgate.aio"):
        assert word not in text, word
    assert "with Imini() as client:" in (client.__doc__ or "")
    assert "Cancelling the awaiting task raises WaitCancelled" in (
        aio.AsyncClient.wait.__doc__ or ""
    )


# ---------------------------------------------------------------------------- vidgate._twin
class _Stalls(httpx.AsyncByteStream):
    """A reply whose body starts, then stops coming."""

    async def __aiter__(self) -> AsyncIterator[bytes]:
        yield b"{"
        await asyncio.sleep(30)


def _stalling(request: httpx.Request) -> httpx.Response:
    return httpx.Response(200, stream=_Stalls())


@pytest.mark.anyio
async def test_async_download_gives_up_at_its_download_timeout(tmp_path: Path) -> None:
    task = vidgate.Task(
        "task_1",
        "imini",
        vidgate.Status.SUCCEEDED,
        "succeeded",
        videos=(vidgate.VideoOutput(url="https://cdn.example/v.mp4"),),
    )
    transport = httpx.MockTransport(_stalling)
    async with aio.AsyncImini(api_key="sk-test", transport=transport, download_timeout=0.3) as c:
        with pytest.raises(vidgate.DownloadError) as info:
            await c.download(task, tmp_path)
    assert str(info.value) == (
        "downloading the video of task task_1: gave up after 0.3 s (download_timeout)"
    )
    assert info.value.__suppress_context__
    assert not list(tmp_path.iterdir())


@pytest.mark.anyio
async def test_async_reply_past_its_deadline_is_a_timeout() -> None:
    transport = httpx.MockTransport(_stalling)
    async with aio.AsyncImini(api_key="sk-test", transport=transport, timeout=0.3) as c:
        with pytest.raises(vidgate.APITimeoutError) as info:
            await c.get("task_1", max_retries=0)
    assert str(info.value) == (
        "imini: ReadTimeout: no complete reply before the exchange's deadline "
        f"({c._cfg.shown_root})"
    )


@pytest.mark.anyio
async def test_async_deadline_turns_any_timeout_inside_into_its_error() -> None:
    def late() -> Exception:
        return LookupError("late")

    with pytest.raises(LookupError, match="late"):
        async with _twin.async_deadline(time.monotonic() + 0.05, late):
            await asyncio.sleep(5)
    with pytest.raises(LookupError, match="late"):
        async with _twin.async_deadline(time.monotonic() + 5, late):
            raise TimeoutError
    with pytest.raises(KeyError):
        async with _twin.async_deadline(time.monotonic() + 5, late):
            raise KeyError("other errors pass")
    async with _twin.async_deadline(time.monotonic() + 5, late):
        await asyncio.sleep(0)


def test_sync_deadline_changes_nothing() -> None:
    def late() -> Exception:
        return LookupError("late")

    with pytest.raises(TimeoutError), _twin.deadline(time.monotonic() - 1, late):
        raise TimeoutError  # a blocking exchange keeps its own errors: nothing is converted
    with _twin.deadline(time.monotonic() - 1, late):
        pass


def test_the_sync_client_does_not_load_asyncio() -> None:
    code = "import sys, vidgate.client; print('asyncio' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"
