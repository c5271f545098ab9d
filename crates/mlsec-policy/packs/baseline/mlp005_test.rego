package mlsec.baseline.mlp005_test

import data.mlsec.baseline.mlp005
import rego.v1

pii := {
	"findings": [{"rule": "PII002", "entity": "AWS_ACCESS_KEY"}],
	"details": {"files": [{"path": "users.csv", "counts": [
		{"column": "email", "entity": "EMAIL", "count": 120},
		{"column": "notes", "entity": "AWS_ACCESS_KEY", "count": 1},
	]}]},
}

test_personal_data_is_a_warning_per_file_and_entity if {
	results := mlp005.warn with input as {"evidence": {"data.pii": [pii]}}
	results == {"users.csv [email]: 120 EMAIL value(s)"}
}

test_no_pii_scan_no_warning if {
	count(mlp005.warn) == 0 with input as {"evidence": {}}
}
