"""Writing a benchmark's figures into a Markdown file, between markers, so a
rerun replaces its own section and leaves the others alone."""

from __future__ import annotations

from pathlib import Path


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
