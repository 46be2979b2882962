"""The results' $operations: a clinician's $withhold and $release of a result, and a patient's
$release-choice."""
