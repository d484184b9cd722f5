"""Starts the app: the chat over the articles and its JSON API, on one port.

    python app.py [--host 127.0.0.1] [--port 7860] [--corpus corpus] [--index index] [--model MODEL]

The app lives in qa/serving/chat/; its package docstring lists the endpoints
and which module holds what.
"""

import os

# Set before gradio and huggingface_hub are imported: they read these once, at import.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

from qa.serving.chat.server import main

if __name__ == "__main__":
    main()
