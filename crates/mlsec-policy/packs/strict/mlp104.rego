# MLP104 (strict): every model file could be judged to its end.
#
# Denies each file `mlsec scan` could not fully judge (verdict `error`: a
# truncated archive, a limit reached); what was not read may hide anything.
package mlsec.strict.mlp104

import rego.v1

metadata := {
	"id": "MLP104",
	"title": "Every model file is judged to its end",
	"evidence": ["scan"],
	"controls": {
		"owasp-ml": ["ML06"],
		"owasp-llm": ["LLM03"],
		"nist-ai-rmf": ["MEASURE 1.1", "MEASURE 2.7"],
		"eu-ai-act": ["Art. 15"],
		"iso-42001": ["A.6.2.4"],
		"mitre-atlas": ["AML.T0011.000", "AML.T0076"],
	},
}

deny contains msg if {
	some e in input.evidence.scan
	some file in e.details.files
	file.verdict == "error"
	msg := sprintf("%s: could not be judged to its end", [file.path])
}
