"""The chat as a person uses it: a real headless Chromium against the real app."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import ROOT

playwright_api = pytest.importorskip("playwright.sync_api")

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARTIFACTS = ROOT / "test-artifacts"
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


@pytest.fixture(scope="module")
def page(app_server) -> Iterator:
    if not Path(CHROMIUM).exists():
        pytest.fail("Chromium is not installed: run `make browser` (Debian package chromium)")
    with playwright_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.dialogs = []
        page.on("dialog", lambda dialog: (page.dialogs.append(dialog.message), dialog.dismiss()))
        page.goto(app_server.url, wait_until="load")
        page.locator("#question textarea").wait_for(timeout=60_000)
        yield page
        browser.close()


def _ask(page, question: str) -> None:
    """Ask in the chat and wait for the reply (the app clears the box when it answers)."""
    box = page.locator("#question textarea")
    box.fill(question)
    box.press("Enter")
    playwright_api.expect(box).to_have_value("", timeout=60_000)


def test_ask_a_question_and_a_follow_up_in_the_browser(page):
    expect = playwright_api.expect
    expect(page.get_by_text("Which treaty did the US pull out of in February?").first).to_be_visible()  # examples
    expect(page.locator("#index-status")).to_contain_text("paragraphs")

    _ask(page, "What was Paul Whelan accused of?")
    chat = page.locator("#chat")
    expect(chat.locator("mark").last).to_have_text("espionage", timeout=60_000)
    expect(chat.locator("blockquote").last).to_contain_text("Whelan was accused of espionage, a charge he denies.")
    expect(chat).to_contain_text("001_2ba139ad32a30a4e.txt ¶13")
    citations = page.locator("#citations")
    expect(citations).to_contain_text("[1] 001_2ba139ad32a30a4e.txt ¶13")
    expect(citations.locator("details[open] mark")).to_have_text("espionage")
    expect(citations.locator("details[open]")).to_contain_text("He is due to be kept in pre-trial detention")

    _ask(page, "Who visited him in jail?")
    expect(chat).to_contain_text("Jon Huntsman", timeout=60_000)
    expect(chat.locator("mark").last).to_contain_text("Jon Huntsman")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "chat-answer.png"), full_page=True)

    _ask(page, "Which syndicated paragraph mentions Jeremy Hunt worrying about a conflict by accident?")
    expect(citations).to_contain_text("Also reported in", timeout=60_000)


def test_article_html_is_shown_as_text_never_run(page):
    expect = playwright_api.expect
    _ask(page, "What did investigators say the page contained according to the newsroom?")
    citations = page.locator("#citations")
    expect(citations).to_contain_text("005_xss.txt", timeout=60_000)
    expect(citations).to_contain_text('<script>window.__xss = 1; alert("xss")</script>')
    expect(citations).to_contain_text('<img src=x onerror="window.__xss = 2; alert(1)">')
    page.wait_for_timeout(500)
    assert page.evaluate("typeof window.__xss") == "undefined"
    assert page.dialogs == []
    assert page.locator("#citations img, #chat img[src='x']").count() == 0
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "html-shown-as-text.png"), full_page=True)
