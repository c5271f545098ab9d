# MLP007: training data shows no sign of poisoning.
#
# Denies a backdoor signal (DQI005) and a feature that gives the label away
# (DQI008), and warns of each likely wrong label and each set of copies that
# disagree on the label (DQI001, DQI004) `mlsec data issues` found in the
# datasets `mlsec.toml` gives a `label`.
package mlsec.baseline.mlp007

import rego.v1

metadata := {
	"id": "MLP007",
	"title": "Training data shows no sign of poisoning",
	"evidence": ["data-issues"],
	"controls": {
		"owasp-ml": ["ML02"],
		"owasp-llm": ["LLM04"],
		"nist-ai-rmf": ["MEASURE 2.7"],
		"eu-ai-act": ["Art. 10", "Art. 15"],
		"iso-42001": ["A.7.4"],
		"mitre-atlas": ["AML.T0020", "AML.T0018.000"],
	},
}

deny contains result if {
	some f in issue_findings
	f.severity in {"high", "critical"}
	result := message(f)
}

warn contains result if {
	some f in issue_findings
	f.severity == "medium"
	result := message(f)
}

issue_findings contains f if {
	some e in input.evidence["data-issues"]
	some f in e.findings
}

message(f) := {
	"msg": sprintf("%s: %s %s", [f.subject, f.rule, f.message]),
	"subject": f.subject,
	"finding": f.rule,
}
