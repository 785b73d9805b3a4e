"""The README is part of the product: its commands, settings and CLI reference stay true."""

import re
import subprocess
import sys
from pathlib import Path

from orientation.settings import SETTINGS, envvar

ROOT = Path(__file__).parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")


def test_readme_gives_the_two_commands_and_ci_runs_the_test_one():
    assert "make run" in README and "make test" in README
    ci = [line for line in (ROOT / ".ci" / "run").read_text().splitlines()
          if line.strip() and not line.startswith("#")]
    assert ci[-1].strip() == "make test"


def test_every_setting_is_documented():
    for setting in SETTINGS:
        assert f"`{setting.name}`" in README, setting.name
        assert envvar(setting.name) in README, setting.name
        assert setting.help, setting.name


def test_generated_sections_are_up_to_date():
    result = subprocess.run([sys.executable, "-m", "cogapp", "--check", "README.md"],
                            cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr + "\nrun: .venv/bin/cog -r README.md"


def test_readme_links_point_at_files_that_exist():
    for target in re.findall(r"\]\(((?:docs|seed|tests|kiosk|orientation|api)/[^)#\s]+)", README):
        assert (ROOT / target).exists(), target
