"""Which files of the corpus folder changed since the last look, as the kernel tells it (inotify).

A long-lived process (the app) refreshes its index after each upload, and a
scan of the folder costs a ``stat`` per file: a quarter of a second at 100,000
files. The kernel already knows what changed: every write, rename, deletion
or change of times under a watched folder is queued on the watch's file
descriptor when the system call returns, so reading the queue at the start
of a refresh misses nothing written before it (no thread, no debounce).

Whenever the queue cannot say exactly which files changed, :meth:`FolderWatch.changed`
answers ``None`` and the caller scans the whole folder, as it does without a
watch: a folder created, moved or deleted under the corpus, the queue
overflowing, the corpus folder itself moved, or no inotify on this system
(another OS, or the per-user limit on watches reached). A folder on a network
or FUSE file system is never watched: another machine's writes there make no
events here. Hidden files are left out, as the scan leaves them out.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

log = logging.getLogger(__name__)

try:
    from inotify_simple import INotify, flags
except ImportError:  # not Linux: every refresh scans the folder
    INotify = None  # type: ignore[assignment,misc]

if INotify is not None:
    _FILE_EVENTS = (
        flags.CREATE
        | flags.DELETE
        | flags.MODIFY
        | flags.CLOSE_WRITE
        | flags.ATTRIB
        | flags.MOVED_FROM
        | flags.MOVED_TO
    )
    _MASK = _FILE_EVENTS | flags.DELETE_SELF | flags.MOVE_SELF | flags.ONLYDIR
    # Events after which the set of folders is not what the watch knows: look at everything.
    _UNKNOWN = flags.Q_OVERFLOW | flags.IGNORED | flags.DELETE_SELF | flags.MOVE_SELF | flags.UNMOUNT | flags.ISDIR


# File systems whose files other machines (or a FUSE daemon) change without an inotify event here.
_REMOTE = frozenset("nfs nfs4 cifs smb3 smbfs ncpfs afs 9p virtiofs ceph glusterfs lustre gpfs fuse".split())


def events_seen_here(folder: Path, mountinfo: str | None = None) -> bool:
    """Whether every change to files under ``folder`` makes an inotify event
    here: not when it lies on a network or FUSE file system (read from
    ``/proc/self/mountinfo``, or the text given)."""
    try:
        text = mountinfo if mountinfo is not None else Path("/proc/self/mountinfo").read_text()
        path = os.path.realpath(folder)
    except OSError:
        return False
    best, kind = "", ""
    for line in text.splitlines():
        fields, _, rest = line.partition(" - ")
        parts = fields.split()
        if len(parts) < 5 or not rest:
            continue
        mount = parts[4].replace("\\040", " ")
        inside = path == mount or path.startswith(mount.rstrip("/") + "/")
        if inside and len(mount) >= len(best):
            best, kind = mount, rest.split()[0]
    return bool(best) and kind.split(".", 1)[0] not in _REMOTE


class FolderWatch:
    """inotify watches on a folder and every folder under it (linked folders are
    not entered, as the scan does not enter them)."""

    def __init__(self, folder: Path | str):
        self.folder = Path(folder)
        self._inotify: INotify | None = None
        self._prefix: dict[int, str] = {}  # watch descriptor -> the folder's path under ``folder``, with "/"

    def start(self) -> bool:
        """(Re)arm the watches; call it just before a full scan, so that what
        changes during the scan shows at the next :meth:`changed`. False when no
        watch could be set (the caller then scans every time)."""
        self.close()
        if INotify is None or not events_seen_here(self.folder):
            return False
        try:
            self._inotify = INotify(nonblocking=True)
            folders = [(str(self.folder), "")]
            while folders:
                path, prefix = folders.pop()
                # The watch first, then the listing: a folder made in between still shows as an event.
                self._prefix[self._inotify.add_watch(path, _MASK)] = prefix
                with os.scandir(path) as entries:
                    for entry in entries:
                        if entry.name.startswith(".") or entry.is_symlink() or not entry.is_dir():
                            continue
                        folders.append((entry.path, prefix + entry.name + "/"))
        except OSError as err:  # the per-user limit on watches or instances, or a folder gone meanwhile
            log.info("Watching %s for changes is not possible (%s): each refresh scans the folder", self.folder, err)
            self.close()
            return False
        return True

    def changed(self) -> set[str] | None:
        """The files (paths under the folder, with "/") that were created,
        written, renamed, deleted or touched since the last call or
        :meth:`start`; None when that cannot be told exactly (see the module's
        note), or the watch is not armed."""
        if self._inotify is None:
            return None
        try:
            events = self._inotify.read(timeout=0)
        except OSError:
            self.close()
            return None
        changed: set[str] = set()
        for event in events:
            if event.mask & _UNKNOWN or event.wd not in self._prefix:
                self.close()
                return None
            if event.name and not event.name.startswith("."):
                changed.add(self._prefix[event.wd] + event.name)
        return changed

    @property
    def armed(self) -> bool:
        return self._inotify is not None

    def close(self) -> None:
        if self._inotify is not None:
            self._inotify.close()
        self._inotify = None
        self._prefix = {}
