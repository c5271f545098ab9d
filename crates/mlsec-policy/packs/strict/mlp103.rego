# MLP103 (strict): every model has a bill of materials.
#
# Denies each model of the project without a `bom` check (CycloneDX 1.6
# ML-BOM: files and hashes, model card, datasets, dependencies).
package mlsec.strict.mlp103

import rego.v1

metadata := {
	"id": "MLP103",
	"title": "Every model has a bill of materials",
	"evidence": ["bom"],
	"controls": {
		"owasp-ml": ["ML06"],
		"owasp-llm": ["LLM03"],
		"nist-ai-rmf": ["MAP 4.1", "GOVERN 1.6"],
		"eu-ai-act": ["Art. 11", "Art. 53"],
		"iso-42001": ["A.4.2", "A.6.2.7"],
		"mitre-atlas": ["AML.T0010", "AML.T0058"],
	},
}

described contains c.target if {
	some c in input.checks
	c.kind == "bom"
	c.status == "ran"
}

deny contains msg if {
	some m in input.models
	not m.path in described
	msg := sprintf("%s: no bill of materials", [m.path])
}
