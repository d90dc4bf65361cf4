"""pySigma processing pipelines for Windows events whose fields are not Sigma's taxonomy.

SigmaHQ writes its Windows rules for generic log sources (``category: process_creation``, ``registry_set``…) in
the field names of Sysmon: ``Image``, ``ParentImage``, ``TargetObject``. The collectors give Sysmon and
PowerShell events those categories (Sysmon 1 → ``process_creation``, 3 → ``network_connection``, 7 →
``image_load``, 11 → ``file_event``, 12/13/14 → ``registry_add``/``registry_delete``/``registry_set``/
``registry_rename``, PowerShell 4104 → ``ps_script``…), and those events already carry Sigma's names, so a
rule sees them as it is written.

Windows' own audit log tells of some of the same things in other words: Security 4688 is a process creation
with ``NewProcessName`` and ``ParentProcessName`` where Sysmon says ``Image`` and ``ParentImage``, and 4657 a
registry value set with ``ProcessName``/``ObjectName``/``NewValue``. Those events keep their own names and
their logsource (product ``windows``, service ``security``, no category), which is what SigmaHQ's rules for
service ``security`` select on. A rule for a generic category reaches them through a second *form* of the
rule made here, the way SigmaHQ's own tooling does it (pySigma-pipeline-windows' ``windows_audit_pipeline``,
the ``process_creation_2`` source of SigmaHQ's THOR configuration): its logsource becomes service
``security``, a condition on the event id (and for 4657 the operation) is added and the fields are renamed.
``seccenter.detect.sigma.load_rules`` compiles that form beside the rule as written; each form is routed to
its own events, so one event is never matched by both.

pySigma-pipeline-windows itself is not a dependency: its releases require pySigma < 2. The tables below are
the ones its ``windows_audit_pipeline`` (2.0.1) uses, built from pySigma's own processing classes.

Not mapped, because the audit event writes the value differently and a renamed field would compare unlike
things: ``User`` (Sysmon ``DOMAIN\\name`` of the new process; 4688 splits the creator's account into
``SubjectUserName``/``SubjectDomainName``), ``IntegrityLevel`` (``High`` vs. the label SID in
``MandatoryLabel``), ``ProcessId``/``ParentProcessId`` (decimal vs. hex ``NewProcessId``/``ProcessId``).
Fields that 4688 does not carry at all (``OriginalFileName``, ``Hashes``, ``ParentCommandLine``, ``Product``,
``Description``…) stay as they are and, being absent, never equal anything: a rule that needs one of them to
match cannot match a 4688 event, and a rule that only *excludes* on one of them excludes nothing there.
"""

from __future__ import annotations

from sigma.processing.conditions import IncludeFieldCondition, LogsourceCondition, RuleProcessingItemAppliedCondition
from sigma.processing.pipeline import ProcessingItem, ProcessingPipeline
from sigma.processing.transformations import (
    AddConditionTransformation,
    ChangeLogsourceTransformation,
    DetectionItemFailureTransformation,
    FieldMappingTransformation,
)

AUDIT_PIPELINE_NAME = "windows-audit"

AUDIT_EVENTS: dict[str, dict[str, int | str | list[str]]] = {
    "process_creation": {"EventID": 4688},
    "registry_event": {"EventID": 4657, "OperationType": ["%%1904", "New registry value created",
                                                         "%%1905", "Existing registry value modified"]},
    "registry_add": {"EventID": 4657, "OperationType": ["%%1904", "New registry value created"]},
    "registry_set": {"EventID": 4657, "OperationType": ["%%1905", "Existing registry value modified"]},
}
"""Generic Windows category → the Security audit event for it. ``OperationType`` is written as the message
reference (``%%1905``) in EVTX records and forwarded XML, and as its text where a log shipper rendered it."""

AUDIT_REGISTRY_CATEGORIES = ("registry_event", "registry_add", "registry_set")

AUDIT_FIELDS: dict[str | None, str | list[str]] = {
    "Image": "NewProcessName",
    "ParentImage": "ParentProcessName",
    "LogonId": "SubjectLogonId",
}
"""Sysmon's (Sigma's) names → Security 4688's."""

AUDIT_REGISTRY_FIELDS: dict[str | None, str | list[str]] = {
    "Image": "ProcessName",
    "TargetObject": "ObjectName",
    "Details": "NewValue",
}
"""Sysmon's (Sigma's) names → Security 4657's (the process that set the value is ``ProcessName`` there)."""

AUDIT_REGISTRY_UNSUPPORTED = ("EventType", "NewName", "User")
"""Fields a registry rule may test that 4657 has no counterpart for: such a rule gets no 4657 form."""


def _logsource_item(category: str) -> str:
    return f"windows_audit_{category}_logsource"


def windows_audit_pipeline() -> ProcessingPipeline:
    """Rules for Windows' generic process-creation and registry categories, rewritten for Security 4688/4657.

    A rule it applies to gets logsource product ``windows``, service ``security`` (no category), the event's
    conditions (``AUDIT_EVENTS``) and the audit event's field names; every other rule passes unchanged.
    A new pipeline on each call: pySigma keeps per-rule state in it while it applies.
    """
    items: list[ProcessingItem] = []
    for category, conditions in AUDIT_EVENTS.items():  # pySigma binds each condition to one item: new ones each
        items.append(ProcessingItem(identifier=f"windows_audit_{category}_condition",
                                    transformation=AddConditionTransformation(conditions),
                                    rule_conditions=[LogsourceCondition(category=category, product="windows")]))
        items.append(ProcessingItem(identifier=_logsource_item(category),
                                    transformation=ChangeLogsourceTransformation(product="windows", service="security"),
                                    rule_conditions=[LogsourceCondition(category=category, product="windows")]))

    def registry_rules() -> list[RuleProcessingItemAppliedCondition]:
        return [RuleProcessingItemAppliedCondition(_logsource_item(category)) for category in AUDIT_REGISTRY_CATEGORIES]

    items.append(ProcessingItem(
        identifier="windows_audit_registry_unsupported_fields",
        transformation=DetectionItemFailureTransformation(
            f"Security event 4657 has no field for {', '.join(AUDIT_REGISTRY_UNSUPPORTED)}"),
        field_name_conditions=[IncludeFieldCondition(fields=list(AUDIT_REGISTRY_UNSUPPORTED))],
        rule_conditions=registry_rules(), rule_condition_linking=any,
    ))
    items.append(ProcessingItem(
        identifier="windows_audit_registry_fields", transformation=FieldMappingTransformation(AUDIT_REGISTRY_FIELDS),
        rule_conditions=registry_rules(), rule_condition_linking=any,
    ))
    items.append(ProcessingItem(
        identifier="windows_audit_process_creation_fields", transformation=FieldMappingTransformation(AUDIT_FIELDS),
        rule_conditions=[RuleProcessingItemAppliedCondition(_logsource_item("process_creation"))],
    ))
    return ProcessingPipeline(name=AUDIT_PIPELINE_NAME, priority=10, items=items)
