"""Words for codes: every code a person may see (an audience, a role, a kind of problem…) has a
label in the catalogues, and every refusal from the core is said in the reader's language.

The core speaks codes (``chomeurs``, ``eid-reader``) and English error details (the API's
problem+json is read by programs); the pages never show either raw. The msgids are French,
the catalogues' source language; ``N_`` only marks them for extraction.
"""

from __future__ import annotations

import re


def N_(message: str) -> str:
    """gettext_noop: marks a message for extraction; translated where it is shown."""
    return message


#: Labels per kind of code. A code missing here is shown as it is (a test lists the codes the
#: console shows and checks each has a label).
LABELS: dict[str, dict[str, str]] = {
    "audience": {
        "tous": N_("Tout le monde"), "habitants": N_("Habitants de la commune"),
        "jeunes": N_("Jeunes"), "seniors": N_("Personnes âgées"),
        "familles": N_("Familles"), "femmes": N_("Femmes"),
        "sans-papiers": N_("Personnes sans papiers"), "sans-abri": N_("Personnes sans abri"),
        "chomeurs": N_("Personnes au chômage"), "membres": N_("Membres (affiliés)"),
    },
    "digital": {
        "itsme": N_("itsme"), "eid-reader": N_("un lecteur de carte d'identité"),
        "email": N_("une adresse e-mail"), "smartphone": N_("un smartphone"),
        "app": N_("une application"), "internet": N_("internet"),
    },
    "digital_level": {
        "none": N_("pas besoin"), "optional": N_("possible, pas obligatoire"),
        "required": N_("obligatoire"),
    },
    "role": {
        "staff": N_("travailleur social"), "editor": N_("éditeur"),
        "admin": N_("administrateur"),
    },
    "problem": {
        "wrong": N_("« Cette information est fausse » (borne)"),
        "wrong_phone": N_("Mauvais numéro"), "closed": N_("Fermé"),
        "sent_elsewhere": N_("Renvoyé ailleurs"), "outdated_hours": N_("Horaires dépassés"),
        "other": N_("Autre"),
    },
    "channel": {"kiosk": N_("borne"), "staff": N_("travailleur social"), "api": N_("API")},
    "outcome": {
        "came": N_("La personne est venue"), "helped": N_("La personne a été aidée"),
        "sent_elsewhere": N_("La personne a été renvoyée ailleurs"),
    },
    "sent_elsewhere": {
        "not_eligible": N_("Pas dans les conditions"), "wrong_service": N_("Mauvais service"),
        "full": N_("Plus de place"), "documents_missing": N_("Il manquait des documents"),
        "needs_appointment": N_("Il fallait un rendez-vous"), "other": N_("Autre raison"),
    },
    "attending": {
        "walk_in": N_("sans rendez-vous"), "appointment": N_("sur rendez-vous"),
        "phone": N_("par téléphone"), "online": N_("en ligne"),
    },
    "day": {
        "MO": N_("lundi"), "TU": N_("mardi"), "WE": N_("mercredi"), "TH": N_("jeudi"),
        "FR": N_("vendredi"), "SA": N_("samedi"), "SU": N_("dimanche"),
    },
    "region": {
        "bruxelles": N_("Bruxelles"), "brabant-wallon": N_("Brabant wallon"),
        "wallonie": N_("Wallonie"), "flandre": N_("Flandre"), "belgique": N_("Toute la Belgique"),
        "autre": N_("Ailleurs"),
    },
    "status": {"active": N_("actif"), "inactive": N_("inactif"), "open": N_("à traiter"),
               "fixed": N_("corrigé"), "dismissed": N_("écarté"), "pending": N_("en attente"),
               "acknowledged": N_("pris en charge"), "resolved": N_("terminé")},
    "referral_role": {"cpas": N_("le CPAS de la commune"),
                      "emploi": N_("l'office de l'emploi de la région"),
                      "baj": N_("le bureau d'aide juridique (BAJ)")},
}

# One correction queue (issue #15): the kinds of problem are orientation.reports.PROBLEMS, for
# the kiosk, the staff form, the organisations' suggestions and the queue alike. The kiosk says
# them in plain words for the person in front of the screen; the staff read the short names.
LABELS["problem"]["wrong_address"] = N_("Mauvaise adresse")
LABELS["problem_kiosk"] = {
    "wrong_phone": N_("Le numéro ne marche pas"),
    "outdated_hours": N_("Les heures ne sont pas bonnes"),
    "wrong_address": N_("L'adresse n'est pas bonne"), "closed": N_("C'est fermé"),
    "sent_elsewhere": N_("On m'a envoyé ailleurs"), "other": N_("Autre chose"),
}
LABELS["channel"]["organization"] = N_("organisation")
LABELS["status"]["forwarded"] = N_("envoyé à l'organisation")

# --- Refusals in the reader's language ------------------------------------------------------

#: The core's English details (``InvalidData``, the guard's refusals), matched here and said
#: in the catalogue's words. Order matters: the first pattern that matches is used.
_PROBLEMS: tuple[tuple[re.Pattern, str], ...] = tuple(
    (re.compile(pattern), message) for pattern, message in (
        # A translation that does not follow the French item by item (fields.check_translations):
        # say which language, which step and which list, and what to do.
        (r"translations\.(?P<language>\w+)\.steps\[(?P<step>\d+)\]\.bring: (?P<n>\d+) items "
         r"for (?P<french>\d+)",
         N_("Traduction %(language)s, étape %(step)s, liste « apporter » : lignes traduites : "
            "%(n)s, lignes en français : %(french)s. Écrivez une ligne par objet, dans le même "
            "ordre que le français.")),
        (r"translations\.(?P<language>\w+)\.steps: (?P<n>\d+) translated steps for "
         r"(?P<french>\d+) steps",
         N_("Traduction %(language)s : étapes traduites : %(n)s, étapes en français : "
            "%(french)s. Traduisez chaque étape, dans le même ordre.")),
        (r"translations\.(?P<language>\w+)\.documents: (?P<n>\d+) items for (?P<french>\d+)",
         N_("Traduction %(language)s, liste des documents : lignes traduites : %(n)s, lignes "
            "en français : %(french)s. Écrivez une ligne par document, dans le même ordre que "
            "le français.")),
        (r"(?P<n>\d+) characters, at most (?P<limit>\d+)",
         N_("Trop long : %(n)s caractères, au plus %(limit)s.")),
        (r"(?P<n>\d+) items, at most (?P<limit>\d+)",
         N_("Trop d'éléments : %(n)s, au plus %(limit)s.")),
        (r"must be one line", N_("Une seule ligne, sans retour à la ligne.")),
        (r"contains a control character", N_("Ce texte contient un caractère invisible.")),
        (r"is not a web address", N_("Ce n'est pas une adresse web (https://…).")),
        (r"is not an e-mail address", N_("Ce n'est pas une adresse e-mail.")),
        (r"time '(?P<value>[^']*)' is not HH:MM",
         N_("L'heure « %(value)s » n'est pas valide : écrivez-la comme 09:30, de 00:00 à 24:00.")),
        (r"cannot be 24:00", N_("Une plage ne commence pas à 24:00.")),
        (r"must be after opens_at", N_("L'heure de fin doit être après l'heure de début.")),
        (r"unknown day", N_("Jour inconnu.")),
        (r"date_to is before date_from|valid_to is before valid_from",
         N_("La date de fin est avant la date de début.")),
        (r"unknown (?:commune|region|country)", N_("Commune ou région inconnue.")),
        (r"is not a UUID|does not exist", N_("Cette fiche n'existe pas ou plus.")),
        (r"the password needs at least (?P<n>\d+) characters",
         N_("Le mot de passe a au moins %(n)s caractères.")),
        (r"log in first", N_("Connectez-vous d'abord.")),
        (r"needs the \w+ role|belongs to another organisation|has no organisation",
         N_("Votre compte ne permet pas cette action.")),
        (r"security token", N_("Le formulaire a expiré : rechargez la page et recommencez.")),
        (r"^Expected|^Invalid|^Object|got `", N_("Cette valeur n'a pas le bon format.")),
        (r"choose 2 or (?P<n>\d+) services", N_("Choisissez 2 ou %(n)s services à comparer.")),
        (r"reference code", N_("Un code a 6 lettres ou chiffres, comme KQ4-MXT.")),
        (r"say why", N_("Dites pourquoi la personne a été renvoyée ailleurs.")),
        (r"at least one step", N_("Un papier a au moins une étape.")),
        (r"has no contact person", N_("Ce service n'a pas de personne de contact.")),
    )
)
#: Already French (msgids of the catalogue): translated as they are.
FRENCH = (N_("Ce champ est obligatoire."),)


#: A translation's language, as the editor's translation parts name it: in its own name.
OWN_NAMES = {"fr": "Français", "nl": "Nederlands", "en": "English", "ar": "العربية"}


def _readable(values: dict[str, str]) -> dict[str, str]:
    """A refusal's values as a person counts and names them: steps from 1, languages by name."""
    if "step" in values:
        values["step"] = str(int(values["step"]) + 1)
    if "language" in values:
        values["language"] = OWN_NAMES.get(values["language"], values["language"])
    return values


def problem(detail: str, gettext) -> str:
    """``detail`` (a refusal from the core, in English, or a French msgid) in the reader's
    words; ``gettext(message, **values)`` is the page's translator. A detail nobody wrote
    words for is never shown raw: the reader gets a general sentence instead."""
    detail = (detail or "").strip()
    if not detail:
        return ""
    if detail in FRENCH:
        return gettext(detail)
    for pattern, message in _PROBLEMS:
        found = pattern.search(detail)
        if found:
            return gettext(message, **_readable(found.groupdict()))
    if re.search(r"[àâçéèêëîïôûùü«»]", detail):  # already in the catalogue's French
        return gettext(detail)
    return gettext(N_("Cette valeur est refusée : vérifiez ce champ."))
