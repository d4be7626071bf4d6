"""The commands whose first step starts before Django is set up (see ``core.prelude``).

``start_for(argv)`` is called by ``manage.py`` before anything of Django is
imported. Each entry reads the command line the way its command will and
starts only when it is sure of the arguments; anything unusual (an option,
``--help``, a second path) starts nothing, and the command does the work.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from core import prelude


def _mhl_verify(args: Sequence[str]) -> None:
    paths = [arg for arg in args if not arg.startswith("-")]
    if len(paths) != 1 or len(paths) != len(args):
        return
    from copyengine import mhl

    root = Path(paths[0]).absolute()
    prelude.start("mhl_verify", root, mhl.verify_folder, root, drop_cache=True, workers=2)


PRELUDES: dict[str, Callable[[Sequence[str]], None]] = {"mhl_verify": _mhl_verify}


def start_for(argv: Sequence[str]) -> None:
    if len(argv) >= 2 and argv[1] in PRELUDES:
        PRELUDES[argv[1]](argv[2:])
