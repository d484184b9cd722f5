"""Progress and outcome of an index update, as the CLI and the app show them."""

from __future__ import annotations

import sys

from qa.index.changes import UpdateReport


def describe_update(report: UpdateReport, paragraphs: int) -> str:
    lines = []
    if report.read_only and not report.up_to_date:
        lines.append(
            f"warning: the index folder cannot be written, so the index is served as it was built, without "
            f"{len(report.added)} added, {len(report.changed)} changed and {len(report.removed)} removed articles."
        )
        return "\n".join(lines)
    if report.rebuilt_because:
        lines.append(f"Rebuilt the index because {report.rebuilt_because}.")
    if report.up_to_date:
        lines.append(f"Index is up to date: {report.unchanged_count} articles, {paragraphs} paragraphs.")
    else:
        lines.append(
            f"Index updated: {len(report.added)} added, {len(report.changed)} changed, {len(report.removed)} removed, "
            f"{report.unchanged_count} unchanged; embedded {report.embedded_paragraphs} paragraphs; {paragraphs} in all."
        )
    for skipped in report.skipped:
        lines.append(f"warning: skipped {skipped.source}: {skipped.reason}")
    if report.ignored:
        shown = ", ".join(report.ignored[:5]) + (
            f" and {len(report.ignored) - 5} more" if len(report.ignored) > 5 else ""
        )
        lines.append(f"Ignored {len(report.ignored)} file(s) of formats this tool does not read: {shown}.")
    return "\n".join(lines)


class ProgressBar:
    """A tqdm bar per stage, on stderr; usable as the index's progress callback."""

    def __init__(self) -> None:
        self._bar = None
        self._stage = ""

    def __call__(self, stage: str, done: int, total: int) -> None:
        from tqdm import tqdm

        if stage != self._stage:
            self.close()
            self._stage = stage
            self._bar = tqdm(
                total=total, desc=stage, unit=" paragraphs" if total > 1 else "", file=sys.stderr, leave=False
            )
        self._bar.n = done
        self._bar.refresh()

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None

    def __enter__(self) -> ProgressBar:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
