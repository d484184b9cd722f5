"""How an answer reads, in the terminal and in the chat: one module for both.

An answer says what it is and how many independent articles report it
("Sochi — reported by 4 articles"), or, when articles disagree, "Sources
differ:" with each answer and its sources. Citations are numbered once:
first the articles behind the answer, then those behind each alternative,
then related passages that hold no answer.
"""

from __future__ import annotations

import datetime as dt
import html
import os
import re
import textwrap
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from qa.types import Answer, Citation, Paragraph, SourceInfo


@dataclass(frozen=True)
class Source:
    """A numbered citation and the answer it backs ("" for related reading)."""

    number: int
    citation: Citation
    backs: str


def sources(answer: Answer) -> list[Source]:
    """Every citation of ``answer`` once, numbered in reading order."""
    ordered: list[tuple[Citation, str]] = []
    if answer.answerable:
        ordered += [(c, answer.answer) for c in answer.support or answer.citations[:1]]
    elif answer.candidate:
        ordered += [(c, answer.candidate.answer) for c in answer.candidate.citations]
    for alternative in answer.alternatives:
        ordered += [(c, alternative.answer) for c in alternative.support]
    seen = {(c.source, c.paragraph) for c, _ in ordered}
    ordered += [(c, "") for c in answer.citations if (c.source, c.paragraph) not in seen]
    return [Source(i, c, backs) for i, (c, backs) in enumerate(ordered, 1)]


def articles_count(count: int) -> str:
    return f"{count} article" if count == 1 else f"{count} articles"


def headline(answer: Answer) -> str:
    """One line a reader takes in at a glance."""
    if not answer.answerable:
        if answer.candidate:
            return f"The articles may not answer this. The closest they come: {_candidate(answer)}"
        return "The articles do not answer this question."
    if answer.alternatives:
        return "Sources differ:"
    return f"{answer.answer} — reported by {articles_count(max(len(answer.support), 1))}"


def _candidate(answer: Answer, text: str | None = None) -> str:
    """The candidate and its probability: "Sochi (31%)"."""
    return f"{answer.candidate.answer if text is None else text} ({answer.candidate.confidence:.0%})"


def _claims(answer: Answer, numbered: list[Source]) -> list[tuple[str, int, float, list[int]]]:
    """(answer, articles, confidence, citation numbers) for the answer and each alternative."""
    claims = [(answer.answer, max(len(answer.support), 1), answer.confidence)]
    claims += [(a.answer, len(a.support), a.confidence) for a in answer.alternatives]
    return [(text, n, p, [s.number for s in numbered if s.backs == text]) for text, n, p in claims]


def format_answer(answer: Answer, articles: Mapping[str, SourceInfo] | None = None) -> str:
    """The answer as plain text, for the terminal."""
    numbered = sources(answer)
    out = []
    if not answer.answerable:
        refs = _refs([s.number for s in numbered if s.backs])
        out += [f"{headline(answer)} {refs}".rstrip() + (" Related passages:" if not answer.candidate else "")]
    elif answer.alternatives:
        out.append(headline(answer))
        for text, n, p, refs in _claims(answer, numbered):
            out.append(f"  {text} — {articles_count(n)} {_refs(refs)} (confidence {p:.2f})")
        out.append(textwrap.fill(f"“{answer.sentence}”", width=100))
    else:
        out.append(f"Answer: {headline(answer)}   (confidence {answer.confidence:.2f})")
        out.append(textwrap.fill(f"“{answer.sentence}”", width=100))
    out.append("")
    for s in numbered:
        c = s.citation
        line = f"[{s.number}] {place(c)} (characters {c.start}–{c.end})"
        if title := " · ".join(filter(None, [article_label(c.source, articles), *byline_of(c.source, articles)])):
            line += f"  {title}"
        if c.also_in:
            line += "; also in " + ", ".join(f"{loc.source} ¶{loc.paragraph}" for loc in c.also_in)
        if (answer.answerable or answer.candidate) and not s.backs:
            line += "  (related)"
        out.append(line)
    return "\n".join(out)


def article_label(source: str, articles: Mapping[str, SourceInfo] | None, limit: int = 0) -> str:
    """ "Headline — Outlet" for an article ("" if unknown); headlines over
    ``limit`` characters (when given) are cut at a word."""
    info = (articles or {}).get(source)
    if info is None:
        return ""
    title = info.title
    if limit and len(title) > limit:
        title = title[:limit].rsplit(" ", 1)[0].rstrip(" ,;:—-…") + " …"
    return f"{title} — {info.outlet}" if info.outlet else title


def place(c: Citation) -> str:
    """Where a citation stands: its file, page (PDF) and paragraph."""
    return f"{c.source}{f' p. {c.page}' if c.page else ''} ¶{c.paragraph}"


def byline(info: SourceInfo | None) -> list[str]:
    """An article's outlet, author and publication date, those it has."""
    if info is None:
        return []
    return [v for v in (info.outlet, f"by {info.author}" if info.author else "", info.published) if v]


def chip(turn: int, source: Source, articles: Mapping[str, SourceInfo] | None) -> str:
    """A Markdown link that opens citation ``source.number`` of answer ``turn``
    in the reading panel (the app turns ``#cite-T-N`` links into that)."""
    c = source.citation
    label = article_label(c.source, articles, limit=70)
    where = place(c)
    text = f"[{source.number}] {label} · {where}" if label else f"[{source.number}] {where}"
    return f"[{escape_md(text)}](#cite-{turn}-{source.number})"


def reply_markdown(answer: Answer, turn: int = 1, articles: Mapping[str, SourceInfo] | None = None) -> str:
    """The chat reply to the ``turn``-th question: the answer, its sentence with
    the answer marked, and a chip for each source (the articles behind the
    answer first, related passages apart). Article text is escaped: it is shown
    as text, never run or rendered as Markdown."""
    numbered = sources(answer)
    used = [s for s in numbered if s.backs]
    related = [s for s in numbered if not s.backs]
    if not answer.answerable:
        lines = [headline(answer), ""]
        if answer.candidate:
            closest = _candidate(answer, f"*{escape_md(answer.candidate.answer)}*")
            lines = [
                f"The articles may not answer this. The closest they come: {closest} "
                + _links(turn, [s.number for s in used]),
                "",
            ]
            lines += ["Where it is said: " + " ".join(chip(turn, s, articles) for s in used), ""]
        if related:
            lines.append("Related reading: " + " ".join(chip(turn, s, articles) for s in related))
        return "\n".join(lines).rstrip()
    top = answer.citations[0]
    sentence_start = top.text.index(answer.sentence) if answer.sentence in top.text else 0
    a, b = top.answer_start - sentence_start, top.answer_end - sentence_start
    s = answer.sentence
    marked = f"{escape_md(s[:a])}<mark>{escape_md(s[a:b])}</mark>{escape_md(s[b:])}"
    if answer.alternatives:
        lines = [f"**{headline(answer)}**", ""]
        lines += [
            f"- **{escape_md(text)}** — {articles_count(n)} {_links(turn, refs)} ({p:.0%})"
            for text, n, p, refs in _claims(answer, numbered)
        ]
        lines += ["", f"> {marked}", ""]
    else:
        short = answer.answer != answer.sentence  # a sentence answer is shown once, as the quote
        count = max(len(answer.support), 1)
        lines = [
            *([f"**{escape_md(answer.answer)}** — reported by {articles_count(count)}", ""] if short else []),
            f"> {marked}",
            "",
            f"Confidence: {answer.confidence:.0%}",
            "",
        ]
    lines.append("Sources: " + " ".join(chip(turn, s, articles) for s in used))
    if related:
        lines += ["", "Related, not used for the answer: " + " ".join(chip(turn, s, articles) for s in related)]
    return "\n".join(lines)


def reading_html(
    answer: Answer,
    turn: int,
    number: int,
    context: Sequence[Paragraph],
    articles: Mapping[str, SourceInfo] | None = None,
) -> str:
    """Citation ``number`` of answer ``turn`` in context, for the reading
    panel: its paragraph with the answer marked, the neighbouring paragraphs
    dimmed, its scores and syndicated copies, and links to the answer's other
    citations. All article text is escaped: it is shown, never run."""
    numbered = sources(answer)
    source = next((s for s in numbered if s.number == number), None)
    if source is None:
        return f"<p>Answer {turn} has no citation [{number}].</p>"
    c = source.citation
    nav = " ".join(
        f'<a href="#cite-{turn}-{s.number}" class="chip{" current" if s.number == number else ""}"'
        f"{' aria-current=true' if s.number == number else ''}>[{s.number}]</a>"
        for s in numbered
    )
    info = (articles or {}).get(c.source)
    title = html.escape(info.title if info else c.source)
    meta = [html.escape(v) for v in byline(info)]
    meta += [
        html.escape(place(c)),
        f"characters {c.start}–{c.end}",
        f"retrieval score {c.score:.2f}",
    ]
    if source.backs and not answer.answerable:
        role = f"The closest the articles come: “{html.escape(source.backs)}”, which may not answer the question"
    elif source.backs:
        role = f"Gives the answer “{html.escape(source.backs)}”"
    elif answer.answerable:
        role = "Related passage: not used for the answer"
    else:
        role = "Related passage: the articles do not answer this question"
    body = []
    around = [p for p in context if p.source == c.source]
    if not any(p.paragraph == c.paragraph for p in around):
        around = []  # the index changed since the answer: show the quote alone
    for p in around or [None]:
        if p is not None and p.paragraph != c.paragraph:
            body.append(f'<p class="context">{html.escape(p.text)}</p>')
        elif c.answer_start is not None:
            body.append(
                '<p class="cited">'
                + html.escape(c.text[: c.answer_start])
                + f"<mark>{html.escape(c.text[c.answer_start : c.answer_end])}</mark>"
                + html.escape(c.text[c.answer_end :])
                + "</p>"
            )
        else:
            body.append(f'<p class="cited">{html.escape(c.text)}</p>')
    also = ""
    if c.also_in:
        copies = "; ".join(
            html.escape(f"{article_label(loc.source, articles) or loc.source} · {loc.source} ¶{loc.paragraph}")
            for loc in c.also_in
        )
        also = f'<p class="also">Also reported in: {copies}</p>'
    question = html.escape(answer.question)
    return (
        f'<div class="reading" tabindex="-1" data-cite="{turn}-{number}">'
        f'<p class="nav">Answer {turn} (“{question}”): {nav}</p>'
        f"<h3>[{number}] {title}</h3>"
        f'<p class="meta">{" · ".join(meta)}</p>'
        f'<p class="role">{role}</p>'
        f'<div class="passage">{"".join(body)}</div>{also}{_address(c)}'
        '<p class="back"><a href="#chat">Back to the chat</a></p></div>'
    )


def _address(c: Citation) -> str:
    """The article's address, as text (a link would leave the app, and the page may be gone)."""
    return f'<p class="address">Published at {html.escape(c.url)}</p>' if c.url else ""


def conversation_markdown(answers: Sequence[Answer], articles: Mapping[str, SourceInfo] | None = None) -> str:
    """A conversation as a Markdown document: each question, its answer and
    every citation with file, paragraph, character range and quote."""
    out = ["# News QA conversation", ""]
    for turn, answer in enumerate(answers, 1):
        out += [f"## {turn}. {_md_line(answer.question)}", ""]
        if not answer.answerable:
            out += [_md_line(headline(answer)), ""]
        elif answer.alternatives:
            out += [headline(answer), ""]
            out += [
                f"- **{_md_line(text)}** — {articles_count(n)} {_refs(refs)} (confidence {p:.0%})"
                for text, n, p, refs in _claims(answer, sources(answer))
            ]
            out += ["", f"> {_md_line(answer.sentence)}", ""]
        else:
            count = max(len(answer.support), 1)
            out += [
                f"**{_md_line(answer.answer)}** — reported by {articles_count(count)} "
                f"(confidence {answer.confidence:.0%})",
                "",
                f"> {_md_line(answer.sentence)}",
                "",
            ]
        for s in sources(answer):
            c = s.citation
            label = _md_line(
                " · ".join([article_label(c.source, articles) or c.source, *byline_of(c.source, articles)])
            )
            page = f" p. {c.page}" if c.page else ""
            line = f"**[{s.number}] {label}** — `{c.source}`{page} ¶{c.paragraph}, characters {c.start}–{c.end}"
            if c.answer_start is not None and s.backs:
                line += f"; “{_md_line(s.backs)}” at characters {c.start + c.answer_start}–{c.start + c.answer_end}"
            elif not s.backs:
                line += " (related, not used for the answer)"
            out += [line, "", f"> {_md_line(c.text)}", ""]
            if c.url:
                out += [f"Published at <{c.url}>", ""]
    return "\n".join(out).rstrip() + "\n"


def byline_of(source: str, articles: Mapping[str, SourceInfo] | None) -> list[str]:
    """The author and date of an article, those it has (its outlet is in its label)."""
    info = (articles or {}).get(source)
    return [v for v in (f"by {info.author}" if info and info.author else "", info.published if info else "") if v]


def corpus_table_html(listed: Sequence[SourceInfo], limit: int = 500) -> str:
    """The indexed articles, headline first, the most recently added first;
    on a phone each row becomes a card (CSS), so nothing needs sideways
    scrolling. Past ``limit`` rows the table says how many it leaves out: a
    page is no place for an archive's every article. Titles are article
    text: escaped."""
    newest = sorted(listed, key=lambda s: (s.added, s.source), reverse=True)
    rows = []
    for s in newest[:limit]:
        about = " · ".join(byline(s))
        outlet = f'<div class="outlet">{html.escape(about)}</div>' if about else ""
        rows.append(
            "<tr>"
            f'<td class="headline" data-label="Headline">{html.escape(s.title)}{outlet}</td>'
            f'<td class="file" data-label="File">{html.escape(s.source)}</td>'
            f'<td class="count" data-label="Paragraphs">{s.paragraphs}</td>'
            f'<td class="added" data-label="Added">{html.escape(when(s.added))}</td>'
            "</tr>"
        )
    return (
        '<table class="corpus-table"><colgroup><col class="headline"><col class="file"><col class="count">'
        '<col class="added"></colgroup><thead><tr><th scope="col">Headline</th><th scope="col">File</th>'
        '<th scope="col">Paragraphs</th><th scope="col">Added</th></tr></thead>'
        f"<tbody>{''.join(rows)}</tbody></table>"
        + (
            f'<p class="more">The {limit:,} most recently added of {len(listed):,} articles; '
            "<code>qa sources</code> lists them all.</p>"
            if len(listed) > limit
            else ""
        )
    )


def status_markdown(status: Mapping[str, Any]) -> str:
    """The index's state (``QAPipeline.status()``) as the app's Articles tab heads it."""
    model = Path(status["model"]).name if os.sep in status["model"] else status["model"]
    text = (
        f"**{status['articles']} articles, {status['paragraphs']} paragraphs** indexed  \n"
        f"Model: `{model}` ({status['dimension']} dimensions)  \nBuilt: {when(status['built_at'])}"
    )
    skipped = status.get("skipped") or []
    if skipped:  # files in the folder that could not be read: each with its reason, a few at most
        shown = [f"- **{escape_md(s['source'])}**: {escape_md(s['reason'])}" for s in skipped[:20]]
        more = [f"- and {len(skipped) - 20} more (`qa index` lists them all)"] if len(skipped) > 20 else []
        text += f"\n\n⚠️ {len(skipped)} file(s) in the folder could not be read:\n\n" + "\n".join(shown + more)
    return text


def when(stamp: str) -> str:
    """An ISO time from the index as "2026-11-27 06:56 UTC"."""
    try:
        return f"{dt.datetime.fromisoformat(stamp).astimezone(dt.UTC):%Y-%m-%d %H:%M} UTC"
    except (TypeError, ValueError):
        return stamp or ""


def _md_line(text: str) -> str:
    """Text on one Markdown line, its special characters escaped."""
    return escape_md(" ".join(text.split()))


def _refs(numbers: list[int]) -> str:
    return "".join(f"[{n}]" for n in numbers)


def _links(turn: int, numbers: list[int]) -> str:
    return "".join(f"[\\[{n}\\]](#cite-{turn}-{n})" for n in numbers)


_MARKDOWN_SPECIAL = re.compile(r"([\\`*_\[\]|~])")


def escape_md(text: str) -> str:
    """Article text shown as text: no HTML, no Markdown links or emphasis."""
    return _MARKDOWN_SPECIAL.sub(r"\\\1", html.escape(text, quote=False))
