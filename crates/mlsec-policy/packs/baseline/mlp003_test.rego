package mlsec.baseline.mlp003_test

import data.mlsec.baseline.mlp003
import rego.v1

test_changed_rows_are_denied if {
	f := {"rule": "DAT004", "severity": "high", "subject": "train.csv", "location": "row 2", "message": "1 row changed"}
	results := mlp003.deny with input as {"evidence": {"data.integrity": [{"findings": [f]}]}}
	count(results) == 1
	some r in results
	r.msg == "train.csv (row 2): DAT004 1 row changed"
}

test_skipped_rows_alone_pass if {
	f := {"rule": "DAT010", "severity": "medium", "subject": "train.csv", "message": "2 rows skipped"}
	count(mlp003.deny) == 0 with input as {"evidence": {"data.integrity": [{"findings": [f]}]}}
}
