"""Severity of a personal-data breach by the ENISA methodology: SE = DPC × EI + CB.

Source: ENISA, "Recommendations for a methodology of the assessment of severity of personal data breaches",
Working Document v1.0, December 2013 (https://www.enisa.europa.eu/publications/dbn-severity), written with the
data-protection authorities of Greece and Germany. The tables below are its Assessment Tables 1–3 as data:

* DPC, data processing context (Table 1): the data type gives a basic score (simple 1, behavioural 2,
  financial 3, sensitive 4) that the context raises or lowers; every type can end anywhere from 1 to 4.
* EI, ease of identification (Table 2): negligible 0.25, limited 0.5, significant 0.75, maximum 1.
* CB, circumstances of the breach (Table 3): loss of confidentiality, integrity, availability (0 / 0.25 /
  0.5 each) and malicious intent (+0.5), summed.
* Severity (section 3): SE < 2 low, 2 ≤ SE < 3 medium, 3 ≤ SE < 4 high, SE ≥ 4 very high.

The number of individuals and whether the data were unintelligible are not part of SE (the methodology
names them as further criteria); they are recorded beside it.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

SOURCE = ("ENISA, Recommendations for a methodology of the assessment of severity of personal data breaches, "
          "v1.0, December 2013")

BASIC_SCORE = {"simple": 1, "behavioural": 2, "financial": 3, "sensitive": 4}

# Assessment Table 1: for each data type, what each DPC score means in that type's context
DPC_TABLE: dict[str, dict[int, str]] = {
    "simple": {
        1: "simple data (contact details, biographical data) with no aggravating factor known",
        2: "simple data whose volume or controller allows profiling or assumptions about social or financial "
           "status",
        3: "simple data whose content or controller allows assumptions about health, sexual preferences, political "
           "or religious beliefs",
        4: "simple data that, through characteristics of the individuals (vulnerable groups, minors), can be "
           "critical for their personal safety or physical or psychological condition",
    },
    "behavioural": {
        1: "behavioural data giving no substantial insight into behaviour, or collectable from public sources",
        2: "behavioural data (location, traffic data, preferences, habits) with no aggravating factor known",
        3: "behavioural data whose volume or controller allows a profile of everyday life and habits",
        4: "behavioural data allowing a profile based on sensitive data",
    },
    "financial": {
        1: "financial data giving no substantial insight into finances (e.g. being a customer of a bank)",
        2: "financial data with some financial information but no significant insight into financial status",
        3: "financial data (income, transactions, statements, invoices, social welfare) with no aggravating or "
           "mitigating factor known",
        4: "financial data disclosing full financial information that could enable fraud, or a detailed "
           "social/financial profile",
    },
    "sensitive": {
        1: "sensitive data giving no substantial insight, or collectable from public sources",
        2: "sensitive data that can lead to general assumptions",
        3: "sensitive data that can lead to assumptions about sensitive information",
        4: "sensitive data (health, political affiliation, sexual life…) with no mitigating factor known",
    },
}

# Assessment Table 2
EI_TABLE: dict[float, str] = {
    0.25: "negligible: identifying the individuals from the data is extremely difficult but possible under "
          "certain conditions",
    0.5: "limited: identification is possible with some effort, e.g. through data about the individuals held "
         "elsewhere",
    0.75: "significant: the data identify the individuals with little effort (e.g. a name with other details "
          "that set it apart)",
    1.0: "maximum: the data identify the individuals directly (full name with address or photo, national id)",
}

# Assessment Table 3: element -> level -> (value, meaning)
CB_TABLE: dict[str, dict[str, tuple[float, str]]] = {
    "confidentiality": {
        "exposed": (0.0, "data exposed to confidentiality risks without evidence that illegal processing occurred"),
        "known": (0.25, "data disclosed to a number of known recipients"),
        "unknown": (0.5, "data disclosed to an unknown number of recipients"),
    },
    "integrity": {
        "unused": (0.0, "data altered without any identified incorrect or illegal use"),
        "recoverable": (0.25, "data altered and possibly used in an incorrect or illegal way, but recoverable"),
        "unrecoverable": (0.5, "data altered and possibly used in an incorrect or illegal way, not recoverable"),
    },
    "availability": {
        "recoverable": (0.0, "data can be recovered without any difficulty"),
        "temporary": (0.25, "data temporarily unavailable"),
        "permanent": (0.5, "data fully unavailable: they cannot be recovered from the controller or the "
                           "individuals"),
    },
    "malicious": {
        "yes": (0.5, "the breach was caused intentionally, to harm the individuals or the controller (theft, "
                     "hacking, sale of data)"),
    },
}
# a loss answered only with a flag is scored at the element's highest level until the analyst knows better
WORST_LEVEL = {"confidentiality": "unknown", "integrity": "unrecoverable", "availability": "permanent"}

RISK_BANDS = ((2.0, "low"), (3.0, "medium"), (4.0, "high"))
RISK_MEANING = {
    "low": "individuals either will not be affected or may encounter a few inconveniences, which they will "
           "overcome without any problem",
    "medium": "individuals may encounter significant inconveniences, which they will be able to overcome "
              "despite a few difficulties",
    "high": "individuals may encounter significant consequences, which they should be able to overcome albeit "
            "with serious difficulties",
    "very high": "individuals may encounter significant, or even irreversible, consequences, which they may not "
                 "overcome",
}


class SeverityError(ValueError):
    """An input outside the methodology's scales."""


@dataclass(frozen=True)
class Factor:
    """One input of the assessment with the reason it has its value."""

    name: str
    value: Any
    reason: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def risk_for(severity: float) -> str:
    for upper, risk in RISK_BANDS:
        if severity < upper:
            return risk
    return "very high"


def dpc_factor(data_type: str, score: int | None, origin: str) -> Factor:
    """DPC for a data type: the basic score unless the analyst set one; the reason quotes Table 1."""
    if data_type not in DPC_TABLE:
        raise SeverityError(f"unknown data type {data_type!r}; use one of {', '.join(DPC_TABLE)}")
    if score is None:
        score = BASIC_SCORE[data_type]
        how = f"basic score of {data_type} data ({origin})"
    else:
        if score not in (1, 2, 3, 4):
            raise SeverityError(f"DPC must be 1, 2, 3 or 4, not {score}")
        how = f"set by the analyst for {data_type} data ({origin})"
    return Factor("DPC", score, f"{how}: {DPC_TABLE[data_type][score]} (ENISA Table 1)")


def ei_factor(value: float | None) -> Factor:
    if value is None:
        return Factor("EI", 1.0, f"not given, so the highest value: {EI_TABLE[1.0]} (ENISA Table 2); set --ei "
                                 "when the data identify people less easily")
    if value not in EI_TABLE:
        raise SeverityError(f"EI must be one of {', '.join(map(str, EI_TABLE))}, not {value}")
    return Factor("EI", value, f"set by the analyst: {EI_TABLE[value]} (ENISA Table 2)")


def cb_factor(element: str, level: str | None, flagged: bool) -> Factor:
    """One CB element: absent (0), the level the analyst named, or the highest level for a bare flag."""
    name = f"CB {element}"
    if element == "malicious":
        if not flagged:
            return Factor(name, 0.0, "no malicious intent known: error, accident or misconfiguration (ENISA Table 3)")
        value, meaning = CB_TABLE[element]["yes"]
        return Factor(name, value, f"{meaning} (ENISA Table 3)")
    if level is None and not flagged:
        return Factor(name, 0.0, f"no loss of {element} reported by the analyst")
    chosen = level or WORST_LEVEL[element]
    if chosen not in CB_TABLE[element]:
        raise SeverityError(f"unknown {element} level {chosen!r}; use one of {', '.join(CB_TABLE[element])}")
    value, meaning = CB_TABLE[element][chosen]
    default = "" if level else " (the loss was flagged without its extent: scored at the highest level)"
    return Factor(name, value, f"{meaning}{default} (ENISA Table 3)")


def severity(dpc: Factor, ei: Factor, circumstances: list[Factor]) -> float:
    return round(dpc.value * ei.value + sum(factor.value for factor in circumstances), 2)
