"""Working playbooks on incidents in a real SQLite store: every step kind, both branches of decisions on incident
fields and on answers, parallel joins, called playbooks, due times from detection and awareness, the timeline
and audit entries of every change, and command steps run without a shell."""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime, timedelta
from io import StringIO
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from rich.console import Console
from sqlite_utils import Database

from seccenter.incidents import cases
from seccenter.incidents.audit import verify
from seccenter.playbooks import runner
from seccenter.playbooks.command import command_argv, run_command
from seccenter.playbooks.library import Library, load_library
from seccenter.playbooks.model import from_document
from seccenter.playbooks.runner import RunnerError
from seccenter.report.playbook_view import runs_view
from seccenter.store import breaches as breach_store
from seccenter.store.db import open_db
from seccenter.yamlfile import load_documents

ACTOR = "kim"
FLOW = """\
id: flow
title: {de: Ablauf, en: Flow}
version: "2"
date: 2025-06-02
triggers: {categories: [flow-test], rules: ["sigma:brute-*"], tags: [attack.t1110]}
steps:
  - id: first
    kind: manual
    title: First
    due: PT4H
    next: severe
  - id: severe
    kind: decision
    title: Severe?
    when: {field: severity, in: [high, critical]}
    then: escalate
    else: log
    next: personal
  - id: escalate
    kind: manual
    title: Escalate
  - id: log
    kind: manual
    title: Log it
  - id: personal
    kind: decision
    title: Personal data affected?
    when: answer
    then: breach
    else: no-breach
    next: contain
  - id: breach
    kind: playbook
    title: Breach
    playbook: sub
  - id: no-breach
    kind: manual
    title: Record why not
  - id: contain
    kind: parallel
    title: Contain
    branches: [lock, keep]
    next: close
  - id: lock
    kind: manual
    title: Lock
    next: lock-check
  - id: lock-check
    kind: manual
    title: Check the lock
  - id: keep
    kind: manual
    title: Keep evidence
  - id: close
    kind: manual
    title: Close
    due: {duration: PT72H, after: awareness}
"""
SUB = """\
id: sub
title: Sub
version: "1"
date: 2025-06-02
steps:
  - {id: first, kind: manual, title: Sub first, next: tell}
  - {id: tell, kind: manual, title: Tell, due: {duration: P1D, after: awareness}}
"""


def command_playbook(argv: list[str], timeout: int | None = None) -> str:
    return (f"id: cmd\ntitle: Cmd\nversion: \"1\"\ndate: 2025-06-02\nsteps:\n"
            f"  - id: run\n    kind: command\n    title: Run it\n    argv: {json.dumps(argv)}\n"
            + (f"    timeout: {timeout}\n" if timeout else "") + "    next: after\n"
            "  - {id: after, kind: manual, title: After}\n")


@pytest.fixture
def db(db_path: Path) -> Database:
    return open_db(db_path)


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    folder = tmp_path / "playbooks"
    folder.mkdir()
    (folder / "flow.yaml").write_text(FLOW)
    (folder / "sub.yaml").write_text(SUB)
    return folder


@pytest.fixture
def library(folder: Path) -> Library:
    library = load_library([folder])
    assert library.problems == []
    return library


def incident(db: Database, severity: str = "medium", title: str = "Case", **values) -> int:
    return cases.open_incident(db, title, ACTOR, severity=severity, **values)["id"]


def statuses(view: runner.RunView) -> dict[str, str]:
    return {node.path: node.status for node in view.all_nodes()}


def work(db: Database, incident_id: int, step: str, action: str = "done", **options) -> runner.StepOutcome:
    return runner.work(db, incident_id, step, ACTOR, action, **options)


def test_start_opens_the_first_step_and_leaves_the_rest_pending(db: Database, library: Library) -> None:
    case = incident(db)
    view = runner.start(db, library, case, "flow", ACTOR)
    assert statuses(view) == {
        "first": "open", "severe": "pending", "escalate": "waiting", "log": "waiting", "personal": "pending",
        "breach": "waiting", "breach/first": "waiting", "breach/tell": "waiting", "no-breach": "waiting",
        "contain": "pending", "lock": "pending", "lock-check": "pending", "keep": "pending", "close": "pending"}
    assert view.run["status"] == "open" and view.counts()["steps"] == 14 and view.progress() == \
        "0 of 14 steps finished"


def test_decision_on_an_incident_field_takes_then_when_it_holds(db: Database, library: Library) -> None:
    case = incident(db, severity="critical")
    runner.start(db, library, case, "flow", ACTOR)
    view = work(db, case, "first").view
    assert (statuses(view)["severe"], statuses(view)["escalate"], statuses(view)["log"]) == \
        ("done", "open", "not_taken")
    decided = view.find("severe").record
    assert decided["outcome"] == "then" and decided["answer"] is None
    assert decided["note"] == "severity in [high, critical]: yes (severity is critical)"


def test_decision_on_an_incident_field_takes_else_when_it_does_not(db: Database, library: Library) -> None:
    case = incident(db, severity="low")
    runner.start(db, library, case, "flow", ACTOR)
    view = work(db, case, "first").view
    assert (statuses(view)["escalate"], statuses(view)["log"]) == ("not_taken", "open")
    assert view.find("severe").record["outcome"] == "else"
    # the fields as they were when the decision was reached count, not later changes
    cases.update(db, case, ACTOR, severity="critical")
    assert statuses(runner.views(db, case)[0])["log"] == "open"


def test_a_field_decision_first_is_made_when_the_run_starts(db: Database, folder: Path) -> None:
    (folder / "triage.yaml").write_text(FLOW.replace("id: flow", "id: triage").replace(
        "steps:\n  - id: first\n    kind: manual\n    title: First\n    due: PT4H\n    next: severe\n", "steps:\n")
        .replace("triggers: {categories: [flow-test], rules: [\"sigma:brute-*\"], tags: [attack.t1110]}\n", ""))
    case = incident(db, severity="high")
    view = runner.start(db, load_library([folder]), case, "triage", ACTOR)
    assert (statuses(view)["severe"], statuses(view)["escalate"]) == ("done", "open")


@pytest.mark.parametrize(("answer", "taken", "left_out"), [
    ("yes", "breach", "no-breach"), ("ja", "breach", "no-breach"), ("J", "breach", "no-breach"),
    ("no", "no-breach", "breach"), ("nein", "no-breach", "breach"), (" N ", "no-breach", "breach")])
def test_decision_on_the_analysts_answer(db: Database, library: Library, answer: str, taken: str,
                                         left_out: str) -> None:
    case = incident(db)
    runner.start(db, library, case, "flow", ACTOR)
    work(db, case, "first")
    work(db, case, "log")
    view = work(db, case, "personal", answer=answer, note="HR records of 40 people").view
    assert statuses(view)["personal"] == "done"
    assert statuses(view)[taken] == "open" and statuses(view)[left_out] == "not_taken"
    record = view.find("personal").record
    assert record["answer"] == ("yes" if taken == "breach" else "no") and record["note"] == "HR records of 40 people"
    if taken == "breach":
        assert statuses(view)["breach/first"] == "open"
    else:
        assert {statuses(view)["breach/first"], statuses(view)["breach/tell"]} == {"not_taken"}


def test_answers_are_checked(db: Database, library: Library) -> None:
    case = incident(db, severity="low")
    runner.start(db, library, case, "flow", ACTOR)
    with pytest.raises(RunnerError, match=r"step personal asks: Personal data affected\? — answer with --answer yes "
                                          "or --answer no"):
        work(db, case, "personal")
    with pytest.raises(RunnerError, match="answer with --answer yes"):
        work(db, case, "personal", answer="maybe")
    with pytest.raises(RunnerError, match="^step first is a manual step; only decisions take an answer$"):
        work(db, case, "first", answer="yes")
    with pytest.raises(RunnerError, match=r"^an answer goes with --done \(step personal is a decision to make, not "
                                          r"to skip\)$"):
        work(db, case, "personal", "skip", answer="yes")
    work(db, case, "first")
    assert runner.views(db, case)[0].find("severe").record["outcome"] == "else"
    with pytest.raises(RunnerError, match="^step severe is already done$"):
        work(db, case, "severe", answer="yes")


def test_a_pending_field_decision_worked_early_refuses_an_answer(db: Database, library: Library) -> None:
    case = incident(db, severity="high")
    runner.start(db, library, case, "flow", ACTOR)
    with pytest.raises(RunnerError, match=r"decided by the incident \(severity in \[high, critical\]\), not by an "
                                          "answer"):
        work(db, case, "severe", answer="no")
    view = work(db, case, "severe").view
    assert view.find("severe").record["outcome"] == "then" and statuses(view)["first"] == "open"


def test_parallel_step_is_done_only_when_every_branch_is(db: Database, library: Library) -> None:
    case = incident(db, severity="low")
    runner.start(db, library, case, "flow", ACTOR)
    for step in ("first", "log"):
        work(db, case, step)
    work(db, case, "personal", answer="no")
    view = work(db, case, "no-breach").view
    assert (statuses(view)["contain"], statuses(view)["lock"], statuses(view)["keep"]) == ("open", "open", "open")
    with pytest.raises(RunnerError, match="^step contain is done when its branches are; work those"):
        work(db, case, "contain")
    view = work(db, case, "lock").view
    assert (statuses(view)["contain"], statuses(view)["lock-check"], statuses(view)["close"]) == \
        ("open", "open", "pending")
    view = work(db, case, "keep").view
    assert (statuses(view)["contain"], statuses(view)["close"]) == ("open", "pending")  # lock-check still open
    view = work(db, case, "lock-check").view
    assert (statuses(view)["contain"], statuses(view)["close"]) == ("done", "open")


def test_skipping_a_parallel_step_leaves_its_branches_out(db: Database, library: Library) -> None:
    case = incident(db, severity="low")
    runner.start(db, library, case, "flow", ACTOR)
    work(db, case, "lock")
    view = work(db, case, "contain", "skip", note="machine already wiped").view
    assert statuses(view)["contain"] == "skipped"
    assert (statuses(view)["lock"], statuses(view)["lock-check"], statuses(view)["keep"]) == \
        ("not_taken", "not_taken", "not_taken")
    with pytest.raises(RunnerError, match="^step keep is on a branch that step contain left out$"):
        work(db, case, "keep")


def test_a_called_playbook_is_worked_through_its_paths(db: Database, library: Library) -> None:
    case = incident(db, severity="low")
    runner.start(db, library, case, "flow", ACTOR)
    with pytest.raises(RunnerError, match="^step breach/tell waits for the decision of step personal$"):
        work(db, case, "breach/tell")
    assert work(db, case, "first").node.path == "first"  # an exact path wins over the called playbook's first
    work(db, case, "log")
    view = work(db, case, "personal", answer="yes").view
    assert (statuses(view)["breach"], statuses(view)["breach/first"], statuses(view)["breach/tell"]) == \
        ("open", "open", "pending")
    with pytest.raises(RunnerError, match="^step breach is done when its branches are"):
        work(db, case, "breach")
    work(db, case, "breach/first")
    view = work(db, case, "tell").view  # a step id found in one place only needs no path
    assert (statuses(view)["breach"], statuses(view)["contain"]) == ("done", "open")


def test_a_step_id_in_two_places_needs_its_path(db: Database, folder: Path) -> None:
    (folder / "twice.yaml").write_text(
        "id: twice\ntitle: Twice\nversion: \"1\"\ndate: 2025-06-02\nsteps:\n"
        "  - {id: both, kind: parallel, title: Both, branches: [one, two]}\n"
        "  - {id: one, kind: playbook, title: One, playbook: sub}\n"
        "  - {id: two, kind: playbook, title: Two, playbook: sub}\n")
    case = incident(db)
    runner.start(db, load_library([folder]), case, "twice", ACTOR)
    with pytest.raises(RunnerError, match="^step 'tell' is in more than one place; name one of one/tell, two/tell$"):
        work(db, case, "tell")
    assert work(db, case, "two/tell").node.path == "two/tell"


def test_steps_that_wait_or_are_worked_cannot_be_worked_again(db: Database, library: Library) -> None:
    case = incident(db)
    runner.start(db, library, case, "flow", ACTOR)
    with pytest.raises(RunnerError, match="^step escalate waits for the decision of step severe$"):
        work(db, case, "escalate")
    work(db, case, "lock")
    with pytest.raises(RunnerError, match="^step lock is already done$"):
        work(db, case, "lock")
    with pytest.raises(RunnerError, match="^step lock is already done$"):
        work(db, case, "lock", "skip")
    with pytest.raises(RunnerError, match="^playbook flow has no step 'nope'$"):
        work(db, case, "nope")
    with pytest.raises(RunnerError, match="^step keep is a manual step; only command steps can be run$"):
        work(db, case, "keep", "run")


def test_a_whole_run_writes_timeline_and_audit_entries_and_finishes(db: Database, library: Library) -> None:
    case = incident(db, severity="high")
    runner.start(db, library, case, "flow", ACTOR)
    for step, options in (("first", {}), ("escalate", {"note": "CISO informed"}), ("personal", {"answer": "no"}),
                          ("no-breach", {}), ("lock", {}), ("lock-check", {}), ("keep", {})):
        assert runner.views(db, case)[0].run["status"] == "open"
        work(db, case, step, **options)
    view = work(db, case, "close").view
    assert view.run["status"] == "done" and view.run["finished"] and view.finished
    assert view.counts() == {"steps": 10, "done": 10, "skipped": 0, "open": 0, "overdue": 0}
    activity = [row["detail"] for row in db.query(
        "SELECT detail FROM incident_activity WHERE incident_id = ? AND kind = 'playbook' ORDER BY rowid", [case])]
    assert activity[0] == "playbook flow: started version 2 (2025-06-02), calls sub; 0 of 14 steps finished"
    assert "playbook flow: step severe done (Severe?), decision: then: severity in [high, critical]: yes " \
           "(severity is high); 2 of 13 steps finished" in activity
    assert "playbook flow: step escalate done (Escalate): CISO informed; 3 of 13 steps finished" in activity
    assert activity[-1] == "playbook flow: finished; 10 of 10 steps finished"
    assert len(activity) == 1 + 9 + 1  # start, nine steps (the decision on severity made by the runner), finish
    actions = [row["action"] for row in db.query(
        "SELECT action FROM audit_log WHERE object_type = 'playbook_run' ORDER BY id")]
    assert actions == ["playbook.start"] + ["playbook.step.done"] * 9 + ["playbook.finish"]
    assert verify(db) == []
    with pytest.raises(RunnerError, match="^step close is already done$"):
        work(db, case, "close")


def test_start_is_refused_twice_on_closed_cases_and_for_unknown_names(db: Database, library: Library) -> None:
    case = incident(db)
    runner.start(db, library, case, "flow", ACTOR)
    with pytest.raises(RunnerError, match="^playbook flow is already started on incident 1"):
        runner.start(db, library, case, "flow", ACTOR)
    with pytest.raises(RunnerError, match="^no playbook 'ghost' "):
        runner.start(db, library, case, "ghost", ACTOR)
    with pytest.raises(RunnerError, match="^no incident 99$"):
        runner.start(db, library, 99, "sub", ACTOR)
    closed = incident(db)
    cases.close(db, closed, ACTOR, reason="false positive")
    with pytest.raises(RunnerError, match="^incident 2 is closed"):
        runner.start(db, library, closed, "sub", ACTOR)
    with pytest.raises(RunnerError, match="^no playbook is started on incident 2"):
        work(db, closed, "first")
    assert db.execute("SELECT count(*) FROM playbook_runs").fetchone()[0] == 1


def test_a_step_in_two_started_playbooks_needs_the_playbook_named(db: Database, library: Library) -> None:
    case = incident(db)
    runner.start(db, library, case, "flow", ACTOR)
    runner.start(db, library, case, "sub", ACTOR)
    with pytest.raises(RunnerError, match="^step 'tell' is in playbooks flow, sub; choose one with --playbook$"):
        work(db, case, "tell")
    assert work(db, case, "tell", playbook_id="sub").node.path == "tell"
    with pytest.raises(RunnerError, match="^playbook ransomware is not started on incident 1$"):
        work(db, case, "tell", playbook_id="ransomware")


def test_a_run_keeps_the_playbook_it_started_with(db: Database, folder: Path, library: Library) -> None:
    case = incident(db)
    runner.start(db, library, case, "sub", ACTOR)
    (folder / "sub.yaml").write_text(SUB.replace("title: Tell", "title: Changed").replace(", next: tell", ""))
    view = runner.views(db, case)[0]
    assert view.find("tell").step.title.en == "Tell" and statuses(view) == {"first": "open", "tell": "pending"}


# due times

def add_alert(db: Database, rule_id: str, created: str, tags: list[str] = ()) -> int:
    event = db["events"].insert({"time": created, "source": "auth.log", "origin_path": "/var/log/auth.log",
                                 "origin_file": "1", "origin_offset": db["events"].count, "fields": "{}"}).last_pk
    return db["alerts"].insert({"rule_id": rule_id, "rule_title": rule_id, "level": "high", "event_id": event,
                                "time": created, "created": created, "tags": json.dumps(list(tags)),
                                "status": "new"}).last_pk


def aware(db: Database, incident_id: int, aware_at: str) -> None:
    breach_store.insert_assessment(db, incident_id, aware_at, ACTOR, aware_at, None, {}, {})


def test_due_after_detection_counts_from_the_first_alert(db: Database, library: Library) -> None:
    alerts = [add_alert(db, "sigma:brute-force", "2026-03-02T10:00:00+00:00"),
              add_alert(db, "sigma:brute-force", "2026-03-02T08:00:00+00:00")]
    case = incident(db, alert_ids=alerts)
    view = runner.start(db, library, case, "flow", ACTOR, now=datetime(2026, 3, 2, 11, 0, tzinfo=UTC))
    assert view.find("first").due == datetime(2026, 3, 2, 12, 0, tzinfo=UTC)  # PT4H after 08:00
    assert not view.find("first").overdue
    late = runner.views(db, case, now=datetime(2026, 3, 2, 12, 0, tzinfo=UTC))[0]
    assert late.find("first").overdue and late.counts()["overdue"] == 1
    done = work(db, case, "first", now=datetime(2026, 3, 2, 13, 0, tzinfo=UTC)).view
    assert not done.find("first").overdue  # a worked step is no longer overdue


def test_due_after_detection_without_alerts_counts_from_the_case_opened(db: Database, library: Library) -> None:
    case = incident(db)
    opened = datetime.fromisoformat(cases.get(db, case)["created"])
    view = runner.start(db, library, case, "flow", ACTOR)
    assert view.find("first").due == opened + timedelta(hours=4)


def test_due_after_awareness_is_unknown_until_awareness_is_recorded(db: Database, library: Library) -> None:
    case = incident(db, severity="low")
    runner.start(db, library, case, "flow", ACTOR)
    work(db, case, "first")
    work(db, case, "personal", answer="yes")
    far = datetime(2099, 1, 1, tzinfo=UTC)
    before = runner.views(db, case, now=far)[0]
    for path in ("close", "breach/tell"):
        assert before.find(path).due is None and not before.find(path).overdue
    assert before.to_dict("en", UTC)["steps"][-1]["due_rule"] == "PT72H after awareness"
    aware(db, case, "2026-10-23T09:30:00+02:00")
    after = runner.views(db, case, now=datetime(2026, 10, 26, 8, 0, tzinfo=UTC))[0]
    # 72 elapsed hours across the end of summer time (25 October): 08:30 UTC, 09:30 CET
    assert after.find("close").due == datetime(2026, 10, 26, 7, 30, tzinfo=UTC) and after.find("close").overdue
    # one calendar day: the same wall time the next day
    assert after.find("breach/tell").due == datetime(2026, 10, 24, 7, 30, tzinfo=UTC)
    assert after.counts()["overdue"] == 2
    shown = after.to_dict("de", ZoneInfo("Europe/Berlin"))["steps"][-1]
    assert shown["due_local"] == "2026-10-26 08:30 CET" and shown["overdue"] is True


def test_steps_left_out_have_no_due_time(db: Database, library: Library) -> None:
    case = incident(db, severity="low")
    aware(db, case, "2026-01-01T00:00:00+00:00")
    runner.start(db, library, case, "flow", ACTOR)
    view = work(db, case, "personal", answer="no", now=datetime(2099, 1, 1, tzinfo=UTC)).view
    tell = view.find("breach/tell")
    assert tell.status == "not_taken" and tell.due is None and not tell.overdue


def test_triggers_propose_playbooks_from_category_rules_and_tags(db: Database, library: Library) -> None:
    by_rule = incident(db, alert_ids=[add_alert(db, "sigma:brute-force-ssh", "2026-03-02T08:00:00+00:00")])
    by_tag = incident(db, alert_ids=[add_alert(db, "other", "2026-03-02T08:00:00+00:00", ["ATTACK.T1110"])])
    by_category = incident(db, category="Flow-Test")
    nothing = incident(db, alert_ids=[add_alert(db, "sigma:brute", "2026-03-02T08:00:00+00:00")])
    found = {case: [(playbook.id, reasons) for playbook, reasons in
                    runner.proposals(db, library, cases.get(db, case))]
             for case in (by_rule, by_tag, by_category, nothing)}
    assert found == {by_rule: [("flow", ["rule sigma:brute-force-ssh"])],
                     by_tag: [("flow", ["tag ATTACK.T1110"])],
                     by_category: [("flow", ["category flow-test"])],
                     nothing: []}


# command steps

PRINT_ARGV = [sys.executable, "-c", "import json, sys; print(json.dumps(sys.argv[1:]))"]
PAYLOADS = ["x; touch {marker}", "$(touch {marker})", "`touch {marker}`", "a && touch {marker} | cat > {marker}",
            "'\"; touch {marker} #", "\x1b[31mred\x1b[0m [bold]markup[/bold] *.* ~ ../../etc/passwd\nnext line"]


@pytest.mark.parametrize("payload", PAYLOADS)
def test_incident_fields_reach_the_command_as_one_literal_argument(db: Database, folder: Path, tmp_path: Path,
                                                                    payload: str) -> None:
    marker = tmp_path / "injected"
    title = payload.format(marker=marker)
    (folder / "cmd.yaml").write_text(command_playbook([*PRINT_ARGV, "{incident.title}", "case-{incident.id}"]))
    case = incident(db, title=title)
    runner.start(db, load_library([folder]), case, "cmd", ACTOR)
    outcome = work(db, case, "run", "run")
    assert outcome.command.exit_code == 0 and outcome.node.status == "done"
    assert outcome.command.argv[-2:] == (title.strip(), f"case-{case}")
    assert json.loads(outcome.command.output) == [title.strip(), f"case-{case}"]
    assert not marker.exists()
    logged = db.execute("SELECT detail FROM incident_activity WHERE detail LIKE '%ran %'").fetchone()[0]
    assert "\x1b" not in logged and "exit code 0" in logged


def test_a_failing_command_is_recorded_and_the_step_stays_open(db: Database, folder: Path) -> None:
    (folder / "cmd.yaml").write_text(command_playbook(
        [sys.executable, "-c", "import sys; print('\\x1b[2Jboom'); sys.exit(3)"]))
    case = incident(db)
    runner.start(db, load_library([folder]), case, "cmd", ACTOR)
    outcome = work(db, case, "run", "run")
    assert (outcome.command.exit_code, outcome.node.status) == (3, "open")
    assert outcome.command.output == "\\x1b[2Jboom\n" and outcome.command.summary() == "exit code 3"
    assert [row["action"] for row in db.query("SELECT action FROM audit_log WHERE action LIKE 'playbook.%' "
                                              "ORDER BY id")] == ["playbook.start", "playbook.command"]
    # the analyst may still mark it done by hand (the command was run another way)
    assert work(db, case, "run", note="ran it on the jump host").node.status == "done"


def test_a_command_that_cannot_start_or_runs_too_long(db: Database, folder: Path) -> None:
    missing = run_command(("/nonexistent/tool", "x"))
    assert missing.exit_code is None and missing.error.startswith("could not start /nonexistent/tool")
    slow = run_command((sys.executable, "-c", "import time; print('started', flush=True); time.sleep(30)"),
                       timeout=1)
    assert slow.exit_code is None and slow.error == "stopped after 1 s (timeout)" and slow.output == "started\n"
    chatty = run_command((sys.executable, "-c", "print('x' * 100000)"))
    assert chatty.output.endswith("\n[output cut]") and len(chatty.output) < 4100


def test_command_argv_fills_placeholders_inside_their_argument() -> None:
    playbook = from_document(load_documents(command_playbook(
        ["tool", "--title={incident.title}", "{incident.owner}", "{incident.severity}-{incident.id}"]), "c.yaml")[0],
        "c.yaml")
    argv = command_argv(playbook.step("run"), {"id": 7, "title": "a b", "owner": None, "severity": "high"})
    assert argv == ("tool", "--title=a b", "", "high-7")


def test_commands_are_only_run_when_asked(db: Database, folder: Path, tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    (folder / "cmd.yaml").write_text(command_playbook(
        [sys.executable, "-c", "import pathlib, sys; pathlib.Path(sys.argv[1]).touch()", str(marker)]))
    case = incident(db)
    runner.start(db, load_library([folder]), case, "cmd", ACTOR)
    assert work(db, case, "run").node.status == "done" and not marker.exists()


def test_a_playbook_nested_as_deep_as_allowed_is_worked_and_shown(db: Database, folder: Path) -> None:
    steps = "".join(f"  - {{id: d{number}, kind: decision, title: D, when: answer, then: d{number + 1}}}\n"
                    for number in range(32))
    (folder / "deep.yaml").write_text(f"id: deep\ntitle: Deep\nversion: \"1\"\ndate: 2025-06-02\nsteps:\n{steps}"
                                      "  - {id: d32, kind: manual, title: Last}\n")
    case = incident(db)
    runner.start(db, load_library([folder]), case, "deep", ACTOR)
    for number in range(32):
        work(db, case, f"d{number}", answer="yes")
    view = work(db, case, "d32").view
    assert view.run["status"] == "done"
    screen = StringIO()
    Console(file=screen, width=400, color_system=None).print(runs_view([view], "en", UTC))
    assert screen.getvalue().count("✓") == 33
