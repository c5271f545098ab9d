package mlsec.strict.mlp102_test

import data.mlsec.strict.mlp102
import rego.v1

integrity(verified) := {"subjects": [], "details": {"manifest": {"path": "data/manifest.json"}, "signature": {"checked": verified, "verified": verified}}}

test_a_dataset_without_manifest_is_denied if {
	results := mlp102.deny with input as {"datasets": [{"path": "data/train.csv"}], "evidence": {}}
	count(results) == 1
}

test_an_unsigned_manifest_is_denied if {
	results := mlp102.deny with input as {
		"datasets": [{"path": "data", "manifest": "data/manifest.json"}],
		"evidence": {"data.integrity": [integrity(false)]},
	}
	count(results) == 1
}

test_a_signed_manifest_passes if {
	count(mlp102.deny) == 0 with input as {
		"datasets": [{"path": "data", "manifest": "data/manifest.json"}],
		"evidence": {"data.integrity": [integrity(true)]},
	}
}
