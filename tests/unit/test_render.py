"""How answers read (chips, reading panel, Markdown export) and the feedback
file: pure logic on hand-made answers, no model."""

from __future__ import annotations

import json
import re
import threading
from pathlib import Path

import pytest

from qa.corpus.articles import parse_article
from qa.serving import feedback
from qa.serving.feedback import Feedback, FeedbackError, Rating, Reason
from qa.serving.render import conversation_markdown, corpus_table_html, format_answer, reading_html, reply_markdown
from qa.types import Alternative, Answer, Candidate, Citation, Location, Paragraph, SourceInfo

ARTICLE = "Talks in Sochi\n\nPompeo met Putin in Sochi on Tuesday.\n\nThey spoke for an hour.\n"
TEXT = "Pompeo met Putin in Sochi on Tuesday."
START = ARTICLE.index(TEXT)
ARTICLES = {
    "a.txt": SourceInfo("a.txt", "Talks in Sochi", 3, "0" * 64, "Reuters", "2026-11-27T06:00:00+00:00"),
    "b.txt": SourceInfo("b.txt", 'Evil <img src=x onerror="alert(1)"> [link](http://x)', 2, "1" * 64),
}


def _cite(source: str, text: str = TEXT, answer: str | None = "Sochi", paragraph: int = 2) -> Citation:
    a = text.index(answer) if answer else None
    return Citation(source, paragraph, START, START + len(text), text, a, a + len(answer) if answer else None, 0.8)


def _answer() -> Answer:
    top = _cite("a.txt")
    related = _cite("b.txt", "An <b>unrelated</b> paragraph.", None, paragraph=1)
    return Answer("Where did they meet?", "Sochi", True, 0.9, TEXT, (top, related), (top,))


def test_chips_carry_headline_outlet_file_and_paragraph_and_open_their_citation():
    reply = reply_markdown(_answer(), turn=3, articles=ARTICLES)
    assert "[\\[1\\] Talks in Sochi — Reuters · a.txt ¶2](#cite-3-1)" in reply
    sources_line, related_line = reply.splitlines()[-3], reply.splitlines()[-1]
    assert sources_line.startswith("Sources: ") and "#cite-3-1" in sources_line and "#cite-3-2" not in sources_line
    assert related_line.startswith("Related, not used for the answer: ") and "#cite-3-2" in related_line


def test_headlines_in_chips_are_text_not_markup():
    reply = reply_markdown(_answer(), turn=1, articles=ARTICLES)
    chip = re.search(r"\[\\\[2\\\].*?\]\(#cite-1-2\)", reply).group()
    assert "<img" not in chip and "&lt;img" in chip and "\\[link\\]" in chip


def test_unanswered_questions_offer_related_reading_chips():
    answer = Answer("Who?", "", False, 0.1, "", (_cite("a.txt", answer=None),))
    reply = reply_markdown(answer, turn=2, articles=ARTICLES)
    assert reply.startswith("The articles do not answer this question.")
    assert "Related reading: [\\[1\\] Talks in Sochi — Reuters · a.txt ¶2](#cite-2-1)" in reply


def _declined_with_candidate() -> Answer:
    related = _cite("b.txt", "An unrelated paragraph.", None, paragraph=1)
    return Answer("Where?", "", False, 0.31, "", (related,), candidate=Candidate("Sochi", 0.31, (_cite("a.txt"),)))


def test_a_declined_answer_offers_the_closest_the_articles_come_in_the_chat():
    reply = reply_markdown(_declined_with_candidate(), turn=2, articles=ARTICLES)
    first, _, said, _, related = reply.splitlines()
    assert first == "The articles may not answer this. The closest they come: *Sochi* (31%) [\\[1\\]](#cite-2-1)"
    assert said == "Where it is said: [\\[1\\] Talks in Sochi — Reuters · a.txt ¶2](#cite-2-1)"
    assert related.startswith("Related reading: ") and "#cite-2-2" in related


def test_a_declined_answer_offers_its_candidate_in_the_terminal_panel_and_export():
    answer = _declined_with_candidate()
    text = format_answer(answer, ARTICLES).splitlines()
    assert text[0] == "The articles may not answer this. The closest they come: Sochi (31%) [1]"
    assert text[2].startswith("[1] a.txt ¶2") and not text[2].endswith("(related)")
    assert text[3].startswith("[2] b.txt ¶1") and text[3].endswith("(related)")
    panel = reading_html(answer, 2, 1, [], ARTICLES)
    assert "The closest the articles come: “Sochi”, which may not answer the question" in panel
    assert "<mark>Sochi</mark>" in panel
    export = conversation_markdown([answer], ARTICLES)
    assert "The articles may not answer this. The closest they come: Sochi (31%)" in export
    assert "“Sochi” at characters" in export and "(related, not used for the answer)" in export


def test_a_declined_answer_without_a_candidate_says_so_plainly():
    answer = Answer("Who?", "", False, 0.05, "", (_cite("a.txt", answer=None),))
    assert answer.to_dict()["candidate"] is None
    assert format_answer(answer, ARTICLES).startswith("The articles do not answer this question. Related passages:")


def test_sources_differ_links_each_claim_to_its_citations():
    wire, daily = _cite("a.txt"), _cite("b.txt", "The talks were in Vienna.", "Vienna", 1)
    answer = Answer("Where?", "Sochi", True, 0.6, TEXT, (wire, daily), (wire,), (Alternative("Vienna", 0.3, (daily,)),))
    reply = reply_markdown(answer, turn=1, articles=ARTICLES)
    assert "- **Sochi** — 1 article [\\[1\\]](#cite-1-1) (60%)" in reply
    assert "- **Vienna** — 1 article [\\[2\\]](#cite-1-2) (30%)" in reply


def test_reading_panel_marks_the_answer_dims_neighbours_and_escapes_everything():
    context = [
        Paragraph("a.txt", 1, 0, 14, "Talks in <Sochi>"),
        Paragraph("a.txt", 2, START, START + len(TEXT), TEXT),
        Paragraph("a.txt", 3, 0, 0, "They spoke for an hour."),
    ]
    top = Citation("a.txt", 2, START, START + len(TEXT), TEXT, 20, 25, 0.8, (Location("b.txt", 1, 0, 10),))
    answer = Answer("Where did they meet?", "Sochi", True, 0.9, TEXT, (top, _answer().citations[1]), (top,))
    panel = reading_html(answer, 4, 1, context, ARTICLES)
    assert "Pompeo met Putin in <mark>Sochi</mark> on Tuesday." in panel
    assert panel.count('class="context"') == 2 and "Talks in &lt;Sochi&gt;" in panel
    assert "Answer 4" in panel and 'href="#cite-4-2"' in panel and "aria-current" in panel
    assert "Reuters · a.txt ¶2 · characters" in panel and "retrieval score 0.80" in panel
    assert "Gives the answer “Sochi”" in panel
    assert "Also reported in: Evil &lt;img" in panel and "<img" not in panel
    related = reading_html(answer, 4, 2, [], ARTICLES)
    assert "Related passage: not used for the answer" in related and "An &lt;b&gt;unrelated" in related
    assert "has no citation [9]" in reading_html(answer, 4, 9, [], ARTICLES)


def test_export_gives_every_citation_with_offsets_that_slice_the_file(tmp_path: Path):
    (tmp_path / "a.txt").write_text(ARTICLE, "utf-8")
    answer = _answer()
    markdown = conversation_markdown([answer, answer], ARTICLES)
    assert markdown.startswith("# News QA conversation") and "## 2. Where did they meet?" in markdown
    line = next(s for s in markdown.splitlines() if s.startswith("**[1]"))
    m = re.search(r"characters (\d+)–(\d+); “Sochi” at characters (\d+)–(\d+)", line)
    text = (tmp_path / "a.txt").read_bytes().decode("utf-8")
    assert text[int(m[1]) : int(m[2])] == TEXT and text[int(m[3]) : int(m[4])] == "Sochi"
    assert f"> {TEXT}" in markdown
    assert "(related, not used for the answer)" in markdown and "An &lt;b&gt;unrelated&lt;/b&gt; paragraph." in markdown


def test_terminal_output_names_the_headline():
    assert "[1] a.txt ¶2 (characters" in format_answer(_answer(), ARTICLES)
    assert "Talks in Sochi — Reuters" in format_answer(_answer(), ARTICLES)


@pytest.mark.parametrize(
    ("lead", "outlet", "title"),
    [
        ("(Persia Digest) - Mike Pompeo is to meet Putin.", "Persia Digest", "Mike Pompeo is to meet Putin."),
        ("LONDON (Reuters) - Talks began.", "Reuters", "Talks began."),
        ("WASHINGTON, May 10 (AP) — Talks began.", "AP", "Talks began."),
        ("Talks began (in Sochi) - as planned.", "", "Talks began (in Sochi) - as planned."),
        ("Pompeo (left) met Putin.", "", "Pompeo (left) met Putin."),
    ],
)
def test_a_dateline_names_the_outlet_and_stays_out_of_the_title(lead: str, outlet: str, title: str):
    article = parse_article(f"{lead}\n\nMore text here.\n".encode(), "x.txt")
    assert (article.outlet, article.title) == (outlet, title)
    assert article.paragraphs[0].text == lead  # the text itself is untouched


def test_feedback_lines_hold_the_answer_and_nothing_about_the_reader(tmp_path: Path):
    feedback.record(tmp_path, Feedback(Rating.DOWN, Reason.WRONG_SOURCE, _answer()))
    feedback.record(tmp_path, Feedback(Rating.UP, None, _answer()))
    down, up = feedback.read(tmp_path)
    assert down["rating"] == "down" and down["reason"] == "wrong source" and up["reason"] is None
    assert set(down) == {"time", "rating", "reason", "question", "answer", "answerable", "confidence", "citations"}
    assert down["citations"][0] == {
        "source": "a.txt",
        "paragraph": 2,
        "start": START,
        "end": START + len(TEXT),
        "text": TEXT,
    }
    assert Reason.from_label("Should have said it does not know") is Reason.SHOULD_NOT_KNOW
    assert Reason.from_label("Something else") is None


def test_feedback_lines_stay_whole_under_concurrent_writers_and_stop_at_the_limit(tmp_path: Path):
    def write() -> None:
        for _ in range(50):
            feedback.record(tmp_path, Feedback(Rating.UP, None, _answer()))

    threads = [threading.Thread(target=write) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    lines = (tmp_path / feedback.FILE_NAME).read_text("utf-8").splitlines()
    assert len(lines) == 400 and all(json.loads(line)["rating"] == "up" for line in lines)
    size = (tmp_path / feedback.FILE_NAME).stat().st_size
    with pytest.raises(FeedbackError, match="limit"):
        feedback.record(tmp_path, Feedback(Rating.UP, None, _answer()), max_bytes=size + 10)
    assert (tmp_path / feedback.FILE_NAME).stat().st_size == size


def test_the_corpus_table_puts_the_headline_first_and_escapes_it():
    table = corpus_table_html(list(ARTICLES.values()))
    assert re.findall(r"<th[^>]*>(\w+)</th>", table) == ["Headline", "File", "Paragraphs", "Added"]
    assert '<td class="headline" data-label="Headline">Talks in Sochi<div class="outlet">Reuters</div></td>' in table
    assert "2026-11-27 06:00 UTC" in table
    assert "<img" not in table and "Evil &lt;img" in table


def test_the_corpus_table_shows_the_newest_articles_first_and_says_what_it_leaves_out():
    listed = [
        SourceInfo(f"{i:03d}.txt", f"Story {i}", 1, "0" * 64, "", f"2026-11-{i % 28 + 1:02d}T00:00:00+00:00")
        for i in range(30)
    ]
    table = corpus_table_html(listed, limit=10)
    assert table.count("<tr>") == 11  # the header and ten articles
    assert table.index("027.txt") < table.index("026.txt")  # added on the 28th, then the 27th
    assert "The 10 most recently added of 30 articles" in table


def test_the_articles_tab_lists_the_files_it_could_not_read_with_their_reasons():
    from qa.serving.render import status_markdown

    status = {"model": "m", "dimension": 384, "articles": 2, "paragraphs": 9, "built_at": "2026-12-07T06:00:00+00:00"}
    assert "could not be read" not in status_markdown(status)
    skipped = [{"source": f"scan_{i}.pdf", "reason": "is a PDF with no text layer"} for i in range(22)]
    text = status_markdown(status | {"skipped": skipped})
    assert "22 file(s) in the folder could not be read" in text
    assert "**scan\\_0.pdf**: is a PDF with no text layer" in text and "and 2 more" in text
