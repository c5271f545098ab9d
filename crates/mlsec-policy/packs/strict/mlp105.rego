# MLP105 (strict): no personal data in training data.
#
# Denies what MLP005 warns of: personal data `mlsec data pii` found, once
# per file and entity. Redact it (`mlsec data redact`) or document why the
# data may hold it and skip this rule.
package mlsec.strict.mlp105

import rego.v1

metadata := {
	"id": "MLP105",
	"title": "No personal data in training data",
	"evidence": ["data.pii"],
	"controls": {
		"owasp-llm": ["LLM02"],
		"owasp-ml": ["ML03"],
		"nist-ai-rmf": ["MEASURE 2.10"],
		"eu-ai-act": ["Art. 10"],
	},
}

deny contains msg if {
	some line in data.mlsec.lib.personal_data
	msg := line
}
