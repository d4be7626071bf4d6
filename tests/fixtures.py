"""Factories, per-role personas and the real Celery worker fixture."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import factory
import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractUser
from django.db import connection
from rest_framework.test import APIClient

from catalog.models import Clip, Membership, Project, Role, ShootDay, Volume
from catalog.permissions import RoleName

User = get_user_model()
PASSWORD = "correct horse battery staple"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.test")
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @factory.post_generation
    def _save(self, create: bool, extracted: object, **kwargs: object) -> None:
        if create:
            self.save()


class ProjectFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Project

    code = factory.Sequence(lambda n: f"P{n:03d}")
    name = factory.LazyAttribute(lambda p: f"Project {p.code}")


class ShootDayFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ShootDay

    project = factory.SubFactory(ProjectFactory)
    number = factory.Sequence(lambda n: n + 1)
    date = date(2026, 11, 2)


class VolumeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Volume

    project = factory.SubFactory(ProjectFactory)
    label = factory.Sequence(lambda n: f"RAID-{n:02d}")
    kind = Volume.Kind.RAID
    location = factory.Sequence(lambda n: f"/srv/raid{n}")
    host = "testhost"


class ClipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Clip

    project = factory.SubFactory(ProjectFactory)
    name = factory.Sequence(lambda n: f"A001C{n:03d}_261102_R1AB")
    camera = "A"
    reel = "A001"
    scene = "12"
    take = "1"


@dataclass
class World:
    """A project with one user per role, plus an outsider who is a member of another project only."""

    project: Project
    other_project: Project
    users: dict[str, AbstractUser]
    clip: Clip
    other_clip: Clip
    volume: Volume

    def client(self, persona: str) -> APIClient:
        client = APIClient()
        if persona != "anonymous":
            client.force_login(self.users[persona])
        return client


PERSONAS = [*(role.value for role in RoleName), "outsider"]


def ensure_roles() -> None:
    """Roles come from a migration, but transactional tests flush every table between tests."""
    for role in RoleName:
        Role.objects.get_or_create(name=role.value, defaults={"label": role.value.title()})


@pytest.fixture
def world(db: None) -> World:
    ensure_roles()
    project = ProjectFactory(code="FILM")
    other = ProjectFactory(code="OTHER")
    users: dict[str, AbstractUser] = {}
    for role in RoleName:
        user = UserFactory(username=role.value, is_staff=role is RoleName.ADMIN)
        Membership.objects.create(user=user, project=project, role_id=role.value)
        users[role.value] = user
    outsider = UserFactory(username="outsider", is_staff=True)
    Membership.objects.create(user=outsider, project=other, role_id=RoleName.ADMIN.value)
    users["outsider"] = outsider
    return World(
        project=project,
        other_project=other,
        users=users,
        clip=ClipFactory(project=project, scene="42", cast=["Ava Stone"]),
        other_clip=ClipFactory(project=other, scene="42", cast=["Ava Stone"]),
        volume=VolumeFactory(project=project, label="RAID-A"),
    )


def local_volumes(
    project: Project, root: Path, labels: Sequence[str] = ("RAID-1", "SHUTTLE-1")
) -> list[Volume]:
    """RAID volumes of ``project`` in new folders under ``root``, mounted on this host (destinations)."""
    from django.conf import settings

    made = []
    for label in labels:
        folder = root / label.lower()
        folder.mkdir()
        made.append(
            Volume.objects.create(
                project=project,
                label=label,
                kind=Volume.Kind.RAID,
                location=str(folder),
                host=settings.REELVAULT_HOSTNAME,
            )
        )
    return made


def database_url_for_tests() -> str:
    """A DATABASE_URL for child processes that points at the test database."""
    s = connection.settings_dict
    host = s["HOST"] or ""
    user = s["USER"] or "postgres"
    password = f":{s['PASSWORD']}" if s["PASSWORD"] else ""
    if host.startswith("/"):
        return f"postgresql://{user}{password}@/{s['NAME']}?host={host}"
    port = f":{s['PORT']}" if s["PORT"] else ""
    return f"postgresql://{user}{password}@{host}{port}/{s['NAME']}"


def child_env(**extra: str) -> dict[str, str]:
    from django.conf import settings

    return {
        **os.environ,
        "DATABASE_URL": database_url_for_tests(),
        "REDIS_URL": settings.CELERY_BROKER_URL,
        "DJANGO_SETTINGS_MODULE": "reelvault.settings",
        "REELVAULT_RESTORE_ROOTS": ",".join(str(root) for root in settings.REELVAULT_RESTORE_ROOTS),
        "REELVAULT_VOLUME_ROOTS": ",".join(str(root) for root in settings.REELVAULT_VOLUME_ROOTS),
        **extra,
    }


@dataclass
class WorkerProcess:
    process: subprocess.Popen[bytes]
    hostname: str
    queue: str

    def kill(self) -> None:
        """SIGKILL the worker and its pool children, like a crashed machine: no cleanup, no acknowledgement.

        Killing only the parent is not enough: prefork children would go on
        running the job as orphans.
        """
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=30)


def start_worker(hostname: str, log_path: str) -> WorkerProcess:
    """Start a real `celery worker` process against the test database and wait until it answers a ping."""
    from reelvault.celery import app

    node = f"test-{uuid.uuid4().hex[:8]}@{hostname}"
    queue = f"host.{hostname}"
    log = open(log_path, "ab")  # closed with the process
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "reelvault",
            "worker",
            "--queues",
            f"{queue},default",
            "--hostname",
            node,
            "--concurrency",
            "2",
            "--pool",
            "prefork",
            "--loglevel",
            "INFO",
            "--without-mingle",
            "--without-gossip",
        ],
        env=child_env(REELVAULT_HOSTNAME=hostname),
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # its own process group, so kill() reaches the pool children
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the Celery worker exited early; see {log_path}")
        if app.control.ping(destination=[node], timeout=0.5):
            return WorkerProcess(process, hostname, queue)
    process.kill()
    raise RuntimeError(f"the Celery worker did not answer a ping within 60 s; see {log_path}")


@pytest.fixture
def celery_worker_proc(
    transactional_db: None, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[WorkerProcess]:
    """A real worker process for one test. Integration tests use it instead of eager mode."""
    from django.conf import settings

    log_path = str(tmp_path_factory.mktemp("worker") / "worker.log")
    worker = start_worker(settings.REELVAULT_HOSTNAME, log_path)
    try:
        yield worker
    finally:
        if worker.process.poll() is None:
            worker.process.terminate()
            try:
                worker.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                worker.kill()
