"""Makes the fixed signature vectors with the reference, model-signing 1.1.1.

Run once with the venv of scripts/check-sign-interop.sh:
    $VENV/bin/python crates/mlsec-sign/tests/vectors/make.py
It writes model/ (a small model folder), keys/ (public keys and a CA
certificate; the private keys are thrown away) and sigs/ (one bundle per
signing method, curve, serialization and hash). tests/vectors.rs verifies them.
"""
import datetime
import pathlib
import shutil
import subprocess
import sys

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
import model_signing

HERE = pathlib.Path(__file__).resolve().parent
MODEL = HERE / "model"


def write_model():
    shutil.rmtree(MODEL, ignore_errors=True)
    (MODEL / "weights").mkdir(parents=True)
    (MODEL / "tokenizer" / "extra").mkdir(parents=True)
    (MODEL / "README.md").write_text("---\nlicense: mit\n---\n# tiny\n")
    (MODEL / "config.json").write_text('{"hidden_size": 8}\n')
    (MODEL / "weights" / "shard-00001.bin").write_bytes(bytes(range(256)) * 3)
    (MODEL / "weights.index.json").write_text('{"weight_map": {}}\n')
    (MODEL / "tokenizer" / "extra" / "vocab ü.txt").write_text("a\nb\n")
    (MODEL / "empty.txt").write_bytes(b"")


def key(curve, name):
    k = ec.generate_private_key(curve)
    pem = k.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                          serialization.NoEncryption())
    priv = HERE / f"{name}.tmp.pem"
    priv.write_bytes(pem)
    (HERE / "keys" / f"{name}.pub").write_bytes(k.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
    return k, priv


def cert(subject_key, subject, issuer_key, issuer, ca, start):
    b = (x509.CertificateBuilder().subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
         .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, issuer)]))
         .public_key(subject_key.public_key()).serial_number(x509.random_serial_number())
         .not_valid_before(start).not_valid_after(start + datetime.timedelta(days=3650))
         .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
    if not ca:
        b = b.add_extension(x509.KeyUsage(True, False, False, False, False, False, False, False, False), critical=True)
    return b.sign(issuer_key, hashes.SHA256())


def sign_api(priv, sig, hashing=None):
    cfg = model_signing.signing.Config().use_elliptic_key_signer(private_key=priv)
    if hashing is not None:
        cfg.set_hashing_config(hashing)
    cfg.sign(MODEL, HERE / "sigs" / sig)


def main():
    write_model()
    for d in ("keys", "sigs"):
        shutil.rmtree(HERE / d, ignore_errors=True)
        (HERE / d).mkdir()
    _, p256 = key(ec.SECP256R1(), "p256")
    _, p384 = key(ec.SECP384R1(), "p384")
    _, p521 = key(ec.SECP521R1(), "p521")
    ms = pathlib.Path(sys.executable).with_name("model_signing")
    for name, priv in (("p256", p256), ("p384", p384), ("p521", p521)):
        subprocess.run([ms, "sign", "key", "--private_key", priv, "--signature",
                        HERE / "sigs" / f"{name}-files-sha256.sig", MODEL], check=True)
    H = model_signing.hashing.Config
    sign_api(p256, "p256-shards-sha256.sig", H().use_shard_serialization(hashing_algorithm="sha256", shard_size=100))
    sign_api(p256, "p256-shards-blake2b.sig", H().use_shard_serialization(hashing_algorithm="blake2", shard_size=500))
    sign_api(p256, "p256-files-blake2b.sig", H().use_file_serialization(hashing_algorithm="blake2"))
    sign_api(p256, "p256-files-blake3.sig", H().use_file_serialization(hashing_algorithm="blake3"))

    # Certificate method: CA -> intermediate -> leaf, valid from 2025.
    start = datetime.datetime(2025, 1, 1, tzinfo=datetime.timezone.utc)
    ca_key, inter_key, leaf_key = (ec.generate_private_key(ec.SECP256R1()) for _ in range(3))
    ca = cert(ca_key, "mlsec test CA", ca_key, "mlsec test CA", True, start)
    inter = cert(inter_key, "mlsec test intermediate", ca_key, "mlsec test CA", True, start)
    leaf = cert(leaf_key, "mlsec test signer", inter_key, "mlsec test intermediate", False, start)
    pem = lambda c: c.public_bytes(serialization.Encoding.PEM)
    (HERE / "keys" / "ca.pem").write_bytes(pem(ca))
    tmp = {n: HERE / f"{n}.tmp.pem" for n in ("leafkey", "leaf", "inter")}
    tmp["leafkey"].write_bytes(leaf_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                      serialization.NoEncryption()))
    tmp["leaf"].write_bytes(pem(leaf))
    tmp["inter"].write_bytes(pem(inter))
    subprocess.run([ms, "sign", "certificate", "--private_key", tmp["leafkey"], "--signing_certificate", tmp["leaf"],
                    "--certificate_chain", tmp["inter"], "--signature", HERE / "sigs" / "p256-certificate.sig", MODEL],
                   check=True)
    for p in HERE.glob("*.tmp.pem"):
        p.unlink()


if __name__ == "__main__":
    main()
