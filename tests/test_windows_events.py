"""Windows events reach SigmaHQ's rules whatever shape they come in.

* One event in three forms — the EVTX record from SigmaHQ's regression data, its ``evtx_dump`` JSON, and the
  same fields as flat JSON — is routed alike and matched by the same rule.
* A rule for a generic category sees the events of that category: Sysmon's by event id, PowerShell 4104, and
  through the ``windows-audit`` pipeline form Security 4688 (process creation) and 4657 (registry value set),
  which keep their own field names; one event never gives the same rule two alerts.
"""

from __future__ import annotations

import io
import json
import re
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from sigma.conditions import ConditionFieldEqualsValueExpression

from seccenter.collect.evtx import EvtxCollector
from seccenter.collect.interface import Position
from seccenter.collect.jsonlines import JsonLinesCollector
from seccenter.detect.engine import Engine
from seccenter.detect.sigma import CompiledRule, RulePipeline, RuleSet, load_rules
from seccenter.detect.windows import AUDIT_FIELDS, AUDIT_PIPELINE_NAME
from seccenter.events import Event, LogSource
from seccenter.pipeline import SourceReport, detect_paths

CURL_RULE = "windows/process_creation/proc_creation_win_curl_custom_user_agent"
CURL_RULE_ID = "85de1f22-d189-44e4-8239-dc276b45379b"
SECURITY = LogSource("windows", None, "security")
def read_evtx(path: Path) -> list[Event]:
    with path.open("rb") as stream:
        return [record for record in EvtxCollector().parse(stream, str(path), Position()) if isinstance(record, Event)]


def read_jsonl(lines: list[dict[str, Any]]) -> list[Event]:
    data = "".join(json.dumps(line) + "\n" for line in lines).encode()
    records = list(JsonLinesCollector().parse(io.BytesIO(data), "test.jsonl", Position()))
    assert [record for record in records if not isinstance(record, Event)] == []
    return records  # type: ignore[return-value]


def flat(event: Event) -> dict[str, Any]:
    """The event as a shipper writes Windows events flat: System and EventData values side by side."""
    return dict(event.fields)


def rule_file(tmp_path: Path, logsource: str, detection: str, name: str = "rule.yml",
              rule_id: str = "6a1b7c9e-1111-4222-8333-944455556666") -> Path:
    path = tmp_path / name
    path.write_text(f"title: {name}\nid: {rule_id}\nlevel: high\nlogsource:\n"
                    + textwrap.indent(textwrap.dedent(logsource).strip(), "  ") + "\ndetection:\n"
                    + textwrap.indent(textwrap.dedent(detection).strip(), "  ") + "\n")
    return path


def alerts(ruleset: RuleSet, events: list[Event]) -> list[tuple[int, str]]:
    """(event index, rule id) of every alert, through both the generated and the closure matchers."""
    found = []
    for generate_code in (True, False):
        engine = Engine(ruleset.runnable, generate_code=generate_code)
        found.append([(index, alert.rule_id) for index, event in enumerate(events) for alert in engine.match(event)])
    assert found[0] == found[1], "generated code and closures disagree"
    return found[0]


# --- one event, three forms ---------------------------------------------------------------------------------


@pytest.fixture
def curl(corpus: Path) -> tuple[Path, Path, RuleSet]:
    """The curl regression sample (EVTX and evtx_dump JSON) and its SigmaHQ rule."""
    sample = corpus / "sigma" / "regression_data" / "rules" / CURL_RULE
    ruleset = load_rules([corpus / "sigma" / "rules" / f"{CURL_RULE}.yml"])
    assert [rule.id for rule in ruleset.rules] == [CURL_RULE_ID]
    return sample / f"{CURL_RULE_ID}.evtx", sample / f"{CURL_RULE_ID}.json", ruleset


def _detect(path: Path, ruleset: RuleSet) -> tuple[list[Any], SourceReport]:
    reports: list[SourceReport] = []
    found = list(detect_paths([path], ruleset, reports=reports))
    return found, reports[0]


@pytest.mark.parametrize("form", [
    "evtx", "flat_json",
    "evtx_dump_jsonl",
    "evtx_dump_pretty",
])
def test_one_event_in_every_form_matches_the_same_rule(curl: tuple[Path, Path, RuleSet], tmp_path: Path,
                                                       form: str) -> None:
    """Read as ``seccenter detect`` reads a file (sniffed, parsed, routed, matched): one alert each time."""
    evtx, dump, ruleset = curl
    [record] = read_evtx(evtx)
    paths = {
        "evtx": evtx,
        "flat_json": tmp_path / "flat.jsonl",
        "evtx_dump_jsonl": tmp_path / "dump.jsonl",
        "evtx_dump_pretty": dump,
    }
    paths["flat_json"].write_text(json.dumps(flat(record)) + "\n")
    paths["evtx_dump_jsonl"].write_text(json.dumps(json.loads(dump.read_text())) + "\n")
    found, report = _detect(paths[form], ruleset)
    assert report.error is None and report.malformed == 0 and report.events == 1, report
    assert [(alert.rule_id, alert.event.logsource) for alert in found] == [(CURL_RULE_ID, record.logsource)]
    assert found[0].event.time == record.time
    if form.startswith("evtx_dump"):  # the same event: the same fields as the EVTX collector gives
        assert stripped(found[0].event.fields) == stripped(record.fields)


def stripped(fields: dict[str, Any]) -> dict[str, Any]:
    """SigmaHQ's JSON samples lose trailing blanks (a ParentCommandLine of ``"cmd.exe" ``): compare without."""
    return {name: value.strip() if isinstance(value, str) else value for name, value in fields.items()}


def test_the_forms_are_routed_like_evtx_records(curl: tuple[Path, Path, RuleSet]) -> None:
    """Routing by Channel and EventID is the same for a flat JSON event and for nested evtx_dump JSON."""
    evtx, dump, _ = curl
    [record] = read_evtx(evtx)
    assert record.logsource == LogSource("windows", "process_creation", "sysmon")
    flat_event, nested = read_jsonl([flat(record), json.loads(dump.read_text())])
    assert flat_event.logsource == nested.logsource == record.logsource


# --- generic categories ↔ the events that carry them ---------------------------------------------------------

SYSMON_REGISTRY = "Persistence/sysmon_local_account_creation_and_added_admingroup_12_13.evtx"
CATEGORY_SAMPLES = {  # category → a corpus EVTX file with events of it (and of others)
    "process_creation": "Lateral Movement/LM_wmiexec_impacket_sysmon_whoami.evtx",
    "network_connection": "Lateral Movement/LM_wmiexec_impacket_sysmon_whoami.evtx",
    "registry_set": SYSMON_REGISTRY,
    "registry_add": SYSMON_REGISTRY,
    "registry_delete": SYSMON_REGISTRY,
    "process_access": "Privilege Escalation/Sysmon_13_1_UAC_Bypass_EventVwrBypass.evtx",
    "ps_script": "Other/emotet/exec_emotet_ps_4104.evtx",
}


def _category_rule(tmp_path: Path, category: str) -> RuleSet:
    return load_rules([rule_file(tmp_path, f"product: windows\ncategory: {category}",
                                 "selection:\n  Channel|contains: '/Operational'\ncondition: selection")])


@pytest.mark.parametrize("category", sorted(CATEGORY_SAMPLES))
def test_a_category_rule_sees_the_evtx_events_of_its_category(corpus: Path, tmp_path: Path, category: str) -> None:
    events = read_evtx(corpus / "evtx" / CATEGORY_SAMPLES[category])
    assert any(event.logsource.category == category for event in events)
    found = alerts(_category_rule(tmp_path, category), events)
    assert [index for index, _ in found] == [index for index, event in enumerate(events)
                                             if event.logsource.category == category]


def test_registry_event_rules_see_every_registry_event(corpus: Path, tmp_path: Path) -> None:
    events = read_evtx(corpus / "evtx" / SYSMON_REGISTRY)
    found = alerts(_category_rule(tmp_path, "registry_event"), events)
    assert len(found) == sum(event.fields.get("EventID") in (12, 13, 14) for event in events) == 17


@pytest.mark.parametrize("category", [
    "process_creation", "network_connection", "registry_set", "process_access",
    "registry_add",
    "registry_delete",
    "ps_script",
])
def test_flat_json_events_are_routed_like_their_evtx_records(corpus: Path, category: str) -> None:
    events = [event for event in read_evtx(corpus / "evtx" / CATEGORY_SAMPLES[category])
              if event.logsource.category == category]
    as_json = read_jsonl([flat(event) for event in events])
    assert [event.logsource for event in as_json] == [event.logsource for event in events]


@pytest.mark.parametrize(("event_id", "category", "fields"), [
    (7, "image_load", {"Image": "C:\\Tools\\x.exe", "ImageLoaded": "C:\\Users\\Public\\evil.dll"}),
    (11, "file_event", {"Image": "C:\\Tools\\x.exe", "TargetFilename": "C:\\Users\\Public\\evil.dll"}),
    (22, "dns_query", {"Image": "C:\\Tools\\x.exe", "QueryName": "evil.example"}),
])
def test_sysmon_json_events_reach_their_category_rules(tmp_path: Path, event_id: int, category: str,
                                                       fields: dict[str, str]) -> None:
    """Categories the corpus EVTX files have no sample of, as flat JSON: routed by Channel and EventID."""
    ruleset = load_rules([rule_file(tmp_path, f"product: windows\ncategory: {category}",
                                    "selection:\n  Image|endswith: '\\x.exe'\ncondition: selection")])
    sysmon = {"EventID": event_id, "Channel": "Microsoft-Windows-Sysmon/Operational", **fields}
    events = read_jsonl([sysmon, {**sysmon, "EventID": 1}, {**sysmon, "Channel": "Security"}])
    assert events[0].logsource == LogSource("windows", category, "sysmon")
    assert [index for index, _ in alerts(ruleset, events)] == [0]


# --- Security 4688 and 4657 through the windows-audit pipeline ----------------------------------------------


def security_4688(sysmon: dict[str, Any]) -> dict[str, Any]:
    """A Sysmon 1 event as Security 4688 (Windows 10 and later) tells it, flat, as a shipper writes it."""
    domain, _, name = str(sysmon.get("User", "")).rpartition("\\")
    return {
        "EventID": 4688, "Channel": "Security", "Computer": sysmon.get("Computer"),
        "Provider_Name": "Microsoft-Windows-Security-Auditing", "TimeCreated": sysmon.get("TimeCreated"),
        "SubjectUserSid": "S-1-5-18", "SubjectUserName": name, "SubjectDomainName": domain,
        "SubjectLogonId": sysmon.get("LogonId"), "NewProcessId": hex(int(sysmon.get("ProcessId", 0))),
        "NewProcessName": sysmon.get("Image"), "TokenElevationType": "%%1936",
        "ProcessId": hex(int(sysmon.get("ParentProcessId", 0))), "CommandLine": sysmon.get("CommandLine"),
        "TargetUserSid": "S-1-0-0", "TargetUserName": "-", "TargetDomainName": "-", "TargetLogonId": "0x0",
        "ParentProcessName": sysmon.get("ParentImage"), "MandatoryLabel": "S-1-16-12288",
    }


def test_a_process_creation_rule_sees_sysmon_1_and_security_4688(curl: tuple[Path, Path, RuleSet]) -> None:
    evtx, _, ruleset = curl
    [rule] = ruleset.rules
    assert rule.logsource == LogSource("windows", "process_creation", None) and rule.form is None
    [audit] = rule.forms
    assert (audit.id, audit.form, audit.logsource) == (rule.id, AUDIT_PIPELINE_NAME, SECURITY)
    [sysmon] = read_evtx(evtx)
    benign = dict(flat(sysmon), CommandLine="curl.exe https://example.com")
    events = [sysmon, *read_jsonl([security_4688(flat(sysmon)), security_4688(benign), flat(sysmon)])]
    assert events[1].logsource == SECURITY
    assert alerts(ruleset, events) == [(0, CURL_RULE_ID), (1, CURL_RULE_ID), (3, CURL_RULE_ID)]
    assert Engine(ruleset.runnable).rules_for(SECURITY) == [audit]
    assert Engine(ruleset.runnable).rules_for(sysmon.logsource) == [rule]


def test_seccenter_detect_finds_a_process_creation_rule_in_security_4688(curl: tuple[Path, Path, RuleSet],
                                                                          tmp_path: Path) -> None:
    evtx, _, ruleset = curl
    [sysmon] = read_evtx(evtx)
    path = tmp_path / "security.jsonl"
    path.write_text(json.dumps(security_4688(flat(sysmon))) + "\n")
    found, report = _detect(path, ruleset)
    assert report.events == 1 and [alert.rule_id for alert in found] == [CURL_RULE_ID]


def test_without_a_pipeline_rules_load_as_written(curl: tuple[Path, Path, RuleSet], corpus: Path) -> None:
    ruleset = load_rules([corpus / "sigma" / "rules" / f"{CURL_RULE}.yml"], RulePipeline())
    assert [rule.forms for rule in ruleset.rules] == [()]
    assert ruleset.runnable == ruleset.rules


def _fields(rule: CompiledRule) -> set[str]:
    names: set[str] = set()

    def walk(node: Any) -> None:
        if isinstance(node, ConditionFieldEqualsValueExpression):
            names.add(node.field)
        for child in getattr(node, "args", ()):
            walk(child)

    for tree in rule.conditions:
        walk(tree)
    return names


IN_4688 = {*AUDIT_FIELDS, "CommandLine", "EventID"}
"""The fields of Sigma's process_creation taxonomy that Security 4688 also has (under its own name)."""


def regression_samples(corpus: Path) -> Iterator[tuple[str, Path, Path]]:
    """(name, rule file, EVTX sample) for each rule in SigmaHQ's regression data."""
    rule_ids = {}
    for path in (corpus / "sigma" / "rules").rglob("*.yml"):
        found = re.search(r"^id: *([0-9a-f-]{36})", path.read_text(encoding="utf-8"), re.MULTILINE)
        if found:
            rule_ids[found.group(1)] = path
    for info in sorted((corpus / "sigma" / "regression_data" / "rules").rglob("info.yml")):
        data = yaml.safe_load(info.read_text(encoding="utf-8"))
        rule_id = str(data["rule_metadata"][0]["id"])
        for evtx in sorted(info.parent.glob("*.evtx")):
            yield info.parent.name, rule_ids[rule_id], evtx


def test_regression_rules_match_the_4688_rendering_of_their_events(corpus: Path) -> None:
    """SigmaHQ's regression rules match the 4688 rendering of their Sysmon samples as often as the samples
    themselves, except rules that need a field 4688 does not have (OriginalFileName, Hashes, User…): listed."""
    same, explained, differ = 0, [], []
    for name, rule_path, evtx in regression_samples(corpus):
        ruleset = load_rules([rule_path])
        [rule] = ruleset.rules
        sysmon = [event for event in read_evtx(evtx) if event.fields.get("EventID") == 1]
        audit = read_jsonl([security_4688(flat(event)) for event in sysmon])
        counts = len(alerts(ruleset, sysmon)), len(alerts(ruleset, audit))
        missing = _fields(rule) - IN_4688
        if counts[0] == counts[1]:
            same += 1
        elif missing and counts[1] < counts[0]:
            explained.append((name, counts, sorted(missing)))
        else:
            differ.append((name, counts))
    print(f"\n{same} regression rules match the 4688 rendering as often as Sysmon 1; {len(explained)} need a "
          "field 4688 lacks:", *(f"  {name}: Sysmon {counts[0]}, 4688 {counts[1]}; fields without 4688 "
                                 f"counterpart: {', '.join(fields)}" for name, counts, fields in explained), sep="\n")
    assert differ == []
    assert same >= 90


def test_null_and_negation_keep_their_meaning_in_the_audit_form(tmp_path: Path) -> None:
    """The audit form renames fields, it does not OR them together: ``ParentImage: null`` asks about 4688's
    ParentProcessName, not about a Sysmon-only field that a 4688 event never has."""
    ruleset = load_rules([rule_file(tmp_path, "product: windows\ncategory: process_creation", """
        selection:
          Image|endswith: '\\whoami.exe'
        filter_no_parent:
          ParentImage: null
        filter_explorer:
          ParentImage|endswith: '\\explorer.exe'
        condition: selection and not 1 of filter_*
    """)])
    whoami = {"Image": "C:\\Windows\\System32\\whoami.exe", "ParentImage": "C:\\Windows\\System32\\cmd.exe",
              "ProcessId": 10, "ParentProcessId": 9, "User": "CORP\\alice"}
    sysmon = {"EventID": 1, "Channel": "Microsoft-Windows-Sysmon/Operational", **whoami}
    events = read_jsonl([
        sysmon,                                                                 # 0: match
        {**sysmon, "ParentImage": "C:\\Windows\\explorer.exe"},                 # 1: filtered
        {k: v for k, v in sysmon.items() if k != "ParentImage"},                # 2: no parent: filtered
        security_4688(whoami),                                                  # 3: match
        {**security_4688(whoami), "ParentProcessName": "C:\\Windows\\explorer.exe"},  # 4: filtered
        {k: v for k, v in security_4688(whoami).items() if k != "ParentProcessName"},  # 5: filtered
        {**security_4688(whoami), "EventID": 4689},                             # 6: not a process creation
    ])
    assert [index for index, _ in alerts(ruleset, events)] == [0, 3]


def test_security_rules_are_not_changed(tmp_path: Path) -> None:
    """A rule written for service security already uses 4688's names: it gets no second form."""
    ruleset = load_rules([rule_file(tmp_path, "product: windows\nservice: security", """
        selection:
          EventID: 4688
          NewProcessName|endswith: '\\whoami.exe'
        condition: selection
    """)])
    [rule] = ruleset.rules
    assert rule.forms == () and rule.logsource == SECURITY
    events = read_jsonl([security_4688({"Image": "C:\\Windows\\System32\\whoami.exe"})])
    assert alerts(ruleset, events) == [(0, rule.id)]


SYSMON_13 = {
    "EventID": 13, "EventType": "SetValue", "Channel": "Microsoft-Windows-Sysmon/Operational",
    "Image": "C:\\Windows\\System32\\reg.exe",
    "TargetObject": "HKLM\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Run\\updater",
    "Details": "C:\\Users\\Public\\updater.exe",
}
SECURITY_4657 = {
    "EventID": 4657, "Channel": "Security", "OperationType": "%%1905",
    "ProcessName": "C:\\Windows\\System32\\reg.exe",
    "ObjectName": "\\REGISTRY\\MACHINE\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Run",
    "ObjectValueName": "updater", "NewValue": "C:\\Users\\Public\\updater.exe",
}


def test_a_registry_set_rule_sees_sysmon_13_and_security_4657(tmp_path: Path) -> None:
    ruleset = load_rules([rule_file(tmp_path, "product: windows\ncategory: registry_set", """
        selection:
          Image|endswith: '\\reg.exe'
          TargetObject|contains: '\\CurrentVersion\\Run'
          Details|contains: '\\Users\\Public\\'
        condition: selection
    """)])
    [rule] = ruleset.rules
    assert [(form.form, form.logsource) for form in rule.forms] == [(AUDIT_PIPELINE_NAME, SECURITY)]
    events = read_jsonl([
        SYSMON_13, SECURITY_4657,
        {**SECURITY_4657, "OperationType": "%%1904"},  # a new value: registry_add, not registry_set
        {**SECURITY_4657, "EventID": 4663},
    ])
    assert events[0].logsource == LogSource("windows", "registry_set", "sysmon")
    assert [index for index, _ in alerts(ruleset, events)] == [0, 1]


def test_a_registry_rule_on_a_field_4657_lacks_gets_no_audit_form(tmp_path: Path) -> None:
    ruleset = load_rules([rule_file(tmp_path, "product: windows\ncategory: registry_set", """
        selection:
          EventType: SetValue
          TargetObject|contains: '\\CurrentVersion\\Run'
        condition: selection
    """)])
    [rule] = ruleset.rules
    assert rule.forms == () and ruleset.errors == []
    [note] = ruleset.form_errors
    assert "no windows-audit form" in note.reason and "EventType" in note.reason and note.line is not None
    assert [index for index, _ in alerts(ruleset, read_jsonl([SYSMON_13, SECURITY_4657]))] == [0]


def test_a_common_pipeline_changes_every_form(tmp_path: Path) -> None:
    """``RulePipeline.common`` (a site's pySigma pipeline file) applies to a rule and to its audit form."""
    from sigma.processing.pipeline import ProcessingPipeline

    from seccenter.detect.sigma import standard_pipeline

    common = ProcessingPipeline.from_yaml(textwrap.dedent("""
        name: site field names
        priority: 20
        transformations:
          - id: command_line
            type: field_name_mapping
            mapping:
              CommandLine: process.command_line
          - id: no_hashes
            type: rule_failure
            message: this site has no hashes
            rule_conditions:
              - type: contains_field
                field: Hashes
    """))
    path = rule_file(tmp_path, "product: windows\ncategory: process_creation", """
        selection:
          Image|endswith: '\\whoami.exe'
          CommandLine|contains: '/all'
        condition: selection
    """)
    hashes = rule_file(tmp_path, "product: windows\ncategory: process_creation", """
        selection:
          Hashes|contains: 'MD5='
        condition: selection
    """, name="hashes.yml", rule_id="6a1b7c9e-1111-4222-8333-944455550000")
    ruleset = load_rules([path, hashes], RulePipeline(common=common, sources=standard_pipeline().sources))
    [rule] = ruleset.rules
    assert [error.reason for error in ruleset.errors] == ["this site has no hashes"]
    whoami = {"Image": "C:\\Windows\\System32\\whoami.exe", "process.command_line": "whoami /all"}
    events = read_jsonl([
        {"EventID": 1, "Channel": "Microsoft-Windows-Sysmon/Operational", **whoami},
        {**security_4688({"Image": whoami["Image"]}), "process.command_line": "whoami /all"},
        {"EventID": 1, "Channel": "Microsoft-Windows-Sysmon/Operational", "Image": whoami["Image"],
         "CommandLine": "whoami /all"},
    ])
    assert alerts(ruleset, events) == [(0, rule.id), (1, rule.id)]
