"""Writes logs/requests-week-48.csv: a week of requests to the species
classifier, drawn from the training data with a fixed seed, as the service
would log them (no label). Halfway through the week one client starts
sending body mass in kilograms: the drift `mlsec check` reports against
data/penguins.profile.json.

    python3 examples/train/requests.py
"""
import csv
import os
import random

here = os.path.dirname(os.path.abspath(__file__))
data = os.path.join(here, "..", "data")
rng = random.Random(48)
with open(os.path.join(data, "penguins.csv"), newline="") as f:
    rows = [r for r in csv.DictReader(f) if r["body_mass_g"] not in ("", "NA")]
columns = ["island", "bill_length_mm", "bill_depth_mm", "flipper_length_mm", "body_mass_g", "sex", "year"]
with open(os.path.join(here, "..", "logs", "requests-week-48.csv"), "w", newline="") as f:
    out = csv.DictWriter(f, fieldnames=columns, extrasaction="ignore", lineterminator="\n")
    out.writeheader()
    for i in range(400):
        r = dict(rng.choice(rows))
        if i >= 200 and rng.random() < 0.5:
            r["body_mass_g"] = f"{int(r['body_mass_g']) / 1000:.2f}"
        r["year"] = "2009"
        out.writerow(r)
