"""Detection: Sigma rules (and later YARA, IOC lists, correlations) over the event stream."""
