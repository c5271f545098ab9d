#!/usr/bin/env python3
"""Writes a realistic customer-support CSV of about SIZE_MB megabytes: names,
emails, phones, cities, free-text comments, and a few secrets (AWS keys, GitHub
tokens, connection strings), plus hard negatives (order numbers, UUIDs,
versions, timestamps, hashes). Deterministic (seeded).

    gen_csv.py OUT.csv [SIZE_MB]
"""
import csv
import hashlib
import random
import sys
import uuid

FIRST = ["Alice", "Bob", "Carol", "Dmitri", "Eva", "Farid", "Grace", "Hiro", "Ines", "José", "Kemal", "Lena", "Mia", "Noah", "Olu", "Priya", "Zoë"]
LAST = ["Smith", "Müller", "García", "Nguyen", "Okafor", "Rossi", "Dubois", "Kowalski", "Tanaka", "Silva", "O'Brien", "Andersson"]
CITIES = ["Berlin", "Lagos", "São Paulo", "Toronto", "Osaka", "Lyon", "Austin", "Kraków", "Pune", "Dublin"]
DOMAINS = ["example.org", "mail.example.com", "corp.example.net", "uni.example.edu"]
PHRASES = [
    "Customer reports that the order {order} arrived damaged, refund requested.",
    "Upgraded to version {ver} and the sync stopped working since {ts}.",
    "Please call me back at {phone} after 5pm, thanks!",
    "Ticket {uuid} merged into the earlier one; checksum {sha} matches.",
    "Can you resend the invoice to {email}? The old address bounces.",
    "Shipping to {city} took 9 days, expected 3.",
    "The app crashes on login; logs attached (build {ver}).",
    "My card ending 4242 was charged twice for order {order}.",
]
SECRETS = [
    "I pasted my config by mistake: aws_access_key_id=AKIA{k16} aws_secret_access_key={s40}",
    "token ghp_{g36} was in the screenshot",
    "DATABASE_URL=postgres://app:{pw}@db.internal:5432/prod",
]
AZ = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
AN = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"


def rnd(alphabet, n, r):
    return "".join(r.choice(alphabet) for _ in range(n))


def main():
    out = sys.argv[1]
    size = int(sys.argv[2]) if len(sys.argv) > 2 else 1024
    r = random.Random(42)
    limit = size * 1_000_000
    with open(out, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["id", "name", "email", "phone", "city", "created", "comment"])
        i = 0
        while f.tell() < limit:
            i += 1
            first, last = r.choice(FIRST), r.choice(LAST)
            email = f"{first.lower()}.{last.lower()}{r.randint(1, 999)}@{r.choice(DOMAINS)}".replace("'", "")
            phone = f"+1 {r.randint(201, 989)}-{r.randint(200, 999)}-{r.randint(1000, 9999)}" if r.random() < 0.5 else f"+49 30 {r.randint(1000000, 9999999)}"
            ctx = dict(order=f"ORD-{r.randint(10**7, 10**8)}", ver=f"{r.randint(1, 9)}.{r.randint(0, 20)}.{r.randint(0, 99)}",
                       ts=f"2026-{r.randint(1, 12):02d}-{r.randint(1, 28):02d}T{r.randint(0, 23):02d}:00:00Z", phone=phone,
                       uuid=str(uuid.UUID(int=r.getrandbits(128))), sha=hashlib.sha1(str(i).encode()).hexdigest(), email=email,
                       city=r.choice(CITIES))
            comment = " ".join(r.choice(PHRASES).format(**ctx) for _ in range(r.randint(1, 3)))
            if r.random() < 0.01:
                comment += " " + r.choice(SECRETS).format(k16=rnd(AZ, 16, r), s40=rnd(AN, 40, r), g36=rnd(AN, 36, r), pw=rnd(AN, 14, r))
            w.writerow([i, f"{first} {last}", email, phone, ctx["city"], ctx["ts"], comment])


if __name__ == "__main__":
    main()
