"""How the app's named endpoints fail: with a message the caller can read."""

from __future__ import annotations

import functools
import inspect
import logging
import math
from collections.abc import Callable
from typing import Any

import gradio as gr
import pydantic

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


class Page(gr.Blocks):
    """The app's Blocks, whose named endpoints say what they take when a call
    sends too few values or a value of the wrong shape (Gradio's own messages
    name its internals: "Check if the event handler calls a Javascript function")."""

    def validate_inputs(self, block_fn: Any, inputs: list[Any]) -> None:
        if len(inputs) < len(block_fn.inputs):
            raise gr.Error(
                f"{_endpoint(block_fn)} takes {len(block_fn.inputs)} values, {_parameters(block_fn)}; "
                f"{len(inputs)} {'was' if len(inputs) == 1 else 'were'} sent. gradio_client fills in the defaults; "
                'a raw call sends every value: {"data": [...]}.'
            )
        super().validate_inputs(block_fn, inputs)

    async def preprocess_data(self, block_fn: Any, inputs: list[Any], state: Any, explicit_call: bool = False):
        try:
            return await super().preprocess_data(block_fn, inputs, state, explicit_call)
        except pydantic.ValidationError as err:
            if "File" in err.title:
                raise gr.Error(
                    f"{_endpoint(block_fn)}: files are sent as a list of files uploaded first to "
                    '/gradio_api/upload, each {"path": <the path it returned>, "meta": {"_type": '
                    '"gradio.FileData"}} (gradio_client\'s handle_file does this).'
                ) from None
            first = err.errors()[0] if err.errors() else {}
            raise gr.Error(
                f"{_endpoint(block_fn)} takes {_parameters(block_fn)}; a value sent is not valid: "
                f"{first.get('msg', 'invalid')}."
            ) from None


def _endpoint(block_fn: Any) -> str:
    return f"/{block_fn.api_name}" if getattr(block_fn, "api_name", None) else "This event"


def _parameters(block_fn: Any) -> str:
    """``files, replace (default False), token (default '')`` from the handler's signature."""
    try:
        params = [
            p
            for p in inspect.signature(block_fn.fn).parameters.values()
            if p.name not in ("self", "request", "progress")
        ][: len(block_fn.inputs)]
    except (TypeError, ValueError):
        return f"{len(block_fn.inputs)} values"
    return ", ".join(p.name if p.default is p.empty else f"{p.name} (default {p.default!r})" for p in params)
