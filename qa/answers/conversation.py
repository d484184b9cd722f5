"""Conversations: earlier turns as messages, and follow-up questions made to stand alone.

"When did he arrive?" after "Who visited Whelan in jail?" borrows the last
question and its answer for the search, and its pronouns are replaced by the
name or thing the last turn was about before the reader reads it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from qa.types import Message, QuestionError

# Words that point back to an earlier turn of the conversation.
_BACK_REFERENCE = re.compile(
    r"\b(?:he|she|him|her|his|hers|they|them|their|it|its|this|that|these|those|there|then|the same)\b", re.I
)


_CONTENT_WORD = re.compile(r"\b[A-Za-z][a-z]{3,}\b|\b[A-Z][A-Za-z]+\b|\d+")

# A conversation's earlier turns: only the last exchange is read, so these are
# generous; they keep a client from making the server hold megabytes per call.
MAX_TURNS = 50

MAX_TURN_CHARS = 20_000


def as_messages(history: Sequence[Message | dict[str, Any]]) -> list[Message]:
    """Earlier chat turns, checked: a list of at most ``MAX_TURNS`` turns of
    at most ``MAX_TURN_CHARS`` characters each (a chat's non-text turns, such
    as files, are skipped)."""
    if not isinstance(history, list | tuple):
        raise QuestionError('history must be a list of turns: [{"role": "user" or "assistant", "content": text}].')
    if len(history) > MAX_TURNS:
        raise QuestionError(f"history has {len(history):,} turns; the limit is {MAX_TURNS}.")
    messages = []
    for turn in history:
        if isinstance(turn, Message):
            messages.append(turn)
            continue
        if not isinstance(turn, dict) or turn.get("role") not in ("user", "assistant"):
            raise QuestionError('Each history turn must be {"role": "user" or "assistant", "content": text}.')
        content = turn.get("content")
        if isinstance(content, str):
            if len(content) > MAX_TURN_CHARS:
                raise QuestionError(
                    f"A history turn is {len(content):,} characters long; the limit is {MAX_TURN_CHARS:,}."
                )
            messages.append(Message(turn["role"], content))
    return messages


def conversation_context(question: str, history: Sequence[Message]) -> str:
    """Earlier turns worth adding to a follow-up question's search.

    A question that points back ("When did he arrive?") or is too short to
    stand alone borrows the last user question and the answer it got.
    """
    if not history:
        return ""
    if not _BACK_REFERENCE.search(question) and len(_CONTENT_WORD.findall(question)) > 3:
        return ""
    last_user, last_answer = _last_turn(history)
    return f"{last_user} {last_answer[:300]}".strip()


def retrieval_query(question: str, context: str) -> str:
    """What the retrievers search for: the question, after any earlier turn it needs."""
    return f"{context} {question}".strip()


def _last_turn(history: Sequence[Message]) -> tuple[str, str]:
    """The last user question and the first line of the last answer (a chat
    reply may carry citations after it)."""
    last_user = next((m.content for m in reversed(history) if m.role == "user"), "")
    last_answer = next((m.content for m in reversed(history) if m.role == "assistant"), "")
    return last_user, last_answer.strip().split("\n", 1)[0]


_PRONOUN = re.compile(r"\b(?:he|she|him|her|they|them)\b", re.I)

_NAME_ANSWER = re.compile(r"[A-Z][\w’'.\-]*(?:\s+[A-Z][\w’'.\-]*){0,4}")

# Capitalised runs after the first word (which is capitalised anyway).
_NAME = re.compile(r"(?<!^)\b[A-Z][\w’'.\-]*(?:\s+[A-Z][\w’'.\-]*)*")

_THING = re.compile(r"\b(it|its)\b", re.I)

# A noun phrase opened by "the": names and numbers ("the G20", "the New Start"),
# then at most two lower-case words ("summit", "foreign minister"), never one
# of the words that end a noun phrase in a question (auxiliaries,
# prepositions, common verbs).
_THE_PHRASE = re.compile(r"\bthe((?:\s+[A-Z0-9][\w’'\-]*)*)((?:\s+[a-z][\w’'\-]*){0,2})")

_NOT_IN_PHRASE = frozenset(
    "be been being is are was were will would shall should can could may might must do does did has have had "
    "of in on at to for with from by about between against over under into after before during since until "
    "and or but that which who whom whose where when why how than as if "
    "take took taken make made hold held happen happened begin began start started end ended meet met "
    "say said go went come came expire expired get got give gave".split()
)


def _the_phrase(question: str) -> str | None:
    """The first noun phrase opened by "the" in ``question`` ("the G20
    summit" in "Where will the G20 summit be held?"), if any."""
    for match in _THE_PHRASE.finditer(question):
        names = match.group(1)
        heads = []
        for word in match.group(2).split():
            if word in _NOT_IN_PHRASE:
                break
            heads.append(word)
        if names or heads:
            return " ".join(["the", *names.split(), *heads])
    return None


def standalone_question(question: str, history: Sequence[Message]) -> str:
    """The question with its first pronoun replaced by what the conversation
    was about. A personal pronoun ("he") names the person: the last answer
    if it is a name ("Michael Calvey"), else the last name in the previous
    question ("Paul Whelan"). "it" and "its" name the thing the previous
    question was about: its first noun phrase opened by "the" ("the G20
    summit"). Without a clear referent the question is returned unchanged."""
    if not history:
        return question
    last_user, last_answer = _last_turn(history)
    if _PRONOUN.search(question):
        if _NAME_ANSWER.fullmatch(last_answer):
            referent = last_answer
        else:
            names = _NAME.findall(last_user)
            if not names:
                return question
            referent = names[-1]
        return _PRONOUN.sub(referent, question, count=1)
    thing = _THING.search(question)
    referent = _the_phrase(last_user) if thing else None
    if referent is None:
        return question
    if thing.group(1).lower() == "its":
        referent += "’s" if "’" in question else "'s"
    return question[: thing.start()] + referent + question[thing.end() :]
