"""Sentiment of a customer's English text (VADER's lexicon, shipped in its wheel), gated by
language detection (langdetect's profiles, shipped in its package; seeded, so deterministic).
Text in another language, or too short to tell, has no sentiment: VADER would misread it."""

import functools

from langdetect import DetectorFactory, LangDetectException, detect_langs

DetectorFactory.seed = 0
MIN_WORDS = 4
MIN_ENGLISH_PROBABILITY = 0.8
# A compound score at or below this reads as an upset customer (VADER's own bands are ±0.05).
UPSET = -0.5


@functools.cache
def _analyzer():
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    return SentimentIntensityAnalyzer()


def is_english(text: str) -> bool:
    if len(text.split()) < MIN_WORDS:
        return False
    try:
        best = detect_langs(text)[0]
    except LangDetectException:
        return False
    return best.lang == "en" and best.prob >= MIN_ENGLISH_PROBABILITY


def compound(text: str) -> float | None:
    """VADER's compound score (−1 … 1) of English text, else None."""
    if not is_english(text):
        return None
    return float(_analyzer().polarity_scores(text)["compound"])
