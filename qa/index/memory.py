"""Memory during and after an update of a large index."""

from __future__ import annotations

import contextlib
import ctypes
import gc
import os


@contextlib.contextmanager
def no_garbage_collection():
    """An update creates many objects while a large index is in memory: Python's
    cycle collector would scan all of them again and again (a third of an
    update at 21k paragraphs). Nothing an update makes is cyclic garbage worth
    collecting before it ends."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def return_freed_memory() -> None:
    """Give the heap's free pages back to the system. A build frees gigabytes
    of temporaries (texts, token lists, vector copies) that glibc keeps in the
    process otherwise, for as long as the app runs. Elsewhere than glibc, nothing."""
    try:
        trim = ctypes.CDLL("libc.so.6").malloc_trim
    except (OSError, AttributeError):
        return
    trim(0)


def room_for_a_copy() -> bool:
    """Whether the system has as much memory free as this process holds: a
    fold builds every structure of the index anew beside the one being served,
    and at a million paragraphs on 24 GiB that does not fit. Where it cannot be
    told (no /proc), yes."""
    try:
        with open("/proc/self/statm") as f:
            resident = int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
        with open("/proc/meminfo") as f:
            available = next(int(line.split()[1]) * 1024 for line in f if line.startswith("MemAvailable:"))
    except (OSError, ValueError, StopIteration):
        return True
    return available >= resident
