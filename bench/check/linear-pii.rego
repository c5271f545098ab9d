# An experiment for bench/check (not the shipped pack): the bundled
# `mlsec.lib` (crates/mlsec-policy/packs/lib/pii.rego) with the secret
# entities of each envelope collected once, instead of `secret_entity(e,
# entity)` scanning every finding of the envelope for every (file, column,
# entity) count. Same messages; a user policy that declares `package
# mlsec.lib` replaces the bundled one.
package mlsec.lib

import rego.v1

personal_data contains msg if {
	some e in input.evidence["data.pii"]
	secrets := {f.entity | some f in e.findings; f.rule == "PII002"}
	some file in e.details.files
	some c in file.counts
	not c.entity in secrets
	column := object.get(c, "column", null)
	msg := sprintf("%s%s: %d %s value(s)", [file.path, in_column(column), c.count, c.entity])
}

in_column(column) := sprintf(" [%s]", [column]) if column != null
else := ""
