# MLP008: models withstand evasion attacks.
#
# Denies each attack of `mlsec redteam` that flipped more of a model's
# correct decisions than its `max-success` allows (RTM001), on the models
# `mlsec.toml` validates ([[validate]]).
package mlsec.baseline.mlp008

import rego.v1

metadata := {
	"id": "MLP008",
	"title": "Models withstand evasion attacks",
	"evidence": ["redteam"],
	"controls": {
		"owasp-ml": ["ML01"],
		"nist-ai-rmf": ["MEASURE 2.7"],
		"eu-ai-act": ["Art. 15"],
		"iso-42001": ["A.6.2.4"],
		"mitre-atlas": ["AML.T0015", "AML.T0043"],
	},
}

deny contains result if {
	some e in input.evidence.redteam
	some f in e.findings
	f.rule == "RTM001"
	result := {
		"msg": sprintf("%s: %s %s", [f.subject, f.rule, f.message]),
		"subject": f.subject,
		"finding": f.rule,
	}
}
