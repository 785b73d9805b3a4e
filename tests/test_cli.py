import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from orientation import access, store
from orientation.cli import cli


def all_commands(group: click.Group, prefix=()):
    for name, command in group.commands.items():
        yield (*prefix, name), command
        if isinstance(command, click.Group):
            yield from all_commands(command, (*prefix, name))


@pytest.mark.parametrize("path", [p for p, _ in all_commands(cli)], ids=" ".join)
def test_every_command_and_option_has_help(path):
    command = cli
    for name in path:
        command = command.commands[name]
    assert command.help, f"{' '.join(path)} has no help"
    for param in command.params:
        if isinstance(param, click.Option) and param.name not in ("help",):
            assert param.help, f"{' '.join(path)} {param.opts[0]} has no help"
    result = CliRunner().invoke(cli, [*path, "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage:" in result.output


def test_seed_then_check(tmp_path):
    db_path = tmp_path / "o.db"
    runner = CliRunner()
    result = runner.invoke(cli, ["seed", "--db", str(db_path)])
    assert result.exit_code == 0, result.output
    assert "pathways" in result.output
    result = runner.invoke(cli, ["check", "--db", str(db_path)])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("OK: ")


def test_check_reports_problems_with_exit_code_1(db_path):
    db = store.connect(db_path)
    step = next(db.query("select service_id from pathway_steps limit 1"))
    db.execute("update services set status = 'inactive' where id = ?", [step["service_id"]])
    db.conn.commit()
    db.close()
    result = CliRunner().invoke(cli, ["check", "--db", str(db_path)])
    assert result.exit_code == 1
    assert "is not active" in result.output
    assert "problem(s)" in result.output


def test_seed_error_names_the_file_and_changes_nothing(tmp_path, db_path):
    broken = tmp_path / "seed"
    shutil.copytree(Path(__file__).parent.parent / "seed", broken)
    path = next((broken / "organizations").glob("*.yaml"))
    path.write_text(path.read_text(encoding="utf-8").replace("services:", "services: [oops", 1),
                    encoding="utf-8")
    before = store.counts(store.connect(db_path)), store.generation(store.connect(db_path))
    result = CliRunner().invoke(cli, ["seed", "--db", str(db_path), "--seed-dir", str(broken)])
    assert result.exit_code == 1
    assert path.name in result.output
    assert "database unchanged" in result.output
    db = store.connect(db_path)
    assert (store.counts(db), store.generation(db)) == before


def test_a_file_that_is_not_a_database_gives_a_clear_error(tmp_path):
    bogus = tmp_path / "notes.db"
    bogus.write_text("this is not sqlite" * 100)
    result = CliRunner().invoke(cli, ["check", "--db", str(bogus)])
    assert result.exit_code == 1
    assert "cannot open database" in result.output
    assert bogus.read_text() == "this is not sqlite" * 100


def test_serve_creates_everything_and_answers_healthz(tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "ORIENTATION_DB": str(tmp_path / "data" / "o.db"),
           "ORIENTATION_INDEX_DIR": str(tmp_path / "data" / "index")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "orientation.cli", "serve", "--port", str(port)],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )
    try:
        body = None
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as r:
                    body = r.read().decode()
                    break
            except OSError:
                time.sleep(0.2)
        assert body is not None, proc.stdout.read().decode() if proc.poll() is not None else ""
        assert '"status":"ok"' in body
        assert (tmp_path / "data" / "o.db").exists()
        assert any((tmp_path / "data" / "index").iterdir())
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@pytest.mark.parametrize("how", ["option", "environment"])
def test_serve_with_a_bad_setting_exits_with_one_line(tmp_path, how):
    args = ["serve", "--db", str(tmp_path / "o.db"), "--index-dir", str(tmp_path / "index")]
    env = {}
    if how == "option":
        args += ["--idle-seconds", "soon"]
    else:
        env["ORIENTATION_IDLE_SECONDS"] = "soon"
    result = CliRunner().invoke(cli, args, env=env)
    assert result.exit_code == 1
    assert result.output.splitlines() == [
        "Error: setting idle_seconds (ORIENTATION_IDLE_SECONDS): 'soon' is not a whole number"]
    assert not (tmp_path / "o.db").exists()  # refused before anything was made


# --- a mistyped --db never makes a new empty database ---------------------------------------

@pytest.mark.parametrize("args", [
    ["keys", "create", "--name", "EPN", "--role", "staff"], ["keys", "list"],
    ["keys", "revoke", "abc"],
    ["users", "create", "marc", "--password-stdin"], ["users", "list"],
    ["users", "disable", "marc"],
    ["import", str(Path(__file__).parent / "data" / "hsds-1.1-sample" / "all_resources")],
    ["check"], ["export", "-o", "out.json"], ["reindex", "--index-dir", "index"],
    ["backup", "backup.db"],
], ids=lambda a: " ".join(a[:2]) if a[0] in ("keys", "users") else a[0])
def test_commands_refuse_a_missing_database(tmp_path, monkeypatch, args):
    monkeypatch.chdir(tmp_path)  # where export -o, reindex and backup would write
    typo = tmp_path / "orientaton.db"
    result = CliRunner().invoke(cli, [*args, "--db", str(typo)],
                                input="a long enough password\n")
    assert result.exit_code == 1, result.output
    assert result.output.splitlines() == [
        f"Error: no database at {typo}: check --db or ORIENTATION_DB "
        "('orientation seed' or 'orientation serve' creates one)"]
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_import_create_makes_the_database_and_a_failed_one_leaves_none(tmp_path):
    data = Path(__file__).parent / "data"
    new = tmp_path / "new.db"
    failed = CliRunner().invoke(cli, ["import", "--create", "--db", str(new),
                                      str(data / "open-eligibility" / "oe-sample.json")])
    assert failed.exit_code == 1, failed.output
    assert not new.exists()  # refused: no empty database left behind
    result = CliRunner().invoke(cli, ["import", "--create", "--db", str(new),
                                      str(data / "hsds-1.1-sample" / "all_resources")])
    assert result.exit_code == 0, result.output
    assert "service: 13 new, 0 updated" in result.output
    assert store.counts(store.connect(new))["service"] == 13


def test_seed_creates_a_database(tmp_path):
    result = CliRunner().invoke(cli, ["seed", "--db", str(tmp_path / "first" / "o.db")])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "first" / "o.db").exists()


# --- backup and restore ---------------------------------------------------------------------

def test_backup_then_restore_round_trip(db_path, tmp_path):
    db = store.connect(db_path)
    counts = store.counts(db)
    db.close()
    folder = tmp_path / "backups"
    folder.mkdir()
    runner = CliRunner()
    made = runner.invoke(cli, ["backup", str(folder)], env={"ORIENTATION_DB": str(db_path)})
    assert made.exit_code == 0, made.output
    (backup,) = folder.glob("orientation-*.db")
    assert made.output.startswith(f"backed up {db_path} to {backup}: ")
    assert f"{counts['service']} services" in made.output

    # a change after the backup, which the restore must undo
    db = store.connect(db_path)
    keys = store.list_api_keys(db)
    access.create_api_key(db, name="EPN Wavre", role="staff", organization_id=None,
                          actor="test")
    db.close()
    restored = runner.invoke(cli, ["restore", "--db", str(db_path), str(backup)])
    assert restored.exit_code == 0, restored.output
    kept = next(tmp_path.glob("orientation.db.before-restore-*"))
    assert restored.output.splitlines()[-1] == f"the previous database is kept at {kept}"
    db = store.connect(db_path)
    assert store.counts(db) == counts and store.list_api_keys(db) == keys
    db.close()
    assert len(store.list_api_keys(store.connect(kept))) == len(keys) + 1
    # a backup to a file path names that file
    again = runner.invoke(cli, ["backup", "--db", str(db_path), str(tmp_path / "copy.db")])
    assert again.exit_code == 0, again.output
    assert store.counts(store.connect(tmp_path / "copy.db")) == counts


@pytest.mark.parametrize("bad", ["text", "empty-sqlite", "missing"])
def test_restore_refuses_a_bad_file_and_changes_nothing(db_path, tmp_path, bad):
    path = tmp_path / "bad.db"
    if bad == "text":
        path.write_text("not a database" * 100)
    elif bad == "empty-sqlite":
        import sqlite3
        sqlite3.connect(path).execute("create table t (x)").connection.close()
    before = db_path.read_bytes()
    result = CliRunner().invoke(cli, ["restore", "--db", str(db_path), str(path)])
    assert result.exit_code == 1, result.output
    assert isinstance(result.exception, SystemExit)
    message = {"text": "not a database", "empty-sqlite": "not an Orientation database",
               "missing": "no such file"}[bad]
    assert result.output.startswith(f"Error: not restored, database unchanged: {path}: "
                                    f"{message}"), result.output
    assert db_path.read_bytes() == before
    assert not list(tmp_path.glob("*.before-restore-*"))
