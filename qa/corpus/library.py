"""Changing the corpus folder: adding, replacing and removing article files.

A replaced or removed article is kept in a backup folder first (the index
folder's ``replaced/``), so nothing a user uploads or removes is lost.
"""

from __future__ import annotations

import datetime as dt
import re
import shutil
from pathlib import Path

from qa.corpus.articles import ArticleError, parse_article
from qa.corpus.formats import SUFFIXES, is_supported
from qa.types import Article


class ArticleExists(ArticleError):
    """An upload has the name of an article already in the corpus, and replacing was not asked for."""


_SAFE_NAME = re.compile(r"[\w][\w .()\-]*\.\w+", re.IGNORECASE)


def add_article(
    corpus_dir: Path,
    name: str,
    data: bytes,
    max_file_bytes: int = 5_000_000,
    replace: bool = False,
    backup_dir: Path | None = None,
) -> Article:
    """Save an uploaded article into the corpus folder, after checking it.

    The name must be a plain file name of a format the tool reads
    (:data:`qa.corpus.formats.SUFFIXES`; no folders, nothing that could land
    outside the corpus folder) and the content a readable article;
    otherwise :class:`ArticleError` says why and nothing is written. An
    article of the same name is replaced only when ``replace`` is set
    (:class:`ArticleExists` otherwise), and then a copy of it is kept in
    ``backup_dir`` first (see :func:`prune_backups`). The file appears whole
    or not at all (written aside, then renamed into place).
    """
    _check_name(name)
    article = parse_article(data, name, max_file_bytes)
    corpus_dir = Path(corpus_dir)
    corpus_dir.mkdir(parents=True, exist_ok=True)
    target = corpus_dir / name
    if target.resolve().parent != corpus_dir.resolve():
        raise ArticleError(f"{name!r} would be saved outside the corpus folder")
    if target.exists():
        if not replace:
            raise ArticleExists(f"an article named {name!r} is already in the corpus; it was left as it is")
        if backup_dir is not None:
            _back_up(target, backup_dir)
    tmp = corpus_dir / f".{name}.upload"
    tmp.write_bytes(data)
    tmp.replace(target)
    return article


def remove_article(corpus_dir: Path, name: str, backup_dir: Path) -> Path:
    """Take an article out of the corpus folder, keeping it in ``backup_dir``
    (named by the time, as replaced articles are); returns where it is kept."""
    _check_name(name)
    target = Path(corpus_dir) / name
    if not target.is_file() or target.resolve().parent != Path(corpus_dir).resolve():
        raise ArticleError(f"there is no article named {name!r} in the corpus")
    if not any(p.name != name and is_supported(p.name) for p in Path(corpus_dir).iterdir()):
        raise ArticleError(f"{name!r} is the only article: the corpus cannot be empty, so it was kept")
    return _back_up(target, backup_dir, move=True)


def _back_up(article: Path, backup_dir: Path, move: bool = False) -> Path:
    backup_dir.mkdir(parents=True, exist_ok=True)
    kept = backup_dir / f"{dt.datetime.now(dt.UTC):%Y%m%dT%H%M%S.%fZ}-{article.name}"
    if move:
        shutil.move(article, kept)
    else:
        shutil.copy2(article, kept)
    return kept


def _check_name(name: str) -> None:
    if "/" in name or "\\" in name or name.startswith(".") or not _SAFE_NAME.fullmatch(name) or not is_supported(name):
        raise ArticleError(
            f"{name!r} is not allowed: use a plain file name (letters, digits, spaces, - _ . ( )) ending in "
            + ", ".join(SUFFIXES)
        )


def prune_backups(backup_dir: Path, keep: int = 50) -> None:
    """Keep the ``keep`` newest copies of replaced or removed articles (their names start with the time)."""
    if backup_dir.is_dir():
        for old in sorted((p for p in backup_dir.iterdir() if is_supported(p.name)), reverse=True)[keep:]:
            old.unlink(missing_ok=True)
