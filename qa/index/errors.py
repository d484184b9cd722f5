"""What can be wrong with an index folder, as errors whose message says what."""

from __future__ import annotations


class IndexUnavailable(RuntimeError):
    """The index cannot be loaded; the message says why."""


class IndexMissing(IndexUnavailable):
    """No build has been written yet."""


class IndexCorrupt(IndexUnavailable):
    """A build's files are missing, truncated or edited."""


class IndexOutdated(IndexUnavailable):
    """The build was written in another layout than this version reads: it is rebuilt."""
