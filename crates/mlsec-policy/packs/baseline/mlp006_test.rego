package mlsec.baseline.mlp006_test

import data.mlsec.baseline.mlp006
import rego.v1

test_dataset_drift_is_denied if {
	f := {"rule": "DRF002", "severity": "high", "subject": "today.csv", "message": "3 of 4 columns drifted"}
	results := mlp006.deny with input as {"evidence": {"drift": [{"findings": [f]}]}}
	count(results) == 1
	some r in results
	r.msg == "today.csv: DRF002 3 of 4 columns drifted"
}

test_a_drifted_column_warns if {
	f := {"rule": "DRF001", "severity": "medium", "subject": "today.csv", "message": "age: drifted"}
	inp := {"evidence": {"drift": [{"findings": [f]}]}}
	count(mlp006.deny) == 0 with input as inp
	count(mlp006.warn) == 1 with input as inp
}

test_a_column_not_compared_passes if {
	f := {"rule": "DRF004", "severity": "low", "subject": "today.csv", "message": "id: not compared"}
	inp := {"evidence": {"drift": [{"findings": [f]}]}}
	count(mlp006.deny) == 0 with input as inp
	count(mlp006.warn) == 0 with input as inp
}
