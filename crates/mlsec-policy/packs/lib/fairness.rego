# Shared by MLP010 and MLP106: one message per fairness ratio of `mlsec
# explain` below its minimum (EXP001).
package mlsec.lib

import rego.v1

disparities contains result if {
	some e in input.evidence.explain
	some f in e.findings
	f.rule == "EXP001"
	result := {
		"msg": sprintf("%s: %s %s", [f.subject, f.rule, f.message]),
		"subject": f.subject,
		"finding": f.rule,
	}
}
