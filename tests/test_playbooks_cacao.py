"""CACAO 2.0: exports valid against the OASIS JSON schemas (offline), export → import → export byte-identical for
every bundled playbook, the OASIS examples imported, and clear errors for what cannot be imported."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from seccenter.playbooks.cacao import EXTENSION_ID, CacaoError, dumps, export_cacao, import_cacao, parse_json
from seccenter.playbooks.library import load_library
from seccenter.playbooks.model import PlaybookError, from_document
from seccenter.resources import playbooks_dir
from seccenter.yamlfile import load_documents

SCHEMAS = Path(__file__).resolve().parent.parent.parent / "shared" / "schemas" / "cacao-2.0"
BUNDLED = load_library([playbooks_dir()]).playbooks
ALL_KINDS = """\
id: every-kind
title: {de: Jede Art, en: Every kind}
version: "3.1"
date: 2025-06-02
description: {de: Alles, en: Everything}
triggers: {tags: [attack.t1486], rules: ["yara:*"], categories: [malware]}
start: look
steps:
  - id: look
    kind: manual
    title: {de: Ansehen, en: Look}
    description: Read the alert.
    owner: incident-response
    due: PT4H
    references: {gdpr: ["Art. 33(1)"], bsi: [DER.2.1.A3], nis2: ["Art. 23(4)(a)"]}
    next: gather
  - id: gather
    kind: command
    title: Gather
    argv: [seccenter, report, incident, "{incident.id}", --format, md, -o, "case-{incident.id}-{incident.title}.md"]
    timeout: 120
    next: severe
  - id: severe
    kind: decision
    title: Severe?
    when: {field: severity, not_in: [low, "medium's"]}
    else: calm
    next: ask
  - id: calm
    kind: manual
    title: Stay calm
  - id: ask
    kind: decision
    title: Personal data?
    when: answer
    then: breach
    next: split
  - id: breach
    kind: playbook
    title: Breach
    playbook: personal-data-breach
  - id: split
    kind: parallel
    title: Split
    branches: [left, right]
    due: {duration: P2D, after: awareness}
  - id: left
    kind: manual
    title: Left
    owner: it-operations
  - id: right
    kind: manual
    title: Right
"""


@pytest.fixture(scope="module")
def validator():
    """A Draft 7 validator of CACAO 2.0 playbooks with every OASIS schema registered by its $id (nothing is
    fetched); skips where the vendored schemas are absent."""
    if not (SCHEMAS / "schemas" / "playbook.json").is_file():
        pytest.skip("../shared/schemas/cacao-2.0 is not present")
    jsonschema = pytest.importorskip("jsonschema")
    referencing = pytest.importorskip("referencing")
    from referencing.jsonschema import DRAFT7

    schemas = [json.loads(path.read_text(encoding="utf-8")) for path in sorted((SCHEMAS / "schemas").rglob("*.json"))]

    def retrieve(uri: str):
        raise referencing.exceptions.NoSuchResource(ref=uri)  # offline: a $ref outside the registry is an error

    registry = referencing.Registry(retrieve=retrieve).with_resources(
        (schema["$id"], DRAFT7.create_resource(schema)) for schema in schemas)
    root = next(schema for schema in schemas if schema["$id"].endswith("/schemas/playbook.json"))
    return jsonschema.Draft7Validator(root, registry=registry, format_checker=jsonschema.FormatChecker())


def errors(validator, document: dict) -> list[str]:
    return [f"{'/'.join(map(str, error.absolute_path))}: {error.message}"
            for error in validator.iter_errors(document)]


def every_kind():
    return from_document(load_documents(ALL_KINDS, "every-kind.yaml")[0], "every-kind.yaml")


def test_the_schemas_reject_what_is_not_cacao(validator) -> None:
    broken = export_cacao(BUNDLED["phishing"])
    action_id = next(key for key, step in broken["workflow"].items() if step["type"] == "action")
    broken["workflow"][action_id]["agent"] = 5  # checked through the $ref to workflows/action.json
    broken["created"] = "yesterday"
    del broken["workflow_start"]
    assert sorted(errors(validator, broken)) == sorted([
        ": 'workflow_start' is a required property",
        "created: 'yesterday' does not match " + repr(
            "^[0-9]{4}-(0[1-9]|1[012])-(0[1-9]|[12][0-9]|3[01])T([01][0-9]|2[0-3]):([0-5][0-9]):([0-5][0-9]|60)"
            "(\\.[0-9]+)?Z$"),
        f"workflow/{action_id}/agent: 5 is not of type 'string'",
    ])


@pytest.mark.parametrize("playbook_id", sorted(BUNDLED))
def test_every_bundled_playbook_exports_valid_cacao(validator, playbook_id: str) -> None:
    document = json.loads(dumps(export_cacao(BUNDLED[playbook_id])))
    assert errors(validator, document) == []
    types = {step["type"] for step in document["workflow"].values()}
    assert {"start", "end", "action"} <= types
    assert document["name"] == BUNDLED[playbook_id].title.en


def test_every_step_kind_exports_valid_cacao(validator) -> None:
    document = export_cacao(every_kind())
    assert errors(validator, json.loads(dumps(document))) == []
    steps = list(document["workflow"].values())
    assert sorted({step["type"] for step in steps}) == ["action", "end", "if-condition", "parallel",
                                                        "playbook-action", "start"]
    by_name = {step.get("name"): step for step in steps}
    assert by_name["Severe?"]["condition"] == "[x-seccenter-incident:severity NOT IN ('low', 'medium\\'s')]"
    assert by_name["Personal data?"]["condition"] == "[x-seccenter-answer:value = 'yes']"
    assert by_name["Gather"]["commands"] == [{"type": "manual", "command": (
        "Run: seccenter report incident __incident_id__:value --format md -o "
        "case-__incident_id__:value-__incident_title__:value.md")}]
    assert sorted(document["playbook_variables"]) == ["__incident_id__", "__incident_title__"]
    assert {ref["external_id"] for ref in by_name["Look"]["external_references"]} == {
        "Art. 33(1)", "DER.2.1.A3", "Art. 23(4)(a)"}
    extension = by_name["Look"]["step_extensions"][EXTENSION_ID]
    assert extension["title"] == {"de": "Ansehen", "en": "Look"} and extension["due"] == "PT4H"
    assert by_name["Split"]["step_extensions"][EXTENSION_ID]["due"] == {"duration": "P2D", "after": "awareness"}
    # every branch ends at an end step of its own; the if-condition without then goes straight to one
    ends = [step for step in steps if step["type"] == "end"]
    assert len(ends) == 1 + 2 + 2 + 1  # main, severe (then, else), ask (then), split (two branches)
    assert document["workflow"][by_name["Severe?"]["on_true"]]["type"] == "end"


def test_export_is_deterministic() -> None:
    assert dumps(export_cacao(every_kind())) == dumps(export_cacao(every_kind()))
    assert export_cacao(every_kind())["id"] == "playbook--" + export_cacao(every_kind())["id"].split("--")[1]
    assert export_cacao(every_kind())["created"] == "2025-06-02T00:00:00.000Z"


@pytest.mark.parametrize("playbook_id", [*sorted(BUNDLED), "every-kind"])
def test_round_trip_export_import_export_is_byte_identical(playbook_id: str) -> None:
    playbook = every_kind() if playbook_id == "every-kind" else BUNDLED[playbook_id]
    first = dumps(export_cacao(playbook))
    imported = import_cacao(parse_json(first, "first.json"), "first.json")
    # the same playbook, its steps listed in the order of the flow (a branching step before its branches)
    assert {step.id: step for step in imported.steps} == {step.id: step for step in playbook.steps}
    assert (imported.id, imported.title, imported.version, imported.date, imported.description, imported.triggers,
            imported.start) == (playbook.id, playbook.title, playbook.version, playbook.date, playbook.description,
                                playbook.triggers, playbook.start)
    assert dumps(export_cacao(imported)) == first


@pytest.mark.parametrize(("name", "title", "steps"), [
    ("basic-example-1.json", "Bad MAC Address", [("block-mac-address", "manual", "Network Admin")]),
    ("spec-3.1-example.json", "Find Malware FuzzyPanda", [("ip-lookup", "manual", "IR team")]),
])
def test_the_oasis_examples_import(validator, name: str, title: str, steps: list) -> None:
    document = json.loads((SCHEMAS / "examples" / name).read_text(encoding="utf-8"))
    assert errors(validator, document) == []
    playbook = import_cacao(document, name)
    assert playbook.title.en == title and playbook.date == "2023-02-19"
    assert [(step.id, step.kind, step.owner) for step in playbook.steps] == steps
    described = playbook.steps[0].description.en
    assert ("ssh: Switch(conf)#mac address-table" in described) or ("manual: Look up IP" in described)
    # what was imported exports again as valid CACAO
    assert errors(validator, json.loads(dumps(export_cacao(playbook)))) == []


def foreign(workflow: dict, start: str = "start--1") -> dict:
    return {"type": "playbook", "spec_version": "cacao-2.0", "id": "playbook--1", "name": "Foreign",
            "created": "2024-05-06T07:08:09.000Z", "modified": "2024-05-06T07:08:09.000Z", "created_by": "identity--1",
            "workflow_start": start, "workflow": workflow}


def test_a_foreign_playbook_with_branches_imports_as_questions_and_branches() -> None:
    playbook = import_cacao(foreign({
        "start--1": {"type": "start", "on_completion": "if-condition--1"},
        "if-condition--1": {"type": "if-condition", "condition": "[ipv4-addr:value = '198.51.100.1']",
                            "on_true": "action--1", "on_false": "end--2", "on_completion": "parallel--1"},
        "action--1": {"type": "action", "name": "Block", "on_completion": "end--3",
                      "commands": [{"type": "bash", "command": "iptables -A INPUT -s 198.51.100.1 -j DROP"}]},
        "parallel--1": {"type": "parallel", "name": "Both", "next_steps": ["action--2", "action--3"],
                        "on_completion": "end--1"},
        "action--2": {"type": "action", "name": "Block", "on_completion": "end--4"},
        "action--3": {"type": "action", "name": "Tell", "on_completion": "end--5"},
        **{f"end--{number}": {"type": "end"} for number in range(1, 6)},
    }), "foreign.json")
    assert playbook.id == "foreign" and playbook.version == "2024-05-06T07:08:09.000Z"
    assert [(step.id, step.kind) for step in playbook.steps] == [
        ("if-condition", "decision"), ("block", "manual"), ("both", "parallel"),
        ("block-2", "manual"), ("tell", "manual")]
    decision = playbook.steps[0]
    assert decision.title.en == "Does this hold: [ipv4-addr:value = '198.51.100.1']?"
    assert decision.when.asks_analyst and decision.then == "block" and decision.otherwise is None
    assert decision.next == "both" and playbook.step("both").branches == ("block-2", "tell")
    assert "bash: iptables -A INPUT" in playbook.step("block").description.en


@pytest.mark.parametrize(("workflow", "message"), [
    ({"start--1": {"type": "start", "on_completion": "while-condition--1"},
      "while-condition--1": {"type": "while-condition", "name": "Poll", "condition": "[x:y = 1]",
                             "on_true": "end--1"},
      "end--1": {"type": "end"}},
     "foreign.json: step while-condition--1 (Poll) has type 'while-condition', which seccenter cannot import "
     "(supported: start, end, action, if-condition, parallel, playbook-action)"),
    ({"start--1": {"type": "start", "on_completion": "x--1"}, "x--1": {"type": "x-vendor-magic"},
      "end--1": {"type": "end"}},
     "foreign.json: step x--1 has type 'x-vendor-magic', which seccenter cannot import"),
    ({"start--1": {"type": "start", "on_completion": "switch-condition--1"},
      "switch-condition--1": {"type": "switch-condition", "switch": "__x__", "cases": {}}},
     "has type 'switch-condition', which seccenter cannot import"),
    ({"start--1": {"type": "start", "on_completion": "action--1"},
      "action--1": {"type": "action", "name": "A", "on_completion": "action--2"},
      "action--2": {"type": "action", "name": "B", "on_completion": "action--1"}},
     "step action--1 (A) is reached twice (seccenter playbooks have no loops and no joins)"),
    ({"start--1": {"type": "start", "on_completion": "action--1"},
      "action--1": {"type": "action", "name": "A", "on_completion": "end--9"}},
     "step action--1 (A) leads to 'end--9', which is not in the workflow"),
    ({"start--1": {"type": "start", "on_completion": "action--1"},
      "action--1": {"type": "action", "name": "A", "on_failure": "end--1", "on_completion": "end--1"},
      "end--1": {"type": "end"}},
     "step action--1 (A) has on_failure; seccenter playbooks have no failure paths"),
    ({"start--1": {"type": "start", "on_completion": "end--1"}, "end--1": {"type": "end"}},
     "the workflow has no step between start and end"),
    ({"start--1": {"type": "start", "on_completion": "parallel--1"},
      "parallel--1": {"type": "parallel", "next_steps": "action--1"}},
     "parallel step parallel--1 has no next_steps list"),
    ({"start--1": "not a step"}, "workflow must be a mapping of step id to step"),
])
def test_what_cannot_be_imported_is_a_clear_error(workflow: dict, message: str) -> None:
    with pytest.raises(CacaoError) as caught:
        import_cacao(foreign(workflow), "foreign.json")
    assert message in str(caught.value)


def test_documents_that_are_not_cacao_playbooks() -> None:
    with pytest.raises(CacaoError, match="^x.json: not JSON"):
        parse_json(b"{\"type\": \"playbook\"", "x.json")
    with pytest.raises(CacaoError, match="^x.json: not JSON"):
        parse_json("[" * 100_000 + "]" * 100_000, "x.json")
    with pytest.raises(CacaoError, match="^x.json: not a CACAO playbook"):
        import_cacao([1, 2], "x.json")
    with pytest.raises(CacaoError, match="^x.json: spec_version 'cacao-1.0' is not cacao-2.0$"):
        import_cacao({**foreign({}), "spec_version": "cacao-1.0"}, "x.json")
    with pytest.raises(CacaoError, match="^x.json: workflow_start must name the start step"):
        import_cacao(foreign({"end--1": {"type": "end"}}, start="end--1"), "x.json")


def test_an_extension_that_contradicts_its_step_or_breaks_the_model_is_refused() -> None:
    document = export_cacao(BUNDLED["phishing"])
    action = next(step for step in document["workflow"].values() if step["type"] == "action")
    action["step_extensions"][EXTENSION_ID]["kind"] = "decision"
    with pytest.raises(CacaoError, match="is a action but its seccenter extension says 'decision'"):
        import_cacao(document, "x.json")
    document = export_cacao(BUNDLED["phishing"])
    action = next(step for step in document["workflow"].values() if step["type"] == "action")
    action["step_extensions"][EXTENSION_ID]["due"] = "P1M"
    with pytest.raises(PlaybookError, match="^x.json: bad due duration: 'P1M'"):
        import_cacao(document, "x.json")


def test_a_deeply_nested_workflow_is_refused_without_exhausting_the_stack() -> None:
    workflow = {"start--1": {"type": "start", "on_completion": "if-condition--0"}, "end--1": {"type": "end"}}
    for number in range(5000):
        workflow[f"if-condition--{number}"] = {"type": "if-condition", "condition": "[x:y = 1]",
                                               "on_true": f"if-condition--{number + 1}" if number < 4999 else "end--1"}
    with pytest.raises(CacaoError, match=r"^deep.json: step if-condition--33 lies more than 32 branches deep$"):
        import_cacao(foreign(workflow), "deep.json")
