# MLP004: no secrets in training or evaluation data.
#
# Denies each secret `mlsec data pii` found (PII002: cloud keys, private
# keys, tokens); a model trained on them can repeat them.
package mlsec.baseline.mlp004

import rego.v1

metadata := {
	"id": "MLP004",
	"title": "No secrets in training or evaluation data",
	"evidence": ["data.pii"],
	"controls": {
		"owasp-llm": ["LLM02"],
		"nist-ai-rmf": ["MEASURE 2.7"],
		"eu-ai-act": ["Art. 10", "Art. 15"],
		"iso-42001": ["A.7.6"],
		"mitre-atlas": ["AML.T0055", "AML.T0057"],
	},
}

deny contains result if {
	some e in input.evidence["data.pii"]
	some f in e.findings
	f.rule == "PII002"
	result := {
		"msg": sprintf("%s (%s): %s %s", [f.subject, f.location, f.entity, f.preview]),
		"subject": f.subject,
		"finding": f.rule,
	}
}
