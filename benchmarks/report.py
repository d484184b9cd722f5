"""What every benchmark shares: its percentiles, the line naming the machine
it ran on, and writing its figures into a Markdown file between markers, so a
rerun replaces its own section and leaves the others alone."""

from __future__ import annotations

import datetime as dt
import os
import platform
from pathlib import Path


def percentile(values: list[float], q: float) -> float:
    """The value at rank q of the sorted values (nearest rank)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def measured_on() -> str:
    """Today's date and the machine: "2026-11-23 on 2 cores, 24 GiB, Python 3.11.7"."""
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return (
        f"{dt.date.today().isoformat()} on {os.cpu_count()} cores, {memory:.0f} GiB, Python {platform.python_version()}"
    )


def write_section(path: Path, name: str, title: str, body: str) -> None:
    begin, end = f"<!-- {name}:begin -->", f"<!-- {name}:end -->"
    text = path.read_text() if path.exists() else "# Benchmarks\n"
    block = f"{begin}\n{body}\n{end}"
    if begin in text:
        text = text[: text.index(begin)] + block + text[text.index(end) + len(end) :]
    else:
        text = text.rstrip() + f"\n\n## {title}\n\n{block}\n"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def publish(body: str, path: Path | None, name: str, title: str) -> None:
    """Print a benchmark's figures, and write them into ``path`` when one is given."""
    print(body)
    if path:
        write_section(path, name, title, body)
