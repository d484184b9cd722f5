"""SQuAD files: loading questions, and scoring a reader on their gold paragraphs."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from qa.evaluation.metrics import exact_match, token_f1


@dataclass(frozen=True)
class SquadQuestion:
    id: str
    question: str
    context: str
    answers: tuple[str, ...]  # empty for unanswerable (SQuAD 2.0) questions
    answer_starts: tuple[int, ...]
    article: int  # index of its article in the file
    paragraph: int  # index of its paragraph in the article


def load_squad(path: Path | str, limit: int | None = None) -> list[SquadQuestion]:
    """Questions of a SQuAD-format file, in file order (the first ``limit``)."""
    data = json.loads(Path(path).read_text("utf-8"))["data"]
    questions = []
    for a, article in enumerate(data):
        for p, paragraph in enumerate(article["paragraphs"]):
            for qa in paragraph["qas"]:
                answers = [] if qa.get("is_impossible") else qa["answers"]
                questions.append(
                    SquadQuestion(
                        id=qa["id"],
                        question=qa["question"],
                        context=paragraph["context"],
                        answers=tuple(x["text"] for x in answers),
                        answer_starts=tuple(x["answer_start"] for x in answers),
                        article=a,
                        paragraph=p,
                    )
                )
                if limit is not None and len(questions) >= limit:
                    return questions
    return questions


@dataclass(frozen=True)
class ReaderScores:
    exact_match: float  # percent
    f1: float  # percent
    questions: int
    predictions: dict[str, str]
    # SQuAD 2.0 files only: how often the reader's abstention was right.
    no_answer_accuracy: float | None = None
    has_answer_f1: float | None = None


def evaluate_reader(span_model, questions: list[SquadQuestion], null_margin: float | None = None) -> ReaderScores:
    """Reader-only EM/F1 on each question's gold paragraph.

    With ``null_margin`` set, the reader abstains (predicts "") when its best
    span does not beat the no-answer score by that margin: SQuAD 2.0 scoring.
    """
    return read_gold_paragraphs(span_model, questions).scores(null_margin)


@dataclass(frozen=True)
class GoldReading:
    """The reader's best span on each question's gold paragraph, and by how much
    it beat "no answer": scored at any null margin without reading again."""

    questions: list[SquadQuestion]
    answers: dict[str, str]
    margins: dict[str, float]  # best span score minus the no-answer score

    def scores(self, null_margin: float | None = None) -> ReaderScores:
        predictions: dict[str, str] = {}
        em = f1 = 0.0
        no_answer_right = no_answer_total = 0
        has_answer_f1 = has_answer_total = 0.0
        for q in self.questions:
            answer = self.answers[q.id]
            if null_margin is not None and self.margins[q.id] < null_margin:
                answer = ""
            predictions[q.id] = answer
            gold = q.answers or ("",)
            em += exact_match(answer, gold)
            f1 += token_f1(answer, gold)
            if not q.answers:
                no_answer_total += 1
                no_answer_right += answer == ""
            else:
                has_answer_total += 1
                has_answer_f1 += token_f1(answer, gold)
        n = max(len(self.questions), 1)
        return ReaderScores(
            exact_match=100 * em / n,
            f1=100 * f1 / n,
            questions=len(self.questions),
            predictions=predictions,
            no_answer_accuracy=100 * no_answer_right / no_answer_total if no_answer_total else None,
            has_answer_f1=100 * has_answer_f1 / has_answer_total if has_answer_total else None,
        )


def read_gold_paragraphs(span_model, questions: list[SquadQuestion], batch: int = 64) -> GoldReading:
    answers: dict[str, str] = {}
    margins: dict[str, float] = {}
    for i in range(0, len(questions), batch):
        chunk = questions[i : i + batch]
        spans = span_model.best_spans([q.question for q in chunk], [q.context for q in chunk])
        for q, span in zip(chunk, spans, strict=True):
            answers[q.id] = q.context[span.start : span.end]
            margins[q.id] = span.score - span.null_score
    return GoldReading(questions, answers, margins)
