"""The chat as a person uses it: a real headless Chromium against the real app,
at desktop width (1400×1000) and phone width (390×844). Screenshots go to
test-artifacts/."""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from gradio_client import handle_file
from helpers import ROOT

playwright_api = pytest.importorskip("playwright.sync_api")
expect = playwright_api.expect

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARTIFACTS = ROOT / "test-artifacts"
DESKTOP = {"width": 1400, "height": 1000}
PHONE = {"width": 390, "height": 844}
# Debian's Chromium, headless, kept off the network (this machine has none).
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]
LAVROV_HEADLINE = "Pompeo to Meet With Putin, Lavrov Amid Tensions"


@pytest.fixture(scope="module")
def browser(app_server) -> Iterator:
    if not Path(CHROMIUM).exists():
        pytest.fail("Chromium is not installed: run `make browser` (Debian package chromium)")
    with playwright_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


def _open(browser, app_server, viewport: dict) -> object:
    page = browser.new_page(viewport=viewport, accept_downloads=True)
    page.dialogs = []
    page.on("dialog", lambda dialog: (page.dialogs.append(dialog.message), dialog.dismiss()))
    page.goto(app_server.url, wait_until="load")
    page.locator("#question textarea").wait_for(timeout=60_000)
    return page


@pytest.fixture(params=["desktop", "phone"])
def page(request, browser, app_server) -> Iterator:
    """A fresh page (a new conversation) at desktop and at phone width."""
    page = _open(browser, app_server, {"desktop": DESKTOP, "phone": PHONE}[request.param])
    page.width_name = request.param
    yield page
    page.close()


@pytest.fixture
def phone(browser, app_server) -> Iterator:
    page = _open(browser, app_server, PHONE)
    yield page
    page.close()


def _ask(page, question: str) -> None:
    """Ask in the chat and wait for the reply (the app clears the box when it answers)."""
    box = page.locator("#question textarea")
    box.fill(question)
    box.press("Enter")
    expect(box).to_have_value("", timeout=60_000)


def _shot(page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    prefix = getattr(page, "width_name", "phone")
    page.screenshot(path=str(ARTIFACTS / f"{prefix}-{name}"), full_page=True)


def test_chips_name_the_articles_and_open_any_answers_citation(page):
    expect(page.get_by_text("Which treaty did the US pull out of in February?").first).to_be_visible()  # examples
    chat, panel = page.locator("#chat"), page.locator("#reading-panel")

    _ask(page, "Who is the Russian foreign minister?")
    expect(chat.locator("mark").last).to_contain_text("Lavrov", timeout=60_000)
    # One chip per article that gives the answer, each with its headline, file and paragraph.
    # (Their order follows the reader's scores, so each is found by its file.)
    chips = chat.locator('a[href^="#cite-1-"]')
    expect(chips.filter(has_text="001_2ba139ad32a30a4e.txt ¶2")).to_have_text(
        re.compile(rf"\[\d\] {re.escape(LAVROV_HEADLINE)} · 001_2ba139ad32a30a4e\.txt ¶2")
    )
    expect(chips.filter(has_text="004_eef2673d1aa29b10.txt ¶4")).to_have_count(1)
    expect(chat).to_contain_text("reported by 4 articles")
    expect(chat).to_contain_text("Related, not used for the answer")

    _ask(page, "What was Paul Whelan accused of?")
    expect(chat.locator("mark").last).to_have_text("espionage", timeout=60_000)
    expect(chat.locator("blockquote").last).to_contain_text("Whelan was accused of espionage, a charge he denies.")
    # The new answer's first citation opens by itself, in its article.
    expect(panel).to_contain_text("Answer 2")
    expect(panel.locator(".cited mark")).to_have_text("espionage")
    expect(panel.locator(".cited")).to_contain_text("He is due to be kept in pre-trial detention")
    expect(panel.locator(".context")).to_have_count(4)  # two paragraphs either side, dimmed

    _ask(page, "Who visited him in jail?")
    expect(chat).to_contain_text("Jon Huntsman", timeout=60_000)
    expect(chat.locator("mark").last).to_contain_text("Jon Huntsman")

    # Citation [2] of the first answer, two answers later.
    chip = chat.locator('a[href="#cite-1-2"]')
    headline, where = chip.inner_text().strip().rsplit(" · ", 1)  # "[2] Headline", "file.txt ¶n"
    chip.click()
    expect(panel).to_contain_text("Answer 1 (“Who is the Russian foreign minister?”)")
    expect(panel.locator("h3")).to_contain_text(headline.rstrip(" …")[:40])
    expect(panel).to_contain_text(where)
    expect(panel).to_contain_text("retrieval score")
    expect(panel.locator(".role")).to_have_text(re.compile("Gives the answer “Serge[iy] Lavrov”"))
    expect(panel.locator(".cited mark")).to_have_text(re.compile("Serge[iy] Lavrov"))  # in that article's words
    expect(panel.locator(".context").first).to_be_visible()
    _shot(page, "reading-panel.png")

    # With the keyboard: a chip is a link; Enter opens it and the passage takes the focus.
    chat.locator('a[href="#cite-2-1"]').focus()
    page.keyboard.press("Enter")
    expect(panel).to_contain_text("Answer 2 (“What was Paul Whelan accused of?”)")
    expect(page.locator("#reading-panel .reading")).to_be_focused()
    # The panel's own chips move between the answer's citations.
    panel.locator('a[href="#cite-2-2"]').click()
    expect(panel.locator("a.chip.current")).to_have_text("[2]")
    _shot(page, "chat.png")


def test_syndicated_copies_are_named_in_the_reading_panel(page):
    _ask(page, "Which syndicated paragraph mentions Jeremy Hunt worrying about a conflict by accident?")
    panel = page.locator("#reading-panel")
    expect(panel).to_contain_text("Also reported in:", timeout=60_000)
    # 000 republishes 002: whichever copy is cited, the other is named, with its headline.
    expect(panel.locator(".also")).to_contain_text(re.compile(r"(000_7e31dd43b6b198f1|002_fab38d7c02004fe4)\.txt ¶"))


def test_article_html_is_shown_as_text_never_run(page):
    _ask(page, "What did investigators say the page contained according to the newsroom?")
    panel = page.locator("#reading-panel")
    expect(panel).to_contain_text("005_xss.txt", timeout=60_000)
    expect(panel).to_contain_text('<script>window.__xss = 1; alert("xss")</script>')
    expect(panel).to_contain_text('<img src=x onerror="window.__xss = 2; alert(1)">')
    # Its headline carries HTML too: text in the chips, the panel and the corpus table.
    headline = 'Hackers target <img src=x onerror="window.__xss = 3"> newsroom'
    expect(page.locator("#chat")).to_contain_text(headline)
    expect(panel.locator("h3")).to_contain_text(headline)
    page.get_by_role("tab", name="Articles").click()
    expect(page.locator("#corpus")).to_contain_text(headline)
    page.wait_for_timeout(500)
    assert page.evaluate("typeof window.__xss") == "undefined"
    assert page.dialogs == []
    assert page.locator("#reading-panel img, #corpus img, #chat img[src='x']").count() == 0
    _shot(page, "html-shown-as-text.png")


def test_thumbs_down_with_a_reason_lands_in_the_feedback_file(page, app_server):
    _ask(page, "What was Paul Whelan accused of?")
    chat = page.locator("#chat")
    expect(chat.locator("mark").last).to_have_text("espionage", timeout=60_000)
    chat.get_by_role("button", name="Dislike").last.click()
    chat.get_by_role("button", name="Feedback").last.click()
    chat.get_by_text("Wrong source").click()
    feedback_file = app_server.index / "feedback.jsonl"
    expect(page.get_by_text("your feedback was saved").first).to_be_visible(timeout=30_000)
    lines = [json.loads(line) for line in feedback_file.read_text("utf-8").splitlines()]
    last = lines[-1]
    assert last["rating"] == "down" and last["reason"] == "wrong source"
    assert last["question"] == "What was Paul Whelan accused of?" and last["answer"] == "espionage"
    assert last["citations"][0]["source"] == "001_2ba139ad32a30a4e.txt" and last["citations"][0]["paragraph"] == 13
    assert set(last) == {"time", "rating", "reason", "question", "answer", "answerable", "confidence", "citations"}
    assert [(line["rating"], line["reason"]) for line in lines[-2:]] == [("down", None), ("down", "wrong source")]
    _shot(page, "feedback.png")


def test_the_conversation_exports_as_markdown_with_its_citations(page):
    _ask(page, "What was Paul Whelan accused of?")
    _ask(page, "Who is the Russian foreign minister?")
    expect(page.locator("#chat mark").last).to_contain_text("Lavrov", timeout=60_000)
    export = page.locator("#export")
    expect(export).to_be_enabled()
    with page.expect_download() as download:
        export.click()
    text = Path(download.value.path()).read_text("utf-8")
    assert download.value.suggested_filename.endswith(".md")
    assert "## 1. What was Paul Whelan accused of?" in text and "## 2. Who is the Russian foreign minister?" in text
    assert "**espionage** — reported by 1 article" in text
    assert (
        f"**[1] {LAVROV_HEADLINE}** — `001_2ba139ad32a30a4e.txt` ¶13, characters 2077–2221; "
        "“espionage” at characters 2099–2108"
    ) in text
    assert "> Whelan was accused of espionage, a charge he denies." in text
    assert "`004_eef2673d1aa29b10.txt` ¶4" in text


def test_remove_an_article_from_the_corpus_panel(page, client, app_server, tmp_path: Path):
    name, headline = f"010_glacier_{page.width_name}.txt", f"Glacier survey finds record retreat ({page.width_name})"
    article = tmp_path / name
    article.write_text(f"{headline}\n\nThe Vatnajokull glacier retreated 300 metres last year, surveyors said.\n")
    client.predict([handle_file(str(article))], api_name="/upload")
    page.reload()
    page.locator("#question textarea").wait_for(timeout=60_000)
    _ask(page, "How far did the Vatnajokull glacier retreat last year?")
    expect(page.locator("#chat")).to_contain_text(name, timeout=60_000)

    page.get_by_role("tab", name="Articles").click()
    table = page.locator("#corpus")
    expect(table.locator("tr", has_text=headline)).to_contain_text(name)
    expect(table.locator("th")).to_have_text(["Headline", "File", "Paragraphs", "Added"])
    page.locator("#remove-choice input").click()
    page.get_by_role("option", name=f"{headline} ({name})").click()
    page.locator("#remove").click()
    confirm = page.locator("#confirm-remove")
    expect(confirm).to_contain_text(f"Remove {name}")
    _shot(page, "remove-confirm.png")
    page.locator("#do-remove").click()
    expect(page.locator("#remove-result")).to_contain_text("1 removed", timeout=60_000)
    expect(confirm).to_be_hidden()
    expect(table).not_to_contain_text(headline)
    assert not (app_server.corpus / name).exists()
    _shot(page, "articles.png")

    _ask(page, "How far did the Vatnajokull glacier retreat last year?")
    expect(page.locator("#chat .message-row").last).not_to_contain_text(name)


def test_an_upload_of_a_taken_name_asks_before_replacing(page, client, app_server, tmp_path: Path):
    name = f"011_ferry_{page.width_name}.txt"
    old, new = tmp_path / "old" / name, tmp_path / "new" / name
    for path, port in ((old, "Turku"), (new, "Naantali")):
        path.parent.mkdir()
        path.write_text(f"Ferry strike\n\nThe ferry strike began in {port} on Monday.\n")
    client.predict([handle_file(str(old))], api_name="/upload")
    page.get_by_role("tab", name="Articles").click()
    page.locator("#articles input[type=file], input[type=file]").first.set_input_files(str(new))
    page.locator("#add").click()
    expect(page.locator("#upload-result")).to_contain_text(f"{name} is already in the corpus", timeout=60_000)
    expect(page.locator("#confirm-replace")).to_be_visible()
    assert "Turku" in (app_server.corpus / name).read_text()
    page.locator("#do-replace").click()
    expect(page.locator("#upload-result")).to_contain_text("1 changed", timeout=60_000)
    assert "Naantali" in (app_server.corpus / name).read_text()
    expect(page.locator("#confirm-replace")).to_be_hidden()


def test_phone_width_chips_reading_panel_and_table_fit(phone):
    _ask(phone, "Who is the Russian foreign minister?")
    chip = phone.locator('#chat a[href="#cite-1-3"]')
    expect(chip).to_contain_text("003_850cf3de63addd31.txt ¶3", timeout=60_000)
    _shot(phone, "fit-chat.png")
    chip.click()
    reading = phone.locator("#reading-panel .reading")
    expect(reading).to_contain_text("[3] US Secretary of State Pompeo to meet")
    expect(reading.locator("h3")).to_be_in_viewport()  # scrolled to: it sits below the chat
    expect(reading.locator(".cited mark")).to_have_text("Sergey Lavrov")
    _shot(phone, "fit-reading-panel.png")
    phone.get_by_role("tab", name="Articles").click()
    expect(phone.locator("#corpus")).to_contain_text(LAVROV_HEADLINE)
    assert phone.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]  # no sideways scrolling
    _shot(phone, "fit-articles.png")
