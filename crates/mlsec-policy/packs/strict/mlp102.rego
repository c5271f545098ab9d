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
		"mitre-atlas": ["AML.T0020"],
		"eu-ai-act": ["Art. 10"],
		"iso-42001": ["A.7.5"],
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
