package mlsec.strict.mlp103_test

import data.mlsec.strict.mlp103
import rego.v1

test_a_model_without_bom_is_denied if {
	count(mlp103.deny) == 1 with input as {"models": [{"path": "models/a"}], "checks": []}
}

test_a_model_with_bom_passes if {
	checks := [{"kind": "bom", "target": "models/a", "status": "ran"}]
	count(mlp103.deny) == 0 with input as {"models": [{"path": "models/a"}], "checks": checks}
}
