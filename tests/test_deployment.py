"""The production shape (docker-compose.yml) and the Procfile describe the same processes."""

from __future__ import annotations

from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent


def test_compose_file_has_the_production_services_and_consistent_references() -> None:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    services = compose["services"]
    assert {"postgres", "redis", "web", "worker", "beat"} <= set(services)
    for name, service in services.items():
        assert "image" in service or "build" in service, name
        for dependency in service.get("depends_on", {}):
            assert dependency in services, f"{name} depends on undefined {dependency}"
        for mount in service.get("volumes", []):
            source = mount.split(":", 1)[0]
            if not source.startswith(("/", ".", "$")):
                assert source in compose["volumes"], f"{name} mounts undefined volume {source}"
        for secret in service.get("secrets", []):
            assert secret in compose["secrets"]
    worker_command = " ".join(services["worker"]["command"])
    assert "--queues host.$${REELVAULT_HOSTNAME},default" in worker_command
    for app_service in ("web", "worker", "beat"):
        env = services[app_service]["environment"]
        assert env["DATABASE_URL"].startswith("postgresql://") and env["REDIS_URL"].startswith("redis://")


def test_procfile_runs_web_worker_beat_and_the_command_server() -> None:
    entries = dict(
        line.split(":", 1) for line in (ROOT / "Procfile").read_text().splitlines() if line.strip()
    )
    assert set(entries) == {"web", "worker", "beat", "commands"}
    assert "host.${REELVAULT_HOSTNAME},default" in entries["worker"]
    # A command server that cannot serve must not take web, worker and beat down with it (honcho
    # stops everything when one process ends).
    assert entries["commands"].split() == ["python", "manage.py", "command_server", "--keep-going"]
