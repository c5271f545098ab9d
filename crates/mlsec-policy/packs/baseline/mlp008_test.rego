package mlsec.baseline.mlp008_test

import data.mlsec.baseline.mlp008
import rego.v1

evasion := {
	"rule": "RTM001", "severity": "high", "subject": "models/credit.onnx",
	"message": "square (linf, eps 0.1): 74% of 120 correctly classified rows flipped; median 38 queries",
}

test_a_successful_evasion_is_denied if {
	results := mlp008.deny with input as {"evidence": {"redteam": [{"findings": [evasion]}]}}
	count(results) == 1
	some r in results
	r.subject == "models/credit.onnx"
	startswith(r.msg, "models/credit.onnx: RTM001 square (linf, eps 0.1)")
}

test_each_attack_is_its_own_denial if {
	hsj := object.union(evasion, {"message": "hsj (linf, eps 0.1): 61% of 120 correctly classified rows flipped"})
	results := mlp008.deny with input as {"evidence": {"redteam": [{"findings": [evasion, hsj]}]}}
	count(results) == 2
}

test_a_robust_model_passes if {
	count(mlp008.deny) == 0 with input as {"evidence": {"redteam": [{"findings": []}]}}
}

test_other_evidence_is_not_read if {
	count(mlp008.deny) == 0 with input as {"evidence": {"scan": [{"findings": [evasion]}]}}
}

test_no_evidence_passes if {
	count(mlp008.deny) == 0 with input as {"evidence": {}}
}
