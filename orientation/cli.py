"""The ``orientation`` command: a thin click skin over the domain functions.

Paths and settings come from options (or ``ORIENTATION_*`` environment variables) here, at the
edge, and are passed down explicitly.
"""

from __future__ import annotations

import datetime as dt
import os
import sys
from pathlib import Path

import click
import msgspec

from . import access, store, translations
from .errors import OrientationError
from .settings import DEFAULTS, SETTINGS, Settings, envvar

_HELP = {s.name: s.help for s in SETTINGS}


def db_option(f):
    return click.option("--db", "db_path", type=click.Path(dir_okay=False, path_type=Path),
                        default=DEFAULTS["db"], envvar=envvar("db"), show_default=True,
                        help=_HELP["db"])(f)


def index_option(f):
    return click.option("--index-dir", type=click.Path(file_okay=False, path_type=Path),
                        default=DEFAULTS["index_dir"], envvar=envvar("index_dir"),
                        show_default=True, help=_HELP["index_dir"])(f)


def seed_option(f):
    return click.option("--seed-dir", type=click.Path(file_okay=False, path_type=Path),
                        default=None, envvar=envvar("seed_dir"),
                        help=_HELP["seed_dir"])(f)


def require_db(db_path: Path) -> None:
    if not db_path.is_file():
        raise click.ClickException(
            f"no database at {db_path}: check --db or {envvar('db')} "
            "('orientation seed' or 'orientation serve' creates one)")


def open_db(db_path: Path, *, create: bool = False):
    """The database at ``db_path``. Only ``seed``, ``serve`` and ``import --create`` make a new
    one: elsewhere a missing file is a typo in --db or ORIENTATION_DB, and quietly creating an
    empty database there would, say, put a partner's new API key where the server never looks.
    """
    if not create:
        require_db(db_path)
    try:
        return store.connect(db_path)
    except Exception as exc:  # sqlite3.DatabaseError: not a database, locked, unwritable…
        raise click.ClickException(f"cannot open database {db_path}: {exc}") from None


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="orientation")
def cli():
    """Orientation: a referral directory for social services, with a public kiosk."""


@cli.command()
@db_option
@seed_option
@click.option("--no-sample", is_flag=True,
              help="Load the needs taxonomy only (the kiosk's ten needs and their sub-needs), "
                   "without the fictional sample directory: the start of a real directory.")
@click.option("--remove-sample", is_flag=True,
              help="Delete the sample directory's organisations, services, contacts and "
                   "pathways (audited; the taxonomy and everything else stay), so the kiosk "
                   "no longer says 'Données d'exemple'.")
def seed(db_path: Path, seed_dir: Path | None, no_sample: bool, remove_sample: bool):
    """Load (or reload) the seed directory into the database. See docs/import.md for the
    path from sample data to a real directory."""
    from . import seed as seeding

    if no_sample and remove_sample:
        raise click.UsageError("--no-sample and --remove-sample do different things: pick one")
    db = open_db(db_path, create=not remove_sample)
    directory = seed_dir or seeding.DEFAULT_SEED_DIR
    try:
        if remove_sample:
            counts = seeding.remove_sample(db, directory)
            click.echo("removed the sample data: " + ", ".join(
                f"{n} {kind}s" for kind, n in counts.items()))
            return
        if no_sample:
            taxonomy = Path(directory) / "taxonomy.yaml"
            n = seeding.load_taxonomy(db, taxonomy if taxonomy.exists() else seeding.TAXONOMY)
            click.echo(f"{n} taxonomy terms (no sample data)")
            return
        counts = seeding.load(db, directory)
    except OrientationError as exc:
        raise click.ClickException(f"seed not loaded, database unchanged: {exc}") from None
    click.echo(", ".join(f"{n} {name.replace('_', ' ')}" for name, n in counts.items()))


@cli.command()
@db_option
@click.option("--category-map", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Category map to check imported categories against (default: "
                   "seed/category_map.yaml).")
def check(db_path: Path, category_map: Path | None):
    """Check every record and pathway, and list imported source categories that map to no
    need; one line per problem, exit 1 if any. Also prints the translation coverage per
    language (fields translated / fields to translate)."""
    from .importer import unmapped_categories

    try:
        problems = store.check_all(open_db(db_path)) + unmapped_categories(
            open_db(db_path), category_map)
    except OrientationError as exc:
        raise click.ClickException(str(exc)) from None
    coverage = translations.report(translations.coverage(open_db(db_path), services=True))
    for line in problems:
        click.echo(line)
    if problems:
        for line in coverage:
            click.echo(line)
        click.echo(f"{len(problems)} problem(s)", err=True)
        sys.exit(1)
    counts = store.counts(open_db(db_path))
    click.echo("OK: " + ", ".join(f"{n} {name}s" for name, n in counts.items()))
    for line in coverage:
        click.echo(line)


@cli.command()
@db_option
@index_option
def reindex(db_path: Path, index_dir: Path):
    """Rebuild the search index from the database."""
    from .search import SearchIndex

    db = open_db(db_path)
    index = SearchIndex.create(index_dir, db)
    click.echo(f"indexed {index.doc_count()} documents in {index_dir}")
    index.close()


#: Option metavars by the type of a setting's default (values are checked by Settings).
_METAVAR = {int: "INTEGER", float: "FLOAT", str: "TEXT"}


def _setting_options(f):
    """One --option per setting not already covered by a dedicated option. Values are read as
    text and checked together by ``Settings.from_mapping``, so a bad value, from an option or
    from the environment, gets the same one-line error."""
    for setting in reversed(SETTINGS):
        if setting.name in ("db", "index_dir", "seed_dir"):
            continue
        f = click.option(
            "--" + setting.name.replace("_", "-"), setting.name,
            default=str(setting.default), metavar=_METAVAR[type(setting.default)],
            envvar=envvar(setting.name), show_default=True, help=setting.help,
        )(f)
    return f


@cli.command()
@db_option
@index_option
@seed_option
@click.option("--host", default="127.0.0.1", show_default=True, envvar=envvar("host"),
              help="Address to listen on.")
@click.option("--port", default=8000, show_default=True, type=int, envvar=envvar("port"),
              help="Port to listen on.")
@click.option("--workers", default=1, show_default=True, type=click.IntRange(min=1),
              envvar=envvar("workers"),
              help="Worker processes, each with its own app and connections (the database "
                   "and the search index are shared on disk).")
@_setting_options
def serve(db_path: Path, index_dir: Path, seed_dir: Path | None, host: str, port: int,
          workers: int, **settings):
    """Run the kiosk, staff pages and API (creates and seeds the database on first run)."""
    import uvicorn

    from .startup import prepare

    paths = {"db": str(db_path), "index_dir": str(index_dir), "seed_dir": str(seed_dir or "")}
    try:
        checked = Settings.from_mapping({**settings, **paths})
        prepare(db_path, index_dir, seed_dir=seed_dir)
    except OrientationError as exc:
        raise click.ClickException(str(exc)) from None
    # Each worker builds its app from these (api.app:app_from_environment): the checked values,
    # handed over the only way that reaches other processes.
    for name in msgspec.structs.asdict(checked):
        os.environ[envvar(name)] = str(getattr(checked, name))
    click.echo(f"Orientation on http://{host}:{port}/  (API /api, OpenAPI /schema)")
    # No access log: request lines carry search words, which may be personal data.
    uvicorn.run("api.app:app_from_environment", factory=True, host=host, port=port,
                workers=workers, log_level="warning", access_log=False)


@cli.group()
def keys():
    """Create, list and revoke partner API keys."""


@keys.command("create")
@db_option
@click.option("--name", required=True, help="Who owns the key (recorded in the audit trail).")
@click.option("--role", type=click.Choice(["staff", "editor", "admin"]), required=True,
              help="staff: read staff-only lines; editor: write own organisation; admin: all.")
@click.option("--organization", "organization_id", default=None,
              help="Organisation id the key belongs to (required for editor keys).")
def keys_create(db_path: Path, name: str, role: str, organization_id: str | None):
    """Create a key and print its secret once (only a hash is stored)."""
    try:
        key, secret = access.create_api_key(open_db(db_path), name=name, role=role,
                                           organization_id=organization_id, actor="cli")
    except OrientationError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"created key {key.id} ({key.role}) for {key.name}")
    click.echo("secret (shown once, store it now):")
    click.echo(secret)


@keys.command("list")
@db_option
def keys_list(db_path: Path):
    """List keys: id, prefix, role, organisation, owner, state (never the secrets)."""
    for key in store.list_api_keys(open_db(db_path)):
        state = f"revoked {key.revoked_at:%Y-%m-%d}" if key.revoked_at else "active"
        click.echo(f"{key.id}  {key.prefix}…  {key.role:<6}  {key.organization_id or '-'}  "
                   f"{key.name}  {state}")


@keys.command("revoke")
@db_option
@click.argument("key_id")
def keys_revoke(db_path: Path, key_id: str):
    """Revoke a key by id or prefix; it stops working at once."""
    try:
        key = store.revoke_api_key(open_db(db_path), key_id, actor="cli")
    except OrientationError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"revoked key {key.id} ({key.name})")


@cli.group()
def users():
    """Create, list and disable staff accounts (desk page and staff console)."""


@users.command("create")
@db_option
@click.argument("username")
@click.option("--role", type=click.Choice(["staff", "editor", "admin"]), default="staff",
              show_default=True,
              help="staff: desk page and staff lines; editor: also own organisation; admin: all.")
@click.option("--name", "display_name", default=None,
              help="Name shown on the desk page and in the audit trail (default: the username).")
@click.option("--organization", "organization_id", default=None,
              help="Organisation id the account belongs to (required for editors).")
@click.option("--password-stdin", is_flag=True,
              help="Read the password from standard input instead of prompting.")
def users_create(db_path: Path, username: str, role: str, display_name: str | None,
                 organization_id: str | None, password_stdin: bool):
    """Create a staff account (the password is asked twice, never shown)."""
    from . import accounts

    db = open_db(db_path)  # before the password prompt: a wrong --db is said at once
    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    try:
        user = accounts.create_user(db, username, password, role=role,
                                    display_name=display_name,
                                    organization_id=organization_id, actor="cli")
    except OrientationError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"created {user.role} account {user.username!r} ({user.display_name})")


@users.command("list")
@db_option
def users_list(db_path: Path):
    """List accounts: username, role, name, state, last login."""
    from . import accounts

    for user in accounts.list_users(open_db(db_path)):
        state = "active" if user.active else "disabled"
        last = f"{user.last_login_at:%Y-%m-%d %H:%M}" if user.last_login_at else "never"
        click.echo(f"{user.username:<20} {user.role:<6} {state:<8} last login {last}  "
                   f"{user.display_name}")


@users.command("disable")
@db_option
@click.argument("username")
def users_disable(db_path: Path, username: str):
    """Disable an account; its sessions end at once."""
    from . import accounts

    try:
        user = accounts.set_active(open_db(db_path), username, False, actor="cli")
    except OrientationError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"disabled {user.username!r}")


@cli.command("import")
@db_option
@click.argument("path", type=click.Path(exists=True, path_type=Path))
@click.option("--format", "fmt", type=click.Choice(["hsds-json", "hsds-ndjson", "hsds-csv",
                                                    "oruk-json"]), default=None,
              help="Input format (default: detected from the file or folder).")
@click.option("--source", default=None,
              help="Name of the source, kept in source ids (default: file or folder name).")
@click.option("--create", is_flag=True,
              help="Create the database if it does not exist yet (a new directory made "
                   "from an import; it gets the needs taxonomy, no sample data).")
@click.option("--category-map", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              default=None, help="Map of source categories to our needs (default: "
                                 "seed/category_map.yaml).")
def import_(db_path: Path, path: Path, fmt: str | None, source: str | None, create: bool,
            category_map: Path | None):
    """Import HSDS 3 JSON/ndjson, an HSDS 1.x or Ohana CSV folder (UTF-8 or Windows-1252,
    comma or semicolon), or an Open Referral UK feed or API page, in one transaction;
    importing the same source again updates it. A repeated id keeps its fuller copy and is
    reported."""
    from .importer import load

    existed = db_path.exists()
    db = open_db(db_path, create=create)
    try:
        report = load(db, path, source=source, fmt=fmt, actor="import",
                      category_map=category_map)
    except OrientationError as exc:
        db.close()
        if not existed:  # --create made it for this import only: leave no empty database
            for suffix in ("", "-wal", "-shm"):
                db_path.with_name(db_path.name + suffix).unlink(missing_ok=True)
        raise click.ClickException(f"nothing imported, database unchanged: {exc}") from None
    for line in report.lines():
        click.echo(line)


@cli.command("import-sheet")
@db_option
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--columns", "columns", required=True,
              type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Column mapping file (YAML, 'field: column heading'; see docs/import.md).")
@click.option("--dry-run", is_flag=True,
              help="Check every row and list the errors; write nothing.")
@click.option("--source", default=None, help="Name of the source (default: the file name).")
@click.option("--create", is_flag=True, help="Create the database if it does not exist yet.")
def import_sheet(db_path: Path, path: Path, columns: Path, dry_run: bool, source: str | None,
                 create: bool):
    """Import a partner list kept in a spreadsheet (CSV in UTF-8 or Windows-1252 with ; or ,
    or XLSX), one organisation a row; --dry-run lists the errors by row and column."""
    from .importer import spreadsheet

    try:
        mapping = spreadsheet.read_mapping(columns)
        if dry_run:
            result = spreadsheet.preview(path, mapping)
            for error in result.errors:
                click.echo(str(error))
            click.echo(f"{result.rows} ligne(s) lue(s), {len(result.ready)} prête(s), "
                       f"{len(result.errors)} erreur(s) — rien n'a été écrit")
            if result.errors:
                sys.exit(1)
            return
        report = spreadsheet.load(open_db(db_path, create=create), path, mapping,
                                  source=source)
    except OrientationError as exc:
        raise click.ClickException(f"nothing imported, database unchanged: {exc}") from None
    for line in report.lines():
        click.echo(line)


@cli.command("export")
@db_option
@click.option("--format", "fmt", type=click.Choice(["hsds-json", "ndjson", "csv"]),
              default="hsds-json", show_default=True, help="Package format.")
@click.option("--output", "-o", type=click.Path(path_type=Path), required=True,
              help="File to write (a folder for csv).")
@click.option("--directory", "whole_directory", is_flag=True,
              help="The whole directory, staff-only lines, confidential addresses and absence "
                   "reasons included: for moving the directory to another Orientation, not "
                   "for publication. Not a backup: accounts, API keys and the history are "
                   "left out; use 'orientation backup' for that.")
@click.option("--complete", "complete_alias", is_flag=True, hidden=True,
              help="Deprecated name of --directory.")
def export_(db_path: Path, fmt: str, output: Path, whole_directory: bool,
            complete_alias: bool):
    """Export the directory as an HSDS 3.1 package that imports back unchanged (public by
    default; --directory for everything). For a backup, use 'orientation backup'."""
    from .export import export

    if complete_alias:
        click.echo("note: --complete is now --directory (the same export; it is not a "
                   "backup: see 'orientation backup')", err=True)
    counts = export(open_db(db_path), output, fmt, complete=whole_directory or complete_alias)
    click.echo(f"wrote {output}: " + ", ".join(f"{n} {k}" for k, n in counts.items()))


@cli.command()
@db_option
@click.argument("path", type=click.Path(path_type=Path))
def backup(db_path: Path, path: Path):
    """Copy the database to PATH (a file, or a folder for a timestamped file) as one
    consistent snapshot, safe while the server runs: directory, accounts, API keys, history."""
    from .store.backup import BackupError, backup as backup_db

    require_db(db_path)
    if path.is_dir():  # named here, as backup() would, so that the message can say which file
        path = path / f"orientation-{dt.datetime.now():%Y%m%d-%H%M%S}.db"
    try:
        counts = backup_db(db_path, path)
    except (BackupError, OSError) as exc:
        raise click.ClickException(f"no backup made: {exc}") from None
    click.echo(f"backed up {db_path} to {path}: " + _counts(counts))


@cli.command()
@db_option
@click.argument("path", type=click.Path(path_type=Path))
def restore(db_path: Path, path: Path):
    """Replace the database with the backup at PATH, after checking it; the database it
    replaces is kept beside it. Stop the server first."""
    from .store.backup import BackupError, restore as restore_db, verify

    # No require_db here: restoring onto a new machine, where there is no database yet, is
    # what a restore is for.
    try:
        counts = verify(path)
        kept = restore_db(path, db_path)
    except BackupError as exc:  # refused before anything was touched
        raise click.ClickException(f"not restored, database unchanged: {exc}") from None
    except OSError as exc:  # a disk or permission failure part-way: say so, no more
        raise click.ClickException(f"restore failed: {exc}") from None
    click.echo(f"restored {db_path} from {path}: " + _counts(counts))
    click.echo(f"the previous database is kept at {kept}" if kept
               else "there was no database before")


_REMIND_SETTINGS = ("smtp_host", "smtp_port", "smtp_tls", "smtp_user", "smtp_password",
                    "mail_from", "public_url", "verify_link_days", "stale_months")


def _remind_options(f):
    for setting in reversed([s for s in SETTINGS if s.name in _REMIND_SETTINGS]):
        f = click.option(
            "--" + setting.name.replace("_", "-"), setting.name,
            default=str(setting.default), metavar=_METAVAR[type(setting.default)],
            envvar=envvar(setting.name), show_default=setting.name != "smtp_password",
            help=setting.help)(f)
    return f


@cli.command()
@db_option
@click.option("--dry-run", is_flag=True, help="List the organisations that are due, send nothing.")
@_remind_options
def remind(db_path: Path, dry_run: bool, **settings):
    """E-mail each organisation whose records are due a single-use link to check them.

    Run it once a day (cron or a systemd timer, see docs/deploy.md): an organisation gets a
    new link only once its last one has expired, and only while a record is past its period."""
    from . import mail, reminders

    try:
        checked = Settings.from_mapping(settings)
    except OrientationError as exc:
        raise click.ClickException(str(exc)) from None
    db = open_db(db_path)
    try:
        sent = reminders.remind(db, mail.MailSettings.from_settings(checked),
                                base_url=checked.public_url,
                                link_days=checked.verify_link_days,
                                default_months=checked.stale_months, dry_run=dry_run)
    except OrientationError as exc:
        raise click.ClickException(f"reminders stopped: {exc}") from None
    for item in sent:
        click.echo(f"{'due' if dry_run else 'sent'}: {item.name} <{item.to}>")
    click.echo(f"{len(sent)} organisation(s) {'due' if dry_run else 'reminded'}")


#: The digest needs the mail server and the site's address, not the reminders' periods.
_ALERTS_SETTINGS = ("smtp_host", "smtp_port", "smtp_tls", "smtp_user", "smtp_password",
                    "mail_from", "public_url")


def _alerts_options(f):
    for setting in reversed([s for s in SETTINGS if s.name in _ALERTS_SETTINGS]):
        f = click.option(
            "--" + setting.name.replace("_", "-"), setting.name,
            default=str(setting.default), metavar=_METAVAR[type(setting.default)],
            envvar=envvar(setting.name), show_default=setting.name != "smtp_password",
            help=setting.help)(f)
    return f


@cli.command()
@db_option
@index_option
@click.option("--send", is_flag=True,
              help="E-mail each worker who asked the changes since their last digest.")
@click.option("--dry-run", is_flag=True, help="List who would get a digest, send nothing.")
@_alerts_options
def alerts(db_path: Path, index_dir: Path, send: bool, dry_run: bool, **settings):
    """E-mail the daily digest of the staff's saved searches (with --send).

    Run it once a day (a systemd timer, see docs/deploy.md): each worker who ticked "E-mail
    chaque jour" gets the changes since their last digest, in their language; nothing when
    nothing changed, and a change is never mailed twice."""
    from . import alerts as saved
    from . import mail
    from .search import SearchIndex

    if not send and not dry_run:
        raise click.UsageError("say --send (or --dry-run to only list who would get a digest)")
    try:
        checked = Settings.from_mapping(settings)
    except OrientationError as exc:
        raise click.ClickException(str(exc)) from None
    db = open_db(db_path)
    index = SearchIndex.open(index_dir, db)
    try:
        sent = saved.send_digests(db, index, mail.MailSettings.from_settings(checked),
                                  base_url=checked.public_url, dry_run=dry_run)
    except OrientationError as exc:
        raise click.ClickException(f"alerts stopped: {exc}") from None
    finally:
        index.close()
    for item in sent:
        click.echo(f"{'due' if dry_run else 'sent'}: {item.changes} change(s) to <{item.to}>")
    click.echo(f"{len(sent)} digest(s) {'due' if dry_run else 'sent'}")


def _counts(counts: dict[str, int]) -> str:
    names = {"audit": "audit entries", "api_keys": "API keys"}
    return ", ".join(f"{n} {names.get(table, table)}" for table, n in counts.items())


def main() -> None:  # pragma: no cover - console entry point
    cli()


if __name__ == "__main__":  # python -m orientation.cli
    cli()
