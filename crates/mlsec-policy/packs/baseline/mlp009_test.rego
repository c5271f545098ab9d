package mlsec.baseline.mlp009_test

import data.mlsec.baseline.mlp009
import rego.v1

leak := {
	"rule": "PRV001", "severity": "high", "subject": "models/clinic.onnx",
	"message": "lira: AUC 0.812, advantage 0.520, TPR 0.190 at 1% FPR (members 500, non-members 500)",
}

test_a_membership_leak_is_denied if {
	results := mlp009.deny with input as {"evidence": {"privacy": [{"findings": [leak]}]}}
	count(results) == 1
	some r in results
	r.msg == "models/clinic.onnx: PRV001 lira: AUC 0.812, advantage 0.520, TPR 0.190 at 1% FPR (members 500, non-members 500)"
}

test_an_audit_without_findings_passes if {
	count(mlp009.deny) == 0 with input as {"evidence": {"privacy": [{"findings": []}]}}
}

test_no_evidence_passes if {
	count(mlp009.deny) == 0 with input as {"evidence": {}}
}
