"""A non-editable install (a wheel) works on its own: it seeds a database and serves the kiosk
with its templates, static files and translations, ships the seed directory and synonyms, and
nothing of the repository's tests or benchmarks. Building it prints no setuptools warning."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

ROOT = Path(__file__).parent.parent
# Runtime folders at the top of a checkout, never part of a build.
NOT_SOURCES = {".git", ".venv", "data", "build", "dist", ".pytest_cache"}

SERVE = """
import sys
from pathlib import Path
import api.app, kiosk.public, orientation
from litestar.testing import TestClient

target = Path(sys.argv[1]).resolve()
for module in (orientation, api.app, kiosk.public):  # the installed copy, not the checkout
    assert Path(module.__file__).resolve().is_relative_to(target), module.__file__
with TestClient(api.app.create_app(Path("x.db"), Path("index"),
                                   settings={"allowed_hosts": "testserver.local"})) as client:
    home = client.get("/?lang=nl")
    # the compiled Dutch catalogue is found (without it the kiosk falls back to French)
    assert home.status_code == 200 and "Wat hebt u nodig?" in home.text, home.text[:500]
    assert client.get("/static/kiosk.css").status_code == 200
    assert client.get("/static/htmx.min.js").status_code == 200
    found = client.get("/api/v1/services", params={"q": "minimex"}).json()
    assert found["total"] > 0, found
    # seed/synonyms.txt is found: the old word is highlighted as its synonym "revenu d'int…"
    assert "<mark>revenu</mark>" in str(found["items"]), found["items"]
print("served")
"""


def test_wheel_installs_a_working_orientation(tmp_path):
    source = tmp_path / "source"  # a copy, so the build leaves nothing in the checkout
    shutil.copytree(ROOT, source, ignore=lambda folder, names: [
        n for n in names if Path(folder) == ROOT and (n in NOT_SOURCES or n.endswith(".egg-info"))])
    # A bench/ folder at the top (benchmarks) must stay out of the wheel, like tests/.
    (source / "bench").mkdir(exist_ok=True)
    (source / "bench" / "__init__.py").touch()

    env = {k: v for k, v in os.environ.items()
           # setuptools warns "byte-compiling is disabled" when this is set: not ours to fix
           if k not in ("PYTHONDONTWRITEBYTECODE", "PYTHONPATH")}
    build = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--verbose", "-w", tmp_path / "dist",
         source], capture_output=True, text=True, env=env, timeout=180)
    output = build.stdout + build.stderr
    assert build.returncode == 0, output
    warnings = [line for line in output.splitlines() if re.search(r"warn", line, re.I)]
    assert not warnings, "\n".join(warnings)

    target = tmp_path / "installed"
    [wheel] = (tmp_path / "dist").glob("orientation-*.whl")
    subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "--no-compile",
                    "--target", target, wheel], check=True, capture_output=True, env=env)

    installed = {p.relative_to(target).as_posix() for p in target.rglob("*") if p.is_file()}
    for expected in ("kiosk/templates/base.html", "kiosk/templates/staff/base.html",
                     "kiosk/static/kiosk.css", "kiosk/static/htmx.min.js",
                     "kiosk/locale/nl/LC_MESSAGES/messages.mo", "seed/taxonomy.yaml",
                     "seed/synonyms.txt", "orientation/importer/mapper.py", "api/app.py"):
        assert expected in installed, expected
    assert any(p.startswith("seed/organizations/") for p in installed)
    assert any(p.startswith("seed/pathways/") for p in installed)
    tops = {p.split("/")[0] for p in installed}
    assert "bench" not in tops and "tests" not in tops and "docs" not in tops, tops
    assert not any("__pycache__" in p for p in installed)

    # Run from outside the checkout, the installed packages first, the dependencies after.
    run = tmp_path / "run"
    run.mkdir()
    env["PYTHONPATH"] = os.pathsep.join([str(target), sysconfig.get_path("purelib")])
    seeded = subprocess.run([sys.executable, "-m", "orientation.cli", "seed", "--db", "x.db"],
                            cwd=run, capture_output=True, text=True, env=env, timeout=120)
    assert seeded.returncode == 0, seeded.stdout + seeded.stderr
    organisations = re.search(r"(\d+) organizations?", seeded.stdout)
    assert organisations and int(organisations[1]) > 0, seeded.stdout

    served = subprocess.run([sys.executable, "-c", SERVE, target], cwd=run,
                            capture_output=True, text=True, env=env, timeout=120)
    assert served.returncode == 0 and "served" in served.stdout, served.stdout + served.stderr
