"""The seed is translated whole: every text a person reads on a pathway (need, summary, each
step's action, what to bring and fallback), every need (label, description), every service
(name, description, access texts, documents) and every organisation's own texts (description,
contacts' roles, how to reach its places), in Dutch, English and Arabic. French is the source; ``orientation check`` prints the same figures."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from orientation import translations
from orientation.cli import cli


@pytest.mark.parametrize("lang", translations.TARGETS)
@pytest.mark.parametrize("kind", ["pathways", "needs", "services", "organizations"])
def test_the_seed_is_translated_whole(db, lang, kind):
    [found] = [c for c in translations.coverage(db, services=True)
               if c.lang == lang and c.kind == kind]
    assert found.total > 0
    assert found.done == found.total, (
        f"{lang} {kind}: {found.done}/{found.total} fields translated; missing:\n"
        + "\n".join(found.missing[:20])
        + (f"\n… and {len(found.missing) - 20} more" if len(found.missing) > 20 else ""))


def test_check_prints_the_coverage_per_language(db_path):
    result = CliRunner().invoke(cli, ["check", "--db", str(db_path)])
    lines = [line for line in result.output.splitlines() if line.startswith("translations ")]
    assert [line.split(":")[0] for line in lines] == [f"translations {lang}"
                                                      for lang in translations.TARGETS]
    for line in lines:
        assert "pathways " in line and "needs " in line and "%" in line
