# MLP106 (strict): model decisions are fair across groups.
#
# Denies what MLP010 warns of: a fairness ratio of `mlsec explain` below its
# minimum (EXP001). Mitigate it, or document why the gap is justified and
# skip this rule.
package mlsec.strict.mlp106

import rego.v1

metadata := {
	"id": "MLP106",
	"title": "Model decisions are fair across groups (denied)",
	"evidence": ["explain"],
	"controls": {
		"nist-ai-rmf": ["MEASURE 2.11"],
		"eu-ai-act": ["Art. 10"],
		"iso-42001": ["A.5.4", "A.6.2.4"],
	},
}

deny contains result if {
	some result in data.mlsec.lib.disparities
}
