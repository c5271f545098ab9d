# Shared by MLP005 and MLP105: one line per file and entity of personal data
# (secrets are MLP004's).
package mlsec.lib

import rego.v1

personal_data contains msg if {
	some e in input.evidence["data.pii"]
	some file in e.details.files
	some c in file.counts
	not secret_entity(e, c.entity)
	column := object.get(c, "column", null)
	msg := sprintf("%s%s: %d %s value(s)", [file.path, in_column(column), c.count, c.entity])
}

secret_entity(e, entity) if {
	some f in e.findings
	f.entity == entity
	f.rule == "PII002"
}

in_column(column) := sprintf(" [%s]", [column]) if column != null
else := ""
