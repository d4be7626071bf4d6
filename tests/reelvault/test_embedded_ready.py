"""The embedded services are found ready without pgserver or a Redis client (reelvault/embedded.py).

Every command typed on a `make run` machine asks whether PostgreSQL and Redis
are up; the answer comes from their sockets alone. Real unix sockets stand in
for the two servers here; the whole start is exercised by `make run` in CI.
"""

from __future__ import annotations

import socket
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from reelvault import embedded


@pytest.fixture
def var_dir(monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="rvv-", dir="/tmp") as folder:  # unix socket paths are short
        monkeypatch.setenv("REELVAULT_VAR_DIR", folder)
        yield Path(folder)


@contextmanager
def listening(path: Path, answer: bytes | None = None) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(str(path))
    server.listen(4)

    def serve() -> None:
        while True:
            try:
                conn, _ = server.accept()
            except OSError:
                return
            with conn:
                if answer is not None and conn.recv(64):
                    conn.sendall(answer)

    threading.Thread(target=serve, daemon=True).start()
    try:
        yield
    finally:
        server.close()


def test_postgres_counts_as_ready_only_when_it_listens_and_its_database_was_made(var_dir: Path) -> None:
    socket_path = var_dir / "pg" / ".s.PGSQL.5432"

    assert not embedded._postgres_ready()  # nothing there
    with listening(socket_path):
        assert not embedded._postgres_ready()  # listening, but the database was never made
        (var_dir / "pg" / embedded.DB_MADE).touch()
        assert embedded._postgres_ready()
        assert embedded.start_postgres() == embedded.default_database_url()  # no pgserver needed
    socket_path.unlink()
    assert not embedded._postgres_ready()  # made once, but not running now


def test_redis_counts_as_ready_only_when_it_answers_pong(var_dir: Path) -> None:
    assert not embedded._redis_ping()
    with listening(embedded.redis_socket(), answer=b"-ERR not redis\r\n"):
        assert not embedded._redis_ping()
    embedded.redis_socket().unlink()
    with listening(embedded.redis_socket(), answer=b"+PONG\r\n"):
        assert embedded._redis_ping()
