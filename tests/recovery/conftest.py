"""Recovery tests reuse restore's fixtures: real files on a RAID and a shuttle, and real workers."""

from tests.restore.conftest import host, media, workers

__all__ = ["host", "media", "workers"]
