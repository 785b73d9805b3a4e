"""What the kiosk's voice reads: phone numbers, hours, dates and acronyms rewritten in words per
language before espeak-ng, checked as text and as espeak-ng's own phonemes (``-x``, no audio)."""

from __future__ import annotations

import hashlib
import os
import subprocess
import wave

import pytest

from orientation import speech, speech_text
from orientation.speech_text import normalise

TABLE = [
    # Phone numbers: digit by digit, in the groups written, "+" said.
    ("fr", "Appelez le 0800 12 870.", "Appelez le zéro huit zéro zéro, un deux, huit sept zéro."),
    ("fr", "+32 2 519 84 41",
     "plus trois deux, deux, cinq un neuf, huit quatre, quatre un"),
    ("fr", "02/519.84.41", "zéro deux, cinq un neuf, huit quatre, quatre un"),
    ("fr", "025198441", "zéro deux cinq, un neuf, huit quatre, quatre un"),
    ("nl", "Bel 0800 12 870", "Bel nul acht nul nul, een twee, acht zeven nul"),
    ("en", "Call +32 2 519 84 41",
     "Call plus three two, two, five one nine, eight four, four one"),
    ("ar", "اتصل بالرقم 0800 12 870",
     "اتصل بالرقم صفر ثمانية صفر صفر، واحد اثنان، ثمانية سبعة صفر"),
    ("ar", "٠٨٠٠ ١٢ ٨٧٠", "صفر ثمانية صفر صفر، واحد اثنان، ثمانية سبعة صفر"),
    # Numbers that are not phone numbers stay numbers (espeak reads them well).
    ("fr", "1000 Bruxelles, 12 places, en 2026", "1000 Bruxelles, 12 places, en 2026"),
    ("fr", "Le 107 répond", "Le 107 répond"),
    # Hours.
    ("fr", "9 h 30", "neuf heures trente"),
    ("fr", "de 8 h 30 à 12 h", "de huit heures trente à douze heures"),
    ("fr", "à 1 h, 9h05 ou 21 h", "à une heure, neuf heures cinq ou vingt et une heures"),
    ("fr", "13:45", "treize heures quarante-cinq"),
    ("fr", "Ouvert 24h/24 et 7j/7", "Ouvert vingt-quatre heures sur vingt-quatre et sept jours sur sept"),
    ("fr", "0 h", "minuit"),
    ("nl", "van 9.30 uur tot 12 uur", "van negen uur dertig tot twaalf uur"),
    ("nl", "om 9:00 of 14:25", "om negen uur of veertien uur vijfentwintig"),
    ("nl", "om 13:22", "om dertien uur tweeëntwintig"),
    ("en", "from 9:30 to 12:00, or 9:05", "from nine thirty to twelve o'clock, or nine oh five"),
    ("ar", "الساعة 9:30", "الساعة التاسعة وثلاثون دقيقة"),
    ("ar", "من 14:00 إلى 18:30",
     "من الساعة الثانية بعد الظهر إلى الساعة السادسة وثلاثون دقيقة مساءً"),
    # Dates.
    ("fr", "lundi 7 décembre", "lundi sept décembre"),
    ("fr", "le 1er mars", "le premier mars"),
    ("fr", "le 21/12/2026", "le vingt et un décembre 2026"),
    ("nl", "maandag 7 december", "maandag zeven december"),
    ("en", "Monday 7 December", "Monday the seventh of December"),
    ("en", "on 21/12/2026", "on the twenty-first of December 2026"),
    # Acronyms from the lexicon, with each language's letter names.
    ("fr", "Allez au CPAS.", "Allez au cé pé a èss."),
    ("fr", "ONEM, CAPAC, BAJ, AIS", "onème, capac, bé a ji, a i èss"),
    ("fr", "SPF, EPN, SISP, SLRB", "èss pé èf, e pé ène, sisp, èss èl èr bé"),
    ("nl", "Ga naar het OCMW of het CPAS", "Ga naar het oo cee em wee of het cee pee aa es"),
    ("en", "Go to the CPAS", "Go to the see pee ay ess"),
    ("ar", "اذهب إلى CPAS", "اذهب إلى سي بي آ إس"),
    # Not in the lexicon: spelled when it has no vowel, else left as written.
    ("fr", "la SNCB et la STOP", "la èss ène cé bé et la STOP"),
    # Words that only contain capitals inside longer words are not acronyms.
    ("fr", "Bruxelles-CPAS et CPASS", "Bruxelles-CPAS et CPASS"),
]


@pytest.mark.parametrize(("lang", "text", "expected"), TABLE)
def test_normalise_table(lang, text, expected):
    assert normalise(text, lang) == expected


def test_every_lexicon_entry_has_the_four_languages():
    words = speech_text.lexicon()
    for word in words["fr"]:
        missing = [lang for lang in speech_text.LANGS if word not in words[lang]]
        assert not missing, f"{word} has no pronunciation in {missing}"
    assert {"CPAS", "ONEM", "CAPAC", "BAJ", "AIS", "SPF", "EPN", "SISP", "SLRB"} <= set(words["fr"])


def test_an_edited_lexicon_is_heard_without_a_restart(tmp_path):
    path = tmp_path / "lexicon.yaml"
    path.write_text("CPAS: {fr: centre public}\n", encoding="utf-8")
    assert normalise("le CPAS", "fr", lexicon_path=path) == "le centre public"
    path.write_text("CPAS: {fr: cé pé a èss}\nXYZW: iks\n", encoding="utf-8")
    os.utime(path, (1, 2))  # a distinct mtime even within the same clock tick
    assert normalise("le CPAS XYZW", "fr", lexicon_path=path) == "le cé pé a èss iks"


# --- What espeak-ng really says -------------------------------------------------------------

def _phonemes(text: str, lang: str) -> str:
    result = subprocess.run(["espeak-ng", "-q", "-x", "-v", speech.VOICES[lang], "--", text],
                            capture_output=True, text=True, check=True, timeout=30)
    return " ".join(result.stdout.split())


@pytest.mark.parametrize(("lang", "written", "words"), [
    ("fr", "0800 12 870", "zéro huit zéro zéro, un deux, huit sept zéro"),
    ("fr", "9 h 30", "neuf heures trente"),
    ("fr", "CPAS", "cé pé a èss"),
    ("fr", "ONEM", "onème"),
    ("nl", "0800 12 870", "nul acht nul nul, een twee, acht zeven nul"),
    ("nl", "OCMW", "oo cee em wee"),
    ("en", "CPAS", "see pee ay ess"),
    ("ar", "0800 12 870", "صفر ثمانية صفر صفر، واحد اثنان، ثمانية سبعة صفر"),
])
def test_espeak_says_numbers_and_acronyms_as_words(lang, written, words):
    said = _phonemes(normalise(written, lang), lang)
    assert said == _phonemes(words, lang)
    # …and not what espeak-ng makes of the raw text ("huit cents", "kpa", an English "onem").
    assert said != _phonemes(written, lang)


def test_espeak_reads_a_free_number_digit_by_digit_not_in_thousands():
    raw, read = _phonemes("0800 12 870", "fr"), _phonemes(normalise("0800 12 870", "fr"), "fr")
    # Raw, espeak-ng joins "12 870" into "douze mille huit cent soixante-dix".
    assert "m'il" in raw and "sA~" in raw
    assert "m'il" not in read and "sA~" not in read
    assert read.count("zer'o") == 4 and read.count("y'i") == 2


def test_acronyms_never_switch_to_an_english_voice_in_french():
    assert "(en)" in _phonemes("ONEM", "fr")
    assert "(en)" not in _phonemes(normalise("Inscrivez-vous à l'ONEM", "fr"), "fr")
    assert "(en)" not in _phonemes(normalise("اذهب إلى CPAS", "ar"), "ar")


def test_the_audio_cache_is_keyed_on_the_normalised_text(tmp_path):
    cache = tmp_path / "speech"
    # Audio cached before normalisation existed, under the raw text's key: never served again.
    voice = speech.VOICES["fr"]
    old_key = hashlib.sha256(f"{voice}\n{speech.RATE}\n0800 12 870".encode()).hexdigest()
    old = cache / voice / old_key[:2] / f"{old_key}.wav"
    old.parent.mkdir(parents=True)
    with wave.open(str(old), "wb") as out:
        out.setparams((1, 2, 22050, 0, "NONE", "not compressed"))
        out.writeframes(b"\0\0" * 10)
    audio = speech.speak([("fr", "0800 12 870")], cache)
    assert len(audio) > 10_000  # real speech, not the 10 silent frames of the old file
    files = [p for p in cache.rglob("*.wav") if p != old]
    assert len(files) == 1
    normalised = "zéro huit zéro zéro, un deux, huit sept zéro"
    new_key = hashlib.sha256(f"{voice}\n{speech.RATE}\n{normalised}".encode()).hexdigest()
    assert files[0].name == f"{new_key}.wav"

