"""Fitting the question-kind model (qa/reading/kinds.py) on SQuAD v1.1 train.

python -m training.question_kinds --train ../shared/squad/train-v1.1-explorer.json
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from pathlib import Path

from qa.reading.kinds import SHIPPED_TYPES, QuestionTypes, question_tokens, span_kind


def fit_question_types(questions: Sequence[str], answers: Sequence[str], min_count: int = 10) -> QuestionTypes:
    """Fit :class:`QuestionTypes` on questions and their gold answers."""
    from sklearn.feature_extraction.text import CountVectorizer
    from sklearn.linear_model import LogisticRegression

    labels = [span_kind(a) for a in answers]
    vectorizer = CountVectorizer(analyzer=question_tokens, min_df=min_count, binary=True)
    x = vectorizer.fit_transform(questions)
    model = LogisticRegression(C=1.0, max_iter=2000)
    model.fit(x, labels)
    kinds = [str(k) for k in model.classes_]
    weights = {
        token: [round(float(w), 4) for w in model.coef_[:, column]]
        for token, column in vectorizer.vocabulary_.items()
        if abs(model.coef_[:, column]).max() >= 0.05
    }
    counts = {k: labels.count(k) for k in kinds}
    about = {"fitted_on": f"{len(questions)} questions", "answer_kinds": counts, "min_count": min_count}
    return QuestionTypes(kinds, [round(float(b), 4) for b in model.intercept_], weights, about)


def main(argv: list[str] | None = None) -> None:
    from qa.evaluation.squad import load_squad

    parser = argparse.ArgumentParser(description="Fit the question-type model on SQuAD train questions.")
    parser.add_argument("--train", required=True, help="SQuAD v1.1 train JSON")
    parser.add_argument("--out", default=str(SHIPPED_TYPES))
    args = parser.parse_args(argv)
    questions = [q for q in load_squad(args.train) if q.answers]
    model = fit_question_types([q.question for q in questions], [q.answers[0] for q in questions])
    model.about["fitted_on"] = f"{Path(args.train).name}: {len(questions)} questions"
    data = {"kinds": model.kinds, "intercept": model.intercept, "weights": model.weights, "about": model.about}
    Path(args.out).write_text(json.dumps(data, separators=(",", ":"), sort_keys=True), "utf-8")
    print(f"{len(model.weights)} features, {len(model.kinds)} kinds: {model.about['answer_kinds']}")


if __name__ == "__main__":
    main()
