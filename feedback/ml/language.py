"""Language detection without downloads: Unicode script first, then a function-word and letter profile.

Chinese, Japanese, Korean, Cyrillic, Arabic, Greek, Hebrew and Thai are decided by script. Latin text is
scored against short built-in profiles (the most frequent function words and the letters with diacritics
that only one of the candidate languages uses) for Portuguese, English, Spanish, French, German and Italian.
Mixed or empty text gives ``"und"`` (undetermined).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

UNDETERMINED = "und"


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


_FUNCTION_WORDS: dict[str, frozenset[str]] = {
    "pt": _words(
        "o a os as um uma de do da dos das em no na nos nas por para com não nao que é e foi muito mas "
        "meu minha ele ela eu você voce produto chegou entrega prazo está esta bem bom ótimo otimo ainda "
        "recebi comprei já ja até ate sem mais também tambem pelo pela isso esse essa veio loja recomendo "
        "pedido antes dentro qualidade certo gostei"
    ),
    "en": _words(
        "the a an and is are was were it this that to of in for on with not no but my i you he she they "
        "very good great bad product item arrived delivery would will have has had be been do does did "
        "what which who so at as by from just like love works work recommend don't didn't it's i'm"
    ),
    "es": _words(
        "el la los las un una de del en por para con no que es y fue muy pero mi yo usted producto llegó "
        "llego entrega está esta bien bueno también tambien pedido hasta sin más ya lo le se"
    ),
    "fr": _words(
        "le la les un une de des du en pour avec ne pas que est et était très mais mon ma je vous il elle "
        "produit livraison arrivé bien bon aussi commande sans plus déjà au aux ce cette qui"
    ),
    "de": _words(
        "der die das ein eine und ist war sehr aber mein ich sie er nicht mit für von zu auf den dem des "
        "produkt lieferung gut auch bestellung ohne noch schon es wir"
    ),
    "it": _words(
        "il lo la gli le un una di del della in per con non che è e era molto ma mio io lei prodotto "
        "consegna arrivato bene buono anche ordine senza più già"
    ),
}
_DISTINCT_LETTERS: dict[str, str] = {"pt": "ãõç", "es": "ñ¿¡", "fr": "èêëîûœ", "de": "äöüß", "it": "ì"}
_WORD = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)?", re.UNICODE)


def _script(char: str) -> str | None:
    code = ord(char)
    if 0x4E00 <= code <= 0x9FFF or 0x3400 <= code <= 0x4DBF or 0xF900 <= code <= 0xFAFF:
        return "han"
    if 0x3040 <= code <= 0x30FF:
        return "kana"
    if 0xAC00 <= code <= 0xD7AF or 0x1100 <= code <= 0x11FF:
        return "hangul"
    if 0x0400 <= code <= 0x04FF:
        return "cyrillic"
    if 0x0600 <= code <= 0x06FF:
        return "arabic"
    if 0x0370 <= code <= 0x03FF:
        return "greek"
    if 0x0590 <= code <= 0x05FF:
        return "hebrew"
    if 0x0E00 <= code <= 0x0E7F:
        return "thai"
    if char.isalpha():
        return "latin"
    return None


_SCRIPT_LANGUAGE = {"hangul": "ko", "cyrillic": "ru", "arabic": "ar", "greek": "el", "hebrew": "he", "thai": "th"}


@dataclass(frozen=True)
class LanguageGuess:
    """A detected language code and how sure the detector is (0-1)."""

    language: str
    confidence: float


def detect_language(text: str | None, *, default: str = UNDETERMINED) -> LanguageGuess:
    """Guess the language of ``text``: ISO 639-1 code (``pt``, ``zh``, ``en``, ...) or ``default``."""
    if not text or not text.strip():
        return LanguageGuess(default, 0.0)
    text = unicodedata.normalize("NFC", text)
    counts: dict[str, int] = {}
    for char in text:
        script = _script(char)
        if script:
            counts[script] = counts.get(script, 0) + 1
    total = sum(counts.values())
    if not total:
        return LanguageGuess(default, 0.0)
    # Japanese mixes kanji with kana; any real share of kana decides it.
    if counts.get("kana", 0) >= max(2, 0.1 * total):
        return LanguageGuess("ja", counts["kana"] / total + counts.get("han", 0) / total)
    script, count = max(counts.items(), key=lambda item: item[1])
    if counts.get("han", 0) >= 0.3 * total or script == "han":
        return LanguageGuess("zh", min(1.0, (counts.get("han", 0) + counts.get("kana", 0)) / total + 0.3))
    if script in _SCRIPT_LANGUAGE:
        return LanguageGuess(_SCRIPT_LANGUAGE[script], count / total)
    return _detect_latin(text.lower(), default=default)


def _detect_latin(text: str, *, default: str) -> LanguageGuess:
    words = _WORD.findall(text)
    scores = {lang: 0.0 for lang in _FUNCTION_WORDS}
    for word in words:
        for lang, vocabulary in _FUNCTION_WORDS.items():
            if word in vocabulary:
                scores[lang] += 1.0
    for lang, letters in _DISTINCT_LETTERS.items():
        scores[lang] += 1.5 * sum(text.count(letter) for letter in letters)
    ranked = sorted(scores.items(), key=lambda item: item[1], reverse=True)
    (best, best_score), (_, second_score) = ranked[0], ranked[1]
    if best_score <= 0:
        return LanguageGuess(default, 0.0)
    confidence = (best_score - second_score + 1.0) / (best_score + 1.0)
    return LanguageGuess(best, round(min(1.0, confidence), 3))


def detect_languages(texts: list[str], *, default: str = UNDETERMINED) -> list[str]:
    return [detect_language(text, default=default).language for text in texts]
