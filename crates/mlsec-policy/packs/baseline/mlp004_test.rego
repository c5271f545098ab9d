package mlsec.baseline.mlp004_test

import data.mlsec.baseline.mlp004
import rego.v1

secret := {
	"rule": "PII002", "subject": "chat.jsonl", "location": "line 3 [text]:0-31",
	"entity": "AWS_ACCESS_KEY", "preview": "AKIA****************",
}

personal := {
	"rule": "PII001", "subject": "chat.jsonl", "location": "line 1 [text]:20-43",
	"entity": "EMAIL", "preview": "p****@e******.com",
}

test_a_secret_is_denied if {
	results := mlp004.deny with input as {"evidence": {"data.pii": [{"findings": [secret, personal]}]}}
	count(results) == 1
	some r in results
	r.msg == "chat.jsonl (line 3 [text]:0-31): AWS_ACCESS_KEY AKIA****************"
}

test_personal_data_alone_is_not_denied_here if {
	count(mlp004.deny) == 0 with input as {"evidence": {"data.pii": [{"findings": [personal]}]}}
}
