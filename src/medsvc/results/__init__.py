"""Results: DiagnosticReport, Observation and what comes with them, pushed by hospitals and
read by their patients; stored sealed, searched by blind index tokens."""
