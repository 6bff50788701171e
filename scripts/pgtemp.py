"""A throwaway PostgreSQL server for the tests and `make scale`: a data folder in a temp directory,
a free port on 127.0.0.1, its socket in that directory, stopped and removed on exit.

    with temporary_postgres() as url:      # postgresql://vidgate@127.0.0.1:PORT/postgres
        ...

The server binaries are found in VIDGATE_PG_BIN, then /usr/lib/postgresql/*/bin (newest first),
then PATH. As root, the server runs as the ``postgres`` user (initdb refuses root) through
``runuser``. ``Unavailable`` says why no server could be had.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

__all__ = ["Unavailable", "find_bin", "temporary_postgres"]

USER = "vidgate"  # the server's superuser (trust authentication, loopback only)


class Unavailable(RuntimeError):
    """No PostgreSQL server can be started here; the message says why."""


def find_bin() -> Path:
    candidates = [os.environ.get("VIDGATE_PG_BIN", "")]
    candidates += sorted(
        glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(Path(p).parent.name), reverse=True
    )
    on_path = shutil.which("initdb")
    candidates.append(str(Path(on_path).parent) if on_path else "")
    for folder in candidates:
        if folder and (Path(folder) / "initdb").is_file() and (Path(folder) / "pg_ctl").is_file():
            return Path(folder)
    raise Unavailable(
        "no PostgreSQL server binaries (initdb, pg_ctl): install postgresql, or set VIDGATE_PG_BIN"
    )


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def temporary_postgres(max_connections: int = 200) -> Iterator[str]:
    """Start a server, yield its URL, always stop it and remove its files."""
    bin_dir = find_bin()
    folder = Path(tempfile.mkdtemp(prefix="vidgate-pg-"))
    prefix: list[str] = []
    if os.geteuid() == 0:
        try:
            account = pwd.getpwnam("postgres")
        except KeyError:
            shutil.rmtree(folder, ignore_errors=True)
            raise Unavailable("running as root and there is no 'postgres' user") from None
        if not shutil.which("runuser"):
            shutil.rmtree(folder, ignore_errors=True)
            raise Unavailable("running as root and runuser is missing") from None
        os.chown(folder, account.pw_uid, account.pw_gid)
        prefix = ["runuser", "-u", "postgres", "--"]
    data, log, port = folder / "data", folder / "server.log", _free_port()

    def run(*args: str) -> None:
        done = subprocess.run(
            [*prefix, *args], capture_output=True, text=True, timeout=120, check=False
        )
        if done.returncode:
            detail = (done.stderr or done.stdout).strip().splitlines()[-3:]
            if log.exists():
                detail += log.read_text(errors="replace").strip().splitlines()[-3:]
            raise Unavailable(f"{Path(args[0]).name} failed: {' / '.join(detail)}")

    started = False
    try:
        run(str(bin_dir / "initdb"), "-D", str(data), "-A", "trust", "-U", USER, "-E", "UTF8",
            "--no-sync", "--no-instructions")  # fmt: skip
        options = (
            f"-p {port} -k {folder} -c listen_addresses=127.0.0.1 -c fsync=off "
            f"-c max_connections={max_connections}"
        )
        run(str(bin_dir / "pg_ctl"), "-D", str(data), "-o", options, "-l", str(log), "-w",
            "-t", "60", "start")  # fmt: skip
        started = True
        yield f"postgresql://{USER}@127.0.0.1:{port}/postgres"
    finally:
        if started:
            subprocess.run(
                [*prefix, str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop"],
                capture_output=True,
                timeout=60,
                check=False,
            )
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":  # a quick check: start, print the URL, stop
    with temporary_postgres() as url:
        print(url)
