package mlsec.strict.mlp104_test

import data.mlsec.strict.mlp104
import rego.v1

scan(verdict) := {"details": {"files": [{"path": "m.pt", "verdict": verdict}]}}

test_an_unjudged_file_is_denied if {
	count(mlp104.deny) == 1 with input as {"evidence": {"scan": [scan("error")]}}
}

test_a_clean_file_passes if {
	count(mlp104.deny) == 0 with input as {"evidence": {"scan": [scan("clean")]}}
}
