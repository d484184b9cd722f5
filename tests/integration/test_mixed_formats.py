"""Articles in every format the tool reads, answered as the .txt files are:
a corpus where each sample article comes as a web page, a PDF, a Word file, a
Markdown file or text answers the seed dev questions about as well, with
every quote exact in its file's text layer, metadata read, and PDF pages and
page addresses on the citations."""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers import CORPUS, MIXED_FORMATS, check_provenance, file_text, mixed_corpus

from qa import QAPipeline, Settings
from qa.evaluation.metrics import token_f1


@pytest.fixture(scope="module")
def mixed(tmp_path_factory: pytest.TempPathFactory) -> tuple[QAPipeline, Path]:
    folder = mixed_corpus(tmp_path_factory.mktemp("mixed"))
    settings = Settings.from_env(corpus_dir=folder, index_dir=tmp_path_factory.mktemp("mixed-index"))
    return QAPipeline(settings), folder


def _f1(bot: QAPipeline, questions: list[dict], corpus: Path) -> tuple[float, float]:
    """Mean F1 and the share whose top citation is a gold source (by file stem), provenance checked."""
    f1 = right = 0.0
    for q in questions:
        answer = bot.ask(q["question"], q["history"])
        check_provenance(answer, corpus)
        f1 += token_f1(answer.answer, q["answers"])
        stems = {Path(s).stem for s in q["sources"]}
        right += answer.answerable and Path(answer.citations[0].source).stem in stems
    return f1 / len(questions), right / len(questions)


def test_every_format_answers_the_seed_dev_questions_about_as_well_as_text(mixed, bot: QAPipeline, seed_dev):
    mixed_bot, folder = mixed
    answerable = [q for q in seed_dev if q["answerable"]]
    f1, cited = _f1(mixed_bot, answerable, folder)
    text_f1, text_cited = _f1(bot, answerable, CORPUS)
    print(
        f"mixed formats: F1 {f1:.1%}, top citation {cited:.0%}; .txt: F1 {text_f1:.1%}, top citation {text_cited:.0%}"
    )
    assert f1 >= text_f1 - 0.03
    unanswerable = [q for q in seed_dev if not q["answerable"]]
    declined = sum(not mixed_bot.ask(q["question"], q["history"]).answerable for q in unanswerable)
    text_declined = sum(not bot.ask(q["question"], q["history"]).answerable for q in unanswerable)
    print(f"declined {declined} of {len(unanswerable)} unanswerable (.txt: {text_declined})")
    assert declined >= text_declined - 1


def test_sources_carry_each_files_metadata(mixed):
    bot, _ = mixed
    by_format = {s.format: s for s in bot.sources()}
    assert set(by_format) == set(MIXED_FORMATS)
    page = by_format["html"]
    assert (page.outlet, page.author, page.published) == ("Persia Digest", "Dana Rahimi", "2019-05-13")
    assert page.url == "https://news.example/000_7e31dd43b6b198f1"
    assert by_format["docx"].author == "Anna Kowalski" and by_format["docx"].published == "2019-05-14"
    assert by_format["txt"].outlet == "" and by_format["md"].title.startswith("US Secretary of State Pompeo")


def test_a_pdf_citation_names_its_page_and_a_page_citation_its_address(mixed):
    bot, folder = mixed
    pdf = bot.ask("Who did Ambassador Jon Huntsman visit in a Moscow jail?")
    check_provenance(pdf, folder)
    top = pdf.citations[0]
    assert top.source.endswith(".pdf") and pdf.answer == "Whelan"
    layer = bot.text_layer(top.source)
    assert layer.text[top.start : top.end] == top.text and layer.format == "pdf"
    assert top.page == sum(start <= top.start + top.answer_start for start in layer.pages) >= 2
    html = bot.ask("What did Lavrov blame the US for?")
    cited = [c for c in html.citations if c.source.endswith(".html")]
    assert cited and all(c.url == "https://news.example/000_7e31dd43b6b198f1" and c.page is None for c in cited)
    assert all((c.outlet, c.author, c.published) == ("Persia Digest", "Dana Rahimi", "2019-05-13") for c in cited)


def test_the_text_layer_of_every_format_is_what_citations_slice(mixed):
    bot, folder = mixed
    # Kept beside the index, one per extracted file (a .txt file is its own text layer).
    kept = sorted((bot.settings.index_dir / "texts").glob("*.json"))
    assert len(kept) == 4
    assert {p.name.split("-v")[0] for p in kept} == {s.sha256 for s in bot.sources() if s.format != "txt"}
    for info in bot.sources():
        layer = bot.text_layer(info.source)
        assert layer.text == file_text(info.source, folder) and layer.sha256 == info.sha256
        for p in bot.context(info.source, 1, around=50):
            assert layer.text[p.start : p.end] == p.text


def test_filters_narrow_the_articles_asked_and_an_empty_one_says_what_there_is(mixed):
    from qa.types import Filter, QuestionError

    bot, folder = mixed
    question = "What did Lavrov blame the US for?"
    persia = bot.ask(question, only=Filter(("persia digest",)))
    check_provenance(persia, folder)
    assert {c.source for c in persia.citations} == {"000_7e31dd43b6b198f1.html"}
    dated = bot.search(
        "Pompeo and Putin talks", k=10, only=Filter(published_from="2019-05-14", published_to="2019-05-14")
    )
    assert dated and {p.source for p in dated} == {"002_fab38d7c02004fe4.docx"}
    everything = bot.search("Pompeo and Putin talks", k=10)
    assert len({p.source for p in everything}) > 1
    with pytest.raises(
        QuestionError, match=r"No article is from Reuters .*outlets: Persia Digest.*published 2019-05-13 to"
    ):
        bot.ask(question, only=Filter(("Reuters",)))
    answer = bot.ask("Where did Pompeo meet Putin?")
    for c in [*answer.support, *(s for a in answer.alternatives for s in a.support)]:
        assert c.published == {"html": "2019-05-13", "docx": "2019-05-14"}.get(c.source.rsplit(".", 1)[1], "")
