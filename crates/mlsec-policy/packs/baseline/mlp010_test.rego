package mlsec.baseline.mlp010_test

import data.mlsec.baseline.mlp010
import rego.v1

disparity := {
	"rule": "EXP001", "severity": "medium", "subject": "models/loans.onnx",
	"message": "demographic parity ratio 0.612 across `sex` is below 0.8 (class approved)",
}

test_a_disparity_warns if {
	inp := {"evidence": {"explain": [{"findings": [disparity]}]}}
	results := mlp010.warn with input as inp
	count(results) == 1
	some r in results
	r.msg == "models/loans.onnx: EXP001 demographic parity ratio 0.612 across `sex` is below 0.8 (class approved)"
}

test_fair_decisions_pass if {
	count(mlp010.warn) == 0 with input as {"evidence": {"explain": [{"findings": []}]}}
}

test_no_evidence_passes if {
	count(mlp010.warn) == 0 with input as {"evidence": {}}
}
