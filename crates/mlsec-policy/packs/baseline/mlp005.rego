# MLP005: personal data in training data is reported.
#
# Warns once per file and entity with the count `mlsec data pii` found
# (names, e-mail addresses, phone numbers, card and account numbers); the
# strict pack denies instead (MLP105).
package mlsec.baseline.mlp005

import rego.v1

metadata := {
	"id": "MLP005",
	"title": "Personal data in training data is reported",
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

warn contains msg if {
	some line in data.mlsec.lib.personal_data
	msg := line
}
