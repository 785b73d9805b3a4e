"""Staff accounts: argon2 hashes, server-side signed sessions, CSRF tokens, the users CLI."""

from __future__ import annotations

import datetime as dt

import pytest
from click.testing import CliRunner

from orientation import accounts, store
from orientation.cli import cli
from orientation.errors import InvalidData, NotFound

PASSWORD = "correct horse battery"


@pytest.fixture
def user(empty_db):
    return accounts.create_user(empty_db, "Nadia.M", PASSWORD, role="staff",
                                display_name="Nadia M.", actor="test")


def test_password_is_stored_as_an_argon2_hash(empty_db, user):
    row = store.get_user_row(empty_db, username="nadia.m")
    assert row["password_hash"].startswith("$argon2id$")
    assert PASSWORD not in row["password_hash"]
    audit = [r for r in empty_db.query("select * from audit where entity = 'user'")]
    assert audit and all(PASSWORD not in (r["after"] or "") and "argon2" not in
                         (r["after"] or "") for r in audit)


def test_authenticate(empty_db, user):
    assert accounts.authenticate(empty_db, "NADIA.M", PASSWORD).id == user.id
    assert accounts.authenticate(empty_db, "nadia.m", "wrong password") is None
    assert accounts.authenticate(empty_db, "nobody", PASSWORD) is None
    assert accounts.get_user(empty_db, "nadia.m").last_login_at is not None


@pytest.mark.parametrize("username,password,role,message", [
    ("a", PASSWORD, "staff", "username"),
    ("with space", PASSWORD, "staff", "username"),
    ("bob", "short", "staff", "password"),
    ("bob", PASSWORD, "boss", "role"),
    ("bob", PASSWORD, "editor", "organisation"),
])
def test_bad_accounts_are_refused(empty_db, username, password, role, message):
    with pytest.raises(InvalidData, match=message):
        accounts.create_user(empty_db, username, password, role=role, actor="test")
    assert not accounts.list_users(empty_db)


def test_usernames_are_unique(empty_db, user):
    with pytest.raises(InvalidData, match="taken"):
        accounts.create_user(empty_db, "nadia.m", PASSWORD, role="staff", actor="test")


def test_session_cookie_is_signed_and_ends_on_logout(empty_db, user):
    cookie, session = accounts.open_session(empty_db, user)
    assert accounts.read_session(empty_db, cookie).user.id == user.id
    token, signature = cookie.split(".")
    assert accounts.read_session(empty_db, f"{token}.{'0' * len(signature)}") is None
    assert accounts.read_session(empty_db, f"{token[:-1]}x.{signature}") is None
    assert accounts.read_session(empty_db, "garbage") is None
    assert accounts.read_session(empty_db, None) is None
    # Only a hash of the token is stored.
    assert not list(empty_db.query("select 1 from sessions where token_hash = ?", [token]))
    accounts.close_session(empty_db, cookie)
    assert accounts.read_session(empty_db, cookie) is None


def test_session_expires(empty_db, user):
    start = dt.datetime(2026, 3, 3, 8, tzinfo=dt.timezone.utc)
    cookie, _ = accounts.open_session(empty_db, user, at=start, hours=12)
    assert accounts.read_session(empty_db, cookie, at=start + dt.timedelta(hours=11))
    assert accounts.read_session(empty_db, cookie, at=start + dt.timedelta(hours=12)) is None


def test_disabling_a_user_ends_their_sessions(empty_db, user):
    cookie, _ = accounts.open_session(empty_db, user)
    accounts.set_active(empty_db, "nadia.m", False, actor="test")
    assert accounts.read_session(empty_db, cookie) is None
    assert accounts.authenticate(empty_db, "nadia.m", PASSWORD) is None


def test_csrf_token_belongs_to_the_session(empty_db, user):
    _, first = accounts.open_session(empty_db, user)
    _, second = accounts.open_session(empty_db, user)
    assert accounts.csrf_ok(first, first.csrf)
    assert not accounts.csrf_ok(first, second.csrf)
    assert not accounts.csrf_ok(first, None)
    assert not accounts.csrf_ok(first, "")


def test_roles_are_ordered_like_the_api(empty_db, user):
    assert accounts.has_role(user, "staff") and not accounts.has_role(user, "editor")
    assert accounts.caller(user).role == "staff"
    assert "nadia.m" in accounts.caller(user).actor


def test_users_cli(tmp_path):
    db_path = tmp_path / "cli.db"
    store.connect(db_path).close()  # `users` refuses a missing database (a mistyped --db)
    runner = CliRunner()
    created = runner.invoke(cli, ["users", "create", "--db", str(db_path), "marc",
                                  "--name", "Marc D.", "--password-stdin"],
                            input=PASSWORD + "\n")
    assert created.exit_code == 0, created.output
    assert "created staff account 'marc'" in created.output
    short = runner.invoke(cli, ["users", "create", "--db", str(db_path), "lea",
                                "--password-stdin"], input="short\n")
    assert short.exit_code == 1 and "at least 10 characters" in short.output
    prompted = runner.invoke(cli, ["users", "create", "--db", str(db_path), "lea",
                                   "--role", "admin"], input=f"{PASSWORD}\n{PASSWORD}\n")
    assert prompted.exit_code == 0, prompted.output
    listed = runner.invoke(cli, ["users", "list", "--db", str(db_path)])
    assert "marc" in listed.output and "lea" in listed.output and "admin" in listed.output
    assert PASSWORD not in listed.output
    disabled = runner.invoke(cli, ["users", "disable", "--db", str(db_path), "marc"])
    assert disabled.exit_code == 0
    assert "disabled" in runner.invoke(cli, ["users", "list", "--db", str(db_path)]).output
    missing = runner.invoke(cli, ["users", "disable", "--db", str(db_path), "nobody"])
    assert missing.exit_code == 1 and "not found" in missing.output


def test_get_unknown_user(empty_db):
    with pytest.raises(NotFound):
        accounts.get_user(empty_db, "ghost")
