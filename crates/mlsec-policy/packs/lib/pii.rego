# Shared by MLP005 and MLP105: one line per file and entity of personal data
# (secrets are MLP004's).
package mlsec.lib

import rego.v1

personal_data contains msg if {
	some e in input.evidence["data.pii"]
	# The secret entities of this envelope, gathered once: asking the
	# findings again for every count made the rule counts x findings.
	secrets := {f.entity | some f in e.findings; f.rule == "PII002"}
	some file in e.details.files
	some c in file.counts
	not c.entity in secrets
	column := object.get(c, "column", null)
	msg := sprintf("%s%s: %d %s value(s)", [file.path, in_column(column), c.count, c.entity])
}

in_column(column) := sprintf(" [%s]", [column]) if column != null
else := ""
