"""Driver of scripts/check-sign-interop.sh: mlsec <-> model_signing, both ways."""
import datetime
import json
import os
import pathlib
import shutil
import subprocess
import sys
import tempfile

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.x509.oid import NameOID
import model_signing

MLSEC, MS = sys.argv[1], sys.argv[2]
work = pathlib.Path(tempfile.mkdtemp(prefix="mlsec-sign-interop-"))
failures = []


def run(*args):
    return subprocess.run([str(a) for a in args], capture_output=True, text=True)


def check(ok, what, proc=None):
    print(("ok   " if ok else "FAIL ") + what)
    if not ok:
        failures.append(what)
        if proc is not None:
            print(proc.stdout[-2000:], proc.stderr[-2000:])


def make_model(path):
    (path / "sub" / "deep").mkdir(parents=True)
    (path / "weights").mkdir()
    (path / "README.md").write_text("# model\n")
    (path / "sub" / "weights.bin").write_bytes(os.urandom(5 * 1024 * 1024 + 123))
    (path / "sub" / "deep" / "naïve ü.txt").write_text("unicode\n")
    (path / "weights" / "a.bin").write_bytes(b"a" * 1000)
    (path / "weights.index.json").write_text("{}\n")
    (path / "empty").write_bytes(b"")
    (path / ".git").mkdir()
    (path / ".git" / "HEAD").write_text("ref: refs/heads/main\n")


def pem_private(key, fmt=serialization.PrivateFormat.PKCS8, password=None):
    enc = serialization.BestAvailableEncryption(password) if password else serialization.NoEncryption()
    return key.private_bytes(serialization.Encoding.PEM, fmt, enc)


def write_keys(name, key):
    (work / f"{name}.pem").write_bytes(pem_private(key))
    (work / f"{name}.sec1.pem").write_bytes(pem_private(key, serialization.PrivateFormat.TraditionalOpenSSL))
    (work / f"{name}.pub").write_bytes(key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))


model = work / "model"
make_model(model)
curves = {"p256": ec.SECP256R1(), "p384": ec.SECP384R1(), "p521": ec.SECP521R1()}
keys = {n: ec.generate_private_key(c) for n, c in curves.items()}
for n, k in keys.items():
    write_keys(n, k)
(work / "p256.enc.pem").write_bytes(pem_private(keys["p256"], password=b"s3cret"))

# 1. mlsec signs, model_signing verifies.
for name in curves:
    for variant in ("pem", "sec1.pem"):
        sig = work / f"mlsec-{name}-{variant}.sig"
        p = run(MLSEC, "sign", model, "--key", work / f"{name}.{variant}", "--signature", sig, "-q")
        check(p.returncode == 0, f"mlsec sign {name} ({variant})", p)
        p = run(MS, "verify", "key", "--public_key", work / f"{name}.pub", "--signature", sig, model)
        check(p.returncode == 0 and "Verification succeeded" in p.stdout + p.stderr,
              f"model_signing verifies mlsec's {name} ({variant}) signature", p)
p = run(MLSEC, "sign", model, "--key", work / "p256.enc.pem", "--password", "s3cret",
        "--signature", work / "enc.sig", "-q")
check(p.returncode == 0, "mlsec sign with an encrypted PKCS#8 key", p)
p = run(MS, "verify", "key", "--public_key", work / "p256.pub", "--signature", work / "enc.sig", model)
check(p.returncode == 0, "model_signing verifies it", p)

# Certificate method, both ways: CA -> leaf.
now = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(days=1)
ca_key, leaf_key = ec.generate_private_key(ec.SECP384R1()), ec.generate_private_key(ec.SECP256R1())


def cert(key, cn, issuer_key, issuer_cn, ca):
    b = (x509.CertificateBuilder().subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)]))
         .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, issuer_cn)]))
         .public_key(key.public_key()).serial_number(x509.random_serial_number())
         .not_valid_before(now).not_valid_after(now + datetime.timedelta(days=30))
         .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
    if not ca:
        b = b.add_extension(x509.KeyUsage(True, False, False, False, False, False, False, False, False), True)
    return b.sign(issuer_key, hashes.SHA384())


(work / "ca.crt").write_bytes(cert(ca_key, "CA", ca_key, "CA", True).public_bytes(serialization.Encoding.PEM))
(work / "leaf.crt").write_bytes(cert(leaf_key, "signer", ca_key, "CA", False).public_bytes(serialization.Encoding.PEM))
(work / "leaf.pem").write_bytes(pem_private(leaf_key))
p = run(MLSEC, "sign", model, "--key", work / "leaf.pem", "--certificate", work / "leaf.crt",
        "--certificate-chain", work / "ca.crt", "--signature", work / "cert-mlsec.sig", "-q")
check(p.returncode == 0, "mlsec sign --certificate", p)
p = run(MS, "verify", "certificate", "--certificate_chain", work / "ca.crt", "--signature", work / "cert-mlsec.sig", model)
check(p.returncode == 0, "model_signing verifies mlsec's certificate signature", p)
p = run(MS, "sign", "certificate", "--private_key", work / "leaf.pem", "--signing_certificate", work / "leaf.crt",
        "--certificate_chain", work / "ca.crt", "--signature", work / "cert-ms.sig", model)
check(p.returncode == 0, "model_signing sign certificate", p)
p = run(MLSEC, "verify", model, "--certificate-chain", work / "ca.crt", "--signature", work / "cert-ms.sig")
check(p.returncode == 0, "mlsec verifies model_signing's certificate signature", p)

# 2. model_signing signs, mlsec verifies: CLI, and shards / blake2b / blake3 via the API.
for name in curves:
    sig = work / f"ms-{name}.sig"
    p = run(MS, "sign", "key", "--private_key", work / f"{name}.pem", "--signature", sig, model)
    check(p.returncode == 0, f"model_signing sign key {name}", p)
    p = run(MLSEC, "verify", model, "--key", work / f"{name}.pub", "--signature", sig)
    check(p.returncode == 0, f"mlsec verifies model_signing's {name} signature", p)
H = model_signing.hashing.Config
api = {
    "shards-sha256": H().use_shard_serialization(hashing_algorithm="sha256", shard_size=1 << 20),
    "shards-blake2b": H().use_shard_serialization(hashing_algorithm="blake2", shard_size=3 << 20),
    "files-blake2b": H().use_file_serialization(hashing_algorithm="blake2"),
    "files-blake3": H().use_file_serialization(hashing_algorithm="blake3"),
}
for label, hashing in api.items():
    sig = work / f"ms-api-{label}.sig"
    (model_signing.signing.Config().use_elliptic_key_signer(private_key=work / "p384.pem")
     .set_hashing_config(hashing).sign(model, sig))
    p = run(MLSEC, "verify", model, "--key", work / "p384.pub", "--signature", sig)
    check(p.returncode == 0, f"mlsec verifies model_signing's {label} signature (Python API)", p)


def api_verify(sig, pub):
    """model_signing's API with the hashing config taken from the signed predicate
    (1.1.1's own detection fails on float shard sizes and on blake2b)."""
    bundle = json.loads(sig.read_text())
    import base64
    statement = json.loads(base64.b64decode(bundle["dsseEnvelope"]["payload"]))
    ser = statement["predicate"]["serialization"]
    algo = {"sha256": "sha256", "blake2b": "blake2", "blake3": "blake3"}[ser["hash_type"]]
    if ser["method"] == "shards":
        hashing = H().use_shard_serialization(hashing_algorithm=algo, shard_size=int(ser["shard_size"]))
    else:
        hashing = H().use_file_serialization(hashing_algorithm=algo)
    hashing.set_ignored_paths(paths=[sig.name], ignore_git_paths=True)
    try:
        (model_signing.verifying.Config().use_elliptic_key_verifier(public_key=pub)
         .set_hashing_config(hashing).verify(model, sig))
        return True
    except Exception as e:  # the reference raises ValueError on any mismatch
        print("   model_signing:", e)
        return False


for label, extra in {"shards-sha256": ["--shard-size", str(1 << 20)], "files-blake2b": ["--hash", "blake2b"],
                     "shards-blake2b": ["--hash", "blake2b", "--shard-size", str(2 << 20)],
                     "files-blake3": ["--hash", "blake3"]}.items():
    sig = work / f"mlsec-{label}.sig"
    p = run(MLSEC, "sign", model, "--key", work / "p256.pem", "--signature", sig, "-q", *extra)
    check(p.returncode == 0, f"mlsec sign {label}", p)
    check(api_verify(sig, work / "p256.pub"), f"model_signing's API verifies mlsec's {label} signature")

# Ed25519 is an mlsec extension: mlsec verifies it, model_signing refuses the key.
ed = ed25519.Ed25519PrivateKey.generate()
(work / "ed25519.pem").write_bytes(pem_private(ed))
(work / "ed25519.pub").write_bytes(ed.public_key().public_bytes(
    serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
p = run(MLSEC, "sign", model, "--key", work / "ed25519.pem", "--signature", work / "ed.sig", "-q")
check(p.returncode == 0, "mlsec sign ed25519", p)
p = run(MLSEC, "verify", model, "--key", work / "ed25519.pub", "--signature", work / "ed.sig")
check(p.returncode == 0, "mlsec verifies ed25519", p)
p = run(MS, "verify", "key", "--public_key", work / "ed25519.pub", "--signature", work / "ed.sig", model)
check(p.returncode != 0, "model_signing refuses ed25519 keys (documented)", p)


# 3. Tampering: both tools reject, mlsec names the file.
def tampered(change, expect_rule, expect_member):
    copy = work / "tampered"
    shutil.rmtree(copy, ignore_errors=True)
    shutil.copytree(model, copy)
    change(copy)
    for sig_name, pub in (("mlsec-p256-pem.sig", "p256.pub"), ("ms-p256.sig", "p256.pub")):
        sig = work / sig_name
        p = run(MS, "verify", "key", "--public_key", work / pub, "--signature", sig, copy)
        check(p.returncode != 0, f"model_signing rejects {expect_rule} ({sig_name})", p)
        p = run(MLSEC, "verify", copy, "--key", work / pub, "--signature", sig, "--format", "json")
        ok = p.returncode == 1
        if ok:
            findings = json.loads(p.stdout)["findings"]
            ok = any(f["rule"] == expect_rule and f.get("member") == expect_member for f in findings)
        check(ok, f"mlsec rejects and names {expect_member} ({expect_rule}, {sig_name})", p)


def flip(c):
    p = c / "sub" / "weights.bin"
    b = bytearray(p.read_bytes())
    b[4 * 1024 * 1024] ^= 0x01
    p.write_bytes(bytes(b))


tampered(flip, "SIG001", "sub/weights.bin")
tampered(lambda c: (c / "sub" / "extra.pkl").write_bytes(b"\x80\x04N."), "SIG003", "sub/extra.pkl")
tampered(lambda c: (c / "weights.index.json").unlink(), "SIG002", "weights.index.json")
tampered(lambda c: (c / "sub" / "deep" / "naïve ü.txt").rename(c / "sub" / "renamed.txt"), "SIG004", "sub/renamed.txt")

shutil.rmtree(work)
if failures:
    print(f"{len(failures)} interoperability check(s) failed")
    sys.exit(1)
print("all interoperability checks passed")
