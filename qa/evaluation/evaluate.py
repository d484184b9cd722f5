"""End-to-end evaluation: retrieval, answers, citations, abstention and latency.

    python -m qa eval --data tests/data/seed_dev.jsonl [--retrieval bm25] [--reader neural] [--json OUT]
    python -m qa eval --data ../shared/squad/dev-v1.1.json --limit 500     # SQuAD in open mode

A JSONL file (the project's format: question, history, answers, sources,
answerable) is asked against the corpus folder of the settings. A SQuAD file
is evaluated in open mode: every paragraph of the file becomes an article of a
temporary corpus, and every question is asked against the whole index; a
retrieval hit is then the paragraph that holds the question's answer.
"""

from __future__ import annotations

import json
import statistics
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from qa.evaluation.metrics import exact_match, token_f1
from qa.evaluation.squad import load_squad
from qa.pipeline import QAPipeline
from qa.settings import Settings


@dataclass(frozen=True)
class EvalQuestion:
    id: str
    question: str
    history: tuple[dict, ...]
    answers: tuple[str, ...]
    sources: tuple[str, ...]  # files that hold the answer
    answerable: bool


@dataclass
class EvalReport:
    questions: int = 0
    answerable: int = 0
    recall: dict[int, float] = field(default_factory=dict)  # k -> share of answerable questions hit in top k
    mrr: float = 0.0
    exact_match: float = 0.0  # over answerable questions
    f1: float = 0.0
    citation_accuracy: float = 0.0  # top citation in a gold source
    abstention_accuracy: float | None = None  # share of unanswerable questions abstained on
    false_abstentions: float = 0.0  # share of answerable questions abstained on
    latency_p50_ms: float = 0.0
    latency_p95_ms: float = 0.0
    settings: dict = field(default_factory=dict)
    rows: list[dict] = field(default_factory=list)  # one per question: what it got and how it scored

    def to_dict(self) -> dict:
        return self.__dict__ | {"recall": {f"@{k}": v for k, v in self.recall.items()}}


RECALL_AT = (1, 5, 20)


def load_jsonl(path: Path | str) -> list[EvalQuestion]:
    questions = []
    for line in Path(path).read_text("utf-8").splitlines():
        if line.strip():
            q = json.loads(line)
            questions.append(
                EvalQuestion(
                    q["id"],
                    q["question"],
                    tuple(q.get("history", [])),
                    tuple(q["answers"]),
                    tuple(q["sources"]),
                    bool(q["answerable"]),
                )
            )
    return questions


def squad_as_corpus(
    path: Path | str, folder: Path, limit: int | None = None, leave_out: frozenset[int] = frozenset()
) -> list[EvalQuestion]:
    """Write each paragraph of a SQuAD file as an article into ``folder`` and
    return its questions (the first ``limit``) with that file as gold source.

    Paragraphs of the articles numbered in ``leave_out`` are not written: their
    questions come back unanswerable, as a question is whose article is not in
    the user's folder.
    """
    folder.mkdir(parents=True, exist_ok=True)
    questions = []
    written: set[str] = set()
    for q in load_squad(path):
        name = f"a{q.article:03d}_p{q.paragraph:03d}.txt"
        if q.article in leave_out:
            answers, sources = (), ()
        else:
            answers, sources = q.answers, (name,)
            if name not in written:
                (folder / name).write_text(q.context.strip() + "\n", "utf-8")
                written.add(name)
        if limit is None or len(questions) < limit:
            questions.append(EvalQuestion(q.id, q.question, (), answers, sources, bool(answers)))
    return questions


def evaluate(bot: QAPipeline, questions: list[EvalQuestion]) -> EvalReport:
    report = EvalReport(questions=len(questions), settings=_settings_summary(bot.settings))
    hits = {k: 0 for k in RECALL_AT}
    reciprocal_ranks = 0.0
    em = f1 = cited = abstained_right = abstained_wrong = 0.0
    latencies = []
    for q in questions:
        start = time.perf_counter()
        answer = bot.ask(q.question, list(q.history))
        latencies.append((time.perf_counter() - start) * 1000)
        row = {"id": q.id, "answerable": q.answerable, "answer": answer.answer, "confidence": answer.confidence}
        report.rows.append(row)
        if not q.answerable:
            abstained_right += not answer.answerable
            continue
        report.answerable += 1
        abstained_wrong += not answer.answerable
        row["f1"] = token_f1(answer.answer, q.answers)
        row["cited_right"] = bool(answer.citations) and answer.citations[0].source in q.sources and answer.answerable
        em += exact_match(answer.answer, q.answers)
        f1 += row["f1"]
        cited += row["cited_right"]
        ranked = bot.search(q.question, max(RECALL_AT), q.history)
        rank = next(
            (i for i, p in enumerate(ranked, 1) if {p.source, *(c.source for c in p.also_in)} & set(q.sources)), None
        )
        if rank:
            reciprocal_ranks += 1 / rank
            for k in RECALL_AT:
                hits[k] += rank <= k
    n = max(report.answerable, 1)
    report.recall = {k: hits[k] / n for k in RECALL_AT}
    report.mrr = reciprocal_ranks / n
    report.exact_match, report.f1, report.citation_accuracy = em / n, f1 / n, cited / n
    report.false_abstentions = abstained_wrong / n
    unanswerable = report.questions - report.answerable
    report.abstention_accuracy = abstained_right / unanswerable if unanswerable else None
    report.latency_p50_ms = statistics.median(latencies) if latencies else 0.0
    report.latency_p95_ms = sorted(latencies)[int(0.95 * (len(latencies) - 1))] if latencies else 0.0
    return report


def run_eval(data: Path | str, settings: Settings, limit: int | None = None) -> EvalReport:
    """Evaluate on a JSONL or SQuAD file (see the module docstring)."""
    data = Path(data)
    if data.suffix == ".jsonl":
        questions = load_jsonl(data)[:limit]
        return evaluate(QAPipeline(settings), questions)
    with tempfile.TemporaryDirectory(prefix="qa-eval-") as tmp:
        questions = squad_as_corpus(data, Path(tmp) / "corpus", limit)
        bot = QAPipeline(settings.replace(corpus_dir=Path(tmp) / "corpus", index_dir=Path(tmp) / "index"))
        return evaluate(bot, questions)


def _settings_summary(settings: Settings) -> dict:
    return {
        "retrieval": settings.retrieval,
        "group_duplicates": settings.group_duplicates,
        "reader": settings.reader,
        "top_k": settings.top_k,
        "read_k": settings.read_k,
        "model": settings.model,
    }


def format_rows(report: EvalReport) -> str:
    """One line per question: id, what the bot said, its confidence and score."""
    lines = []
    for row in report.rows:
        if row["answerable"]:
            verdict = f"F1 {row['f1']:.2f}" + ("" if row["cited_right"] or not row["answer"] else ", wrong source")
        else:
            verdict = "declined" if not row["answer"] else "answered an unanswerable question"
        said = repr(row["answer"]) if row["answer"] else "(no answer)"
        lines.append(f"{row['id']:<10} {row['confidence']:.2f}  {verdict:<34} {said[:70]}")
    return "\n".join(lines)


def format_report(report: EvalReport) -> str:
    rows = [
        ("questions (answerable)", f"{report.questions} ({report.answerable})"),
        *((f"retrieval recall@{k}", f"{v:.1%}") for k, v in report.recall.items()),
        ("retrieval MRR", f"{report.mrr:.3f}"),
        ("answer exact match", f"{report.exact_match:.1%}"),
        ("answer token F1", f"{report.f1:.1%}"),
        ("citation accuracy", f"{report.citation_accuracy:.1%}"),
        (
            "abstention accuracy",
            "n/a" if report.abstention_accuracy is None else f"{report.abstention_accuracy:.1%}",
        ),
        ("false abstentions", f"{report.false_abstentions:.1%}"),
        ("latency p50 / p95", f"{report.latency_p50_ms:.0f} / {report.latency_p95_ms:.0f} ms"),
    ]
    width = max(len(name) for name, _ in rows)
    settings = ", ".join(f"{k}={v}" for k, v in report.settings.items() if k != "model")
    return "\n".join([f"settings: {settings}", *(f"{name:<{width}}  {value}" for name, value in rows)])
