"""How an answer reads, in the terminal and in the chat: one module for both.

An answer says what it is and how many independent articles report it
("Sochi — reported by 4 articles"), or, when articles disagree, "Sources
differ:" with each answer and its sources. Citations are numbered once:
first the articles behind the answer, then those behind each alternative,
then related passages that hold no answer.
"""

from __future__ import annotations

import html
import re
import textwrap
from dataclasses import dataclass

from qa.types import Answer, Citation


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
    for alternative in answer.alternatives:
        ordered += [(c, alternative.answer) for c in alternative.support]
    seen = {(c.source, c.paragraph) for c, _ in ordered}
    ordered += [(c, "") for c in answer.citations if (c.source, c.paragraph) not in seen]
    return [Source(i, c, backs) for i, (c, backs) in enumerate(ordered, 1)]


def articles(count: int) -> str:
    return f"{count} article" if count == 1 else f"{count} articles"


def headline(answer: Answer) -> str:
    """One line a reader takes in at a glance."""
    if not answer.answerable:
        return "The articles do not answer this question."
    if answer.alternatives:
        return "Sources differ:"
    return f"{answer.answer} — reported by {articles(max(len(answer.support), 1))}"


def _claims(answer: Answer, numbered: list[Source]) -> list[tuple[str, int, float, list[int]]]:
    """(answer, articles, confidence, citation numbers) for the answer and each alternative."""
    claims = [(answer.answer, max(len(answer.support), 1), answer.confidence)]
    claims += [(a.answer, len(a.support), a.confidence) for a in answer.alternatives]
    return [(text, n, p, [s.number for s in numbered if s.backs == text]) for text, n, p in claims]


def format_answer(answer: Answer) -> str:
    """The answer as plain text, for the terminal."""
    numbered = sources(answer)
    out = []
    if not answer.answerable:
        out += [headline(answer) + " Related passages:"]
    elif answer.alternatives:
        out.append(headline(answer))
        for text, n, p, refs in _claims(answer, numbered):
            out.append(f"  {text} — {articles(n)} {_refs(refs)} (confidence {p:.2f})")
        out.append(textwrap.fill(f"“{answer.sentence}”", width=100))
    else:
        out.append(f"Answer: {headline(answer)}   (confidence {answer.confidence:.2f})")
        out.append(textwrap.fill(f"“{answer.sentence}”", width=100))
    out.append("")
    for s in numbered:
        c = s.citation
        line = f"[{s.number}] {c.source} ¶{c.paragraph} (characters {c.start}–{c.end})"
        if c.also_in:
            line += "; also in " + ", ".join(f"{loc.source} ¶{loc.paragraph}" for loc in c.also_in)
        if answer.answerable and not s.backs:
            line += "  (related)"
        out.append(line)
    return "\n".join(out)


def reply_markdown(answer: Answer) -> str:
    """The chat reply: the answer, its sentence with the answer marked, the
    articles that report it and the citations. Article text is escaped: it is
    shown as text, never run or rendered as Markdown."""
    numbered = sources(answer)
    if not answer.answerable:
        lines = [headline(answer), "", "Related reading:"]
        lines += [f"{s.number}. {ref(s.citation)}" for s in numbered]
        return "\n".join(lines)
    top = answer.citations[0]
    sentence_start = top.text.index(answer.sentence) if answer.sentence in top.text else 0
    a, b = top.answer_start - sentence_start, top.answer_end - sentence_start
    s = answer.sentence
    marked = f"{escape_md(s[:a])}<mark>{escape_md(s[a:b])}</mark>{escape_md(s[b:])}"
    if answer.alternatives:
        lines = [f"**{headline(answer)}**", ""]
        lines += [
            f"- **{escape_md(text)}** — {articles(n)} {_refs(refs)} ({p:.0%})"
            for text, n, p, refs in _claims(answer, numbered)
        ]
        lines += ["", f"> {marked}", ""]
    else:
        short = answer.answer != answer.sentence  # a sentence answer is shown once, as the quote
        count = max(len(answer.support), 1)
        lines = [
            *([f"**{escape_md(answer.answer)}** — reported by {articles(count)}", ""] if short else []),
            f"> {marked}",
            "",
            f"Confidence: {answer.confidence:.0%}",
            "",
        ]
    for source in numbered:
        if not source.backs:
            continue
        lines.append(f"[{source.number}] {ref(source.citation)}")
        if source.citation.also_in:
            copies = ", ".join(f"{escape_md(loc.source)} ¶{loc.paragraph}" for loc in source.citation.also_in)
            lines.append(f"    also reported in {copies}")
    return "\n".join(lines)


def _refs(numbers: list[int]) -> str:
    return "".join(f"[{n}]" for n in numbers)


def ref(c: Citation) -> str:
    return f"{escape_md(c.source)} ¶{c.paragraph} (characters {c.start}–{c.end})"


_MARKDOWN_SPECIAL = re.compile(r"([\\`*_\[\]|~])")


def escape_md(text: str) -> str:
    """Article text shown as text: no HTML, no Markdown links or emphasis."""
    return _MARKDOWN_SPECIAL.sub(r"\\\1", html.escape(text, quote=False))
