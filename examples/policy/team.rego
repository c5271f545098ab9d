# A team rule beside the bundled baseline pack: every model folder must say
# what it is (a README or a config), so that reviewers know what they approve.
package team.model_docs

import rego.v1

metadata := {
	"id": "TEAM001",
	"title": "Every model folder has a README or a config",
	"evidence": ["bom"],
	"controls": {"eu-ai-act": ["Art. 11"]},
}

warn contains msg if {
	some bom in input.evidence.bom
	some m in input.models
	m.path == bom.check.target
	m.name != "downloads"
	not documented(bom)
	msg := sprintf("%s: no README.md or config.json says what this model is", [m.path])
}

# The model's BOM lists a README.md, config.json or tokenizer_config.json.
documented(bom) if {
	some c in bom.details.cyclonedx.metadata.component.components
	c.name in {"README.md", "config.json", "tokenizer_config.json"}
}
