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
		"nist-ai-rmf": ["MEASURE 2.7", "MANAGE 3.1"],
		"eu-ai-act": ["Art. 10", "Art. 15"],
		"iso-42001": ["A.7.5"],
		"mitre-atlas": ["AML.T0010.002", "AML.T0020", "AML.T0059"],
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
