# MLP101 (strict): every model is signed, and the signature verifies.
#
# Denies each model of the project that has no signature check: give it a
# `key` or `certificate-chain` in mlsec.toml and sign it with `mlsec sign`.
package mlsec.strict.mlp101

import rego.v1

metadata := {
	"id": "MLP101",
	"title": "Every model is signed and verified",
	"evidence": ["signature"],
	"controls": {
		"owasp-ml": ["ML06", "ML10"],
		"owasp-llm": ["LLM03"],
		"nist-ai-rmf": ["GOVERN 6.1", "MANAGE 3.1"],
		"eu-ai-act": ["Art. 15"],
		"iso-42001": ["A.6.2.5", "A.10.3"],
		"mitre-atlas": ["AML.T0010.003", "AML.T0011.000", "AML.T0018"],
	},
}

verified contains e.subjects[0].name if {
	some e in input.evidence.signature
	e.details.operation == "verify"
	e.details.verified == true
}

deny contains msg if {
	some m in input.models
	not m.path in verified
	msg := sprintf("%s: no verified signature (sign it with `mlsec sign` and name the key in mlsec.toml)", [m.path])
}
