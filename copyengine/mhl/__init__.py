"""ASC MHL v2 histories (read, append, verify) and legacy MHL v1 files (read, verify).

An ASC MHL *history* lives in ``<root>/ascmhl/``:

- one XML file per *generation* (``0001_<folder>_2024-05-01_101500Z.mhl``), each
  recording, for the files it covers, a path, size, modification date and one
  or more hashes with an action: ``original`` (first record), ``verified``
  (matched the earlier record) or ``failed`` (did not match);
- ``ascmhl_chain.xml``, listing every generation with the C4 id (a SHA-512
  based content id) of its file, so that an edited generation is detected;
- nested histories: a sub-folder with its own ``ascmhl/`` owns the files
  below it, and the parent's generations reference the child's generation
  files by path and C4 id.

Public entry points: :func:`read_history`, :func:`write_generation`,
:func:`verify_folder`, :func:`read_generation` (one file on its own),
:func:`read_mhl_v1`, :func:`verify_mhl_v1`, :func:`recover_history` (finish an update a
crash interrupted; ``write_generation`` calls it first). Every
problem with a file on disk raises :class:`MHLError`, whose message names the
file and says what to do; a wrong argument raises ``ValueError``.

Speed: a generation of a 2,000-file card is ~0.5 MB of XML, and parsing is
the cost that grows with history length. lxml parses it: libxml2 builds the
tree in C (while one generation is read, its tree takes about nine times the
file's size in memory); entities are never expanded and a file that declares
a DTD is refused, as with defusedxml before. read_history keeps the parsed
generations in a small in-process cache keyed by the C4 id of the file's
bytes (which the chain check computes anyway): a cache hit is by
construction a parse of identical bytes. write_generation and verify_folder
need only the reference hashes of a history, so they read it without
keeping an object per recorded file (see _State), and keep what they read
keyed the same way: the verification that follows a write reads only the
new generation. Writing builds the XML as text in one pass and never
re-hashes payload.

Modules, by concern (import the package, not them: their underscored names
are shared between them and are not an interface): ``model`` (the data
types, constants, C4 ids and the reference index), ``xmlsafe`` (what XML can
carry, and parsing it without DTDs or entity expansion), ``reading``
(generations, histories and the two caches), ``writing``, ``verifying`` and
``v1`` (legacy MHL v1).
"""

from copyengine.mhl.model import (
    ASCMHL_FOLDER,
    CHAIN_FILE,
    DEFAULT_IGNORE_PATTERNS,
    HASH_FORMATS,
    Author,
    ChainProblem,
    ChainProblemKind,
    CreatorInfo,
    DirectoryHash,
    DirectoryHashValue,
    FileCheck,
    FileStatus,
    Generation,
    HashAction,
    HashEntry,
    HashListReference,
    HashValue,
    History,
    MHLError,
    ProcessInfo,
    ProcessType,
    VerifyReport,
    c4_id,
)
from copyengine.mhl.reading import clear_parse_cache, read_generation, read_history
from copyengine.mhl.v1 import V1Entry, read_mhl_v1, verify_mhl_v1
from copyengine.mhl.verifying import verify_folder
from copyengine.mhl.writing import (
    SET_ASIDE_SUFFIX,
    Creator,
    FileRecord,
    FolderRecord,
    recover_history,
    unrecordable,
    write_generation,
)

__all__ = [
    "ASCMHL_FOLDER",
    "CHAIN_FILE",
    "DEFAULT_IGNORE_PATTERNS",
    "HASH_FORMATS",
    "SET_ASIDE_SUFFIX",
    "Author",
    "ChainProblem",
    "ChainProblemKind",
    "Creator",
    "CreatorInfo",
    "DirectoryHash",
    "DirectoryHashValue",
    "FileCheck",
    "FileRecord",
    "FileStatus",
    "FolderRecord",
    "Generation",
    "HashAction",
    "HashEntry",
    "HashListReference",
    "HashValue",
    "History",
    "MHLError",
    "ProcessInfo",
    "ProcessType",
    "V1Entry",
    "VerifyReport",
    "c4_id",
    "clear_parse_cache",
    "read_generation",
    "read_history",
    "read_mhl_v1",
    "recover_history",
    "unrecordable",
    "verify_folder",
    "verify_mhl_v1",
    "write_generation",
]
