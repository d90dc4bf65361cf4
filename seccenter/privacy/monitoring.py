"""The security monitoring itself is a processing activity: seccenter's own entry in the register.

Created on first use of the register with what seccenter knows (purposes, data, retention from the
configuration); the DPO completes controller, DPO and review date, or imports a register that holds an
entry with the same id.
"""

from __future__ import annotations

from seccenter.privacy.ropa import ProcessingActivity

MONITORING_ID = "seccenter-monitoring"
DEFAULT_RETENTION_DAYS = 90


def monitoring_activity(retention_days: int = DEFAULT_RETENTION_DAYS) -> ProcessingActivity:
    return ProcessingActivity(
        id=MONITORING_ID,
        name="Security monitoring of the city's IT (seccenter)",
        purposes=(
            "Detecting, analysing and stopping attacks on the city's IT systems and services",
            "Detecting and documenting personal data breaches (Art. 33, 34)",
            "Ensuring the security of processing (Art. 32)",
        ),
        legal_basis=(
            "Art. 6(1)(e) with the state data protection act's general clause for public bodies "
            "(§ 3 BDSG for federal bodies; replace with the applicable state provision)",
            "Art. 6(1)(c) with Art. 32 GDPR (security of processing)",
        ),
        data_subjects=(
            "Employees of the city administration and its schools",
            "Residents and other users of the city's online services",
            "Senders of network traffic to the city's systems, including attackers",
        ),
        data_categories=(
            "IP addresses and host names", "User names and log-on times and outcomes",
            "URLs, user agents and DNS queries", "File names, process names and command lines",
        ),
        recipients=(
            "Analysts of the Cyber-Security-Centre", "The data protection officer",
            "The data protection supervisory authority (breach notifications)",
            "CERT and BSI (incident reports)", "Police and public prosecutors (criminal complaints)",
        ),
        retention=f"{retention_days} days for events and alerts (`seccenter purge --older-than {retention_days}d`); "
                  "evidence of an incident as long as its case is open",
        security_measures={
            "access_control": ("The store is a file readable by the service account only (mode 0600)",),
            "integrity": ("Log lines and packets are stored as read, with their origin (file and offset)",),
            "storage_limitation": (f"Events and alerts older than {retention_days} days are purged",),
        },
        status="active",
    )
