package mlsec.strict.mlp106_test

import data.mlsec.strict.mlp106
import rego.v1

test_a_disparity_is_denied if {
	f := {"rule": "EXP001", "severity": "medium", "subject": "m.onnx", "message": "equalized odds ratio 0.5 across `age` is below 0.8"}
	results := mlp106.deny with input as {"evidence": {"explain": [{"findings": [f]}]}}
	count(results) == 1
	some r in results
	r.subject == "m.onnx"
}

test_other_findings_pass if {
	f := {"rule": "RTM001", "severity": "high", "subject": "m.onnx", "message": "x"}
	count(mlp106.deny) == 0 with input as {"evidence": {"explain": [{"findings": [f]}]}}
}
