"""The app's file input: it takes only files that Gradio's upload route received."""

from __future__ import annotations

from pathlib import Path

import gradio as gr

from qa.serving.access import upload_refusal


class UploadedFiles(gr.File):
    """A file input that takes only files Gradio's upload route received.

    Mounted in FastAPI, Gradio copies whatever server path (or URL) an API
    call names into its cache before any handler runs, so a crafted call could
    make the app ingest any file it can read. Each path is checked first."""

    def get_block_name(self) -> str:
        return "file"  # the page draws it as Gradio's own file input

    def _check(self, path: str | Path | None) -> None:
        why = upload_refusal(str(path) if isinstance(path, Path) else path, self.GRADIO_CACHE)
        if path is not None and why:
            raise gr.Error(f"{Path(str(path)).name or 'A file'} was not added: {why}.")

    def move_resource_to_block_cache(self, url_or_file_path: str | Path | None) -> str | None:
        self._check(url_or_file_path)
        return super().move_resource_to_block_cache(url_or_file_path)

    async def async_move_resource_to_block_cache(self, url_or_file_path: str | Path | None) -> str | None:
        self._check(url_or_file_path)
        return await super().async_move_resource_to_block_cache(url_or_file_path)
