"""rules convert: the same rules as SIEM queries through the pySigma backends."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from click.testing import CliRunner

from seccenter.cli import main
from seccenter.resources import sigma_rules


def test_convert_to_sqlite_gives_queries_that_run(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["rules", "convert", "--target", "sqlite", str(sigma_rules()), "--json"])
    assert result.exit_code == 0, result.output
    conversions = json.loads(result.stdout)
    plain = [c for c in conversions if "/correlations/" not in c["path"]]
    assert len(plain) >= 12 and all(c["error"] is None for c in plain)
    by_title = {c["title"]: c for c in conversions}
    query = by_title["SSH Login Failure for root"]["queries"][0]
    conn = sqlite3.connect(":memory:")
    conn.execute("CREATE TABLE logs (action TEXT, outcome TEXT, user TEXT, process TEXT, message TEXT, "
                 "pam_service TEXT, auth_method TEXT)")
    conn.execute("INSERT INTO logs (action, outcome, user, process, message) VALUES "
                 "('login', 'failure', 'root', 'sshd', 'Failed password for root from 203.0.113.7 port 1 ssh2')")
    assert conn.execute(query).fetchall()


def test_missing_backend_is_a_clear_user_error() -> None:
    result = CliRunner().invoke(main, ["rules", "convert", "--target", "splunk", str(sigma_rules())])
    if result.exit_code == 0:  # a compatible backend is installed: then it must have produced queries
        assert "# " in result.stdout
        return
    assert result.exit_code == 1
    assert "pysigma-backend-splunk" in result.output and "Traceback" not in result.output


def test_unconvertible_rules_are_listed_and_the_rest_converted(tmp_path: Path) -> None:
    (tmp_path / "good.yml").write_text((sigma_rules() / "web_dotenv_probe.yml").read_text())
    (tmp_path / "broken.yml").write_text("title: [\n")
    result = CliRunner().invoke(main, ["rules", "convert", "--target", "sqlite", str(tmp_path)])
    assert result.exit_code == 0
    assert "SELECT" in result.stdout and "not converted:" in result.stderr and "broken.yml" in result.stderr
