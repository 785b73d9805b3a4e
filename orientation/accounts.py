"""Staff accounts and their sessions: who may open the desk page and the staff console.

Passwords are hashed with argon2id (argon2-cffi defaults), never stored or logged in clear.
A login opens a server-side session; the browser holds ``<token>.<signature>`` in an HttpOnly
cookie, where the signature is an HMAC of the token with a key the server generates on first use
(kept in ``app_secrets``). Only a hash of the token is stored, so a copy of the database does not
log anyone in; logging out or disabling a user deletes their sessions at once. Each session
carries its own CSRF token for forms.

Roles are the API's (``models.ROLES``); ``caller(user)`` turns a user into the same
``access.Caller`` the API uses, so the staff console checks rights exactly like the API does.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import re
import secrets

import msgspec
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlite_utils import Database

from . import store
from .access import Caller
from .errors import InvalidData, NotFound, PermissionDenied
from .models import ROLES, Role, new_id
from .settings import DEFAULTS

COOKIE = "orientation_session"
SESSION_HOURS = 12
MIN_PASSWORD = 10
USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{2,39}$")
#: The languages of the staff console, one remembered per account (None: follow the browser):
#: Brussels' two official languages, English, and Arabic (right to left) for the workers who
#: read it best.
LANGUAGES = ("fr", "nl", "en", "ar")

_hasher = PasswordHasher()
# Verified when the username is unknown, so a wrong name takes as long as a wrong password.
_DUMMY_HASH = _hasher.hash("not a real password")


class User(msgspec.Struct, kw_only=True):
    id: str
    username: str
    display_name: str
    role: Role
    organization_id: str | None = None
    active: bool = True
    created_at: dt.datetime
    last_login_at: dt.datetime | None = None
    language: str | None = None


class Session(msgspec.Struct, kw_only=True):
    id: str
    user: User
    csrf: str
    expires_at: dt.datetime


def _utc(at: dt.datetime | None = None) -> dt.datetime:
    return (at or dt.datetime.now(dt.UTC)).astimezone(dt.UTC)


def _iso(at: dt.datetime) -> str:
    return at.isoformat(timespec="seconds")


def _user(row: dict) -> User:
    data = {k: v for k, v in row.items() if v is not None and k != "password_hash"}
    data["active"] = bool(row["active"])
    return msgspec.convert(data, User, strict=False)


def caller(user: User) -> Caller:
    """The API's notion of who is asking, for this staff member."""
    return Caller(role=user.role, organization_id=user.organization_id,
                  actor=f"{user.display_name} ({user.username})")


# --- Users --------------------------------------------------------------------------------


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise InvalidData(f"the password needs at least {MIN_PASSWORD} characters",
                          field="password")


def create_user(db: Database, username: str, password: str, *, role: str,
                display_name: str | None = None, organization_id: str | None = None,
                actor: str) -> User:
    username = username.strip().lower()
    if not USERNAME.match(username):
        raise InvalidData("a username has 3 to 40 characters: lowercase letters, digits, "
                          "'.', '_' or '-'", field="username")
    if role not in ROLES:
        raise InvalidData(f"role must be one of {', '.join(ROLES)}", field="role")
    if role == "editor" and not organization_id:
        raise InvalidData("an editor account needs an organisation", field="organization_id")
    if organization_id is not None and not store.exists(db, "organization", organization_id):
        raise InvalidData(f"organisation {organization_id!r} does not exist",
                          field="organization_id")
    _check_password(password)
    if store.get_user_row(db, username=username) is not None:
        raise InvalidData(f"the username {username!r} is taken", field="username")
    row = {"id": new_id(), "username": username,
           "display_name": (display_name or username).strip(), "role": role,
           "organization_id": organization_id, "password_hash": _hasher.hash(password),
           "active": 1, "created_at": _iso(_utc()), "last_login_at": None}
    store.insert_user(db, row, actor=actor)
    return _user(row)


def get_user(db: Database, username: str) -> User:
    row = store.get_user_row(db, username=username.strip().lower())
    if row is None:
        raise NotFound("user", username)
    return _user(row)


def list_users(db: Database) -> list[User]:
    return [_user(r) for r in store.list_user_rows(db)]


def set_active(db: Database, username: str, active: bool, *, actor: str) -> User:
    """Disable (or enable again) an account; disabling ends its sessions at once."""
    user = get_user(db, username)
    store.update_user(db, user.id, {"active": int(active)}, actor=actor)
    return get_user(db, username)


def set_language(db: Database, user_id: str, language: str) -> None:
    """Remember the console's language for this account (their own choice, on every device)."""
    if language not in LANGUAGES:
        raise InvalidData(f"language must be one of {', '.join(LANGUAGES)}", field="language")
    store.update_user(db, user_id, {"language": language})


def set_password(db: Database, username: str, password: str, *, actor: str) -> None:
    _check_password(password)
    user = get_user(db, username)
    store.update_user(db, user.id, {"password_hash": _hasher.hash(password)}, actor=actor)


def authenticate(db: Database, username: str, password: str) -> User | None:
    """The active user with these credentials, or None (same cost either way)."""
    row = store.get_user_row(db, username=username.strip().lower())
    try:
        _hasher.verify(row["password_hash"] if row else _DUMMY_HASH, password)
    except (VerificationError, InvalidHashError):
        return None
    if row is None or not row["active"]:
        return None
    fields = {"last_login_at": _iso(_utc())}
    if _hasher.check_needs_rehash(row["password_hash"]):
        fields["password_hash"] = _hasher.hash(password)
    store.update_user(db, row["id"], fields)
    return _user({**row, **fields})


# --- Sessions -----------------------------------------------------------------------------


def _key(db: Database) -> bytes:
    return bytes.fromhex(store.app_secret(db, "session_key", lambda: secrets.token_hex(32)))


def _sign(db: Database, token: str) -> str:
    return hmac.new(_key(db), token.encode(), hashlib.sha256).hexdigest()


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def open_session(db: Database, user: User, *, at: dt.datetime | None = None,
                 hours: int = SESSION_HOURS) -> tuple[str, Session]:
    """Start a session; returns (cookie value, session)."""
    token = secrets.token_urlsafe(32)
    now = _utc(at)
    session = Session(id=new_id(), user=user, csrf=secrets.token_urlsafe(32),
                      expires_at=now + dt.timedelta(hours=hours))
    store.insert_session(db, {
        "id": session.id, "token_hash": _token_hash(token), "user_id": user.id,
        "csrf": session.csrf, "created_at": _iso(now), "expires_at": _iso(session.expires_at),
    })
    return f"{token}.{_sign(db, token)}", session


def read_session(db: Database, cookie: str | None, *,
                 at: dt.datetime | None = None) -> Session | None:
    """The live session behind a cookie value, or None (bad signature, expired, logged out,
    user disabled)."""
    if not cookie or cookie.count(".") != 1:
        return None
    token, signature = cookie.split(".")
    if not hmac.compare_digest(signature, _sign(db, token)):
        return None
    row = store.get_session_row(db, _token_hash(token))
    if row is None or dt.datetime.fromisoformat(row["expires_at"]) <= _utc(at):
        return None
    user_row = store.get_user_row(db, user_id=row["user_id"])
    if user_row is None or not user_row["active"]:
        return None
    return Session(id=row["id"], user=_user(user_row), csrf=row["csrf"],
                   expires_at=dt.datetime.fromisoformat(row["expires_at"]))


def close_session(db: Database, cookie: str | None) -> None:
    if cookie and "." in cookie:
        store.delete_session(db, _token_hash(cookie.split(".")[0]))


def csrf_ok(session: Session, token: str | None) -> bool:
    return bool(token) and hmac.compare_digest(session.csrf, token)


def has_role(user: User, role: str) -> bool:
    """Roles are ordered: staff < editor < admin."""
    return caller(user).rank() >= ROLES.index(role) + 1


# --- Login throttling (staff console) -------------------------------------------------------

#: Failures are counted per account and per address separately, with different thresholds: an
#: account locks after a few failures from anywhere (one password being guessed), an address only
#: after many failures across accounts (password spraying). A CPAS office behind one NAT shares
#: an address, so one colleague mistyping must not lock out everybody else there.
MAX_ACCOUNT_FAILURES = DEFAULTS["login_failures_per_account"]
MAX_ADDRESS_FAILURES = DEFAULTS["login_failures_per_address"]
FAILURE_WINDOW = dt.timedelta(minutes=15)


class Throttled(PermissionDenied):
    """Too many failed logins: try again later."""

    def __init__(self, minutes: int):
        self.minutes = minutes
        super().__init__(f"too many failed logins: try again in {minutes} minutes")


def _account_key(username: str) -> str:
    # Hashed: the table never holds a username or an address in clear.
    return hashlib.sha256(f"user:{username.strip().lower()}".encode()).hexdigest()


def _address_key(address: str) -> str:
    return hashlib.sha256(f"addr:{address}".encode()).hexdigest()


def throttled(db: Database, username: str, address: str | None = None, *,
              at: dt.datetime | None = None, per_account: int = MAX_ACCOUNT_FAILURES,
              per_address: int = MAX_ADDRESS_FAILURES) -> bool:
    """Whether this account, or this address, has failed too often within FAILURE_WINDOW."""
    since = _iso(_utc(at) - FAILURE_WINDOW)
    if store.count_login_failures(db, _account_key(username), since) >= per_account:
        return True
    return bool(address) and \
        store.count_login_failures(db, _address_key(address), since) >= per_address


def login(db: Database, username: str, password: str, *, address: str | None = None,
          at: dt.datetime | None = None, per_account: int = MAX_ACCOUNT_FAILURES,
          per_address: int = MAX_ADDRESS_FAILURES) -> User | None:
    """``authenticate`` with throttling: raises Throttled once the account has ``per_account``
    failures, or the address ``per_address`` failures (across accounts), within
    FAILURE_WINDOW. A success clears the account's count, not the address's (a spraying
    address that guesses one password right is still the same address)."""
    if throttled(db, username, address, at=at, per_account=per_account,
                 per_address=per_address):
        raise Throttled(int(FAILURE_WINDOW.total_seconds() // 60))
    user = authenticate(db, username, password)
    if user is None:
        now = _utc(at)
        keys = [_account_key(username)] + ([_address_key(address)] if address else [])
        store.add_login_failure(db, keys, _iso(now), purge_before=_iso(now - FAILURE_WINDOW))
    else:
        store.clear_login_failures(db, _account_key(username))
    return user
