"""What a build's manifest records, and which corpus files it lets an update skip.
"""

from __future__ import annotations

import contextlib
import ctypes
import datetime as dt
import fcntl
import functools
import gc
import hashlib
import json
import logging
import math
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
import numpy as np


# Bump when paragraph splitting or the stored layout changes: older builds are
# then rebuilt from scratch instead of being reused.
FORMAT_VERSION = 2


# The layout of the search backends' files in a build (qa/search/base.py), and
# of the paragraphs, vectors and shingles (2: base and delta layers).
BACKENDS_VERSION = 2


LAYOUT_VERSION = 2


def known_files(manifest: dict) -> Callable[[str, int, int], bool]:
    """Whether a file is the one the manifest lists, judged by its size and
    modification time (see ``trusted_mtime``)."""
    files = manifest["files"]

    def known(source: str, size: int, mtime_ns: int) -> bool:
        f = files.get(source)
        return (
            f is not None
            and "outlet" in f  # listed before outlets were recorded: read once more
            and f.get("mtime_ns") is not None
            and (f.get("size"), f["mtime_ns"]) == (size, mtime_ns)
        )

    return known


def trusted_mtime(mtime_ns: int, read_at_ns: int) -> int | None:
    """The modification time to record for a file read at ``read_at_ns``:
    none if it was modified in the two seconds before, since a file system
    with coarse timestamps could give a later edit the same time."""
    return mtime_ns if mtime_ns < read_at_ns - 2_000_000_000 else None


def library_versions() -> dict[str, str]:
    versions = {}
    for name in ("sentence-transformers", "transformers", "torch", "faiss-cpu", "bm25s", "numpy"):
        with contextlib.suppress(metadata.PackageNotFoundError):
            versions[name] = metadata.version(name)
    return versions
