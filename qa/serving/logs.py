"""Logging shared by the app, the command line and the training scripts."""

from __future__ import annotations

import logging

# Libraries that log routine work (each model load, request or index step) at
# INFO: left alone, their lines bury the messages a user needs to see.
NOISY_LIBRARIES = ("httpx", "bm25s", "sentence_transformers", "transformers", "faiss")


def quiet_libraries(level: int, *also: str) -> None:
    """Show only messages at ``level`` or above from the noisy libraries (and from the loggers named in ``also``)."""
    for name in (*NOISY_LIBRARIES, *also):
        logging.getLogger(name).setLevel(level)
