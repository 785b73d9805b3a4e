"""What the server keeps on disk stays bounded: printed slips (the file printer) and the
kiosk's spoken audio. Real files, real espeak-ng."""

from __future__ import annotations

import os
import time

from orientation import printing, speech


def _age(path, seconds):
    then = time.time() - seconds
    os.utime(path, (then, then))


def test_file_printer_keeps_slips_an_hour_and_twenty_at_most(tmp_path):
    folder = tmp_path / "slips"
    folder.mkdir()
    old = folder / "20250101-old-slip.pdf"
    old.write_bytes(b"%PDF-1.4 a slip with a staff note")
    _age(old, 2 * 3600)
    for n in range(25):
        recent = folder / f"recent-{n:02}.pdf"
        recent.write_bytes(b"%PDF-1.4")
        _age(recent, 600 - n)
    printed = printing.print_file(printing.Rendered(pdf=b"%PDF-1.4 new", png=None),
                                  folder, "KQ4-MXT")
    left = sorted(folder.glob("*.pdf"))
    assert not old.exists()
    assert len(left) == printing.FILE_KEEP_COUNT
    assert os.path.exists(printed.where)  # the slip just printed is kept
    assert not (folder / "recent-00.pdf").exists()  # the oldest went first


def test_speech_cache_is_bounded_and_long_texts_are_cut(tmp_path):
    cache = tmp_path / "speech"
    sentence = "Allez au CPAS de votre commune avec votre carte d'identité."
    long_text = " ".join(f"{sentence} Étape {n}." for n in range(60))  # ~4,500 characters
    audio = speech.speak([("fr", long_text)], cache, max_cache_bytes=50 * 1024 * 1024)
    assert audio[:4] == b"RIFF"
    files = list(cache.rglob("*.wav"))
    first_total = sum(f.stat().st_size for f in files)
    assert len(files) > 5  # cut into pieces, not one 4,500-character file
    assert max(f.stat().st_size for f in files) < 2 * 1024 * 1024  # 22.9 MB before
    # Under a small cap, new texts evict the least recently used files.
    cap = 600 * 1024
    for n in range(8):
        speech.speak([("fr", f"{sentence} Texte numéro {n} pour remplir le cache.")], cache,
                     max_cache_bytes=cap)
    total = sum(f.stat().st_size for f in cache.rglob("*.wav"))
    assert total <= cap + max(f.stat().st_size for f in cache.rglob("*.wav"))
    assert total < first_total
