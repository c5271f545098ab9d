package mlsec.baseline.mlp001_test

import data.mlsec.baseline.mlp001
import rego.v1

finding(severity) := {
	"rule": "PKL001", "severity": severity, "category": "malicious",
	"subject": "models/model.pkl", "location": "@2", "message": "`os.system` called",
}

test_a_critical_finding_is_denied if {
	results := mlp001.deny with input as {"evidence": {"scan": [{"findings": [finding("critical")]}]}}
	count(results) == 1
	some r in results
	r.msg == "models/model.pkl (@2): PKL001 `os.system` called"
}

test_a_medium_finding_passes if {
	count(mlp001.deny) == 0 with input as {"evidence": {"scan": [{"findings": [finding("medium")]}]}}
}

test_no_scan_passes if {
	count(mlp001.deny) == 0 with input as {"evidence": {}}
}
