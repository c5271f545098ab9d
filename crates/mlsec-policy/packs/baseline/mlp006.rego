# MLP006: datasets have not drifted from their reference.
#
# Denies dataset drift (DRF002: at least the drift share of the compared
# columns drifted) and warns of each drifted column, schema change and joint
# drift `mlsec data drift` found (DRF001, DRF003, DRF005).
package mlsec.baseline.mlp006

import rego.v1

metadata := {
	"id": "MLP006",
	"title": "Datasets have not drifted from their reference",
	"evidence": ["drift"],
	"controls": {
		"owasp-ml": ["ML08"],
		"nist-ai-rmf": ["MEASURE 2.4", "MANAGE 4.1"],
		"eu-ai-act": ["Art. 15", "Art. 72"],
		"iso-42001": ["A.6.2.6"],
	},
}

deny contains result if {
	some f in drift_findings
	f.severity in {"high", "critical"}
	result := message(f)
}

warn contains result if {
	some f in drift_findings
	f.severity == "medium"
	result := message(f)
}

drift_findings contains f if {
	some e in input.evidence.drift
	some f in e.findings
}

message(f) := {
	"msg": sprintf("%s: %s %s", [f.subject, f.rule, f.message]),
	"subject": f.subject,
	"finding": f.rule,
}
