"""Words of the documents in German and English. German uses the DSGVO's own terms (the official German
text of Regulation (EU) 2016/679) so that a document can be handed to a supervisory authority as it is."""

from __future__ import annotations

LANGUAGES = ("de", "en")

TERMS: dict[str, dict[str, str]] = {
    # documents
    "generated": {"en": "Generated", "de": "Erstellt"},
    "page": {"en": "Page", "de": "Seite"},
    "none": {"en": "none", "de": "keine"},
    "yes": {"en": "yes", "de": "ja"},
    "no": {"en": "no", "de": "nein"},
    "ropa.title": {"en": "Records of processing activities", "de": "Verzeichnis von Verarbeitungstätigkeiten"},
    "ropa.controller": {"en": "Records of processing activities of the controller (Art. 30(1) GDPR)",
                        "de": "Verzeichnis von Verarbeitungstätigkeiten des Verantwortlichen (Art. 30 Abs. 1 DSGVO)"},
    "ropa.processor": {"en": "Records of all categories of processing activities carried out on behalf of a "
                              "controller (Art. 30(2) GDPR)",
                       "de": "Verzeichnis aller Kategorien von im Auftrag eines Verantwortlichen durchgeführten "
                             "Tätigkeiten der Verarbeitung (Art. 30 Abs. 2 DSGVO)"},
    "ropa.empty": {"en": "No records.", "de": "Keine Einträge."},
    "dpia.title": {"en": "Data protection impact assessment", "de": "Datenschutz-Folgenabschätzung"},
    "dpia.article": {"en": "Art. 35 GDPR", "de": "Art. 35 DSGVO"},
    "dpia.empty": {"en": "No DPIA has been recorded.", "de": "Es ist keine Datenschutz-Folgenabschätzung erfasst."},
    # Art. 30(1) fields
    "record_type": {"en": "Register", "de": "Verzeichnis"},
    "record_type.processing_activity": {"en": "Art. 30(1)", "de": "Art. 30 Abs. 1"},
    "record_type.processor": {"en": "Art. 30(2)", "de": "Art. 30 Abs. 2"},
    "field.id": {"en": "Identifier", "de": "Kennung"},
    "field.name": {"en": "Name of the processing activity", "de": "Bezeichnung der Verarbeitungstätigkeit"},
    "field.controller": {"en": "Controller", "de": "Verantwortlicher"},
    "field.joint_controllers": {"en": "Joint controllers", "de": "Gemeinsam Verantwortliche"},
    "field.representative": {"en": "Representative of the controller", "de": "Vertreter des Verantwortlichen"},
    "field.dpo": {"en": "Data protection officer", "de": "Datenschutzbeauftragter"},
    "field.purposes": {"en": "Purposes of the processing", "de": "Zwecke der Verarbeitung"},
    "field.legal_basis": {"en": "Legal basis", "de": "Rechtsgrundlage"},
    "field.data_subjects": {"en": "Categories of data subjects", "de": "Kategorien betroffener Personen"},
    "field.data_subjects_count": {"en": "Approximate number of data subjects",
                                  "de": "Ungefähre Zahl betroffener Personen"},
    "field.data_categories": {"en": "Categories of personal data", "de": "Kategorien personenbezogener Daten"},
    "field.special_categories": {"en": "Special categories of personal data (Art. 9, 10 GDPR)",
                                 "de": "Besondere Kategorien personenbezogener Daten (Art. 9, 10 DSGVO)"},
    "field.recipients": {"en": "Categories of recipients", "de": "Kategorien von Empfängern"},
    "field.third_country_transfers": {"en": "Transfers to third countries or international organisations",
                                      "de": "Übermittlungen an ein Drittland oder eine internationale Organisation"},
    "field.safeguard": {"en": "Appropriate safeguards", "de": "Geeignete Garantien"},
    "field.retention": {"en": "Time limits for erasure", "de": "Vorgesehene Fristen für die Löschung"},
    "field.security_measures": {"en": "Technical and organisational security measures (Art. 32(1) GDPR)",
                                "de": "Technische und organisatorische Maßnahmen (Art. 32 Abs. 1 DSGVO)"},
    "field.systems": {"en": "Systems", "de": "Systeme"},
    "field.status": {"en": "Status", "de": "Status"},
    "field.last_reviewed": {"en": "Last reviewed", "de": "Zuletzt geprüft"},
    # Art. 30(2) fields
    "field.processor": {"en": "Processor", "de": "Auftragsverarbeiter"},
    "field.controllers": {"en": "Controllers on whose behalf the processor is acting",
                          "de": "Verantwortliche, in deren Auftrag der Auftragsverarbeiter tätig ist"},
    "field.categories_of_processing": {"en": "Categories of processing carried out on behalf of each controller",
                                       "de": "Kategorien von Verarbeitungen, die im Auftrag jedes Verantwortlichen "
                                             "durchgeführt werden"},
    "status.planned": {"en": "planned", "de": "geplant"},
    "status.active": {"en": "active", "de": "aktiv"},
    "status.suspended": {"en": "suspended", "de": "ausgesetzt"},
    "status.retired": {"en": "retired", "de": "eingestellt"},
    "status.draft": {"en": "draft", "de": "Entwurf"},
    "status.final": {"en": "final", "de": "abgeschlossen"},
    # special categories (Art. 9(1), Art. 10)
    "special.racial_ethnic_origin": {"en": "racial or ethnic origin", "de": "rassische und ethnische Herkunft"},
    "special.political_opinions": {"en": "political opinions", "de": "politische Meinungen"},
    "special.religious_beliefs": {"en": "religious or philosophical beliefs",
                                  "de": "religiöse oder weltanschauliche Überzeugungen"},
    "special.trade_union_membership": {"en": "trade union membership", "de": "Gewerkschaftszugehörigkeit"},
    "special.genetic": {"en": "genetic data", "de": "genetische Daten"},
    "special.biometric": {"en": "biometric data for the purpose of uniquely identifying a natural person",
                          "de": "biometrische Daten zur eindeutigen Identifizierung einer natürlichen Person"},
    "special.health": {"en": "data concerning health", "de": "Gesundheitsdaten"},
    "special.sex_life_orientation": {"en": "data concerning sex life or sexual orientation",
                                     "de": "Daten zum Sexualleben oder der sexuellen Orientierung"},
    "special.criminal_convictions": {"en": "personal data relating to criminal convictions and offences (Art. 10)",
                                     "de": "personenbezogene Daten über strafrechtliche Verurteilungen und "
                                           "Straftaten (Art. 10)"},
    # security measure categories (Art. 32(1); free keys fall back to their own name)
    "measure.access_control": {"en": "Access control", "de": "Zugriffskontrolle"},
    "measure.encryption": {"en": "Encryption", "de": "Verschlüsselung"},
    "measure.pseudonymisation": {"en": "Pseudonymisation", "de": "Pseudonymisierung"},
    "measure.confidentiality": {"en": "Confidentiality", "de": "Vertraulichkeit"},
    "measure.integrity": {"en": "Integrity", "de": "Integrität"},
    "measure.availability": {"en": "Availability", "de": "Verfügbarkeit"},
    "measure.resilience": {"en": "Resilience", "de": "Belastbarkeit"},
    "measure.restore": {"en": "Restoring availability after an incident",
                        "de": "Wiederherstellung nach einem Zwischenfall"},
    "measure.testing": {"en": "Regular testing and evaluation", "de": "Regelmäßige Überprüfung und Evaluierung"},
    "measure.logging": {"en": "Logging", "de": "Protokollierung"},
    "measure.transparency": {"en": "Transparency", "de": "Transparenz"},
    "measure.storage_limitation": {"en": "Storage limitation", "de": "Speicherbegrenzung"},
    # DPIA
    "dpia.activity": {"en": "Processing activity", "de": "Verarbeitungstätigkeit"},
    "dpia.screening": {"en": "Screening: is a DPIA required?", "de": "Schwellwertanalyse: Ist eine DSFA erforderlich?"},
    "dpia.required": {"en": "A DPIA is required (Art. 35(1) GDPR).",
                      "de": "Eine Datenschutz-Folgenabschätzung ist durchzuführen (Art. 35 Abs. 1 DSGVO)."},
    "dpia.not_required": {"en": "The screening shows no requirement for a DPIA.",
                          "de": "Die Schwellwertanalyse ergibt keine Pflicht zur Datenschutz-Folgenabschätzung."},
    "dpia.criteria_rule": {"en": "WP248 rev.01: processing meeting two or more criteria will in most cases "
                                 "require a DPIA.",
                           "de": "WP248 rev.01: Erfüllt eine Verarbeitung zwei oder mehr Kriterien, ist in den "
                                 "meisten Fällen eine DSFA durchzuführen."},
    "dpia.description": {"en": "Systematic description of the envisaged processing operations and purposes "
                               "(Art. 35(7)(a))",
                         "de": "Systematische Beschreibung der geplanten Verarbeitungsvorgänge und der Zwecke "
                               "(Art. 35 Abs. 7 lit. a)"},
    "dpia.necessity": {"en": "Assessment of the necessity and proportionality (Art. 35(7)(b))",
                       "de": "Bewertung der Notwendigkeit und Verhältnismäßigkeit (Art. 35 Abs. 7 lit. b)"},
    "dpia.risks": {"en": "Assessment of the risks to the rights and freedoms of data subjects (Art. 35(7)(c))",
                   "de": "Bewertung der Risiken für die Rechte und Freiheiten der betroffenen Personen "
                         "(Art. 35 Abs. 7 lit. c)"},
    "dpia.measures": {"en": "Measures envisaged to address the risks (Art. 35(7)(d))",
                      "de": "Zur Bewältigung der Risiken geplante Abhilfemaßnahmen (Art. 35 Abs. 7 lit. d)"},
    "dpia.dpo_opinion": {"en": "Advice of the data protection officer (Art. 35(2))",
                         "de": "Rat des Datenschutzbeauftragten (Art. 35 Abs. 2)"},
    "dpia.data_subject_views": {"en": "Views of data subjects or their representatives (Art. 35(9))",
                                "de": "Standpunkt der betroffenen Personen oder ihrer Vertreter (Art. 35 Abs. 9)"},
    "dpia.result": {"en": "Result and prior consultation (Art. 36)", "de": "Ergebnis und vorherige Konsultation "
                                                                        "(Art. 36)"},
    "dpia.consultation_required": {"en": "A high residual risk remains: the supervisory authority must be "
                                         "consulted before the processing (Art. 36(1) GDPR).",
                                   "de": "Es verbleibt ein hohes Restrisiko: Vor der Verarbeitung ist die "
                                         "Aufsichtsbehörde zu konsultieren (Art. 36 Abs. 1 DSGVO)."},
    "dpia.consultation_not_required": {"en": "No high residual risk remains: no prior consultation is required.",
                                       "de": "Es verbleibt kein hohes Restrisiko: Eine vorherige Konsultation "
                                             "der Aufsichtsbehörde ist nicht erforderlich."},
    "dpia.not_assessed": {"en": "The risks have not been assessed yet.",
                          "de": "Die Risiken sind noch nicht bewertet."},
    "dpia.method": {"en": "Severity and likelihood on four levels (CNIL PIA method); level of risk by the matrix "
                          "of DSK Kurzpapier Nr. 18.",
                    "de": "Schwere und Eintrittswahrscheinlichkeit in vier Stufen (CNIL-Methode); Risikostufe "
                          "nach der Matrix des DSK-Kurzpapiers Nr. 18."},
    "risk.event": {"en": "Feared event", "de": "Befürchtetes Ereignis"},
    "risk.threats": {"en": "Risk sources and threats", "de": "Risikoquellen und Bedrohungen"},
    "risk.impacts": {"en": "Impacts on data subjects", "de": "Folgen für die betroffenen Personen"},
    "risk.severity": {"en": "Severity", "de": "Schwere"},
    "risk.likelihood": {"en": "Likelihood", "de": "Eintrittswahrscheinlichkeit"},
    "risk.level": {"en": "Risk", "de": "Risiko"},
    "risk.measures": {"en": "Measures", "de": "Maßnahmen"},
    "risk.residual": {"en": "Residual risk", "de": "Restrisiko"},
    "event.illegitimate_access": {"en": "Illegitimate access to personal data",
                                  "de": "Unrechtmäßiger Zugang zu personenbezogenen Daten"},
    "event.unwanted_modification": {"en": "Unwanted modification of personal data",
                                    "de": "Unerwünschte Veränderung personenbezogener Daten"},
    "event.disappearance": {"en": "Disappearance of personal data", "de": "Verschwinden personenbezogener Daten"},
    "level.1": {"en": "1 negligible", "de": "1 geringfügig"},
    "level.2": {"en": "2 limited", "de": "2 überschaubar"},
    "level.3": {"en": "3 significant", "de": "3 substanziell"},
    "level.4": {"en": "4 maximum", "de": "4 groß"},
    "risklevel.low": {"en": "low", "de": "geringes Risiko"},
    "risklevel.medium": {"en": "medium", "de": "Risiko"},
    "risklevel.high": {"en": "high", "de": "hohes Risiko"},
    # WP248 rev.01 criteria (German after the DSK's translation of the guideline's terms)
    "criterion.evaluation_scoring": {"en": "Evaluation or scoring, including profiling and predicting",
                                     "de": "Bewerten oder Einstufen (Scoring), einschließlich Profiling und "
                                           "Prognose"},
    "criterion.automated_decision": {"en": "Automated decision-making with legal or similar significant effect",
                                     "de": "Automatisierte Entscheidungsfindung mit Rechtswirkung oder ähnlich "
                                           "bedeutsamer Wirkung"},
    "criterion.systematic_monitoring": {"en": "Systematic monitoring", "de": "Systematische Überwachung"},
    "criterion.sensitive_data": {"en": "Sensitive data or data of a highly personal nature",
                                 "de": "Vertrauliche oder höchstpersönliche Daten"},
    "criterion.large_scale": {"en": "Data processed on a large scale", "de": "Datenverarbeitung in großem Umfang"},
    "criterion.matching_datasets": {"en": "Matching or combining datasets",
                                    "de": "Abgleichen oder Zusammenführen von Datensätzen"},
    "criterion.vulnerable_subjects": {"en": "Data concerning vulnerable data subjects",
                                      "de": "Daten zu schutzbedürftigen Betroffenen"},
    "criterion.innovative_technology": {"en": "Innovative use or applying new technological or organisational "
                                              "solutions",
                                        "de": "Innovative Nutzung oder Anwendung neuer technologischer oder "
                                              "organisatorischer Lösungen"},
    "criterion.prevents_rights": {"en": "Processing that prevents data subjects from exercising a right or using a "
                                        "service or a contract",
                                  "de": "Betroffene werden an der Ausübung eines Rechts oder der Nutzung einer "
                                        "Dienstleistung bzw. Durchführung eines Vertrags gehindert"},
    "reason.wp248": {"en": "WP248 criterion", "de": "WP248-Kriterium"},
    "reason.given": {"en": "WP248 criterion (stated by the controller)",
                     "de": "WP248-Kriterium (vom Verantwortlichen angegeben)"},
    "reason.from": {"en": "from", "de": "aus"},
    "reason.art35_3": {"en": "Art. 35(3) GDPR", "de": "Art. 35 Abs. 3 DSGVO"},
    "reason.dsk": {"en": "DSK list under Art. 35(4) GDPR (version 1.1), no.",
                   "de": "DSK-Liste nach Art. 35 Abs. 4 DSGVO (Version 1.1), Nr."},
    "art35_3.a": {"en": "systematic and extensive evaluation of personal aspects based on automated processing, on "
                        "which decisions with legal or similarly significant effects are based",
                  "de": "systematische und umfassende Bewertung persönlicher Aspekte, die sich auf automatisierte "
                        "Verarbeitung gründet und als Grundlage für Entscheidungen mit Rechtswirkung dient"},
    "art35_3.b": {"en": "processing on a large scale of special categories of data or of data on criminal "
                        "convictions and offences",
                  "de": "umfangreiche Verarbeitung besonderer Kategorien personenbezogener Daten oder von Daten "
                        "über strafrechtliche Verurteilungen und Straftaten"},
    "art35_3.c": {"en": "systematic monitoring of a publicly accessible area on a large scale",
                  "de": "systematische umfangreiche Überwachung öffentlich zugänglicher Bereiche"},
    # DSK list items, German (our summaries; the list itself is authoritative)
    "dsk.1": {"de": "Biometrische Daten zur eindeutigen Identifizierung, wenn mindestens ein weiteres "
                    "WP248-Kriterium zutrifft"},
    "dsk.2": {"de": "Genetische Daten, wenn mindestens ein weiteres WP248-Kriterium zutrifft"},
    "dsk.3": {"de": "Umfangreiche Verarbeitung von Daten, die dem Sozial-, einem Berufs- oder besonderen "
                    "Amtsgeheimnis unterliegen"},
    "dsk.4": {"de": "Umfangreiche Verarbeitung von Daten über den Aufenthalt von Personen"},
    "dsk.5": {"de": "Umfangreiche Zusammenführung von Daten aus verschiedenen Quellen als Grundlage für "
                    "Entscheidungen mit Rechtswirkung (z. B. Betrugsprävention, Scoring)"},
    "dsk.6": {"de": "Mobile optisch-elektronische Erfassung öffentlicher Bereiche, zentral in großem Umfang "
                    "zusammengeführt"},
    "dsk.7": {"de": "Umfangreiche Erhebung und Veröffentlichung oder Übermittlung von Daten zur Bewertung des "
                    "Verhaltens von Personen"},
    "dsk.8": {"de": "Umfangreiche Verarbeitung von Daten über das Verhalten von Beschäftigten, die zur Bewertung "
                    "ihrer Arbeit genutzt werden können"},
    "dsk.9": {"de": "Umfassende Profile über Interessen, Beziehungen oder Persönlichkeit"},
    "dsk.10": {"de": "Zusammenführung von Daten mit nicht nachvollziehbaren Algorithmen zur Entdeckung unbekannter "
                     "Zusammenhänge (Big Data)"},
    "dsk.11": {"de": "Künstliche Intelligenz zur Steuerung der Interaktion mit Betroffenen oder zur Bewertung "
                     "persönlicher Aspekte"},
    "dsk.12": {"de": "Nutzung von Sensoren von Mobilgeräten oder von Funksignalen zur Bestimmung von Aufenthalt "
                     "oder Bewegung"},
    "dsk.13": {"de": "Automatisierte Auswertung von Video- oder Audioaufnahmen zur Bewertung der Persönlichkeit"},
    "dsk.14": {"de": "Umfassende Profile über Bewegung und Kaufverhalten"},
    "dsk.15": {"de": "Anonymisierung besonderer Kategorien (Art. 9) zur Übermittlung an Dritte, nicht nur im "
                     "Einzelfall"},
    "dsk.16": {"de": "Erhebung über nicht gegen Auslesen geschützte Schnittstellen persönlicher Geräte (RFID, NFC)"},
    "dsk.17": {"de": "Besondere Kategorien oder Strafdaten, auch nicht umfangreich, zur Leistungsbestimmung durch "
                     "Anbieter neuer Technologien"},
}


def translate(key: str, lang: str) -> str:
    """The term for ``key`` in ``lang``; English where a term has no entry in that language. Unknown keys
    raise ``KeyError`` (a template asking for a word that does not exist is a bug)."""
    entry = TERMS[key]
    return entry.get(lang) or entry["en"]


def translate_or(key: str, lang: str, fallback: str) -> str:
    """For open vocabularies (security measure categories): the term if known, else ``fallback``."""
    entry = TERMS.get(key)
    return (entry.get(lang) or entry.get("en") or fallback) if entry else fallback
