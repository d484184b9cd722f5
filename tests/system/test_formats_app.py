"""A folder of every format, served: the JSON API gives each file's metadata and
text layer, a PDF citation names its page, uploads take every format (and say
why a bad file is refused), and in Chromium a PDF citation chip shows its page
and the reading panel the text layer's words."""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from gradio_client import Client, handle_file
from helpers import AppServer, free_port, mixed_corpus, serve_app
from test_browser import CHROMIUM, CHROMIUM_ARGS, DESKTOP, _ask, _shot

playwright_api = pytest.importorskip("playwright.sync_api")
expect = playwright_api.expect

WHELAN = "Who did Ambassador Jon Huntsman visit in a Moscow jail?"


@pytest.fixture(scope="module")
def formats_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AppServer]:
    root = tmp_path_factory.mktemp("formats-app")
    corpus = mixed_corpus(root / "corpus")
    with open(root / "app.log", "w") as log:
        yield from serve_app(root, corpus, free_port(), log)


def test_sources_and_text_layers_over_http(formats_server: AppServer):
    url = formats_server.url
    listed = {s["source"]: s for s in requests.get(f"{url}/api/sources", timeout=30).json()}
    page = listed["000_7e31dd43b6b198f1.html"]
    assert (page["format"], page["outlet"], page["published"]) == ("html", "Persia Digest", "2019-05-13")
    answer = requests.post(f"{url}/api/ask", json={"question": WHELAN}, timeout=60).json()
    assert answer["answer"] == "Whelan"
    for c in [*answer["citations"], *answer["support"]]:
        layer = requests.get(f"{url}/api/articles/{c['source']}/text", timeout=30).json()
        assert layer["text"][c["start"] : c["end"]] == c["text"]
        if c["source"].endswith(".pdf"):
            assert c["page"] == sum(start <= c["start"] + (c["answer_start"] or 0) for start in layer["pages"])
    assert answer["citations"][0]["page"] >= 2
    missing = requests.get(f"{url}/api/articles/nope.pdf/text", timeout=30)
    assert missing.status_code == 404 and "nope.pdf" in missing.json()["error"]
    schema = requests.get(f"{url}/openapi.json", timeout=30).json()
    assert "/api/articles/{source}/text" in schema["paths"]


def test_the_json_api_filters_by_outlet_and_date_and_says_why_it_cannot(formats_server: AppServer):
    url = formats_server.url
    ask = lambda body: requests.post(f"{url}/api/ask", json=body, timeout=60)  # noqa: E731
    only = ask({"question": "What did Lavrov blame the US for?", "outlets": ["Persia Digest"]}).json()
    assert {c["source"] for c in only["citations"]} == {"000_7e31dd43b6b198f1.html"}
    none = ask({"question": "What did Lavrov blame the US for?", "outlets": ["Reuters"]})
    assert none.status_code == 404 and "No article is from Reuters" in none.json()["error"]
    backwards = ask({"question": "Who?", "published_from": "2019-05-20", "published_to": "2019-05-01"})
    assert backwards.status_code == 404 and "is after the second" in backwards.json()["error"]
    bad = ask({"question": "Who?", "published_from": "last week"})
    assert bad.status_code == 422 and "published_from" in bad.json()["error"]
    found = requests.get(
        f"{url}/api/search",
        params={"q": "Pompeo and Putin", "k": 10, "published_from": "2019-05-14", "published_to": "2019-05-14"},
        timeout=60,
    ).json()
    assert found and {p["source"] for p in found} == {"002_fab38d7c02004fe4.docx"}


def test_every_format_uploads_and_a_bad_file_says_why(formats_server: AppServer, tmp_path: Path):
    import docx

    client = Client(formats_server.url, verbose=False)
    document = docx.Document()
    document.add_heading("Lavrov visits Pyongyang", level=1)
    document.add_paragraph("Russian Foreign Minister Sergei Lavrov arrived in Pyongyang on Thursday for talks.")
    good = tmp_path / "010_memo.docx"
    document.save(good)
    bad = tmp_path / "011_scan.pdf"
    bad.write_bytes(_blank_pdf())
    message, _, table = client.predict([handle_file(str(good)), handle_file(str(bad))], api_name="/upload")
    assert "011\\_scan.pdf** was not added: is a PDF with no text layer" in message
    assert "1 added" in message and "010_memo.docx" in str(table)
    answer = requests.post(
        f"{formats_server.url}/api/ask", json={"question": "Where did Lavrov arrive on Thursday?"}, timeout=60
    )
    assert answer.json()["answer"] == "Pyongyang"
    assert not (formats_server.corpus / "011_scan.pdf").exists()


def _blank_pdf() -> bytes:
    import pypdf

    writer = pypdf.PdfWriter()
    writer.add_blank_page(200, 200)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def test_a_pdf_chip_shows_its_page_and_the_panel_the_text_layer(formats_server: AppServer):
    with playwright_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport=DESKTOP)
        page.goto(formats_server.url, wait_until="load")
        page.locator("#question textarea").wait_for(timeout=60_000)
        _ask(page, WHELAN)
        chat, panel = page.locator("#chat"), page.locator("#reading-panel")
        chip = chat.locator('a[href="#cite-1-1"]')
        expect(chip).to_have_text(re.compile(r"001_2ba139ad32a30a4e\.pdf p\. [2-9] ¶\d+"), timeout=60_000)
        chip.click()
        expect(panel.locator(".meta")).to_contain_text("001_2ba139ad32a30a4e.pdf p. ")
        expect(panel.locator("mark")).to_have_text("Whelan")
        expect(panel.locator(".cited")).to_contain_text("Huntsman visited Whelan in a Moscow jail")
        page.width_name = "desktop"
        _shot(page, "pdf-citation.png")
        # The chat's filter: one day's articles only (the Word file's).
        page.locator("#filter").get_by_text("Filter the articles").click()
        for box in ("#filter-from", "#filter-to"):
            page.locator(f"{box} input, {box} textarea").first.fill("2019-05-14")
            page.locator(f"{box} input, {box} textarea").first.press("Tab")
        _ask(page, "Where did Pompeo meet Putin?")
        reply = chat.locator(".message").last
        expect(reply).to_contain_text("Asked only articles published 2019-05-14 to 2019-05-14", timeout=60_000)
        chips = chat.locator('a[href^="#cite-2-"]')
        expect(chips.first).to_be_visible()
        assert all(".docx" in text for text in chips.all_inner_texts())
        _shot(page, "filtered-answer.png")
        browser.close()
