"""Cited, extractive question answering over a folder of news articles."""

from qa.pipeline import QAPipeline
from qa.settings import Settings
from qa.types import Answer, Citation, Location, Passage, QuestionError, SourceInfo

__all__ = ["Answer", "Citation", "Location", "Passage", "QAPipeline", "QuestionError", "Settings", "SourceInfo"]
__version__ = "0.1.0"
