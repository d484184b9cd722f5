"""What the tests of every tier share: the sample corpus's paths and articles,
the provenance checks, and starting the real app on a free port.

Imported as ``from helpers import ...`` (pyproject.toml puts tests/ on the
path); fixtures live in the conftest.py files.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import requests

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "corpus"
DATA = ROOT / "tests" / "data"
SEED_DEV = DATA / "seed_dev.jsonl"
MINI_SQUAD = DATA / "mini_squad.json"
SHARED_SQUAD = ROOT.parent / "shared" / "squad"  # SQuAD, where this machine has it (tests that need it skip)

NEW_ARTICLE = (
    "Lavrov visits Pyongyang\n\n"
    "Russian Foreign Minister Sergei Lavrov arrived in Pyongyang on Wednesday for talks on the nuclear issue.\n\n"
    "He was greeted at the airport by a delegation of North Korean officials.\n"
)

XSS_ARTICLE = (
    'Hackers target <img src=x onerror="window.__xss = 3"> newsroom\n\n'
    'Investigators said the page contained the text <script>window.__xss = 1; alert("xss")</script> and an image tag '
    '<img src=x onerror="window.__xss = 2; alert(1)"> hidden in a comment field, according to the newsroom.\n'
)


FORMAT_FIXTURES = ROOT / "tests" / "data" / "formats"
# One format per sample article, in file order; the syndicated pair (000 republishes 002) in two formats.
MIXED_FORMATS = ("html", "pdf", "docx", "md", "txt")


def mixed_corpus(folder: Path) -> Path:
    """The sample articles into ``folder``, each in one of the formats the tool reads (MIXED_FORMATS)."""
    folder.mkdir(parents=True, exist_ok=True)
    for path, fmt in zip(sorted(CORPUS.glob("*.txt")), MIXED_FORMATS, strict=True):
        shutil.copy(path if fmt == "txt" else FORMAT_FIXTURES / fmt / f"{path.stem}.{fmt}", folder)
    return folder


def file_text(source: str, corpus: Path = CORPUS) -> str:
    """An article as the provenance rule reads it: its file's text layer (a
    ``.txt`` file decoded as UTF-8, the text extracted from other formats)."""
    from qa.corpus.formats import extract

    return extract((corpus / source).read_bytes(), source).text


def touch_later(path: Path) -> None:
    """Move a file's modification time a second on, as an edit a moment later does."""
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))


# -- provenance ---------------------------------------------------------------------


def _as_dict(answer: Any) -> dict:
    """An Answer as the APIs send it (a JSON answer is already one)."""
    return answer if isinstance(answer, Mapping) else answer.to_dict()


def check_provenance(answer: Any, corpus: Path = CORPUS) -> None:
    """Every quote of an answer (a qa.Answer or its JSON form) holds in the
    files as they are now, and the answer is where its citations say.

    Each citation, support and alternative's support slices its file exactly,
    and each copy it names in ``also_in`` slices a non-empty quote; where a
    citation marks an answer, the mark lies inside its text. An answered
    question's top citation marks the answer itself, in its sentence, and is
    the first support; every support marks the answer in that article's
    words. An unanswered one has no answer, sentence, marks, support or
    alternatives; its candidate, if any, marks its own answer in each
    citation. The confidence is a probability.
    """
    a = _as_dict(answer)
    supports = [c for alternative in a["alternatives"] for c in alternative["support"]]
    candidate = a.get("candidate")
    for c in [*a["citations"], *a["support"], *supports, *(candidate["citations"] if candidate else [])]:
        assert file_text(c["source"], corpus)[c["start"] : c["end"]] == c["text"], c
        for copy in c["also_in"]:
            assert file_text(copy["source"], corpus)[copy["start"] : copy["end"]], copy
        if c["answer_start"] is not None:
            assert 0 <= c["answer_start"] < c["answer_end"] <= len(c["text"]), c
    if a["answerable"]:
        top = a["citations"][0]
        assert top["text"][top["answer_start"] : top["answer_end"]] == a["answer"]
        assert a["answer"] and a["answer"] in a["sentence"] and a["sentence"] in top["text"]
        assert a["support"][0] == top
        for c in [*a["support"], *supports]:  # each article's own words for the answer
            assert c["text"][c["answer_start"] : c["answer_end"]], c
        assert candidate is None
    else:
        assert a["answer"] == a["sentence"] == ""
        assert all(c["answer_start"] is None and c["answer_end"] is None for c in a["citations"])
        assert list(a["support"]) == list(a["alternatives"]) == []
        if candidate:  # the closest the articles come: marked in each article's words, no surer than declined
            assert candidate["answer"] and candidate["citations"] and candidate["confidence"] == a["confidence"]
            top = candidate["citations"][0]
            assert top["text"][top["answer_start"] : top["answer_end"]] == candidate["answer"]
            assert all(c["text"][c["answer_start"] : c["answer_end"]] for c in candidate["citations"])
    assert 0.0 <= a["confidence"] <= 1.0


def check_passages(passages: Iterable[Any], corpus: Path = CORPUS) -> None:
    """Each passage (a qa.Passage or its JSON form) slices its file exactly."""
    for p in passages:
        p = p if isinstance(p, Mapping) else p.to_dict()
        assert file_text(p["source"], corpus)[p["start"] : p["end"]] == p["text"], p


def check_quality_bar(bot: Any, seed_dev: list[dict]) -> None:
    """The bar that stands today on the seed dev questions (see the README's
    quality section), with every answer's provenance checked: the issue's
    targets (F1 85, citations 95%) are not met yet. The same bar on either
    search backend (FAISS in the integration tier, Milvus in the system tier)."""
    from qa.evaluation.metrics import token_f1

    answerable = [q for q in seed_dev if q["answerable"]]
    unanswerable = [q for q in seed_dev if not q["answerable"]]
    f1 = right_source = answered = 0.0
    for q in answerable:
        answer = bot.ask(q["question"], q["history"])
        check_provenance(answer)
        f1 += token_f1(answer.answer, q["answers"])
        answered += answer.answerable
        right_source += answer.answerable and answer.citations[0].source in q["sources"]
    declined = []
    for q in unanswerable:
        answer = bot.ask(q["question"], q["history"])
        check_provenance(answer)
        declined.append(not answer.answerable)
        assert answer.citations, "unanswerable questions still list related passages"
    f1, top_citation_rate = f1 / len(answerable), right_source / len(answerable)
    print(
        f"F1 {f1:.1%}; top citation in gold sources: {top_citation_rate:.0%} "
        f"({right_source / answered:.0%} of those answered); declined {sum(declined)}/{len(declined)}"
    )
    assert f1 >= 0.76
    assert top_citation_rate >= 0.82
    assert right_source / answered >= 0.95  # what it answers, it cites from the right article
    # 5 of 7, where 6 are declined: on one machine the readings drifted and the
    # shipped calibrator declined one fewer (its model card, "Readings drifted").
    assert sum(declined) >= 5


# -- the real app -------------------------------------------------------------------


@dataclass
class AppServer:
    url: str
    corpus: Path
    index: Path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def serve_app(
    root: Path,
    corpus: Path,
    port: int,
    log: IO[str],
    env: dict[str, str] | None = None,
    args: Sequence[str] = (),
) -> Iterator[AppServer]:
    """Start app.py as a user starts it (index in root/index, output to log,
    ``args`` added), yield it once it answers (a 401 for a login is an answer),
    stop it after."""
    proc = subprocess.Popen(
        [
            sys.executable,
            "app.py",
            "--port",
            str(port),
            "--corpus",
            str(corpus),
            "--index",
            str(root / "index"),
            *args,
        ],
        cwd=ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
        env={**os.environ, **(env or {})},
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 180
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the app exited: {Path(log.name).read_text()[-3000:]}")
        try:
            if requests.get(f"{url}/gradio_api/info", timeout=2).status_code in (200, 401):
                break
        except requests.ConnectionError:
            pass
        time.sleep(0.5)
    else:
        proc.kill()
        raise RuntimeError("the app did not start within 180 s")
    yield AppServer(url, corpus, root / "index")
    proc.terminate()
    try:
        proc.wait(timeout=1)
    except subprocess.TimeoutExpired:
        # Clients' open event streams would hold the graceful shutdown for its full 5 s;
        # a second signal (SIGINT) makes uvicorn exit at once.
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=30)
