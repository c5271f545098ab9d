# MLP102 (strict): every dataset has a manifest whose signature verifies.
#
# Denies each dataset of the project without a `data.integrity` check, and
# each check whose manifest signature was not checked or did not verify.
package mlsec.strict.mlp102

import rego.v1

metadata := {
	"id": "MLP102",
	"title": "Every dataset has a verified, signed manifest",
	"evidence": ["data.integrity"],
	"controls": {
		"owasp-ml": ["ML02"],
		"owasp-llm": ["LLM04"],
		"nist-ai-rmf": ["GOVERN 6.1", "MANAGE 3.1"],
		"eu-ai-act": ["Art. 10", "Art. 17"],
		"iso-42001": ["A.7.3", "A.7.5"],
		"mitre-atlas": ["AML.T0010.002", "AML.T0019", "AML.T0020"],
	},
}

checked contains path if {
	some e in input.evidence["data.integrity"]
	some s in e.subjects
	path := object.get(e, ["details", "dataset"], s.name)
}

deny contains msg if {
	some d in input.datasets
	not d.manifest
	msg := sprintf("%s: no manifest (pin it with `mlsec data manifest` and name it in mlsec.toml)", [d.path])
}

deny contains msg if {
	some e in input.evidence["data.integrity"]
	not e.details.signature.verified
	msg := sprintf("%s: the manifest's signature was not verified (sign it with `mlsec data manifest --key` and name the key in mlsec.toml)", [e.details.manifest.path])
}
