"""Options and helpers shared by the ``orientation`` commands (``orientation.cli``)."""

from __future__ import annotations

from pathlib import Path

import click

from . import store
from .settings import DEFAULTS, SETTINGS, envvar

#: Option metavars by the type of a setting's default (values are checked by Settings).
METAVAR = {int: "INTEGER", float: "FLOAT", str: "TEXT"}
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


def setting_options(names: tuple[str, ...]):
    """A decorator adding one --option per named setting, read as text (checked together by
    ``Settings.from_mapping``); a password is never shown as a default."""
    def decorate(f):
        for setting in reversed([s for s in SETTINGS if s.name in names]):
            f = click.option(
                "--" + setting.name.replace("_", "-"), setting.name,
                default=str(setting.default), metavar=METAVAR[type(setting.default)],
                envvar=envvar(setting.name), show_default=setting.name != "smtp_password",
                help=setting.help)(f)
        return f
    return decorate
