package mlsec.baseline.mlp007_test

import data.mlsec.baseline.mlp007
import rego.v1

test_a_backdoor_signal_is_denied if {
	f := {"rule": "DQI005", "severity": "high", "subject": "train.csv", "message": "row 301: backdoor signal in class 7"}
	results := mlp007.deny with input as {"evidence": {"data-issues": [{"findings": [f]}]}}
	count(results) == 1
	some r in results
	r.msg == "train.csv: DQI005 row 301: backdoor signal in class 7"
}

test_a_label_error_warns if {
	f := {"rule": "DQI001", "severity": "medium", "subject": "train.csv", "message": "row 41: label 3 looks wrong"}
	inp := {"evidence": {"data-issues": [{"findings": [f]}]}}
	count(mlp007.deny) == 0 with input as inp
	count(mlp007.warn) == 1 with input as inp
}

test_outliers_and_duplicates_pass if {
	o := {"rule": "DQI002", "severity": "low", "subject": "train.csv", "message": "row 9: outlier"}
	d := {"rule": "DQI003", "severity": "low", "subject": "train.csv", "message": "row 12: duplicate of row 3"}
	inp := {"evidence": {"data-issues": [{"findings": [o, d]}]}}
	count(mlp007.deny) == 0 with input as inp
	count(mlp007.warn) == 0 with input as inp
}

test_no_evidence_passes if {
	count(mlp007.deny) == 0 with input as {"evidence": {}}
}
