# MLP002: every model signature that is checked verifies.
#
# Denies each finding of a `signature` check that did not verify: a
# signature made by another key, a changed, missing, unsigned or renamed file.
package mlsec.baseline.mlp002

import rego.v1

metadata := {
	"id": "MLP002",
	"title": "Every checked model signature verifies",
	"evidence": ["signature"],
	"controls": {
		"owasp-ml": ["ML06", "ML10"],
		"owasp-llm": ["LLM03"],
		"nist-ai-rmf": ["MANAGE 3.1", "MEASURE 2.7"],
		"eu-ai-act": ["Art. 15"],
		"iso-42001": ["A.6.2.5", "A.10.3"],
		"mitre-atlas": ["AML.T0010.003", "AML.T0018"],
	},
}

deny contains result if {
	some e in input.evidence.signature
	e.details.operation == "verify"
	e.details.verified == false
	some f in e.findings
	model := object.get(e, ["subjects", 0, "name"], "the model")
	result := {
		"msg": sprintf("%s: signature does not verify: %s %s", [model, f.rule, f.message]),
		"subject": model,
		"finding": f.rule,
	}
}
