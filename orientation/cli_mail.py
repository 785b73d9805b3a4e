"""The e-mailing commands: organisations' reminders and the staff's alert digests."""

from __future__ import annotations

from pathlib import Path

import click

from .cli_options import db_option, index_option, open_db, setting_options
from .errors import OrientationError
from .settings import Settings

_REMIND_SETTINGS = ("smtp_host", "smtp_port", "smtp_tls", "smtp_user", "smtp_password",
                    "mail_from", "public_url", "verify_link_days", "stale_months")


@click.command()
@db_option
@click.option("--dry-run", is_flag=True, help="List the organisations that are due, send nothing.")
@setting_options(_REMIND_SETTINGS)
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


@click.command()
@db_option
@index_option
@click.option("--send", is_flag=True,
              help="E-mail each worker who asked the changes since their last digest.")
@click.option("--dry-run", is_flag=True, help="List who would get a digest, send nothing.")
@setting_options(_ALERTS_SETTINGS)
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
