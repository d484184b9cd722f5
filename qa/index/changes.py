"""What an update changes: the corpus files added, changed, removed and unchanged since the last build."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from qa.corpus.articles import CorpusReadResult, SkippedFile, read_corpus, read_files
from qa.corpus.formats import SUFFIXES
from qa.corpus.text_layers import TextLayers
from qa.corpus.watch import FolderWatch
from qa.index.manifest import trusted_mtime
from qa.settings import Settings
from qa.types import Article, Paragraph

# progress(stage, done, total)
Progress = Callable[[str, int, int], None]


@dataclass
class UpdateReport:
    """What an index update did, for messages and tests."""

    added: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)  # of the files looked at
    not_looked_at: int = 0  # files the folder watch saw no change in: unchanged, and not listed
    skipped: list[SkippedFile] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)  # files of formats the tool does not read
    embedded_paragraphs: int = 0
    rebuilt_because: str | None = None  # set when the old index could not be reused
    read_only: bool = False  # the index folder could not be written: served as it was

    @property
    def unchanged_count(self) -> int:
        return len(self.unchanged) + self.not_looked_at

    @property
    def up_to_date(self) -> bool:
        return not (self.added or self.changed or self.removed or self.rebuilt_because)


@dataclass
class Changes:
    """The corpus against the last build: the report, the next manifest's entry
    per article, and the paragraphs of added and changed articles."""

    report: UpdateReport
    files: dict[str, dict]
    to_embed: list[Paragraph]
    touched: list[str] = field(default_factory=list)  # the files whose entries it sets (the rest stand as they were)


class FolderLook:
    """How an update looks at the corpus folder: every file (a scan, a ``stat``
    each), or, in a long-lived process that keeps a watch on the folder, only
    the files the watch saw change (qa/corpus/watch.py)."""

    def __init__(self, settings: Settings, layers: TextLayers, watch: bool):
        self.settings, self.layers = settings, layers
        self.watch = FolderWatch(settings.corpus_dir) if watch else None
        # The files the last look could not read, or does not read, by name.
        self._unlisted: tuple[dict[str, SkippedFile], set[str]] | None = None
        # Files reached through links: written through another path, they make no event here, so each look reads them.
        self._linked: set[str] = set()

    def look(
        self, own: bool, known: Callable[[str, int, int], bool] | None, progress: Progress | None
    ) -> tuple[CorpusReadResult, set[str] | None]:
        """The corpus as it is now, and the files looked at: only those the
        watch saw change when it can tell (``own``: the last build is this
        store's, made from a look since the watch was armed), else every file (None)."""
        s = self.settings
        changed = self.watch.changed() if self.watch is not None and own and self._unlisted else None
        if changed is None:
            if self.watch is not None:
                self.watch.start()
            corpus = read_corpus(s.corpus_dir, s.max_file_bytes, known, progress, self.layers)
            self._unlisted = ({f.source: f for f in corpus.skipped}, set(corpus.ignored))
            self._linked = set(corpus.linked)
            return corpus, None
        changed |= self._linked
        corpus = read_files(s.corpus_dir, changed, s.max_file_bytes, known, self.layers)
        self._linked = (self._linked - changed) | corpus.linked
        skipped, ignored = self._unlisted
        for source in changed:
            skipped.pop(source, None)
            ignored.discard(source)
        skipped.update({f.source: f for f in corpus.skipped})
        ignored.update(corpus.ignored)
        listed = dataclasses.replace(
            corpus, skipped=tuple(skipped[k] for k in sorted(skipped)), ignored=tuple(sorted(ignored))
        )
        return listed, changed

    def forget(self) -> None:
        """Look at every file next time."""
        if self.watch is not None:
            self.watch.close()


def compare(
    corpus: CorpusReadResult,
    old_files: dict[str, dict],
    read_at_ns: int,
    reason: str | None,
    added_at: str,
    looked_at: set[str] | None = None,
) -> Changes:
    """``corpus`` (read at ``read_at_ns``) against the last build's files. A file
    known by its size and modification time was not read: it is unchanged. An
    added or changed file's entry records ``added_at``.
    ``looked_at``: the only files ``corpus`` looked at (a folder watch's
    changes); every other file of the last build is unchanged, as it stands."""
    report = UpdateReport(skipped=list(corpus.skipped), ignored=list(corpus.ignored), rebuilt_because=reason)
    to_embed: list[Paragraph] = []
    touched: list[str] = []
    read = {a.source: a for a in corpus.articles}
    files: dict[str, dict] = {}
    if looked_at is not None:
        files = dict(old_files)  # a copy in C: the entries of the files not looked at stand, uncopied
        for source in looked_at:
            files.pop(source, None)
    for source in sorted([*read, *corpus.unread]):
        previous, article = old_files.get(source), read.get(source)
        size, mtime_ns = corpus.stats[source]
        stat = {"size": size, "mtime_ns": trusted_mtime(mtime_ns, read_at_ns)}
        if previous and (article is None or previous["sha256"] == article.sha256):
            report.unchanged.append(source)
            # Not read: known by the size and time its entry records, so that entry stands, uncopied.
            # Read again (touched, same text): listed as it reads today.
            files[source] = previous if article is None else previous | stat | described(article)
        else:
            (report.changed if previous else report.added).append(source)
            entry = {"sha256": article.sha256, "paragraphs": len(article.paragraphs)} | described(article) | stat
            files[source] = entry | {"added": added_at}
            to_embed.extend(article.paragraphs)
        if files[source] is not previous:
            touched.append(source)
    if looked_at is None:
        report.removed = sorted(s for s in old_files if s not in files)
    else:
        report.removed = sorted(s for s in looked_at if s in old_files and s not in files)
        report.not_looked_at = len(old_files) - sum(s in old_files for s in looked_at)
    return Changes(report, files, to_embed, touched)


def described(article: Article) -> dict:
    """What the manifest says of an article beside its checksum: headline,
    outlet, byline, date, address, format, and where its pages start (PDF)."""
    entry = {"title": article.title, "outlet": article.outlet, "format": article.format}
    entry |= {name: value for name in ("author", "published", "url") if (value := getattr(article, name))}
    return entry | ({"pages": list(article.pages)} if article.pages else {})


def compare_served(corpus: CorpusReadResult, files: dict[str, dict]) -> UpdateReport:
    """What an index served as it is (its folder cannot be written) lacks of ``corpus``, read whole."""
    report = UpdateReport(skipped=list(corpus.skipped), read_only=True)
    for article in corpus.articles:
        known = files.get(article.source)
        if not known:
            report.added.append(article.source)
        elif known["sha256"] != article.sha256:
            report.changed.append(article.source)
        else:
            report.unchanged.append(article.source)
    report.removed = sorted(set(files) - {a.source for a in corpus.articles})
    return report


def empty_corpus_message(folder: Path, corpus: CorpusReadResult) -> str:
    msg = f"No readable articles in {folder}/: add articles there ({', '.join(SUFFIXES)})."
    if corpus.skipped:
        msg += " Skipped: " + "; ".join(f"{s.source} ({s.reason})" for s in corpus.skipped)
    if corpus.ignored:
        msg += f" Ignored {len(corpus.ignored)} file(s) of other formats."
    return msg
