"""The app: a Gradio chat over the articles, mounted on the JSON API's FastAPI app (one port).

    python app.py [--host 127.0.0.1] [--port 7860] [--corpus corpus] [--index index]

Gradio's named endpoints (for gradio_client; see the app's "Use via API" page):
    /ask      (question, history=[]) -> the answer object
    /search   (query, k=5)           -> passages
    /sources  ()                     -> indexed articles
    /chat     the chat itself
    /upload   (files, replace=False, token="") -> what was added
    /remove   (source, token="")     -> what was removed

Plain JSON routes, one request per call (qa/serving/api.py; documented at /docs):
    POST /api/ask  {"question": ..., "history": [...]}  -> the answer object
    GET  /api/search?q=...&k=5                          -> passages
    GET  /api/sources                                   -> indexed articles

Where things are:
    server.py        main(): settings, the pipeline, both apps on one port
    layout.py        the page (gr.Blocks) and which event calls which handler
    conversation.py  the chat tab's handlers and /ask, /search: answers, citations, feedback, export
    articles.py      the Articles tab's handlers and /sources, /upload, /remove: adding and removing articles
    uploads.py       the file input that takes only files Gradio's upload route received
    errors.py        failures as messages the caller can read; k checked
    page.py          the page's text, scripts and stylesheet (app.css)

Everything about finding and reading answers lives in the ``qa`` library; this
package only presents it.
"""
