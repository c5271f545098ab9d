package mlsec.strict.mlp105_test

import data.mlsec.strict.mlp105
import rego.v1

test_personal_data_is_denied if {
	pii := {"findings": [], "details": {"files": [{"path": "t.txt", "counts": [{"entity": "PHONE", "count": 2}]}]}}
	results := mlp105.deny with input as {"evidence": {"data.pii": [pii]}}
	results == {"t.txt: 2 PHONE value(s)"}
}

test_only_secrets_pass_here if {
	pii := {
		"findings": [{"rule": "PII002", "entity": "AWS_ACCESS_KEY"}],
		"details": {"files": [{"path": "t.txt", "counts": [{"entity": "AWS_ACCESS_KEY", "count": 1}]}]},
	}
	count(mlp105.deny) == 0 with input as {"evidence": {"data.pii": [pii]}}
}
