"""``make run``: start the whole product (web, worker, beat) with one command.

Steps:
1. Refuse early, in one line, if the web port is taken.
2. Start the embedded PostgreSQL and Redis unless DATABASE_URL / REDIS_URL are set.
3. Without EMAIL_HOST, send email to files under var/outbox/ (said on start).
4. Migrate, seed the demo project and collect static files (all idempotent).
5. Run web, worker and beat together under honcho (see ``Procfile``).
6. On Ctrl-C or SIGTERM: honcho stops its processes, then the embedded
   services we started are shut down cleanly, keeping their data in var/.
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from types import FrameType

BASE_DIR = Path(__file__).resolve().parent.parent


def _say(message: str) -> None:
    print(f"reelvault: {message}", flush=True)  # noqa: T201


def _fail(message: str) -> None:
    print(f"reelvault: error: {message}", file=sys.stderr, flush=True)  # noqa: T201
    raise SystemExit(2)


def _port_free(bind: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((bind, port))
        except OSError:
            return False
    return True


def _manage(*args: str, env: dict[str, str]) -> None:
    result = subprocess.run([sys.executable, str(BASE_DIR / "manage.py"), *args], env=env, check=False)
    if result.returncode != 0:
        _fail(f"`manage.py {' '.join(args)}` failed (exit {result.returncode}); see the message above")


def run() -> None:
    from reelvault import embedded

    bind = os.environ.get("REELVAULT_BIND", "127.0.0.1")
    try:
        port = int(os.environ.get("REELVAULT_PORT", "8000"))
    except ValueError:
        _fail("REELVAULT_PORT must be a port number, e.g. 8000")
    if not _port_free(bind, port):
        _fail(f"port {port} on {bind} is already in use: stop the other server or set REELVAULT_PORT")

    try:
        started = embedded.ensure_services()
    except embedded.EmbeddedServiceError as exc:
        _fail(str(exc))
    for name in started:
        service = "PostgreSQL" if name == "DATABASE_URL" else "Redis"
        _say(f"{name} not set: using the embedded {service} in var/")
    env = {
        **os.environ,
        **started,
        "REELVAULT_BIND": bind,
        "REELVAULT_PORT": str(port),
        "REELVAULT_HOSTNAME": os.environ.get("REELVAULT_HOSTNAME", socket.gethostname()),
        "PYTHONUNBUFFERED": "1",
        # honcho runs the Procfile through a shell: find gunicorn and celery here.
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
    }
    env.update(_demo_mail(env))
    honcho: subprocess.Popen[bytes] | None = None
    try:
        _manage("migrate", "--noinput", env=env)
        _manage("seed_demo", env=env)
        _manage("collectstatic", "--noinput", "--verbosity", "0", env=env)
        honcho = subprocess.Popen(
            [str(Path(sys.executable).parent / "honcho"), "-f", str(BASE_DIR / "Procfile"), "start"],
            env=env,
            cwd=BASE_DIR,
        )

        def forward(signum: int, frame: FrameType | None) -> None:
            if honcho is not None and honcho.poll() is None:
                honcho.send_signal(signal.SIGTERM)

        # Ctrl-C reaches honcho directly (same process group); SIGTERM sent to
        # us alone is forwarded. Either way we wait for honcho, then clean up.
        signal.signal(signal.SIGINT, forward)
        signal.signal(signal.SIGTERM, forward)
        if not _wait_until_up(bind, port, honcho):
            _fail("the web server did not come up; see the messages above")
        stops = "web, worker, beat and the command server"
        _say(f"Reelvault is running at http://{bind}:{port}/  (Ctrl-C stops {stops})")
        _say("demo users: admin, producer, editor, dit, viewer (passwords printed when first created)")
        honcho.wait()
    finally:
        if honcho is not None and honcho.poll() is None:
            honcho.terminate()
            honcho.wait(timeout=30)
        embedded.stop_services(started)
        _say("stopped")


def _demo_mail(env: dict[str, str]) -> dict[str, str]:
    """Without a mail server configured, write emails to a folder one can read instead of
    failing against localhost:25 at every retry of the outbox."""
    from reelvault import embedded

    if env.get("DJANGO_EMAIL_BACKEND") or env.get("EMAIL_HOST"):
        _say(f"email: sent through {env.get('EMAIL_HOST', 'localhost')} (EMAIL_HOST)")
        return {}
    # The settings' own default (VAR_DIR/outbox), so that a command typed in a shell, which
    # reads the settings without this, writes to the same folder (and the command server serves it).
    outbox = Path(env.get("EMAIL_FILE_PATH") or embedded.var_dir() / "outbox")
    outbox.mkdir(parents=True, exist_ok=True)
    _say(f"email: no mail server configured (EMAIL_HOST), so emails are written to {outbox}/, one file each")
    return {
        "DJANGO_EMAIL_BACKEND": "django.core.mail.backends.filebased.EmailBackend",
        "EMAIL_FILE_PATH": str(outbox),
    }


def _wait_until_up(bind: str, port: int, honcho: subprocess.Popen[bytes]) -> bool:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and honcho.poll() is None:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            probe.settimeout(0.5)
            if probe.connect_ex((bind, port)) == 0:
                return True
        time.sleep(0.3)
    return False


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m reelvault.launcher")
    parser.add_argument("command", choices=["run"])
    parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "reelvault.settings")
    sys.path.insert(0, str(BASE_DIR))
    run()


if __name__ == "__main__":
    main()
