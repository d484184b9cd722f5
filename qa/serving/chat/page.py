"""The page's fixed text, its scripts and its stylesheet."""

from __future__ import annotations

from pathlib import Path

CSS = Path(__file__).with_name("app.css")  # chips, the reading panel, the corpus table

EXAMPLES = [
    "Which treaty did the US pull out of in February?",
    "Who founded Baring Vostok?",
    "What was Paul Whelan accused of?",
    "Who is the UK foreign secretary?",
]

TITLE = "News QA: cited answers from your articles"
INTRODUCTION = (
    "# News QA\nAsk about the articles in the corpus. Every answer is copied verbatim from an "
    "article and cites the file, paragraph and characters it came from. Click a citation chip "
    "to read the passage in its article."
)
READING_HINT = (
    '<p class="hint">Click a citation chip such as <strong>[1]</strong> in an answer to read the passage here, '
    "in its article, with the answer highlighted.</p>"
)

# Citation chips are ordinary links ("#cite-T-N"): focusable, and opened with a
# click, a tap or Enter. This page script sends their target to the server.
PAGE_JS = """
() => {
  document.addEventListener('click', (event) => {
    const link = event.target.closest('a[href^="#cite-"]');
    if (!link) return;
    event.preventDefault();
    event.stopPropagation();
    window.__qaCitation = link.getAttribute('href').slice('#cite-'.length);
    document.getElementById('open-citation').click();
  }, true);
}
"""
OPEN_CITATION_JS = "(ref, answers) => [window.__qaCitation || '', answers]"
# The opened passage gets the focus (keyboard and screen-reader users land on
# it) and is scrolled to: on a phone the panel sits below the chat.
SHOW_PANEL_JS = """
() => {
  const panel = document.querySelector('#reading-panel .reading');
  if (panel) { panel.scrollIntoView({block: 'start', behavior: 'smooth'}); panel.focus({preventScroll: true}); }
}
"""
