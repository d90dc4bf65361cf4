"""The register as files: YAML, JSON and CSV read into typed records and written back without loss; bad input
reported with file:line; every validation rule with its article."""

from __future__ import annotations

import dataclasses
import time
from datetime import date
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from seccenter.privacy.records import Contact, RegisterError, Transfer
from seccenter.privacy.register_csv import dump_csv, neutralise, read_csv, restore
from seccenter.privacy.register_io import dump, parse_register, read_register
from seccenter.privacy.ropa import (
    SPECIAL_CATEGORIES,
    STATUSES,
    ProcessingActivity,
    Register,
    parse_legal_basis,
    read_json,
    read_yaml,
)
from seccenter.privacy.validate import failed_records, validate_register
from seccenter.resources import examples

SAMPLE = examples() / "town-hall-register.yaml"
AS_OF = date(2026, 11, 25)

HOSTILE = ProcessingActivity(
    id="VT-[red]1[/red]",
    name="=HYPERLINK(\"http://evil.example\",\"x\") \x1b[31mred\x1b[0m <script>alert(1)</script>",
    controller=Contact("Stadt; Amt [bold]", "+49 30 1234"),
    joint_controllers=(Contact("-1+1", "@home"),),
    purposes=("a; b", "[not json", "tab\tinside", "line\nbreak", "'=quoted"),
    legal_basis=("Art. 6(1)(e) with § 3 BDSG",),
    data_subjects=("Pupils",),
    data_subjects_count=0,
    data_categories=("=1+2",),
    special_categories=("health",),
    third_country_transfers=(Transfer("US", "=SCC"),),
    retention="@SUM(A1)",
    security_measures={"encryption": ("TLS; 1.3",), "=cmd": ("-x",)},
    systems=("srv-01",),
    status="planned",
    last_reviewed=date(2026, 1, 2),
)


def sample() -> Register:
    return read_register(SAMPLE).register


def roundtrip(register: Register, fmt: str) -> Register:
    return parse_register(dump(register, fmt).encode(), f"r.{fmt}", fmt).register


@pytest.mark.parametrize("fmt", ["yaml", "json", "csv"])
def test_sample_register_survives_export_and_import_in_every_format(fmt: str) -> None:
    register = sample()
    assert len(register.processing_activities) == 6 and len(register.processors) == 1 and len(register.assets) == 7
    assert roundtrip(register, fmt) == register
    assert roundtrip(roundtrip(register, fmt), fmt) == register


@pytest.mark.parametrize("fmt", ["yaml", "json", "csv"])
def test_hostile_values_survive_every_format(fmt: str) -> None:
    register = Register(processing_activities=(HOSTILE,))
    assert roundtrip(register, fmt) == register


def test_csv_cells_that_spreadsheets_would_run_are_written_as_text() -> None:
    text = dump_csv(Register(processing_activities=(HOSTILE,)))
    cells = [cell for line in text.splitlines()[1:] for cell in line.split(",")]
    assert not [cell for cell in cells if cell[:1] in ("=", "+", "-", "@", "\t", "\r")]
    assert "'=HYPERLINK" in text and "'@SUM(A1)" in text and "'+49 30 1234" in text
    assert restore(neutralise("'=x")) == "'=x" and restore(neutralise("=x")) == "=x"


def test_csv_reads_semicolon_delimited_sheets_with_a_byte_order_mark() -> None:
    data = '\ufeffid;name;purposes;data_subjects_count\nVT-9;Hunde;"Steuer; Register";12\n'.encode()
    register = parse_register(data, "excel.csv", "csv").register
    assert register.processing_activities == (
        ProcessingActivity(id="VT-9", name="Hunde", purposes=("Steuer", "Register"), data_subjects_count=12),)


def test_csv_lists_joined_with_semicolons_or_json() -> None:
    text = ("id,purposes,third_country_transfers,security_measures\n"
            'VT-1,"a; b ;c","[{""country"": ""US"", ""safeguard"": ""SCC""}]","{""encryption"": [""TLS""]}"\n'
            'VT-2,"[""x; y""]",,\n')
    activities = read_csv(text, "r.csv").register.processing_activities
    assert activities[0].purposes == ("a", "b", "c")
    assert activities[0].third_country_transfers == (Transfer("US", "SCC"),)
    assert activities[0].security_measures == {"encryption": ("TLS",)}
    assert activities[1].purposes == ("x; y",)


def test_a_10k_record_csv_imports_in_one_pass() -> None:
    rows = "".join(f"VT-{n},Activity {n},Purpose {n}; Other,Residents,Name; Address,5 years,2026-01-01\n"
                   for n in range(10_000))
    text = "id,name,purposes,data_subjects,data_categories,retention,last_reviewed\n" + rows
    started = time.perf_counter()
    register = read_csv(text, "big.csv").register
    elapsed = time.perf_counter() - started
    assert len(register.processing_activities) == 10_000
    assert register.processing_activities[-1].purposes == ("Purpose 9999", "Other")
    print(f"10k CSV records read in {elapsed:.2f} s")


@pytest.mark.parametrize(("text", "expected"), [
    ("id,name\nVT-1,a\nVT-1,b\n", "r.csv:3: processing_activities (VT-1): duplicate id (first at r.csv:2)"),
    ("id,name,name\nVT-1,a,b\n", "r.csv:1: duplicate columns: name"),
    ("name\nx\n", "r.csv:1: the header has no id column"),
    ("id,purposes\nVT-1,\"[broken\"\n", "r.csv:2: purposes: a cell starting with [ is read as a JSON list"),
    ("id,special_categories\nVT-1,gossip\n", "r.csv:2: processing_activities (VT-1).special_categories[0]: "
                                             "'gossip' is not one of"),
    ("id,data_subjects_count\nVT-1,-5\n", "r.csv:2: processing_activities (VT-1).data_subjects_count: must be a "
                                          "whole number"),
    ("id,record_type\nVT-1,person\n", "r.csv:2: record_type: 'person' is not one of"),
    ('id,name\nVT-1,"unterminated\n', "not CSV"),
    ("id,name\nVT-1,a,extra\n", "r.csv:2: 3 cells for 2 columns"),
])
def test_bad_csv_is_refused_with_its_line(text: str, expected: str) -> None:
    with pytest.raises(RegisterError) as caught:
        read_csv(text, "r.csv")
    assert expected in str(caught.value)


def test_csv_unknown_and_misplaced_columns_are_warned() -> None:
    loaded = read_csv("id,name,colour,hostname\nVT-1,a,blue,srv\n", "r.csv")
    assert loaded.register.processing_activities[0].name == "a"
    assert [str(w) for w in loaded.warnings] == [
        "r.csv:1: unknown columns (ignored): colour",
        "r.csv:2: hostname: does not apply to a processing_activity (ignored)"]


def test_huge_cell_and_binary_garbage_are_errors_not_crashes() -> None:
    with pytest.raises(RegisterError, match="not CSV"):
        read_csv("id,name\nVT-1," + "x" * (2 << 20) + "\n", "huge.csv")
    with pytest.raises(RegisterError, match="not UTF-8"):
        parse_register(b"id,name\n\xff\xfe\x00garbage", "bin.csv", "csv")
    for fmt in ("yaml", "json", "csv"):
        with pytest.raises(RegisterError):
            parse_register(bytes(range(256)), f"bin.{fmt}", fmt)


def test_yaml_duplicate_keys_are_refused_with_file_and_line() -> None:
    text = "processing_activities:\n  - id: VT-1\n    name: a\n    name: b\n"
    with pytest.raises(RegisterError, match=r"r.yaml:4: .*duplicate key 'name'"):
        read_yaml(text, "r.yaml")
    with pytest.raises(RegisterError, match="duplicate key 'id'"):
        read_json('{"processing_activities": [{"id": "a", "id": "b"}]}', "r.json")


def test_unknown_keys_are_warned_with_file_line_and_a_suggestion() -> None:
    text = "processing_activities:\n  - id: VT-1\n    purpose: [x]\n    controller: {name: A, mail: b}\nextra: 1\n"
    loaded = read_yaml(text, "r.yaml")
    assert [str(w) for w in loaded.warnings] == [
        "r.yaml:5: extra: unknown section (ignored; known: processing_activities, processors, assets)",
        "r.yaml:3: processing_activities[0] (VT-1).purpose: unknown key (did you mean 'purposes'?) (ignored)",
        "r.yaml:4: processing_activities[0] (VT-1).controller.mail: unknown key (ignored)"]


def test_wrong_types_are_errors_with_file_and_line_all_at_once() -> None:
    text = ("processing_activities:\n"
            "  - id: VT-1\n"
            "    purposes: Payroll\n"
            "    data_subjects_count: many\n"
            "    last_reviewed: yesterday\n"
            "    status: true\n"
            "    controller: Stadt\n"
            "    special_categories: [health, gossip]\n"
            "    security_measures: [a]\n"
            "  - name: no id\n"
            "assets:\n"
            "  - {id: a1, addresses: [10.0.0.1/24, not-an-ip], criticality: extreme}\n")
    with pytest.raises(RegisterError) as caught:
        read_yaml(text, "r.yaml")
    messages = [str(error) for error in caught.value.errors]
    assert messages[:7] == [
        "r.yaml:3: processing_activities[0] (VT-1).purposes: must be a list of text, not text",
        "r.yaml:4: processing_activities[0] (VT-1).data_subjects_count: must be a whole number ≥ 0, not 'many'",
        "r.yaml:5: processing_activities[0] (VT-1).last_reviewed: must be a date YYYY-MM-DD, not 'yesterday'",
        "r.yaml:6: processing_activities[0] (VT-1).status: must be text, not true/false",
        "r.yaml:7: processing_activities[0] (VT-1).controller: must be a mapping with name and contact, not text",
        "r.yaml:8: processing_activities[0] (VT-1).special_categories[1]: 'gossip' is not one of "
        + ", ".join(SPECIAL_CATEGORIES),
        "r.yaml:9: processing_activities[0] (VT-1).security_measures: must be a mapping of category to a list of "
        "measures, not a list",
    ]
    assert "r.yaml:10: processing_activities[1].id: missing" in messages
    assert "r.yaml:12: assets[0] (a1).criticality: 'extreme' is not one of low, medium, high, critical" in messages


def test_bad_addresses_of_assets_are_errors() -> None:
    with pytest.raises(RegisterError) as caught:
        read_yaml("assets:\n  - {id: a1, addresses: [10.0.0.1/24, not-an-ip, '::1']}\n", "r.yaml")
    messages = [str(error) for error in caught.value.errors]
    assert messages == ["r.yaml:2: assets[0] (a1).addresses: 10.0.0.1/24 has host bits set; the network is "
                        "10.0.0.0/24",
                        "r.yaml:2: assets[0] (a1).addresses: 'not-an-ip' does not appear to be an IPv4 or IPv6 "
                        "network"]


def test_duplicate_ids_truncated_and_odd_documents() -> None:
    with pytest.raises(RegisterError, match=r"r.yaml:3: .*duplicate id 'VT-1' \(first at r.yaml:2\)"):
        read_yaml("processing_activities:\n  - id: VT-1\n  - id: VT-1\n", "r.yaml")
    with pytest.raises(RegisterError, match="r.yaml"):
        read_yaml("processing_activities:\n  - id: VT-1\n    purposes: [a, b", "r.yaml")
    with pytest.raises(RegisterError, match="a register is a mapping"):
        read_yaml("just text", "r.yaml")
    with pytest.raises(RegisterError, match="more than one YAML document"):
        read_yaml("a: 1\n---\nb: 2\n", "r.yaml")
    with pytest.raises(RegisterError, match="r.json:1"):
        read_json('{"processing_activities": [', "r.json")
    assert read_yaml("", "empty.yaml").register == Register()
    assert read_yaml("- id: VT-1\n", "list.yaml").register.processing_activities[0].id == "VT-1"


@pytest.mark.parametrize(("text", "label"), [
    ("Art. 6(1)(e) with § 3 BDSG", "Art. 6(1)(e)"), ("Art. 6 Abs. 1 lit. c DSGVO i.V.m. § 14 BMG", "Art. 6(1)(c)"),
    ("Article 9(2)(b) GDPR", "Art. 9(2)(b)"), ("Art. 6 Abs. 1 UAbs. 1 lit. e DS-GVO", "Art. 6(1)(e)"),
    ("Art. 10 with § 22 BDSG", "Art. 10"), ("art 6(1) a", "Art. 6(1)(a)"),
])
def test_legal_basis_forms_english_and_german(text: str, label: str) -> None:
    basis = parse_legal_basis(text)
    assert basis is not None and basis.label == label


@pytest.mark.parametrize("text", ["§ 3 BDSG", "Art. 6(2)(e)", "Art. 6(1)(g)", "Art. 9(2)(k)", "consent", "Art. 7"])
def test_legal_basis_that_is_not_one_is_none(text: str) -> None:
    assert parse_legal_basis(text) is None


COMPLETE = ProcessingActivity(
    id="VT-1", name="Dog licences", controller=Contact("Stadt", "a@b.example"), dpo=Contact("DPO", "d@b.example"),
    purposes=("Dog tax",), legal_basis=("Art. 6(1)(e) with the municipal tax act",), data_subjects=("Dog owners",),
    data_categories=("Name",), retention="5 years", security_measures={"access_control": ("roles",)},
    last_reviewed=date(2026, 6, 1))


def findings_of(activity: ProcessingActivity, known_assets: set[str] | None = None) -> list[tuple[str, str, str]]:
    register = Register(processing_activities=(activity,))
    return [(f.field, f.article, f.severity) for f in validate_register(register, AS_OF, known_assets)]


def test_a_complete_record_and_the_sample_register_pass() -> None:
    assert findings_of(COMPLETE) == []
    assert validate_register(sample(), AS_OF, set()) == []


@pytest.mark.parametrize(("change", "finding"), [
    ({"name": ""}, ("name", "Art. 30(1)", "error")),
    ({"controller": None}, ("controller", "Art. 30(1)(a)", "error")),
    ({"controller": Contact("Stadt", "")}, ("controller", "Art. 30(1)(a)", "error")),
    ({"dpo": None}, ("dpo", "Art. 30(1)(a), Art. 37(1)(a)", "error")),
    ({"joint_controllers": (Contact("School", ""),)}, ("joint_controllers[0]", "Art. 30(1)(a), Art. 26", "error")),
    ({"representative": Contact("Rep", "")}, ("representative", "Art. 30(1)(a), Art. 27", "error")),
    ({"purposes": ()}, ("purposes", "Art. 30(1)(b), Art. 5(1)(b)", "error")),
    ({"legal_basis": ()}, ("legal_basis", "Art. 6(1), Art. 5(1)(a)", "error")),
    ({"legal_basis": ("§ 3 BDSG",)}, ("legal_basis[0]", "Art. 6(1)", "error")),
    ({"legal_basis": ("Art. 9(2)(b) with § 26 BDSG",), "special_categories": ("health",)},
     ("legal_basis", "Art. 6(1)", "error")),
    ({"legal_basis": ("Art. 6(1)(e)",)}, ("legal_basis[0]", "Art. 6(3)", "warning")),
    ({"legal_basis": ("Art. 6(1)(f) legitimate interest",)}, ("legal_basis[0]", "Art. 6(1) subparagraph 2",
                                                              "warning")),
    ({"special_categories": ("health",)}, ("special_categories", "Art. 9(2)", "error")),
    ({"special_categories": ("criminal_convictions",)}, ("special_categories", "Art. 10", "error")),
    ({"legal_basis": COMPLETE.legal_basis + ("Art. 9(2)(g) with a law",)}, ("legal_basis", "Art. 9(2)", "warning")),
    ({"data_subjects": ()}, ("data_subjects", "Art. 30(1)(c)", "error")),
    ({"data_categories": ()}, ("data_categories", "Art. 30(1)(c)", "error")),
    ({"third_country_transfers": (Transfer("US", ""),), "recipients": ("Cloud",)},
     ("third_country_transfers[0]", "Art. 30(1)(e), Art. 44-49", "error")),
    ({"third_country_transfers": (Transfer("", "SCC"),), "recipients": ("Cloud",)},
     ("third_country_transfers[0]", "Art. 30(1)(e)", "error")),
    ({"third_country_transfers": (Transfer("US", "SCC"),)}, ("recipients", "Art. 30(1)(d)", "error")),
    ({"retention": ""}, ("retention", "Art. 30(1)(f), Art. 5(1)(e)", "error")),
    ({"security_measures": {}}, ("security_measures", "Art. 30(1)(g), Art. 32(1)", "error")),
    ({"last_reviewed": None}, ("last_reviewed", "Art. 5(2), Art. 24(1)", "error")),
    ({"last_reviewed": date(2025, 11, 24)}, ("last_reviewed", "Art. 5(2), Art. 24(1)", "error")),
    ({"last_reviewed": date(2027, 1, 1)}, ("last_reviewed", "Art. 5(2)", "error")),
])
def test_every_validation_rule_names_its_article(change: dict, finding: tuple[str, str, str]) -> None:
    assert findings_of(dataclasses.replace(COMPLETE, **change)) == [finding]


def test_unknown_systems_retired_records_and_processors() -> None:
    with_system = dataclasses.replace(COMPLETE, systems=("srv-9",))
    assert findings_of(with_system, known_assets=set()) == [("systems", "Art. 30(1)(g), Art. 5(2)", "error")]
    assert findings_of(with_system, known_assets={"srv-9"}) == []
    assert findings_of(dataclasses.replace(COMPLETE, status="retired", last_reviewed=None)) == []
    processor = sample().processors[0]
    broken = dataclasses.replace(processor, controllers=(), categories_of_processing=(), security_measures={},
                                 processor=None, third_country_transfers=(Transfer("IN", ""),))
    findings = validate_register(Register(processors=(broken,)), AS_OF)
    assert [(f.field, f.article) for f in findings] == [
        ("processor", "Art. 30(2)(a)"), ("controllers", "Art. 30(2)(a)"),
        ("categories_of_processing", "Art. 30(2)(b)"), ("third_country_transfers[0]", "Art. 30(2)(c), Art. 44-49"),
        ("security_measures", "Art. 30(2)(d), Art. 32(1)")]
    assert failed_records(findings) == [processor.id]


def test_warnings_alone_do_not_fail_a_record() -> None:
    findings = validate_register(Register(processing_activities=(
        dataclasses.replace(COMPLETE, legal_basis=("Art. 6(1)(e)",)),)), AS_OF)
    assert findings and failed_records(findings) == []


def test_review_interval_is_judged_as_of_the_given_day() -> None:
    old = Register(processing_activities=(dataclasses.replace(COMPLETE, last_reviewed=date(2025, 1, 1)),))
    assert failed_records(validate_register(old, date(2025, 12, 31))) == []
    assert failed_records(validate_register(old, date(2026, 1, 2))) == ["VT-1"]


# hypothesis: what the loaders read, they write back the same; what they cannot read is a RegisterError
_text = st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=30)
_item = _text.map(str.strip).filter(bool)
_items = st.lists(_item, max_size=4).map(tuple)
_contact = st.one_of(st.none(), st.builds(Contact, _item, _text.map(str.strip)))

_activities = st.builds(
    ProcessingActivity, id=_item, name=_text.map(str.strip), controller=_contact,
    joint_controllers=st.lists(st.builds(Contact, _item, _text.map(str.strip)), max_size=2).map(tuple),
    dpo=_contact, purposes=_items, legal_basis=_items, data_subjects=_items,
    data_subjects_count=st.one_of(st.none(), st.integers(0, 10**9)), data_categories=_items,
    special_categories=st.lists(st.sampled_from(SPECIAL_CATEGORIES), max_size=3).map(tuple), recipients=_items,
    third_country_transfers=st.lists(st.builds(Transfer, _item, _text.map(str.strip)), max_size=2).map(tuple),
    retention=_text.map(str.strip), security_measures=st.dictionaries(_item, _items, max_size=2),
    systems=_items, status=st.sampled_from(STATUSES), last_reviewed=st.one_of(st.none(), st.dates()))


@settings(max_examples=60)
@given(st.lists(_activities, max_size=3, unique_by=lambda activity: activity.id), st.sampled_from(["csv", "yaml",
                                                                                                  "json"]))
def test_generated_registers_round_trip(activities: list[ProcessingActivity], fmt: str) -> None:
    register = Register(processing_activities=tuple(activities))
    assert roundtrip(register, fmt) == register


@given(st.binary(max_size=400), st.sampled_from(["csv", "yaml", "json"]))
def test_arbitrary_bytes_are_read_or_refused_never_crash(data: bytes, fmt: str) -> None:
    try:
        parse_register(data, f"fuzz.{fmt}", fmt)
    except RegisterError as error:
        assert error.errors


@given(st.lists(st.lists(_text, min_size=1, max_size=6), max_size=5))
def test_arbitrary_csv_rows_are_read_or_refused(rows: list[list[str]]) -> None:
    import csv
    import io

    stream = io.StringIO()
    writer = csv.writer(stream)
    writer.writerow(["id", "name", "purposes", "controller.name", "last_reviewed", "security_measures"])
    writer.writerows(rows)
    try:
        read_csv(stream.getvalue(), "fuzz.csv")
    except RegisterError as error:
        assert all(str(problem).startswith("fuzz.csv") for problem in error.errors)


def test_read_register_errors_for_missing_files_and_unknown_suffixes(tmp_path: Path) -> None:
    with pytest.raises(RegisterError, match="No such file"):
        read_register(tmp_path / "nope.yaml")
    (tmp_path / "r.txt").write_text("id: 1")
    with pytest.raises(RegisterError, match="--format"):
        read_register(tmp_path / "r.txt")
