# MLP001: no model file gives code execution or hides tampering.
#
# Denies every `mlsec scan` finding at high or critical severity: a pickle
# that calls os.system, an archive member that escapes its folder, a Keras
# Lambda layer, a file valid in two formats at once.
package mlsec.baseline.mlp001

import rego.v1

metadata := {
	"id": "MLP001",
	"title": "No model file gives code execution or hides tampering",
	"evidence": ["scan"],
	"controls": {
		"owasp-ml": ["ML06"],
		"owasp-llm": ["LLM03", "LLM04"],
		"nist-ai-rmf": ["MEASURE 2.7", "MANAGE 3.2"],
		"eu-ai-act": ["Art. 15"],
		"iso-42001": ["A.6.2.4", "A.10.3"],
		"mitre-atlas": ["AML.T0010.003", "AML.T0011.000", "AML.T0018.002", "AML.T0074"],
	},
}

deny contains result if {
	some e in input.evidence.scan
	some f in e.findings
	f.severity in {"high", "critical"}
	result := {
		"msg": sprintf("%s: %s %s", [subject(f), f.rule, f.message]),
		"subject": f.subject,
		"finding": f.rule,
	}
}

subject(f) := sprintf("%s (%s)", [f.subject, f.location]) if f.location
else := f.subject
