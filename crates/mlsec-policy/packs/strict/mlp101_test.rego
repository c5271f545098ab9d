package mlsec.strict.mlp101_test

import data.mlsec.strict.mlp101
import rego.v1

test_an_unsigned_model_is_denied if {
	results := mlp101.deny with input as {"models": [{"path": "models/a"}], "evidence": {}}
	results == {"models/a: no verified signature (sign it with `mlsec sign` and name the key in mlsec.toml)"}
}

test_a_verified_model_passes if {
	sig := {"subjects": [{"name": "models/a"}], "details": {"operation": "verify", "verified": true}}
	count(mlp101.deny) == 0 with input as {"models": [{"path": "models/a"}], "evidence": {"signature": [sig]}}
}
