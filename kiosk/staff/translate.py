"""The translation part of the editor: every text a person reads, per kiosk language, entered
side by side with the French (``staff/_translations.html``).

Form fields are ``tr-<lang>-<field>`` (``tr-ar-need``, ``tr-nl-description``) and, for a
pathway's steps, ``tr-<lang>-steps-<row>-<field>`` with the row number of the French step in the
same form: a step moved by its order number keeps its translation, a removed step takes its
translation along, a new step starts untranslated. An empty field means "not translated": the
kiosk shows the French, marked as French, and the verification queue lists it "à traduire".
"""

from __future__ import annotations

from typing import Any

import msgspec

from orientation.models import LANGUAGES, SERVICE_TEXTS, Pathway, Service
from orientation.translations import TARGETS, pathway_fields, service_fields

Form = dict[str, list[str]]


def N_(message: str) -> str:
    """gettext_noop: the label is translated when shown (``_(row.label, n=…)``)."""
    return message


class Row(msgspec.Struct, kw_only=True):
    """One text to translate: the field's name in the form, its label, the French, the
    translation so far, and whether it is a list (one item per line)."""

    name: str
    label: str
    n: int = 0  # the step number, for "Étape %(n)s · …"
    french: str
    value: str
    lines: bool = False
    long: bool = False


SERVICE_LABELS = {
    "name": N_("Nom"), "description": N_("Description"), "audience": N_("Pour qui"),
    "eligibility": N_("Conditions"), "cost_description": N_("Prix"),
    "interpretation": N_("Interprétation"), "digital_note": N_("Internet"),
}


def _value(text: str | None) -> str:
    return text or ""


def rows(record: Any, lang: str) -> list[Row]:
    """The texts of ``record`` (a pathway or a service) that have French, in form order."""
    translated = record.translations.get(lang)
    found: list[Row] = []
    if isinstance(record, Pathway):
        for name, label in (("need", N_("Le besoin")), ("summary", N_("Résumé"))):
            if getattr(record, name):
                found.append(Row(name=name, label=label, french=getattr(record, name),
                                 value=_value(getattr(translated, name, None)),
                                 long=name == "summary"))
        steps = translated.steps if translated and len(translated.steps) == len(record.steps) \
            else [None] * len(record.steps)
        for i, (step, done) in enumerate(zip(record.steps, steps)):
            prefix = f"steps-{i}-"
            if step.action:
                found.append(Row(name=prefix + "action", n=i + 1, long=True,
                                 label=N_("Étape %(n)s · ce que la personne fait"),
                                 french=step.action, value=_value(done and done.action)))
            if step.bring:
                found.append(Row(name=prefix + "bring", n=i + 1, lines=True,
                                 label=N_("Étape %(n)s · apporter, un par ligne, dans le "
                                          "même ordre"),
                                 french="\n".join(step.bring),
                                 value="\n".join(done.bring) if done else ""))
            if step.fallback:
                found.append(Row(name=prefix + "fallback", n=i + 1, long=True,
                                 label=N_("Étape %(n)s · si ça ne marche pas"),
                                 french=step.fallback, value=_value(done and done.fallback)))
    elif isinstance(record, Service):
        for name, label in SERVICE_LABELS.items():
            french, _ = record.texts(name, "fr")
            if french:
                found.append(Row(name=name, label=label, french=french,
                                 value=_value(getattr(translated, name, None)),
                                 long=name == "description"))
        if record.access.documents:
            found.append(Row(name="documents", lines=True,
                             label=N_("Apporter, un par ligne, dans le même ordre"),
                             french="\n".join(record.access.documents),
                             value="\n".join(translated.documents) if translated else ""))
    return found


def progress(record: Any, lang: str) -> tuple[int, int]:
    """(texts translated, texts to translate) of ``record`` in ``lang``."""
    fields = pathway_fields(record, lang) if isinstance(record, Pathway) \
        else service_fields(record, lang)
    return sum(1 for _, done in fields if done), len(fields)


def _one(form: Form, key: str) -> str | None:
    values = form.get(key)
    return (values[-1].strip() or None) if values else None


def _lines(form: Form, key: str) -> list[str]:
    return [line.strip() for line in (_one(form, key) or "").splitlines() if line.strip()]


def from_form(form: Form, base: dict[str, Any], step_rows: list[int] | None = None
              ) -> dict[str, Any]:
    """The ``translations`` of a record from the form. ``step_rows``: the form row numbers of
    the pathway's steps, in their new order (None for a service). A form without translation
    fields (an older page) keeps the stored translations as they are."""
    if not any(key.startswith("tr-") for key in form):
        return base
    # Languages the kiosk does not show (an import may bring some) are kept as they are.
    result = {lang: value for lang, value in base.items() if lang not in LANGUAGES}
    for lang in TARGETS:
        key = f"tr-{lang}-"
        if step_rows is None:
            item: dict[str, Any] = {name: _one(form, key + name) for name in SERVICE_TEXTS}
            item["documents"] = _lines(form, key + "documents")
        else:
            item = {name: _one(form, key + name) for name in ("need", "summary")}
            steps = [{"action": _one(form, f"{key}steps-{n}-action"),
                      "bring": _lines(form, f"{key}steps-{n}-bring"),
                      "fallback": _one(form, f"{key}steps-{n}-fallback")} for n in step_rows]
            item["steps"] = steps if any(v for s in steps for v in s.values()) else []
        if any(item.values()):
            result[lang] = {k: v for k, v in item.items() if v}
    return result
