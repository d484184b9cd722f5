"""Extraction throughput per format (files and MB per second), and what
extraction adds to a first build of the sample corpus, side by side in one run.

    .venv/bin/python benchmarks/extraction.py [--rounds 5] [--folder 1000] [--write docs/BENCHMARKS.md]

The files are the format fixtures (tests/data/formats: each sample article
as a news page, a PDF printed by Chromium, a Word file and Markdown) and the
sample .txt files. The first build is timed over the sample corpus as .txt
and over the same articles one format each (000 html, 001 pdf, 002 docx,
003 md, 004 txt), each into a fresh index, embedding included, in turn.

With ``--folder N``, ``qa index`` also runs over a folder of N files: the
fixtures in every format under numbered names, one in twenty a bad file
(an encrypted, image-only or truncated PDF, a zip bomb or a .docx that is no
zip, a page with no article, a binary .txt, a spreadsheet), and what it
reports is summed up.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from report import measured_on, publish

from qa.corpus.formats import extract
from qa.index.store import IndexStore
from qa.settings import Settings

FIXTURES = ROOT / "tests" / "data" / "formats"
CORPUS = ROOT / "corpus"
MIXED = ("html", "pdf", "docx", "md", "txt")


def files_of(fmt: str) -> list[Path]:
    return sorted(CORPUS.glob("*.txt")) if fmt == "txt" else sorted((FIXTURES / fmt).glob(f"*.{fmt}"))


def throughput(fmt: str, rounds: int) -> tuple[float, float, float]:
    """(files per second, MB per second, ms per file), the median round."""
    files = [(p.name, p.read_bytes()) for p in files_of(fmt)]
    extract(*files[0][::-1])  # imports and first-use set-up are not timed
    seconds = []
    for _ in range(rounds):
        start = time.perf_counter()
        for name, data in files:
            extract(data, name)
        seconds.append(time.perf_counter() - start)
    t = statistics.median(seconds)
    size = sum(len(d) for _, d in files) / 1e6
    return len(files) / t, size / t, 1000 * t / len(files)


def first_build(folder: Path) -> float:
    with tempfile.TemporaryDirectory() as index:
        start = time.perf_counter()
        IndexStore(Settings.from_env(corpus_dir=folder, index_dir=Path(index))).update()
        return time.perf_counter() - start


def _bad_files() -> list[tuple[str, bytes]]:
    """(suffix, content) of each kind of bad file, made as the unit tests make them."""
    import io
    import zipfile

    import pypdf

    def pdf(encrypt: bool) -> bytes:
        writer = pypdf.PdfWriter()
        if encrypt:
            writer.append(pypdf.PdfReader(FIXTURES / "pdf" / "004_eef2673d1aa29b10.pdf"))
            writer.encrypt("s3cret")
        else:
            writer.add_blank_page(200, 200)
        out = io.BytesIO()
        writer.write(out)
        return out.getvalue()

    bomb = io.BytesIO()
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("word/document.xml", b"0" * 5_000_000)
    return [
        (".pdf", pdf(encrypt=True)),
        (".pdf", pdf(encrypt=False)),
        (".pdf", (FIXTURES / "pdf" / "000_7e31dd43b6b198f1.pdf").read_bytes()[:3000]),
        (".docx", bomb.getvalue()),
        (".docx", b"Not a Word file."),
        (".html", b"<html><body><nav><a href='/'>Home</a></nav></body></html>"),
        (".txt", b"\x89PNG\r\n\x1a\n\x00\x00"),
        (".xlsx", b"PK\x03\x04"),
    ]


def index_folder(n: int) -> str:
    """``qa index`` over a folder of ``n`` files, one in twenty bad: what it reported, summed up."""
    import collections
    import re
    import subprocess

    good = [p for fmt in ("txt", "md", "html", "docx", "pdf") for p in files_of(fmt)]
    bad = _bad_files()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "corpus"
        folder.mkdir()
        for i in range(n):
            if i % 20 == 19:
                suffix, data = bad[(i // 20) % len(bad)]
                (folder / f"{i:04d}_bad{suffix}").write_bytes(data)
            else:
                path = good[i % len(good)]
                (folder / f"{i:04d}_{path.name}").write_bytes(path.read_bytes())
        start = time.perf_counter()
        done = subprocess.run(
            [sys.executable, "-m", "qa", "index", "--corpus", str(folder), "--index", str(Path(tmp) / "index")],
            capture_output=True,
            text=True,
            cwd=ROOT,
        )
        seconds = time.perf_counter() - start
    lines = done.stdout.splitlines()
    skipped = [line for line in lines if line.startswith("warning: skipped")]
    reasons = collections.Counter(re.sub(r"^warning: skipped \S+: ", "", line).split(" (")[0] for line in skipped)
    table = "\n".join(f"| {n} | {reason} |" for reason, n in reasons.most_common())
    return "\n".join(
        [
            f"`qa index` over a folder of {n:,} files ({len(skipped)} skipped with their reasons; exit status "
            f"{done.returncode}; {seconds:.0f} s, embedding included) printed:",
            "",
            "```",
            *[line for line in lines if not line.startswith("warning:")],
            "```",
            "",
            "and one `warning: skipped FILE: REASON` line per bad file:",
            "",
            "| files | reason |",
            "|---|---|",
            table,
        ]
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--folder", type=int, default=0, help="also index a mixed folder of this many files")
    parser.add_argument("--write", type=Path)
    args = parser.parse_args()
    rows = ["| format | files | KB per file | files/s | MB/s | ms per file |", "|---|---|---|---|---|---|"]
    for fmt in ("txt", "md", "html", "docx", "pdf"):
        files = files_of(fmt)
        per_file, mb, ms = throughput(fmt, args.rounds)
        kb = sum(p.stat().st_size for p in files) / len(files) / 1000
        rows.append(f"| {fmt} | {len(files)} | {kb:.1f} | {per_file:,.0f} | {mb:.2f} | {ms:.1f} |")
    with tempfile.TemporaryDirectory() as tmp:
        mixed = Path(tmp) / "mixed"
        mixed.mkdir()
        for path, fmt in zip(sorted(CORPUS.glob("*.txt")), MIXED, strict=True):
            shutil.copy(path if fmt == "txt" else FIXTURES / fmt / f"{path.stem}.{fmt}", mixed)
        first_build(CORPUS)  # the embedding model loaded once, before either is timed
        text_s, mixed_s = [], []
        for _ in range(args.rounds):
            text_s.append(first_build(CORPUS))
            mixed_s.append(first_build(mixed))
    text_t, mixed_t = statistics.median(text_s), statistics.median(mixed_s)
    body = "\n".join(
        [
            f"Extraction alone, each format's files read from memory, median of {args.rounds} rounds:",
            "",
            *rows,
            "",
            f"First build of the sample corpus (5 articles, embedding included), median of {args.rounds} rounds, "
            f"called in turn: all .txt {text_t:.2f} s; one article per format {mixed_t:.2f} s; ratio "
            f"**{mixed_t / text_t:.2f}** (+{mixed_t - text_t:.2f} s). Measured {measured_on()} "
            f"(`{' '.join(['python', *sys.argv])}`).",
        ]
    )
    if args.folder:
        body += "\n\n" + index_folder(args.folder)
    publish(body, args.write, "extraction", "Extraction: files per second by format, and its cost in a first build")


if __name__ == "__main__":
    main()
