# MLP009: models do not give away who was in their training data.
#
# Denies each membership-inference attack of `mlsec privacy` whose AUC at
# telling a model's training rows from others is above its `max-auc`
# (PRV001), on the models `mlsec.toml` validates with training rows
# ([validate.privacy]).
package mlsec.baseline.mlp009

import rego.v1

metadata := {
	"id": "MLP009",
	"title": "Models do not reveal the members of their training data",
	"evidence": ["privacy"],
	"controls": {
		"owasp-ml": ["ML04"],
		"nist-ai-rmf": ["MEASURE 2.10"],
		"eu-ai-act": ["Art. 15"],
		"iso-42001": ["A.6.2.4", "A.5.4"],
		"mitre-atlas": ["AML.T0024.000"],
	},
}

deny contains result if {
	some e in input.evidence.privacy
	some f in e.findings
	f.rule == "PRV001"
	result := {
		"msg": sprintf("%s: %s %s", [f.subject, f.rule, f.message]),
		"subject": f.subject,
		"finding": f.rule,
	}
}
