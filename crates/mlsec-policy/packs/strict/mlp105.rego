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
		"owasp-ml": ["ML03", "ML04"],
		"owasp-llm": ["LLM02"],
		"nist-ai-rmf": ["MEASURE 2.10"],
		"eu-ai-act": ["Art. 10"],
		"iso-42001": ["A.7.2"],
		"mitre-atlas": ["AML.T0024.000", "AML.T0024.001", "AML.T0057"],
	},
}

deny contains msg if {
	some line in data.mlsec.lib.personal_data
	msg := line
}
