"""The shipped neural reader: loads offline, answers with exact spans, strides, abstains."""

from __future__ import annotations

import pytest
from helpers import check_provenance, file_text

from qa import QAPipeline
from qa.reading.neural import SHIPPED_READER, NeuralReader, load_span_model
from qa.types import Passage

pytestmark = pytest.mark.skipif(
    not (SHIPPED_READER / "model.safetensors").is_file(), reason="no reader weights shipped in qa/models/reader"
)


def _passage(text: str, score: float = 1.0) -> Passage:
    return Passage(source="x.txt", paragraph=1, start=0, end=len(text), text=text, score=score)


def test_shipped_weights_load_offline_in_fp16_under_60_mb():
    files = [p for p in SHIPPED_READER.iterdir() if p.is_file()]
    assert sum(p.stat().st_size for p in files) < 60 * 2**20
    assert {"model.safetensors", "config.json", "tokenizer.json", "README.md"} <= {p.name for p in files}
    model = load_span_model(str(SHIPPED_READER))
    [span] = model.best_spans(["Who founded Baring Vostok?"], ["Michael Calvey founded Baring Vostok in 1994."])
    assert "Michael Calvey" in "Michael Calvey founded Baring Vostok in 1994."[span.start : span.end]


def test_the_best_spans_of_each_passage_are_exact_substrings_with_raw_scores(bot: QAPipeline):
    reader = NeuralReader()
    text = file_text("001_2ba139ad32a30a4e.txt")
    paragraph = "Whelan was accused of espionage, a charge he denies. He is due to be kept in pre-trial detention until May 28 while the investigation continues."
    start = text.index(paragraph)
    passage = Passage("001_2ba139ad32a30a4e.txt", 13, start, start + len(paragraph), paragraph, 1.0)
    spans = reader.run("Until what date will Whelan be kept in detention?", [passage])
    assert 1 < len(spans) <= reader.spans_per_passage
    assert [s.score for s in spans] == sorted((s.score for s in spans), reverse=True)
    best = spans[0]
    assert best.answer == "May 28" and best.margin == best.score - best.null_score > 0
    assert text[start + best.answer_start : start + best.answer_end] == "May 28"
    assert best.sentence.startswith("He is due to be kept") and best.answer in best.sentence
    for span in spans:
        assert paragraph[span.answer_start : span.answer_end] == span.answer and span.answer in span.sentence


def test_candidates_start_and_end_on_whole_words():
    # Names the tokenizer cuts into pieces ("Soc", "##hi"): no piece is a candidate of its own.
    text = "Pompeo is first expected to meet Lavrov in Sochi, a resort city on Russia\u2019s Black Sea coast."
    model = load_span_model(str(SHIPPED_READER))
    [spans] = model.top_spans(["In which city did Pompeo hold talks with Putin?"], [text], 20)
    assert len(spans) == 20
    for span in spans:
        for edge in (span.start, span.end):  # never between two letters or digits
            around = text[max(edge - 1, 0) : edge + 1]
            assert len(around) < 2 or not around.isalnum(), text[span.start : span.end]


def test_a_paragraph_longer_than_the_window_is_read_to_its_end():
    filler = " ".join(
        f"Delegates discussed agenda item number {i} at some length without any decision." for i in range(40)
    )
    text = f"{filler} The summit will be held in the city of Osaka next month."
    model = load_span_model(str(SHIPPED_READER))
    assert len(model.tokenizer(text)["input_ids"]) > 2 * model.max_length
    [span] = model.best_spans(["Where will the summit be held?"], [text])
    assert text[span.start : span.end].endswith("Osaka")  # "Osaka", "the city of Osaka" or "in the city of Osaka"
    assert span.start > len(filler)


def test_the_pipeline_with_the_neural_reader_answers_and_abstains(sample_settings):
    bot = QAPipeline(sample_settings.replace(reader="neural"))
    answer = bot.ask("Which treaty did the US pull out of in February?")
    assert answer.answerable and "INF" in answer.answer
    check_provenance(answer)  # the top citation quotes its file and marks the answer
    assert not bot.ask("Who won the 2019 Champions League final?").answerable


def test_onnx_readers_find_the_spans_pytorch_finds(bot: QAPipeline, seed_dev, tmp_path_factory):
    """The exported fp32 graph gives PyTorch's spans and scores; the int8 one
    (the default engine) the same best span on nearly every passage."""
    from qa.runtime import Engine

    cache = tmp_path_factory.getbasetemp() / "onnx"
    torch_model = load_span_model(str(SHIPPED_READER))
    fp32 = load_span_model(str(SHIPPED_READER), Engine.ONNX.value, str(cache))
    int8 = load_span_model(str(SHIPPED_READER), Engine.ONNX_INT8.value, str(cache))
    assert torch_model.session is None and fp32.session is not None and int8.session is not None
    questions, passages = [], []
    for q in seed_dev[:20]:
        for p in bot.search(q["question"], 3):
            questions.append(q["question"])
            passages.append(p.text)
    reference = torch_model.top_spans(questions, passages, 3)
    for engine_spans, exact in (
        (fp32.top_spans(questions, passages, 3), True),
        (int8.top_spans(questions, passages, 3), False),
    ):
        same_best = 0
        for ours, theirs in zip(engine_spans, reference, strict=True):
            same_best += (ours[0].start, ours[0].end) == (theirs[0].start, theirs[0].end)
            if exact:
                assert [(s.start, s.end) for s in ours] == [(s.start, s.end) for s in theirs]
                assert all(abs(a.score - b.score) < 1e-3 for a, b in zip(ours, theirs, strict=True))
        assert same_best >= (len(reference) if exact else 0.9 * len(reference))


def test_a_question_longer_than_the_window_is_cut_not_a_crash():
    """A question must leave the passage more room than the stride: the
    tokenizer panics otherwise (a Rust panic nothing catches)."""
    model = load_span_model(str(SHIPPED_READER))
    question = ("Could you please tell me, considering everything the articles report about the talks, " * 12)[:1000]
    context = "Pompeo and Putin held talks in Sochi on Tuesday."
    [span] = model.best_spans([question + " Where did Pompeo and Putin hold talks?"], [context])
    assert context[span.start : span.end]
