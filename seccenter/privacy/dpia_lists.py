"""The catalogues a DPIA screening is checked against, as data.

- WP248: Article 29 Working Party, Guidelines on Data Protection Impact Assessment (DPIA) and determining
  whether processing is "likely to result in a high risk" for the purposes of Regulation 2016/679,
  WP248 rev.01, adopted 4 April 2017, as last revised and adopted 4 October 2017 (endorsed by the EDPB).
  Section III.B.a lists nine criteria; "in most cases, a data controller can consider that a processing
  meeting two criteria would require a DPIA to be carried out".
- Art. 35(3) GDPR: the three cases that always need a DPIA.
- DSK: Datenschutzkonferenz, "Liste der Verarbeitungstätigkeiten, für die eine DSFA durchzuführen ist",
  version 1.1 of 17 October 2018 (the German list under Art. 35(4)). Its items are summarised here in our
  own words with the record features that point to them; the list itself is authoritative.

Which features of a record trigger an item is seccenter's reading, kept deliberately narrow: a screening
reports what it found and why, and the DPO adds what a record cannot show with ``--criteria``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

WP248_CRITERIA = {
    "evaluation_scoring": "Evaluation or scoring, including profiling and predicting",
    "automated_decision": "Automated decision-making with legal or similar significant effect",
    "systematic_monitoring": "Systematic monitoring",
    "sensitive_data": "Sensitive data or data of a highly personal nature",
    "large_scale": "Data processed on a large scale",
    "matching_datasets": "Matching or combining datasets",
    "vulnerable_subjects": "Data concerning vulnerable data subjects",
    "innovative_technology": "Innovative use or applying new technological or organisational solutions",
    "prevents_rights": "Processing that prevents data subjects from exercising a right or using a service or a "
                       "contract",
}
"""The nine WP248 rev.01 criteria in the guideline's order, under the names ``dpia screen --criteria`` takes."""

LARGE_SCALE_SUBJECTS = 10_000
"""``data_subjects_count`` from which processing counts as large scale. WP248 names no number (it weighs the
number of subjects, volume, duration and geographical extent); 10,000 people is about a twelfth of the city."""


def _words(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern, re.IGNORECASE)


# German stems are matched inside words: German writes compounds (Videoüberwachung, Beschäftigtendaten)
KEYWORDS = {
    "systematic_monitoring": _words(r"video|cctv|camera|kamera|überwach|ueberwach|surveillance|monitoring|"
                                    r"tracking|observation|beobacht"),
    "vulnerable_subjects": _words(r"child|kinder|\bkind\b|minor|minderjährig|pupil|schüler|student|patient|"
                                  r"employee|\bstaff\b|beschäftigt|mitarbeit|bedienstet|elderly|senior|asyl|"
                                  r"asylum|refugee|geflüchtet|flüchtling|disab|behindert|mentally|psychisch"),
    "sensitive_data": _words(r"\bbank|iban|account number|kontodaten|bankverbindung|financ|finanz|salary|gehalt|"
                             r"einkommen|income|location|standort|\bgps\b|geoloc|communication content|"
                             r"kommunikationsinhalt|private message|social security|sozialversicherung"),
    "evaluation_scoring": _words(r"scor|profiling|profilbild|rating|predict|prognos|evaluation of (persons|"
                                 r"behaviou?r|performance)|leistungsbeurteil|verhaltensbewert"),
    "automated_decision": _words(r"automated decision|automatisierte entscheid|automatic decision|art\.? ?22\b"),
    "matching_datasets": _words(r"matching|abgleich|combining data|combination of data|zusammenführ|"
                                r"zusammenfuehr|merging|verknüpf"),
    "innovative_technology": _words(r"artificial intelligence|\bai\b|\bki\b|künstliche intelligenz|machine learning|"
                                    r"maschinelles lernen|biometr|facial recognition|gesichtserkennung|fingerprint|"
                                    r"fingerabdruck|\biot\b|internet of things|drone|drohne|wearable"),
    "prevents_rights": _words(r"\bdeny|denial|refus|exclusion from|blacklist|block list|sperrliste|credit check|"
                              r"bonität|bonitaet|access to (a )?service"),
}
"""Words in a record (name, purposes, data categories; data subjects for vulnerable_subjects) that point to a
WP248 criterion."""

PUBLIC_AREA = _words(r"public|öffentlich|oeffentlich|street|straße|strasse|square|\bplatz|park\b|parks\b")


@dataclass(frozen=True)
class DskItem:
    """One item of the DSK list: its number, what it covers (summary), and the record features that point
    to it. A record matches when all of: a special category in ``special`` (if any given), every criterion in
    ``requires``, one of ``requires_any`` (if any), a word of ``keywords`` (if any) in the record, and at
    least ``further_criteria`` WP248 criteria besides sensitive_data."""

    number: int
    summary: str
    keywords: re.Pattern[str] | None = None
    requires: frozenset[str] = frozenset()
    requires_any: frozenset[str] = frozenset()
    special: frozenset[str] = frozenset()
    further_criteria: int = 0


_ARTICLE_9 = frozenset({"racial_ethnic_origin", "political_opinions", "religious_beliefs", "trade_union_membership",
                        "genetic", "biometric", "health", "sex_life_orientation"})

DSK_LIST = (
    DskItem(1, "Biometric data to identify persons uniquely, where at least one further WP248 criterion applies",
            special=frozenset({"biometric"}), further_criteria=1),
    DskItem(2, "Genetic data, where at least one further WP248 criterion applies",
            special=frozenset({"genetic"}), further_criteria=1),
    DskItem(3, "Large-scale processing of data under social, professional or special official secrecy",
            keywords=_words(r"sozialgeheimnis|sozialdaten|social data|social secrecy|berufsgeheimnis|"
                            r"professional secrecy|amtsgeheimnis|official secrecy|steuergeheimnis|tax secrecy|"
                            r"meldegeheimnis|statistikgeheimnis|sgb"),
            requires=frozenset({"large_scale"})),
    DskItem(4, "Large-scale processing of data on where people are (location data)",
            keywords=_words(r"location|standort|\bgps\b|geoloc|aufenthalt|whereabouts|bewegungsdaten|movement"),
            requires=frozenset({"large_scale"})),
    DskItem(5, "Merging data from several sources, on a large scale, to support decisions with legal or similarly "
               "significant effects (e.g. fraud prevention, scoring)",
            requires=frozenset({"matching_datasets", "large_scale"}),
            requires_any=frozenset({"evaluation_scoring", "automated_decision"})),
    DskItem(6, "Mobile optical-electronic recording of public areas, gathered centrally on a large scale",
            keywords=_words(r"dashcam|dash cam|bodycam|body cam|body-worn|drone|drohne|mobile (video|camera|kamera)|"
                            r"fahrzeugkamera|vehicle camera"),
            requires=frozenset({"large_scale"})),
    DskItem(7, "Large-scale collection and publication or transfer of data used to rate people's behaviour, which "
               "others use for decisions about them (e.g. rating portals, debt collection)",
            keywords=_words(r"rating portal|bewertungsportal|publi|veröffentlich|inkasso|debt collection"),
            requires=frozenset({"evaluation_scoring", "large_scale"})),
    DskItem(8, "Large-scale processing of data on employees' conduct that can be used to evaluate their work",
            keywords=KEYWORDS["vulnerable_subjects"],
            requires=frozenset({"systematic_monitoring", "large_scale", "vulnerable_subjects"})),
    DskItem(9, "Comprehensive profiles of people's interests, relationships or personality",
            keywords=_words(r"profil|personality|persönlichkeit|interests|interessen|social network|beziehung"),
            requires=frozenset({"evaluation_scoring"})),
    DskItem(10, "Merging data from several sources with algorithms the data subjects cannot follow, to find "
                "previously unknown relations for purposes not set in advance (big data)",
            keywords=_words(r"big data|data mining|analytics|unknown (relations|correlations)|zusammenhänge"),
            requires=frozenset({"matching_datasets"})),
    DskItem(11, "Artificial intelligence that steers the interaction with data subjects or evaluates personal "
                "aspects of them",
            keywords=_words(r"artificial intelligence|\bai\b|\bki\b|künstliche intelligenz|machine learning|"
                            r"maschinelles lernen|chatbot")),
    DskItem(12, "Using the sensors of people's mobile phones or radio signals to follow where they are or move",
            keywords=_words(r"wi-?fi tracking|wlan-?tracking|bluetooth|beacon|mac address|funksignal|"
                            r"radio signal")),
    DskItem(13, "Automated analysis of video or audio recordings to evaluate the personality of those recorded",
            keywords=_words(r"video|audio|voice|stimm|sprach|speech"),
            requires_any=frozenset({"evaluation_scoring", "automated_decision"})),
    DskItem(14, "Comprehensive profiles of people's movements and purchasing behaviour",
            keywords=_words(r"loyalty|kundenkarte|bonusprogramm|purchas|kaufverhalten")),
    DskItem(15, "Anonymising special categories of data (Art. 9) for transfer to third parties, beyond single "
                "cases",
            keywords=_words(r"anonymi"), special=_ARTICLE_9),
    DskItem(16, "Collecting data through interfaces of personal devices that are not protected against reading "
                "by others (RFID, NFC)",
            keywords=_words(r"\brfid\b|\bnfc\b")),
    DskItem(17, "Special categories or criminal data, even not on a large scale, used by providers of new "
                "technologies to measure people's performance (e.g. fitness wristbands)",
            keywords=_words(r"performance|leistungsfähig|fitness|wearable|sensor"),
            special=_ARTICLE_9 | {"criminal_convictions"}, requires=frozenset({"innovative_technology"})),
)

ART_35_3 = {
    "a": "a systematic and extensive evaluation of personal aspects based on automated processing, including "
         "profiling, on which decisions with legal or similarly significant effects are based",
    "b": "processing on a large scale of special categories of data (Art. 9(1)) or of data on criminal "
         "convictions and offences (Art. 10)",
    "c": "a systematic monitoring of a publicly accessible area on a large scale",
}
