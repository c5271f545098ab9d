# MLP003: every dataset with a manifest matches it.
#
# Denies each difference `mlsec data verify` found at high or critical
# severity (changed, added or removed files; changed, inserted or deleted
# rows; a schema change; a manifest whose signature does not verify).
package mlsec.baseline.mlp003

import rego.v1

metadata := {
	"id": "MLP003",
	"title": "Every dataset matches its manifest",
	"evidence": ["data.integrity"],
	"controls": {
		"owasp-ml": ["ML02"],
		"owasp-llm": ["LLM04"],
		"mitre-atlas": ["AML.T0020"],
		"nist-ai-rmf": ["MAP 4.1"],
		"eu-ai-act": ["Art. 10"],
		"iso-42001": ["A.7.5"],
	},
}

deny contains result if {
	some e in input.evidence["data.integrity"]
	some f in e.findings
	f.severity in {"high", "critical"}
	where := object.get(f, "location", "")
	result := {
		"msg": sprintf("%s%s: %s %s", [f.subject, at(where), f.rule, f.message]),
		"subject": f.subject,
		"finding": f.rule,
	}
}

at(where) := sprintf(" (%s)", [where]) if where != ""
else := ""
