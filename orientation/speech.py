"""Speech for the kiosk's audio mode, made offline with espeak-ng.

Headless or locked-down Chromium often has no ``speechSynthesis`` voice, so the server speaks:
``espeak-ng -v fr-be -s 140 -w out.wav "…"`` takes a few milliseconds per sentence. A screen is
spoken as segments, each in its own language (a French service name inside an Arabic screen is
read with the French voice). Each segment is first rewritten into the words its voice should
say (``speech_text.normalise``: phone numbers digit by digit, hours, dates, acronyms from
``seed/speech_lexicon.yaml``); each segment's WAV is cached on disk under a hash of voice and
the text as normalised, so a changed reading is never served from old audio, and the segments
are joined into one WAV.

The kiosk only sends text that is on screen for everyone (interface words and directory
content), never what a person typed, so the cache holds nothing personal.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import shutil
import subprocess
import tempfile
import wave
from collections.abc import Iterable
from pathlib import Path

from . import retention, speech_text
from .errors import InvalidData, OrientationError

VOICES = {"fr": "fr-be", "nl": "nl", "en": "en-gb", "ar": "ar"}
RATE = 140  # words per minute: slower than espeak's 175 default, easier to follow
#: One request reads at most this much (the longest seed slip page is ~4,000 characters).
MAX_CHARS = 6000
#: A segment is synthesised and cached in pieces of about this size, cut after a sentence: a
#: cached file stays small (< 2 MB) and a sentence shared by many screens is made once.
PIECE_CHARS = 400
#: The audio cache is pruned, least recently used first, beyond this size.
MAX_CACHE_BYTES = 200 * 1024 * 1024


class SpeechError(OrientationError):
    """The voice is unavailable (espeak-ng missing or failing): the service, not the input."""

    code = "speech-unavailable"
    status = 503


def _key(voice: str, text: str) -> str:
    return hashlib.sha256(f"{voice}\n{RATE}\n{text}".encode()).hexdigest()


def _synthesize(voice: str, text: str, path: Path) -> None:
    executable = shutil.which("espeak-ng")
    if executable is None:
        raise SpeechError("espeak-ng is not installed")
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
    os.close(fd)
    try:
        # -w writes a WAV with correct sizes (--stdout cannot know them in advance); "--" ends
        # the options, so a text starting with "-" is still text.
        result = subprocess.run([executable, "-v", voice, "-s", str(RATE), "-w", tmp, "--", text],
                                capture_output=True, timeout=30)
        if result.returncode != 0:
            raise SpeechError(f"espeak-ng failed: {result.stderr.decode(errors='replace')}")
        os.replace(tmp, path)
    except subprocess.TimeoutExpired:
        raise SpeechError("espeak-ng took too long") from None
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def segment_wav(text: str, lang: str, cache_dir: Path, *,
                max_cache_bytes: int = MAX_CACHE_BYTES) -> Path:
    """The cached WAV file of one text in one language (made on first use)."""
    if lang not in VOICES:
        raise InvalidData(f"no voice for language {lang!r}", field="lang")
    voice = VOICES[lang]
    key = _key(voice, text)
    path = Path(cache_dir) / voice / key[:2] / f"{key}.wav"
    if path.exists():
        retention.touch(path)
    else:
        _synthesize(voice, text, path)
        # Bounded: anyone at a kiosk (or on the network) can ask for new texts.
        retention.prune(Path(cache_dir), pattern="*.wav", max_bytes=max_cache_bytes, keep=path)
    return path


def _pieces(text: str) -> list[str]:
    """``text`` cut after sentences into pieces of at most about PIECE_CHARS characters (a
    single longer sentence is cut between words)."""
    sentences = re.split(r"(?<=[.!?:;…؟،])\s+", text)
    pieces: list[str] = []
    for sentence in sentences:
        while len(sentence) > PIECE_CHARS:
            cut = sentence.rfind(" ", 0, PIECE_CHARS)
            cut = cut if cut > 0 else PIECE_CHARS
            pieces.append(sentence[:cut])
            sentence = sentence[cut:].strip()
        if pieces and len(pieces[-1]) + 1 + len(sentence) <= PIECE_CHARS:
            pieces[-1] += " " + sentence
        elif sentence:
            pieces.append(sentence)
    return pieces


def speak(segments: Iterable[tuple[str, str]], cache_dir: Path, *,
          max_cache_bytes: int = MAX_CACHE_BYTES) -> bytes:
    """One WAV for a list of (language, text) segments, read one after the other."""
    segments = [(lang, " ".join(text.split())) for lang, text in segments]
    segments = [(lang, text) for lang, text in segments if text]
    if not segments:
        raise InvalidData("nothing to read", field="text")
    if sum(len(text) for _, text in segments) > MAX_CHARS:
        raise InvalidData(f"text too long to read (more than {MAX_CHARS} characters)",
                          field="text")
    # Normalised before cutting and caching: the cache key is the text the voice really reads.
    segments = [(lang, speech_text.normalise(text, lang)) for lang, text in segments]
    out = io.BytesIO()
    writer = None
    pieces = [(lang, piece) for lang, text in segments for piece in _pieces(text)]
    for lang, text in pieces:
        path = segment_wav(text, lang, cache_dir, max_cache_bytes=max_cache_bytes)
        with wave.open(str(path), "rb") as part:
            if writer is None:
                writer = wave.open(out, "wb")
                writer.setparams(part.getparams())
            writer.writeframes(part.readframes(part.getnframes()))
    writer.close()
    return out.getvalue()
