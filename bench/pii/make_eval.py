#!/usr/bin/env python3
"""Generate the labelled PII/secret evaluation set (bench/pii/eval.jsonl).

Stdlib only, fixed seed: the same file every run. Each line is
{"text": ..., "field": optional column name, "spans": [{"entity", "start", "end"}]}
with start/end in Unicode code points (end exclusive). Every entity type gets
positives in realistic sentences and records, and hard negatives: look-alikes
that a bare regex would report (order numbers, versions, UUIDs, timestamps,
Luhn failures, hashes, commit ids, base64 blobs, placeholders).

    python3 bench/pii/make_eval.py                  # writes bench/pii/eval.jsonl
    python3 bench/pii/make_eval.py --corpus F --mb N  # also an unlabelled CSV-like corpus for throughput
"""
import argparse
import base64
import json
import os
import random
import string

R = random.Random(20240611)

FIRST = ["James", "María", "Wei", "Aisha", "Lukas", "Sofia", "Ravi", "Emma", "Kenji", "Olga", "José", "Zoë", "Chloé", "Mehmet", "Priya"]
LAST = ["Smith", "García", "Chen", "Khan", "Müller", "Rossi", "Patel", "Brown", "Tanaka", "Ivanova", "Nguyen", "Dubois"]
DOMAINS = ["example.com", "mail.example.org", "acme.io", "contoso.co.uk", "fabrikam.de", "globex.fr", "initech.in", "umbrella.net"]
CITIES = ["Berlin", "Austin", "Lyon", "Pune", "Leeds", "Osaka", "Toronto", "Madrid"]


def rand(alphabet, n):
    return "".join(R.choice(alphabet) for _ in range(n))


ALNUM = string.ascii_letters + string.digits
UPPER_DIGITS = string.ascii_uppercase + string.digits
B64 = string.ascii_letters + string.digits + "+/"
HEX = "0123456789abcdef"


def mixed(n, alphabet=ALNUM):
    """A random token that has upper, lower and digits (as real keys do)."""
    while True:
        t = rand(alphabet, n)
        if any(c.isupper() for c in t) and any(c.islower() for c in t) and any(c.isdigit() for c in t):
            return t


def name():
    return R.choice(FIRST), R.choice(LAST)


def ascii_fold(s):
    return s.translate(str.maketrans("áéíóúüöëçñ", "aeiouuoecn")).lower()


# ---------------------------------------------------------------- values

def email():
    f, l = name()
    local = R.choice([f"{ascii_fold(f)}.{ascii_fold(l)}", f"{ascii_fold(f)[0]}{ascii_fold(l)}", f"{ascii_fold(f)}+news", f"{ascii_fold(l)}{R.randint(1, 99)}"])
    return f"{local}@{R.choice(DOMAINS)}"


def luhn_complete(prefix, length):
    digits = prefix + rand(string.digits, length - len(prefix) - 1)
    total = 0
    for i, d in enumerate(reversed(digits)):
        v = int(d)
        if i % 2 == 0:
            v *= 2
            if v > 9:
                v -= 9
        total += v
    return digits + str((10 - total % 10) % 10)


CARD_ISSUERS = [("4", 16), ("4", 13), ("51", 16), ("55", 16), ("2221", 16), ("2720", 16), ("34", 15), ("37", 15),
                ("6011", 16), ("65", 16), ("3528", 16), ("3589", 16), ("36", 14), ("300", 14), ("62", 16), ("62", 19),
                ("6759", 16), ("5018", 16)]


def group_card(d, sep):
    if len(d) in (14, 15):
        parts = [d[:4], d[4:10], d[10:]]
    elif len(d) == 13:
        parts = [d[:4], d[4:8], d[8:]]
    else:
        parts = [d[i:i + 4] for i in range(0, len(d), 4)]
    return sep.join(parts)


def card():
    prefix, length = R.choice(CARD_ISSUERS)
    d = luhn_complete(prefix, length)
    return R.choice([d, group_card(d, " "), group_card(d, "-")])


def ean13():
    d = R.choice(["40", "50", "76", "87"]) + rand(string.digits, 10)
    check = (10 - sum(int(c) * (3 if i % 2 else 1) for i, c in enumerate(d)) % 10) % 10
    return d + str(check)


def bad_card():
    prefix, length = R.choice(CARD_ISSUERS)
    d = luhn_complete(prefix, length)
    d = d[:-1] + str((int(d[-1]) + R.randint(1, 9)) % 10)
    return R.choice([d, group_card(d, " "), group_card(d, "-")])


IBAN_BBAN = {"DE": "8n10n", "GB": "4a14n", "FR": "10n11c2n", "ES": "20n", "IT": "1a10n12c", "NL": "4a10n", "BE": "12n", "CH": "5n12c", "AT": "16n", "PL": "24n"}


def bban(spec):
    out, num = "", ""
    for ch in spec:
        if ch.isdigit():
            num += ch
            continue
        n = int(num)
        num = ""
        out += rand({"n": string.digits, "a": string.ascii_uppercase, "c": UPPER_DIGITS}[ch], n)
    return out


def iban_check(cc, b):
    s = b + cc + "00"
    n = int("".join(str(int(c, 36)) for c in s))
    return f"{98 - n % 97:02d}"


def iban(valid=True):
    cc = R.choice(list(IBAN_BBAN))
    b = bban(IBAN_BBAN[cc])
    check = iban_check(cc, b)
    if not valid:
        check = f"{(int(check) + R.randint(1, 96)) % 97 + 2:02d}"[-2:]
        if check == iban_check(cc, b):
            check = "00"
    compact = cc + check + b
    if R.random() < 0.5:
        return " ".join(compact[i:i + 4] for i in range(0, len(compact), 4))
    return compact


def ssn():
    while True:
        area = R.randint(1, 899)
        if area != 666:
            break
    return f"{area:03d}-{R.randint(1, 99):02d}-{R.randint(1, 9999):04d}"


def bad_ssn():
    return R.choice([f"000-{R.randint(1, 99):02d}-{R.randint(1, 9999):04d}", f"666-{R.randint(1, 99):02d}-{R.randint(1, 9999):04d}",
                     f"9{R.randint(0, 99):02d}-{R.randint(1, 99):02d}-{R.randint(1, 9999):04d}", f"{R.randint(1, 899):03d}-00-{R.randint(1, 9999):04d}",
                     f"{R.randint(1, 665):03d}-{R.randint(1, 99):02d}-0000", "078-05-1120"])


def phone():
    kind = R.choice(["us1", "us2", "us3", "us4", "uk1", "uk2", "uk3", "de1", "de2", "de3", "fr1", "fr2", "in1", "in2"])
    a, x, s = R.randint(201, 989), R.randint(200, 999), R.randint(0, 9999)
    if a % 100 == 11:
        a += 1
    return {
        "us1": f"({a}) {x}-{s:04d}", "us2": f"{a}-{x}-{s:04d}", "us3": f"+1 {a} {x} {s:04d}", "us4": f"+1-{a}-{x}-{s:04d}",
        "uk1": f"+44 20 {R.randint(7000, 8999)} {s:04d}", "uk2": f"020 {R.randint(7000, 8999)} {s:04d}", "uk3": f"07700 {R.randint(900000, 900999)}",
        "de1": f"+49 30 {R.randint(1000000, 99999999)}", "de2": f"030 {R.randint(1000000, 99999999)}", "de3": f"+49 151 {R.randint(10000000, 99999999)}",
        "fr1": f"+33 1 {R.randint(10, 99)} {R.randint(10, 99)} {R.randint(10, 99)} {R.randint(10, 99)}",
        "fr2": f"0{R.randint(1, 7)} {R.randint(10, 99)} {R.randint(10, 99)} {R.randint(10, 99)} {R.randint(10, 99)}",
        "in1": f"+91 {R.randint(70000, 99999)} {R.randint(10000, 99999)}", "in2": f"{R.randint(70000, 99999)} {R.randint(10000, 99999)}",
    }[kind]


def ipv4():
    return f"{R.choice([10, 172, 192, 34, 52, 81, 203])}.{R.randint(0, 255)}.{R.randint(0, 255)}.{R.randint(1, 254)}"


def ipv6():
    groups = [f"{R.randint(0, 0xffff):x}" for _ in range(8)]
    groups[0] = R.choice(["2001", "2a02", "fe80", "2600"])
    if R.random() < 0.5:
        return ":".join(groups)
    return ":".join(groups[:3]) + "::" + ":".join(groups[6:])


MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"]


def date_str(y=None):
    y = y or R.randint(1940, 2005)
    m, d = R.randint(1, 12), R.randint(1, 28)
    return R.choice([f"{y}-{m:02d}-{d:02d}", f"{m:02d}/{d:02d}/{y}", f"{d:02d}.{m:02d}.{y}", f"{d} {MONTHS[m - 1]} {y}", f"{MONTHS[m - 1]} {d}, {y}"])


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def jwt():
    header = b64url(json.dumps({"alg": R.choice(["HS256", "RS256", "ES256"]), "typ": "JWT"}, separators=(",", ":")).encode())
    payload = b64url(json.dumps({"sub": str(R.randint(1000, 99999)), "name": " ".join(name()), "iat": R.randint(1600000000, 1700000000)}).encode())
    return f"{header}.{payload}.{rand(ALNUM + '-_', 43)}"


def pem():
    label = R.choice(["RSA PRIVATE KEY", "PRIVATE KEY", "EC PRIVATE KEY", "OPENSSH PRIVATE KEY"])
    body = "\n".join(rand(B64, 64) for _ in range(R.randint(3, 8)))
    return f"-----BEGIN {label}-----\n{body}\n-----END {label}-----"


def secret_values():
    return {
        "AWS_ACCESS_KEY": lambda: R.choice(["AKIA", "ASIA"]) + rand("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", 16),
        "GITHUB_TOKEN": lambda: R.choice(["ghp_", "gho_", "ghu_", "ghs_", "ghr_"]) + mixed(36) if R.random() < 0.8 else "github_pat_" + mixed(22) + "_" + mixed(59),
        "GITLAB_TOKEN": lambda: "glpat-" + mixed(20, ALNUM + "_-"),
        "SLACK_TOKEN": lambda: (R.choice(["xoxb-", "xoxp-"]) + f"{R.randint(10**11, 10**12)}-{R.randint(10**12, 10**13)}-" + mixed(24)) if R.random() < 0.7
        else f"https://hooks.slack.com/services/T{rand(UPPER_DIGITS, 8)}/B{rand(UPPER_DIGITS, 8)}/{mixed(24)}",
        "STRIPE_KEY": lambda: R.choice(["sk_live_", "rk_live_", "sk_test_"]) + mixed(24),
        "GOOGLE_API_KEY": lambda: "AIza" + mixed(35, ALNUM + "-_"),
        "OPENAI_KEY": lambda: "sk-" + mixed(20) + "T3BlbkFJ" + mixed(20) if R.random() < 0.5 else "sk-proj-" + mixed(R.randint(60, 120), ALNUM + "-_"),
        "JWT": jwt,
    }


# ---------------------------------------------------------------- records

class Rec:
    def __init__(self, field=None):
        self.parts, self.field = [], field

    def t(self, s):
        self.parts.append((s, None))
        return self

    def e(self, entity, s, also=None):
        self.parts.append((s, (entity, also)))
        return self

    def line(self):
        text, spans, pos = "", [], 0
        for s, ent in self.parts:
            if ent:
                span = {"entity": ent[0], "start": pos, "end": pos + len(s)}
                if ent[1]:
                    span["also"] = ent[1]
                spans.append(span)
            text += s
            pos += len(s)
        out = {"text": text, "spans": spans}
        if self.field:
            out["field"] = self.field
        return out


def positives():
    f, l = name()
    city = R.choice(CITIES)
    sv = secret_values()
    yield Rec().t("Please contact ").e("PERSON", f"{f} {l}").t(" at ").e("EMAIL", email()).t(" about the renewal.")
    yield Rec().t(f"{R.randint(1000, 9999)},").e("PERSON", f"{f} {l}").t(",").e("EMAIL", email()).t(",").e("LOCATION", city).t(f",{R.choice(['active', 'churned'])}")
    yield Rec(field="email").e("EMAIL", email())
    yield Rec().e("PERSON", f).t(" can be reached on ").e("PHONE", phone()).t(" during office hours.")
    yield Rec().t("Kontakt: ").e("PERSON", f"{f} {l}").t(", Tel. ").e("PHONE", phone()).t(", ").e("LOCATION", city)
    yield Rec(field="phone").e("PHONE", phone())
    yield Rec().t("Charged card ").e("CREDIT_CARD", card()).t(f" for ${R.randint(5, 900)}.{R.randint(10, 99)}")
    yield Rec().t('{"customer": "').e("PERSON", f"{f} {l}").t('", "card_number": "').e("CREDIT_CARD", card()).t('", "exp": "0' + str(R.randint(1, 9)) + '/27"}')
    yield Rec().t("Please transfer the deposit to IBAN ").e("IBAN", iban()).t(" (").e("PERSON", f"{f} {l}").t(").")
    yield Rec(field="iban").e("IBAN", iban())
    yield Rec().t("Applicant ").e("PERSON", f"{f} {l}").t(", SSN ").e("US_SSN", ssn()).t(", verified.")
    yield Rec().e("PERSON", l).t("|").e("US_SSN", ssn()).t("|").e("LOCATION", city)
    yield Rec().t(f"Login from ").e("IP_ADDRESS", ipv4()).t(f" for user {ascii_fold(f)}")
    yield Rec().t("client=").e("IP_ADDRESS", ipv6()).t(" status=200 bytes=" + str(R.randint(100, 99999)))
    yield Rec().e("PERSON", f).t(" was born on ").e("DATE_OF_BIRTH", date_str()).t(" in ").e("LOCATION", city).t(".")
    yield Rec().t("Patient: ").e("PERSON", f"{f} {l}").t("; DOB: ").e("DATE_OF_BIRTH", date_str()).t("; allergies: none")
    yield Rec(field=R.choice(["dob", "date_of_birth", "birth_date"])).e("DATE_OF_BIRTH", date_str())
    yield Rec().t(R.choice(["aws_access_key_id = ", "AWS_ACCESS_KEY_ID=", "accessKeyId: "])).e("AWS_ACCESS_KEY", sv["AWS_ACCESS_KEY"]())
    yield Rec().t(R.choice(["aws_secret_access_key = ", "AWS_SECRET_ACCESS_KEY=", "AWS secret: "])).e("AWS_SECRET_KEY", mixed(40, B64))
    yield Rec(field="aws_secret_access_key").e("AWS_SECRET_KEY", mixed(40, B64))
    for ent in ["GITHUB_TOKEN", "GITLAB_TOKEN", "SLACK_TOKEN", "STRIPE_KEY", "GOOGLE_API_KEY", "OPENAI_KEY", "JWT"]:
        v = sv[ent]()
        yield R.choice([
            Rec().t(R.choice(["export TOKEN=", "Using credential ", "config: { key: '", "curl -H 'Authorization: Bearer "])).e(ent, v).t(R.choice(["", "'", " for the deploy job"])),
            Rec().e("PERSON", f).t(" pasted ").e(ent, v).t(" into the support chat by mistake"),
        ])
    yield Rec().t("Found key file:\n").e("PRIVATE_KEY", pem()).t("\n")
    user = ascii_fold(f)
    pw = mixed(R.randint(8, 16), ALNUM + "!#%^*_")
    host = R.choice([f"db{R.randint(1, 9)}.internal", f"pg.{R.choice(DOMAINS)}", f"prod-db.{R.choice(DOMAINS)}"])
    yield Rec().t(f"{R.choice(['postgres', 'mysql', 'mongodb', 'redis', 'amqp'])}://{user}:").e("PASSWORD", pw).t(f"@{host}:5432/app")
    yield Rec().t(f"Server=sql{R.randint(1, 9)};Database=shop;User Id={user};Password=").e("PASSWORD", mixed(12, ALNUM + "!#")).t(";")
    yield Rec().t('{"user": "' + user + '", "password": "').e("PASSWORD", mixed(10, ALNUM + "!@#")).t('"}')
    yield Rec(field="password").e("PASSWORD", mixed(10, ALNUM + "!#"))
    yield Rec().t(R.choice(["api_key = \"", "client_secret: ", "X-Api-Key: ", "auth_token=", "SECRET_KEY = '"])).e("GENERIC_SECRET", mixed(R.randint(24, 40))).t(R.choice(["\"", "", "", "", "'"]))
    yield Rec().t("Authorization: Bearer ").e("GENERIC_SECRET", mixed(32, ALNUM + "-_"))
    yield Rec(field=R.choice(["api_token", "secret", "apikey"])).e("GENERIC_SECRET", mixed(R.randint(20, 40)))


def negatives():
    f, l = name()
    y = R.randint(2019, 2025)
    uuid = "-".join(rand(HEX, n) for n in (8, 4, 4, 4, 12))
    yield Rec().t(f"Order #{R.randint(10**8, 10**10)} for ").e("PERSON", f"{f} {l}").t(" shipped on ").e("DATE_TIME", f"{y}-{R.randint(1, 12):02d}-{R.randint(1, 28):02d}").t(".")
    yield Rec().t(f"ORD-{y}-{R.randint(0, 999999):06d},INV {y} {R.randint(1000, 9999)},qty {R.randint(1, 50)},total {R.randint(10, 9999)}.{R.randint(0, 99):02d}")
    yield Rec().t(f"Upgraded to version {R.randint(1, 12)}.{R.randint(0, 20)}.{R.randint(0, 30)}.{R.randint(0, 300)} (build {R.randint(1000, 99999)})")
    yield Rec().t(f"release v{R.randint(1, 5)}.{R.randint(0, 9)}.{R.randint(0, 9)}.{R.randint(0, 9)}, see notes")
    yield Rec().t(f"request_id={uuid} trace={uuid.replace('-', '')}")
    yield Rec().t(f"created_at: {y}-{R.randint(1, 12):02d}-{R.randint(1, 28):02d}T{R.randint(0, 23):02d}:{R.randint(0, 59):02d}:{R.randint(0, 59):02d}Z, ts={R.randint(1600000000, 1800000000)}")
    yield Rec().t("Appointment on ").e("DATE_TIME", date_str(y)).t(" with Dr. ").e("PERSON", l)
    yield Rec().t(f"card on file ending {R.randint(1000, 9999)}; rejected number {bad_card()}")
    yield Rec().t(f"tracking 1Z{rand(UPPER_DIGITS, 16)} and parcel {R.randint(10**15, 10**16 - 1)}")
    yield Rec().t(f"sha256: {rand(HEX, 64)}")
    yield Rec().t(f"md5 {rand(HEX, 32)}  sha1 {rand(HEX, 40)}")
    yield Rec().t(f"Merge commit {rand(HEX, 40)} into main ({rand(HEX, 7)})")
    yield Rec().t(f"attachment: {base64.b64encode(os.urandom(0) + bytes(R.getrandbits(8) for _ in range(45))).decode()}")
    yield Rec().t(f"ETag: \"{rand(HEX, 32)}\", checksum {rand(B64, 40)}")
    yield Rec().t(f"Invalid IBAN {iban(valid=False)} was rejected")
    yield Rec().t(f"Case number {bad_ssn()} (not an SSN)")
    yield Rec().t(f"Part no. {R.randint(100, 999)}-{R.randint(100, 999)}-{R.randint(1000, 9999)}-{R.randint(10, 99)}")
    yield Rec().e("PERSON", f).t("'s password reset link was sent; password: ${DB_PASSWORD}; pwd=********")
    yield Rec().t(f"connect to postgres://db{R.randint(1, 9)}.internal:5432/app or ").e("URL", f"https://{R.choice(DOMAINS)}/login?next=/home")
    yield Rec().t(f"icons: logo@2x.png, npm i lodash@4.17.{R.randint(10, 21)}, ping @{ascii_fold(f)} or {ascii_fold(f)}@localhost")
    yield Rec().t(f"git clone git@{R.choice(['github.com', 'gitlab.com', 'bitbucket.org'])}:{ascii_fold(l)}/{R.choice(['etl', 'models', 'infra'])}.git")
    yield Rec().t(f"MAC 00:1a:{R.randint(10, 99)}:3c:4d:5e, at {R.randint(10, 23)}:{R.randint(10, 59)}:00 call std::vec::Vec::new()")
    yield Rec().t(f"ip range 256.{R.randint(0, 255)}.1.1 is invalid, so is 1.2.3")
    yield Rec().t(f"AKIA is the prefix of AWS key ids; AKIAEXAMPLE is too short")
    yield Rec().t(f"placeholders: ghp_xxxxxxxx, glpat-short, sk_live_..., AIzaSy..., xoxo-{ascii_fold(f)}, sk-learn, risk-free")
    yield Rec().t(f"publishable key pk_live_{mixed(24)} is fine in the browser")
    yield Rec().t(f"eyJmb28iOiJiYXIifQ.{b64url(b'{}')}.{rand(ALNUM, 20)} is not a token")
    yield Rec().t("-----BEGIN PUBLIC KEY-----\n" + rand(B64, 64) + "\n-----END PUBLIC KEY-----")
    yield Rec().t("-----BEGIN CERTIFICATE-----\n" + rand(B64, 64) + "\n-----END CERTIFICATE-----")
    yield Rec().t(f"the key: use a monkey wrench; token count {R.randint(100, 4000)}; secret: none")
    yield Rec().t(f"cache_key = user:{R.randint(1, 99999)}:profile, session_token_ttl=3600")
    yield Rec(field="created_at").e("DATE_TIME", f"{date_str(y)}")
    yield Rec(field="order_id").t(f"{R.randint(10**9, 10**10)}")
    yield Rec(field="password_hash").t(f"$2b$12${rand(B64, 53)}")
    yield Rec().t(f"Phone extension {R.randint(100, 999)}, room {R.randint(1, 40)}-{R.randint(100, 999)}, zip {R.randint(10000, 99999)}-{R.randint(1000, 9999)}")
    yield Rec().t(f"Stock {R.randint(1000, 9999)} units at {R.randint(1, 99)}.{R.randint(10, 99)} EUR, EAN {ean13()}")
    yield Rec().e("PERSON", f"{f} {l}").t(" left a review: great product, fast delivery from ").e("LOCATION", R.choice(CITIES)).t(".")


# ---------------------------------------------------------------- names, places, ids
#
# Names come half from the lists the detector ships (crates/mlsec-pii/data)
# and half from held-out slices of the same sources that it never sees
# (bench/pii/heldout.json, written by crates/mlsec-pii/data/fetch_lists.py):
# rarer census surnames and given names, and GeoNames towns of 5,000-15,000
# people. The token model was trained on other templates and another slice
# (crates/mlsec-pii/src/ner_train.rs), so recall here is not circular.

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(HERE, "..", "..", "crates", "mlsec-pii", "data")


def shipped(name, sections=99):
    out, n = [], 0
    with open(os.path.join(DATA, name), encoding="utf-8") as fh:
        for line in fh:
            line = line.rstrip("\n")
            if line.startswith("# "):
                continue
            if line.startswith("#"):
                n += 1
                continue
            if line and n <= sections:
                out.append(line)
    return out


HELD = json.load(open(os.path.join(HERE, "heldout.json"), encoding="utf-8"))
S_GIVEN, S_LAST, S_CITY = shipped("given_names.txt", 2), shipped("surnames.txt", 2), shipped("cities.txt", 2)
COUNTRIES = [c for c in shipped("regions.txt", 1) if " " not in c and c not in ("Jordan", "Georgia", "Chad")]
STATES = ["Ohio", "Texas", "Oregon", "Vermont", "Nevada", "Illinois", "Arizona", "Colorado", "Michigan", "Florida"]
ORGS = ["Northwind Traders", "Contoso Ltd", "Fabrikam Inc.", "Globex Corporation", "Initech", "Umbrella Corporation",
        "Wayne Enterprises", "Stark Industries", "Tyrell Corp", "Cyberdyne Systems", "Hooli", "Vandelay Industries",
        "Dunder Mifflin", "Wonka Industries", "Soylent Corp", "Massive Dynamic", "Pied Piper", "Gekko & Co",
        "Blue Ridge Credit Union", "Harbor View Hospital", "Lakeside Dental Clinic", "Summit Insurance Group"]
NRP_WORDS = ["German", "Nigerian", "Brazilian", "Catholic", "Muslim", "Jewish", "Hindu", "Republican", "Democrat",
             "Vietnamese", "Polish", "Buddhist", "Irish", "Mexican", "Sikh", "Lutheran"]
STREET_NAMES = ["Oak", "Maple", "Cedar", "Elm", "Pine", "Washington", "Lake", "Hill", "Sunset", "Park", "Main", "Church",
                "Mill", "River", "Highland", "Meadow", "Baker", "Victoria", "King", "Station"]
STREET_TYPES = ["Street", "Avenue", "Road", "Lane", "Drive", "Boulevard", "Court", "Way", "Place", "Terrace", "St", "Ave", "Rd"]
PRODUCTS = ["Galaxy Buds Pro", "Kindle Paperwhite", "AirPods Max", "Surface Laptop", "Echo Dot", "Nest Thermostat",
            "Pixel Watch", "Model 3", "Instant Pot", "PlayStation Portal", "Fire Stick", "Roomba Combo"]


def eval_given():
    return R.choice(HELD["given_names"]) if R.random() < 0.5 else R.choice(S_GIVEN)


def eval_last():
    return R.choice(HELD["surnames"]) if R.random() < 0.5 else R.choice(S_LAST)


def eval_person():
    return f"{eval_given()} {eval_last()}"


def eval_city():
    return R.choice(HELD["cities"]) if R.random() < 0.4 else R.choice(S_CITY[:4000])


def eval_place():
    k = R.random()
    return eval_city() if k < 0.6 else R.choice(COUNTRIES) if k < 0.8 else R.choice(STATES)


def eval_org():
    k = R.random()
    if k < 0.5:
        return R.choice(ORGS)
    if k < 0.75:
        return f"{eval_last()} {R.choice(['Logistics', 'Capital', 'Pharma', 'Consulting', 'Foods'])} {R.choice(['Ltd', 'LLC', 'Inc.', 'GmbH', 'plc'])}"
    return f"{R.choice(S_CITY[:300])} {R.choice(['Bank', 'University', 'Hospital', 'Airways'])}"


def street():
    unit = R.choice(["", "", "", f", Apt {R.randint(1, 40)}{R.choice(['', 'B'])}", f" Suite {R.randint(100, 900)}"])
    return f"{R.randint(1, 9999)} {R.choice(STREET_NAMES)} {R.choice(STREET_TYPES)}{unit}"


def nhs(valid=True):
    while True:
        d = [R.randint(0, 9) for _ in range(9)]
        c = 11 - sum(x * w for x, w in zip(d, range(10, 1, -1))) % 11
        c = 0 if c == 11 else c
        if c == 10:
            continue
        if not valid:
            c = (c + R.randint(1, 9)) % 10
        s = "".join(map(str, d)) + str(c)
        return R.choice([f"{s[:3]} {s[3:6]} {s[6:]}", s, f"{s[:3]}-{s[3:6]}-{s[6:]}"])


def passport():
    return R.choice([str(R.randint(10**8, 10**9 - 1)), R.choice("ACEFGHJKLMNPRSTUXZ") + str(R.randint(10**7, 10**8 - 1))])


def licence():
    return R.choice([R.choice("ABCDFGHJKLMNPRSTWY") + str(R.randint(10**6, 10**7 - 1)),
                     f"{R.choice('DFS')}{R.randint(100, 999)}-{R.randint(100, 999)}-{R.randint(10, 99)}-{R.randint(100, 999)}-0",
                     str(R.randint(10**8, 10**9 - 1))])


def bank():
    return str(R.randint(10**7, 10**R.randint(8, 16) - 1)).rjust(R.choice([8, 10, 12]), "0")


def written_date():
    y, m, d = R.randint(2015, 2026), R.randint(1, 12), R.randint(1, 28)
    return R.choice([f"{MONTHS[m - 1]} {d}, {y}", f"{d} {MONTHS[m - 1]} {y}", f"{y}-{m:02d}-{d:02d}", f"{m:02d}/{d:02d}/{y}",
                     f"{d:02d}.{m:02d}.{y}", f"{MONTHS[m - 1][:3]} {d}, {y}", f"{m:02d}/{d:02d}/{y} {R.randint(8, 18)}:{R.choice(['00', '15', '30', '45'])}"])


def url():
    host = R.choice(["docs.example.com", "www.acme.io", "shop.contoso.co.uk", "portal.fabrikam.de", "files.globex.fr"])
    path = R.choice(["/guide", f"/u/{ascii_fold(eval_last())}", f"/orders/{R.randint(1000, 99999)}?ref=mail", "/help/returns#refunds", ""])
    return f"{R.choice(['https', 'https', 'http', 'ftp'])}://{host}{path}"


def ner_positives():
    """Free text of support tickets, chat, e-mail, reviews, clinical notes; table cells."""
    p, p2, first, last = eval_person(), eval_person(), eval_given(), eval_last()
    yield Rec().t("Hello, this is ").e("PERSON", p).t(" from ").e("ORGANIZATION", eval_org()).t(". I am calling about my last invoice.")
    yield Rec().t("Customer ").e("PERSON", p).t(f" reports that the {R.choice(PRODUCTS)} stopped working after the update.")
    yield Rec().t("From: ").e("PERSON", p).t("\nTo: support\nSubject: delivery to ").e("LOCATION", eval_city()).t(" is late")
    yield Rec().t("Hi ").e("PERSON", first).t(",\n\nyour appointment is confirmed for ").e("DATE_TIME", written_date()).t(".\n\nBest,\n").e("PERSON", p2)
    yield Rec().t("\u2605\u2605\u2605\u2605\u2606 ").e("PERSON", first).t(" from ").e("LOCATION", eval_place()).t(": arrived quickly, box was damaged though.")
    yield Rec().t("Pt seen on ").e("DATE_TIME", written_date()).t(", NHS no. ").e("UK_NHS", nhs()).t(". Referred by Dr. ").e("PERSON", last).t(" for follow-up.")
    yield Rec().e("PERSON", p).t(" relocated to ").e("LOCATION", eval_place()).t(" and now works at ").e("ORGANIZATION", eval_org()).t(".")
    yield Rec().t("Shipping address: ").e("STREET_ADDRESS", street()).t(", ").e("LOCATION", eval_city())
    yield Rec().t("Please mail the signed form to ").e("STREET_ADDRESS", street()).t(", ").e("LOCATION", eval_city()).t(", ").e("LOCATION", R.choice(STATES)).t(f" {R.randint(10000, 99999)}.")
    yield Rec().t("Refund goes to bank account ").e("US_BANK_NUMBER", bank()).t(" (routing on file).")
    yield Rec().t(R.choice(["Passport number ", "passport no. ", "US passport: "])).e("US_PASSPORT", passport()).t(", expires ").e("DATE_TIME", written_date())
    yield Rec().t(R.choice(["Driver's license ", "driver license number: ", "DLN "])).e("US_DRIVER_LICENSE", licence()).t(" was scanned at check-in.")
    yield Rec().t(R.choice(["acct # ", "Account number ", "checking account "])).e("US_BANK_NUMBER", bank())
    yield Rec().t(R.choice(["Docs: ", "See ", "more at "])).e("URL", url()).t(R.choice(["", ".", " for details", ")"]))
    yield Rec().e("PERSON", p).t(" is a ").e("NRP", R.choice(NRP_WORDS)).t(" citizen who lives in ").e("LOCATION", eval_place()).t(".")
    yield Rec().t("The ").e("NRP", R.choice(NRP_WORDS)).t(" community centre hosted the fundraiser on ").e("DATE_TIME", written_date()).t(".")
    yield Rec().t(f"[{R.randint(10, 23)}:{R.randint(10, 59)}] ").e("PERSON", first).t(": hey, any update on my refund?\n[agent] ").e("PERSON", R.choice(S_GIVEN)).t(": checking now")
    yield Rec().t("Order delivered ").e("DATE_TIME", written_date()).t(" by courier; signed by ").e("PERSON", p).t(".")
    yield Rec().t("Thanks to ").e("PERSON", p).t(" and the team at ").e("ORGANIZATION", eval_org()).t(" for the quick fix!")
    # The ambiguous ones: either reading is scored as right.
    yield Rec().t("Our agent ").e("PERSON", R.choice(["Jordan", "Chad", "Georgia"]) + " " + eval_last(), also=["LOCATION"]).t(" will call back.")
    yield Rec().t("I flew to ").e("LOCATION", R.choice(["Jordan", "Georgia", "Chad"]), also=["PERSON"]).t(" last spring.")
    yield Rec().e("PERSON", "May " + eval_last()).t(" approved the request on ").e("DATE_TIME", f"May {R.randint(1, 28)}, {R.randint(2018, 2026)}").t(".")
    # Table cells: the column name is the context.
    yield Rec(field=R.choice(["name", "full_name", "customer_name", "contactName", "patient", "Name"])).e("PERSON", eval_person())
    yield Rec(field=R.choice(["first_name", "firstName", "given_name"])).e("PERSON", eval_given())
    yield Rec(field=R.choice(["last_name", "surname", "lastName"])).e("PERSON", eval_last())
    yield Rec(field=R.choice(["city", "billing_city", "hometown", "country", "region"])).e("LOCATION", eval_place())
    yield Rec(field="state").e("LOCATION", R.choice(STATES))
    yield Rec(field=R.choice(["address", "street_address", "address_line1", "shipping_address"])).e("STREET_ADDRESS", street())
    yield Rec(field=R.choice(["company", "employer", "organization", "vendor_name"])).e("ORGANIZATION", eval_org())
    yield Rec(field=R.choice(["nationality", "religion", "political_party"])).e("NRP", R.choice(NRP_WORDS))
    yield Rec(field=R.choice(["passport_number", "passport_no"])).e("US_PASSPORT", passport())
    yield Rec(field=R.choice(["drivers_license", "dl_number", "driver_license_no"])).e("US_DRIVER_LICENSE", licence())
    yield Rec(field=R.choice(["bank_account", "account_number", "acct_no"])).e("US_BANK_NUMBER", bank())
    yield Rec(field=R.choice(["nhs_number", "nhs_no"])).e("UK_NHS", nhs())
    yield Rec(field=R.choice(["website", "profile_url", "homepage"])).e("URL", url())
    yield Rec(field=R.choice(["order_date", "visit_date", "created"])).e("DATE_TIME", written_date())


def ner_negatives():
    """Capitalised words that are no name, place or organisation; digit runs without context."""
    yield Rec().t(R.choice(["Please restart the app and try again.", "Thanks for the quick reply!", "Monday works for me.",
                            "Great service, will order again.", "Unfortunately the Bluetooth pairing fails.", "Order Status: Shipped",
                            "Error: Connection Refused", "Sincerely yours", "Happy Holidays from all of us", "Dark Mode is missing",
                            "Warning: Disk Almost Full", "Click Save Changes, then Continue."]))
    yield Rec().t(f"The {R.choice(PRODUCTS)} case fits well, {R.choice(['five stars', 'would buy again', 'a bit pricey'])}.")
    yield Rec().t(f"May I ask for a refund? It arrived in {R.choice(['May', 'March', 'June'])}.")
    yield Rec().t(f"Upgraded to release {R.randint(2019, 2025)}.{R.randint(1, 12):02d}.{R.randint(1, 28):02d}, build {R.randint(2019, 2025)}-{R.randint(1, 12):02d}-{R.randint(1, 28):02d}-rc1")
    yield Rec().t(f"{R.randint(2023, 2025)}-{R.randint(1, 12):02d}-{R.randint(1, 28):02d} {R.randint(10, 23)}:{R.randint(10, 59)}:{R.randint(10, 59)} INFO worker started, ts={R.randint(1600000000, 1800000000)}")
    yield Rec().t(f"ticket {R.randint(10**8, 10**9 - 1)} closed; order number {R.randint(10**8, 10**9 - 1)} refunded")
    yield Rec().t(f"license key {rand(UPPER_DIGITS, 4)}-{rand(UPPER_DIGITS, 4)}-{rand(UPPER_DIGITS, 4)}; driver version {R.randint(400, 560)}.{R.randint(10, 99)}")
    yield Rec().t(f"account id {R.randint(10**7, 10**9)} has {R.randint(2, 40)} seats")
    yield Rec().t(f"NHS number {nhs(valid=False)} failed validation")
    yield Rec().t(f"Ask at the {R.choice(['Main', 'Oak', 'Park'])} Street branch, open from {R.randint(7, 10)} to 5 on weekdays")
    yield Rec().t(f"see fixtures/{R.randint(1, 99)}_main_street.json and {R.choice(['Street', 'Road'])}View.tsx")
    yield Rec().t(f"invalid date 13/{R.randint(13, 40)}/{R.randint(2019, 2025)} in row {R.randint(2, 900)}")
    yield Rec(field=R.choice(["product_name", "product", "item_name"])).t(R.choice(PRODUCTS))
    yield Rec(field="username").t(f"{ascii_fold(eval_given())[:1]}{ascii_fold(eval_last())}{R.randint(1, 99)}")
    yield Rec(field="state").t(R.choice(["shipped", "pending", "Active", "CANCELLED"]))
    yield Rec(field=R.choice(["name", "customer", "city"])).t(R.choice(["N/A", "unknown", "", "-"]))
    yield Rec(field="customer").t(f"C-{R.randint(10000, 99999)}")
    yield Rec(field="file_name").t(f"Report_{R.randint(2019, 2025)}_Q{R.randint(1, 4)}.pdf")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "eval.jsonl"))
    ap.add_argument("--rounds", type=int, default=40)
    ap.add_argument("--corpus", help="also write an unlabelled CSV-like corpus here")
    ap.add_argument("--mb", type=int, default=64)
    args = ap.parse_args()
    lines = []
    for _ in range(args.rounds):
        lines += [r.line() for r in positives()]
        lines += [r.line() for r in negatives()]
        lines += [r.line() for r in ner_positives()]
        lines += [r.line() for r in ner_negatives()]
    R.shuffle(lines)
    with open(args.out, "w", encoding="utf-8") as fh:
        for rec in lines:
            fh.write(json.dumps(rec, ensure_ascii=False) + "\n")
    print(f"wrote {len(lines)} records to {args.out}")
    if args.corpus:
        write_corpus(args.corpus, args.mb)


def write_corpus(path, mb):
    """Unlabelled CSV-like text: mostly ordinary records, some PII, as in a real export."""
    rng = random.Random(7)
    notes = ["Customer asked about delivery times for the spring collection", "Refund processed after the item arrived damaged",
             "Prefers contact in the evening; loyalty tier gold", "Upgraded to the annual plan, invoice sent",
             "Ticket closed, no further action required", "Left a five star review for the running shoes"]
    with open(path, "w", encoding="utf-8") as fh:
        fh.write("id,name,email,phone,city,order,amount,created,status,note\n")
        size = 0
        while size < mb * 1_000_000:
            f, l = rng.choice(FIRST), rng.choice(LAST)
            em = f"{ascii_fold(f)}.{ascii_fold(l)}@example.com" if rng.random() < 0.3 else ""
            ph = f"+1 415 555 {rng.randint(100, 9999):04d}" if rng.random() < 0.2 else ""
            k = rng.randint(0, 99)
            note = {0: "card on file 4111 1111 1111 1111", 1: "db url postgres://svc:Hx7kq2Lm@db.internal:5432/shop",
                    2: f"client 10.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(1, 254)} retried"}.get(k, rng.choice(notes))
            row = (f"{rng.randint(100000, 999999)},{f} {l},{em},{ph},{rng.choice(CITIES)},ORD-{rng.randint(2019, 2024)}-{rng.randint(0, 999999):06d},"
                   f"{rng.randint(1, 999)}.{rng.randint(0, 99):02d},2024-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}T{rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}:00Z,"
                   f"{rng.choice(['shipped', 'pending', 'returned'])},\"{note}\"\n")
            fh.write(row)
            size += len(row.encode())
    print(f"wrote corpus {path} ({mb} MB)")


if __name__ == "__main__":
    main()
