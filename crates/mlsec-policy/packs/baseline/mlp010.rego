# MLP010: model decisions are fair across the groups of a sensitive column.
#
# Warns of each fairness ratio of `mlsec explain` below its `min-ratio`
# (EXP001: demographic parity or equalized odds, the four-fifths rule by
# default), on the models `mlsec.toml` validates with a `sensitive` column.
# A warning, not a denial: whether a gap is justified is for people to judge;
# the strict pack's MLP106 denies it.
package mlsec.baseline.mlp010

import rego.v1

metadata := {
	"id": "MLP010",
	"title": "Model decisions are fair across groups",
	"evidence": ["explain"],
	"controls": {
		"nist-ai-rmf": ["MEASURE 2.11"],
		"eu-ai-act": ["Art. 10"],
		"iso-42001": ["A.5.4", "A.6.2.4"],
	},
}

warn contains result if {
	some result in data.mlsec.lib.disparities
}
