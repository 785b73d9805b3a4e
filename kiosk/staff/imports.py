"""Importing a partner list from the console (/staff/import): upload, preview, confirm.

The same reader as ``orientation import-sheet`` (``orientation.importer.spreadsheet``): CSV in
UTF-8 or Windows-1252 with ``;`` or ``,``, or XLSX, and a column mapping (the one shipped in
``import_columns.yaml``, or one the editor uploads).

Preview is the dry run: nothing is written. The uploaded file waits in a private temporary
folder under a random token for ``KEEP`` at most; confirm names that token (with the session's
CSRF token, as every console form), so it imports exactly the file that was previewed, and only
the account that previewed it can confirm. The folder is removed after the import, and expired
ones with it; nothing about the file (name, rows) is ever logged, since a partner list can hold
names and numbers of people.

Editors import for their own organisation only: a row that names another organisation, or one
not in the directory yet, is refused with the other errors (an admin imports those). A row
whose organisation has the editor's organisation's name updates that organisation. Like the
command, a file with any error imports nothing.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
import secrets
import shutil
import tempfile
import time
import uuid
from pathlib import Path
from typing import Annotated, Any

import msgspec
from litestar import get, post
from litestar.datastructures import UploadFile
from litestar.di import NamedDependency
from litestar.enums import RequestEncodingType
from litestar.params import Body
from litestar.plugins.htmx import HTMXRequest
from litestar.response import Template
from sqlite_utils import Database

from orientation import seed as seeding
from orientation import store
from orientation.errors import NotFound, OrientationError
from orientation.importer import spreadsheet
from orientation.importer.categories import CategoryMap
from orientation.importer.mapper import IMPORT_NAMESPACE, save_bundle

from .console import FormBody, own_org, page, session, settings, sync

EDITOR = {"role": "editor"}
DB = NamedDependency[Database]
#: The column mapping shipped with the product: the headings of a typical CPAS list.
DEFAULT_COLUMNS = Path(__file__).with_name("import_columns.yaml")
#: How long an uploaded file waits for its confirmation.
KEEP = dt.timedelta(minutes=30)
#: A column mapping is a few lines; anything larger is not one.
MAX_COLUMNS_BYTES = 16 * 1024
SUFFIXES = (".csv", ".xlsx")
#: A private folder of the server's temporary directory (one sub-folder a preview).
SPOOL = Path(tempfile.gettempdir()) / "orientation-staff-import"

#: What is wrong and how to fix it, per mapped field (the core's message is French only).
PROBLEMS = {
    "name": ("Le nom est vide.", "Écrivez le nom de l'organisation dans cette case."),
    "postal_code": ("« %(value)s » n'est pas un code postal belge.",
                    "Écrivez 4 chiffres, par exemple 1060."),
    "email": ("« %(value)s » n'est pas une adresse e-mail.",
              "Écrivez une adresse comme nom@exemple.be, ou videz la case."),
    "website": ("« %(value)s » n'est pas une adresse de site internet.",
                "Écrivez une adresse comme www.exemple.be, ou videz la case."),
    "phone": ("Il manque des chiffres au numéro « %(value)s ».",
              "Écrivez le numéro complet, avec l'indicatif, par exemple 02 511 22 33."),
}
MISSING_COLUMN = ("La colonne « %(column)s » n'est pas dans le fichier.",
                  ("Vérifiez la première ligne du fichier, ou choisissez un autre fichier de "
                   "correspondance des colonnes."))
REPEATED = ("Ce partenaire est déjà à la ligne %(other)s.",
            "Gardez une seule ligne par partenaire.")
OTHER_ORG = ("Cette ligne concerne « %(value)s », une autre organisation que la vôtre.",
             "Retirez cette ligne, ou demandez à un administrateur de l'importer.")
NEW_ORG = (("« %(value)s » n'est pas encore dans l'annuaire : seul un administrateur peut "
            "ajouter une organisation."),
           "Retirez cette ligne, ou demandez à un administrateur de l'importer.")
OTHER = ("%(value)s", "Corrigez cette case dans le fichier.")


class Problem(msgspec.Struct, frozen=True):
    """One refused cell: row and column as the spreadsheet shows them, then what is wrong and
    how to fix it (msgids, with their variables)."""

    row: int
    column: str
    what: str
    fix: str
    values: dict[str, str]


class Checked(msgspec.Struct, kw_only=True):
    """The dry run as the page shows it."""

    rows: int
    ready: list[dict[str, Any]]
    problems: list[Problem]
    source: str


class Refused(Exception):
    """The upload itself is refused (not a row of it): a msgid and its variables."""

    def __init__(self, what: str, **values: Any) -> None:
        super().__init__(what)
        self.what, self.values = what, values


# --- the waiting room -----------------------------------------------------------------------


def _purge(now: float) -> None:
    """Remove previews older than ``KEEP`` (their files with them)."""
    if not SPOOL.exists():
        return
    for folder in SPOOL.iterdir():
        # A claimed folder is being imported: it gets a second period before it counts as
        # left behind (a request that died half-way).
        keep = KEEP.total_seconds() * (2 if folder.name.endswith(".claimed") else 1)
        try:
            meta = json.loads((folder / "meta.json").read_text(encoding="utf-8"))
            expired = now - meta["created"] > keep
        except (OSError, ValueError, KeyError):
            try:  # another request may be removing it right now
                expired = now - folder.stat().st_mtime > keep
            except OSError:
                continue
        if expired:
            shutil.rmtree(folder, ignore_errors=True)


def _keep(sheet: bytes, suffix: str, name: str, columns: bytes | None, user_id: str) -> str:
    """Store the upload for its confirmation; returns the token that names it."""
    _purge(time.time())
    SPOOL.mkdir(mode=0o700, exist_ok=True)
    token = secrets.token_urlsafe(24)
    folder = SPOOL / token
    folder.mkdir(mode=0o700)
    (folder / f"sheet{suffix}").write_bytes(sheet)
    if columns is not None:
        (folder / "columns.yaml").write_bytes(columns)
    meta = {"created": time.time(), "user": user_id, "name": name, "suffix": suffix,
            "sha256": hashlib.sha256(sheet).hexdigest()}
    (folder / "meta.json").write_text(json.dumps(meta), encoding="utf-8")
    return token


def _kept(token: str, user_id: str) -> tuple[Path, dict[str, Any]]:
    """Take the folder and notes of a preview, if it is this account's and not expired;
    the caller removes the folder when done."""
    _purge(time.time())
    if not re.fullmatch(r"[A-Za-z0-9_-]{20,64}", token or ""):
        raise Refused("Cet aperçu n'existe plus. Envoyez le fichier à nouveau.")
    folder = SPOOL / token
    try:
        meta = json.loads((folder / "meta.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        raise Refused("Cet aperçu n'existe plus. Envoyez le fichier à nouveau.") from None
    if meta.get("user") != user_id:
        raise Refused("Cet aperçu a été fait par une autre personne. Envoyez le fichier à "
                      "nouveau.")
    # Claimed by renaming, which only one request can do: two clicks on "Confirmer" (or two
    # tabs) import the file once; the second is told the preview is gone.
    claimed = SPOOL / f"{token}.claimed"
    try:
        folder.rename(claimed)
    except OSError:
        raise Refused("Cet aperçu n'existe plus. Envoyez le fichier à nouveau.") from None
    sheet = claimed / f"sheet{meta['suffix']}"
    if hashlib.sha256(sheet.read_bytes()).hexdigest() != meta["sha256"]:
        shutil.rmtree(claimed, ignore_errors=True)
        raise Refused("Cet aperçu n'existe plus. Envoyez le fichier à nouveau.")
    return claimed, meta


# --- reading and checking -------------------------------------------------------------------


def _sheet_bytes(upload: Any, limit: int) -> tuple[bytes, str, str]:
    if not isinstance(upload, UploadFile) or not upload.filename:
        raise Refused("Choisissez un fichier CSV ou XLSX.")
    name = Path(upload.filename).name
    suffix = Path(name).suffix.lower()
    if suffix not in SUFFIXES:
        raise Refused("Ce fichier n'est pas un tableau CSV ou XLSX. Dans votre tableur, "
                      "choisissez « Enregistrer sous » puis « CSV » ou « Classeur Excel "
                      "(.xlsx) ».")
    content = upload.file.read(limit + 1)
    if len(content) > limit:
        raise Refused("Ce fichier est trop grand (%(kb)s Ko au plus). Coupez la liste en "
                      "plusieurs fichiers.", kb=limit // 1024)
    if not content.strip():
        raise Refused("Ce fichier est vide.")
    if suffix == ".xlsx" and not content.startswith(b"PK"):
        raise Refused("Ce fichier porte le nom d'un classeur .xlsx mais n'en est pas un. "
                      "Ouvrez-le dans votre tableur et enregistrez-le à nouveau.")
    if suffix == ".csv" and (b"\0" in content[:4096] or content.startswith(b"PK")):
        raise Refused("Ce fichier porte le nom d'un fichier CSV mais n'en est pas un. Dans "
                      "votre tableur, choisissez « Enregistrer sous » puis « CSV ».")
    return content, suffix, name


def _columns_bytes(upload: Any) -> bytes | None:
    """The uploaded column mapping, or None for the shipped one."""
    if not isinstance(upload, UploadFile) or not upload.filename:
        return None
    if Path(upload.filename).suffix.lower() not in (".yaml", ".yml", ".txt"):
        raise Refused("Le fichier de correspondance des colonnes doit être un fichier texte "
                      ".yaml.")
    content = upload.file.read(MAX_COLUMNS_BYTES + 1)
    if len(content) > MAX_COLUMNS_BYTES or not content.strip():
        raise Refused("Ce fichier de correspondance des colonnes est vide ou trop grand.")
    return content


def _mapping(folder: Path) -> dict[str, str]:
    path = folder / "columns.yaml"
    try:
        return spreadsheet.read_mapping(path if path.exists() else DEFAULT_COLUMNS)
    except OrientationError as exc:
        raise Refused("Le fichier de correspondance des colonnes n'est pas valable : "
                      "%(detail)s", detail=str(exc)) from None


def _org_id(db: Database, source: str, key: str) -> str:
    """The id the import gives this row's organisation (as ``mapper`` does: the record
    imported earlier from the same source and id, else the id itself if it is a UUID, else
    one derived from both)."""
    known = store.id_by_source(db, "organization", f"{source}:{key}")
    if known:
        return known
    try:
        return str(uuid.UUID(key))
    except ValueError:
        return str(uuid.uuid5(IMPORT_NAMESPACE, f"{source}:organization:{key}"))


def _exists(db: Database, organization_id: str) -> bool:
    try:
        store.get_organization(db, organization_id)
    except NotFound:
        return False
    return True


def _name_key(name: str) -> str:
    return " ".join(name.split()).casefold()


def check(db: Database, sheet: Path, mapping: dict[str, str], *, source: str,
          organization_id: str | None) -> Checked:
    """The dry run, with each row's organisation checked against the editor's own
    (``organization_id``; None for an admin). Ready rows say whether they add or update."""
    try:
        result = spreadsheet.preview(sheet, mapping)
        cells = dict(spreadsheet.read_rows(sheet))
    except OrientationError as exc:
        raise Refused("Ce fichier n'a pas pu être lu : %(detail)s. Ouvrez-le dans votre "
                      "tableur et enregistrez-le à nouveau en CSV ou XLSX.",
                      detail=str(exc)) from None
    fields = {column: field for field, column in mapping.items()}
    problems = [_problem(e, fields, cells) for e in result.errors]
    own = store.get_organization(db, organization_id) if organization_id else None
    named = {_name_key(o.name) for o in store.list_organizations(db)} if own else set()
    ready = []
    for row in result.ready:
        target = _org_id(db, source, row.get("id") or row["name"])
        exists = _exists(db, target)
        if own is not None and target != own.id:
            column = mapping["name"]
            if not exists and _name_key(row["name"]) == _name_key(own.name):
                row = {**row, "id": own.id}  # the editor's organisation, by its name
                target, exists = own.id, True
            else:
                known = exists or _name_key(row["name"]) in named
                what, fix = OTHER_ORG if known else NEW_ORG
                problems.append(Problem(row["_row"], column, what, fix,
                                        {"value": row["name"]}))
                continue
        ready.append({**row, "_update": exists, "_org": target})
    problems.sort(key=lambda p: p.row)
    return Checked(rows=result.rows, ready=ready, problems=problems, source=source)


def _problem(error: spreadsheet.RowError, fields: dict[str, str],
             cells: dict[int, dict[str, str]]) -> Problem:
    value = cells.get(error.row, {}).get(error.column, "")
    if error.row == 1 and error.message.startswith("cette colonne"):
        what, fix = MISSING_COLUMN
    elif error.message.startswith("déjà à la ligne"):
        what, fix = REPEATED
        value = error.message.split()[3]
    elif fields.get(error.column) in PROBLEMS:
        what, fix = PROBLEMS[fields[error.column]]
    else:
        what, fix = OTHER
        value = error.message
    return Problem(error.row, error.column, what, fix,
                   {"value": value, "column": error.column, "other": value})


def import_checked(db: Database, sheet: Path, mapping: dict[str, str], checked: Checked,
                   *, actor: str) -> tuple[Any, list[dict[str, str]]]:
    """Write the ready rows of a clean dry run in one transaction (as ``spreadsheet.load``,
    with the rows the editor check settled); returns the report and the services made."""
    result = spreadsheet.Preview(file=sheet.name, rows=checked.rows, errors=[],
                                 ready=[{k: v for k, v in row.items()
                                         if k not in ("_update", "_org")}
                                        for row in checked.ready])
    with store.transaction(db):
        seeding.ensure_taxonomy(db)
        report = save_bundle(db, spreadsheet.to_bundle(result), source=checked.source,
                             fmt="spreadsheet", actor=actor, name=sheet.name,
                             categories=CategoryMap.load(None))
    services = []
    for row in result.ready:
        key = row.get("id") or row["name"]
        found = store.id_by_source(db, "service", f"{checked.source}:{key}:service")
        if found:
            services.append({"id": found, "name": row.get("service") or row["name"],
                             "organization": row["name"]})
    return report, services


# --- pages ----------------------------------------------------------------------------------


def _limit(request: HTMXRequest) -> int:
    """Below the server's own body limit, so that a big file gets this page's words."""
    return max(16, settings(request).max_body_kb - 16) * 1024


def _form(request: HTMXRequest, *, refused: Refused | None = None, status: int = 200,
          **context: Any) -> Template:
    default = spreadsheet.read_mapping(DEFAULT_COLUMNS)
    labels = {f: spreadsheet.LABELS[f] for f in spreadsheet.FIELDS}
    return page(request, "staff/import.html", status_code=status, refused=refused,
                default_columns=default, field_labels=labels,
                limit_kb=_limit(request) // 1024, **context)


@get("/import", sync_to_thread=True, name="staff_import", opt=EDITOR)
def import_page(request: HTMXRequest) -> Template:
    return _form(request)


@post("/import/preview", sync_to_thread=True, name="staff_import_preview", opt=EDITOR)
def import_preview(request: HTMXRequest, db: DB, data: Annotated[
        dict[str, Any], Body(media_type=RequestEncodingType.MULTI_PART)]) -> Template:
    user = session(request).user
    token = ""
    try:
        content, suffix, name = _sheet_bytes(data.get("sheet"), _limit(request))
        # A mapping file sent is used even if the radio was left on the default: choosing
        # the file is the clearer of the two gestures.
        columns = _columns_bytes(data.get("columns"))
        if data.get("mapping") == "upload" and columns is None:
            raise Refused("Choisissez le fichier de correspondance des colonnes, ou gardez "
                          "celle d'Orientation.")
        token = _keep(content, suffix, name, columns, user.id)
        folder = SPOOL / token
        checked = check(db, folder / f"sheet{suffix}", _mapping(folder),
                        source=Path(name).stem, organization_id=own_org(request))
    except Refused as refused:
        if token:  # kept, then refused (its mapping, its content): keep nothing
            shutil.rmtree(SPOOL / token, ignore_errors=True)
        return _form(request, refused=refused, status=422)
    if checked.problems or not checked.ready:
        shutil.rmtree(SPOOL / token, ignore_errors=True)  # nothing to confirm: keep nothing
        token = ""
    return page(request, "staff/import_preview.html", checked=checked, token=token,
                file_name=name, keep_minutes=int(KEEP.total_seconds() // 60))


@post("/import/confirm", sync_to_thread=True, name="staff_import_confirm", opt=EDITOR)
def import_confirm(request: HTMXRequest, db: DB, data: FormBody) -> Template:
    user = session(request).user
    token = str(data.get("token") or "")
    if not token:  # an empty form: nothing was previewed
        return _form(request, refused=Refused("Choisissez un fichier CSV ou XLSX."),
                     status=422)
    try:
        folder, meta = _kept(token, user.id)
    except Refused as refused:
        return _form(request, refused=refused, status=409)
    sheet = folder / f"sheet{meta['suffix']}"
    try:
        checked = check(db, sheet, _mapping(folder), source=Path(meta["name"]).stem,
                        organization_id=own_org(request))
        if checked.problems or not checked.ready:
            # The directory changed since the preview (another import, an edit): say why.
            return page(request, "staff/import_preview.html", checked=checked, token="",
                        file_name=meta["name"], keep_minutes=0, status_code=409)
        report, services = import_checked(db, sheet, _mapping(folder), checked,
                                          actor=f"{user.display_name} ({user.username})")
    except Refused as refused:
        return _form(request, refused=refused, status=422)
    except OrientationError as exc:
        return _form(request, refused=Refused("Rien n'a été importé : %(detail)s",
                                              detail=str(exc)), status=422)
    finally:
        shutil.rmtree(folder, ignore_errors=True)  # imported or not, the file goes now
    sync(request, db)
    return page(request, "staff/import_done.html", report=report, services=services,
                file_name=meta["name"])


route_handlers = [import_page, import_preview, import_confirm]
