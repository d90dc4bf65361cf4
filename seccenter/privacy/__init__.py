"""GDPR records: the register of processing activities (Art. 30), assets, DPIA (Art. 35)."""
