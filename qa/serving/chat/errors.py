"""How the app's named endpoints fail: with a message the caller can read."""

from __future__ import annotations

import functools
import logging
import math
from collections.abc import Callable
from typing import Any

import gradio as gr

from qa.corpus.articles import ArticleError
from qa.types import K_ERROR, QuestionError

log = logging.getLogger("qa.app")


def clear_errors(endpoint: Callable[..., Any]) -> Callable[..., Any]:
    """An endpoint whose every failure reaches the caller as a ``gr.Error``
    with a message (Gradio shows other exceptions as an empty error); an
    unexpected one is logged with its traceback, which the caller never sees."""

    @functools.wraps(endpoint)
    def guarded(*args: Any, **kwargs: Any) -> Any:
        try:
            return endpoint(*args, **kwargs)
        except gr.Error:
            raise
        except (QuestionError, ArticleError) as err:
            raise gr.Error(str(err)) from None
        except Exception:
            log.exception("%s failed", endpoint.__name__)
            raise gr.Error("The server could not answer this request; its log has the details.") from None

    return guarded


def whole_number(k: Any) -> int:
    """``k`` as an int if it is a whole number (5, 5.0, "5"); a QuestionError otherwise."""
    if isinstance(k, str) and k.strip().isdigit():
        return int(k)
    if isinstance(k, float) and math.isfinite(k) and k.is_integer():
        return int(k)
    if isinstance(k, int) and not isinstance(k, bool):
        return k
    raise QuestionError(K_ERROR)
