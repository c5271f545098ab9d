package mlsec.baseline.mlp002_test

import data.mlsec.baseline.mlp002
import rego.v1

verify(verified, findings) := {
	"subjects": [{"name": "models/churn"}],
	"findings": findings,
	"details": {"operation": "verify", "verified": verified},
}

test_a_changed_file_is_denied if {
	f := {"rule": "SIG001", "message": "weights.bin: content differs from the signed digest"}
	results := mlp002.deny with input as {"evidence": {"signature": [verify(false, [f])]}}
	count(results) == 1
	some r in results
	r.subject == "models/churn"
}

test_a_verified_model_passes if {
	count(mlp002.deny) == 0 with input as {"evidence": {"signature": [verify(true, [])]}}
}

test_signing_is_not_verifying if {
	sign := {"findings": [], "details": {"operation": "sign", "verified": null}}
	count(mlp002.deny) == 0 with input as {"evidence": {"signature": [sign]}}
}
