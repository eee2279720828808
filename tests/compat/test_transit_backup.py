"""Transit backup/restore and import_version across the two servers (issue 18):

- a key backed up from OpenBao (`backup/:name`, OpenBao's own format) restores into
  Sigil (`restore/:name`), and what OpenBao made with it before (ciphertexts of both
  versions, signatures, HMACs) decrypts and verifies in Sigil; and the reverse, a
  Sigil backup restored into OpenBao. Types: aes256-gcm96, chacha20-poly1305,
  ed25519, hmac, ecdsa-p256, rsa-2048;
- the restored key reads the same on both (type, versions, options, restore_info);
- `keys/:name/import_version` with the SAME material on both servers (each wrapped for
  its own wrapping key) gives the same version 2: ciphertexts cross, Ed25519
  signatures are identical, and `version` updates are refused by both.
"""

import base64
import os

import pytest
from cryptography.hazmat.primitives.asymmetric import ed25519

from conftest import send
from sequences import RUN
from test_transit_byok import b64, pkcs8
from test_transit_byok import wrap as wrap_for

M = f"backup-{RUN}"


def wrap(server, material):
    return wrap_for(server, material, mount=M)

TYPES = ["aes256-gcm96", "chacha20-poly1305", "ed25519", "hmac", "ecdsa-p256", "rsa-2048"]
ENCRYPTS = {"aes256-gcm96", "chacha20-poly1305", "rsa-2048"}
SIGNS = {"ed25519", "ecdsa-p256", "rsa-2048"}
SERVERS = ["openbao", "sigil"]


def call(server, method, path, body=None, want=200):
    status, resp = send(server, method, f"{M}/{path}", body, token=server.token)
    assert status == want, (server.name, method, path, status, resp)
    return resp


@pytest.fixture(scope="module")
def srv(servers):
    """Both servers with a transit mount M holding, on each, one backup-able key per
    type with two versions, and what that server made with each version."""
    made = {}
    for name, s in servers.items():
        status, resp = send(s, "POST", f"sys/mounts/{M}", {"type": "transit"}, token=s.token)
        assert status == 204, (name, status, resp)
        for t in TYPES:
            body = {"type": t, "exportable": True, "allow_plaintext_backup": True}
            if t == "hmac":
                body["key_size"] = 32
            call(s, "POST", f"keys/{t}", body)
            outputs = []
            for version in (1, 2):
                if version == 2:
                    call(s, "POST", f"keys/{t}/rotate", {})
                data = b64(f"{name} {t} v{version}".encode())
                out = {"input": data,
                       "hmac": call(s, "POST", f"hmac/{t}", {"input": data})["data"]["hmac"]}
                if t in ENCRYPTS:
                    out["ciphertext"] = call(s, "POST", f"encrypt/{t}",
                                             {"plaintext": data})["data"]["ciphertext"]
                if t in SIGNS:
                    out["signature"] = call(s, "POST", f"sign/{t}",
                                            {"input": data})["data"]["signature"]
                outputs.append(out)
            made[(name, t)] = outputs
    yield servers, made
    for s in servers.values():
        send(s, "DELETE", f"sys/mounts/{M}", token=s.token)


@pytest.mark.parametrize("t", TYPES)
@pytest.mark.parametrize("src,dst", [("openbao", "sigil"), ("sigil", "openbao")])
def test_backup_restores_on_the_other_server(srv, t, src, dst):
    servers, made = srv
    a, b = servers[src], servers[dst]
    backup = call(a, "GET", f"backup/{t}")["data"]["backup"]
    name = f"from-{src}-{t}"
    assert call(b, "POST", f"restore/{name}", {"backup": backup}, want=204) is None
    for version, out in enumerate(made[(src, t)], start=1):
        prefix = f"vault:v{version}:"
        mac = call(b, "POST", f"hmac/{name}", {"input": out["input"], "key_version": version})
        assert mac["data"]["hmac"] == out["hmac"], (t, version)
        if "ciphertext" in out:
            assert out["ciphertext"].startswith(prefix)
            plain = call(b, "POST", f"decrypt/{name}", {"ciphertext": out["ciphertext"]})
            assert plain["data"]["plaintext"] == out["input"], (t, version)
        if "signature" in out:
            ok = call(b, "POST", f"verify/{name}",
                      {"input": out["input"], "signature": out["signature"]})
            assert ok["data"]["valid"] is True, (t, version)
    ours = call(b, "GET", f"keys/{name}")["data"]
    theirs = call(a, "GET", f"keys/{t}")["data"]
    for field in ("type", "latest_version", "min_decryption_version", "exportable",
                  "allow_plaintext_backup", "supports_signing", "supports_encryption"):
        assert ours[field] == theirs[field], (field, ours, theirs)
    assert ours["name"] == name
    assert ours["restore_info"]["version"] == 2
    if t in SIGNS:
        for v in ("1", "2"):
            assert ours["keys"][v]["public_key"] == theirs["keys"][v]["public_key"], (t, v)
    # The restored key backs up again, and restores (round trip on the destination).
    again = call(b, "GET", f"backup/{name}")["data"]["backup"]
    call(b, "POST", f"restore/{name}-again", {"backup": again}, want=204)


def test_restore_refusals_agree(srv):
    servers, _ = srv
    backups = {n: call(s, "GET", "backup/aes256-gcm96")["data"]["backup"]
               for n, s in servers.items()}
    for n, s in servers.items():
        # Each server's backup into the other: an existing name needs force.
        other = backups["sigil" if n == "openbao" else "openbao"]
        status, resp = send(s, "POST", f"{M}/restore/aes256-gcm96", {"backup": other},
                            token=s.token)
        # OpenBao: 500, Sigil: 400 (docs/transit.md, Statuses); the same words.
        assert status in (400, 500), (n, status, resp)
        assert 'key "aes256-gcm96" already exists' in resp["errors"][0], (n, resp)
        call(s, "POST", "restore/aes256-gcm96", {"backup": other, "force": True}, want=204)
        made_by_other = call(s, "GET", "keys/aes256-gcm96")["data"]
        assert made_by_other["restore_info"]["version"] == 2, (n, made_by_other)


def test_import_version_with_the_same_material_agrees(srv):
    servers, _ = srv
    k1, k2 = os.urandom(32), os.urandom(32)
    ed1, ed2 = ed25519.Ed25519PrivateKey.generate(), ed25519.Ed25519PrivateKey.generate()
    for s in servers.values():
        call(s, "POST", "keys/iv-aes/import", {"ciphertext": wrap(s, k1)}, want=204)
        call(s, "POST", "keys/iv-aes/import_version", {"ciphertext": wrap(s, k2)}, want=204)
        call(s, "POST", "keys/iv-ed/import",
             {"type": "ed25519", "ciphertext": wrap(s, pkcs8(ed1))}, want=204)
        call(s, "POST", "keys/iv-ed/import_version", {"ciphertext": wrap(s, pkcs8(ed2))},
             want=204)
        for key in ("iv-aes", "iv-ed"):
            d = call(s, "GET", f"keys/{key}")["data"]
            assert d["latest_version"] == 2 and d["imported_key"] is True, (s.name, d)
    bao, sig = servers["openbao"], servers["sigil"]
    for a, b in ((bao, sig), (sig, bao)):
        data = b64(f"{a.name} to {b.name}".encode())
        for version in (1, 2):
            ct = call(a, "POST", "encrypt/iv-aes",
                      {"plaintext": data, "key_version": version})["data"]["ciphertext"]
            assert ct.startswith(f"vault:v{version}:")
            out = call(b, "POST", "decrypt/iv-aes", {"ciphertext": ct})["data"]["plaintext"]
            assert out == data
    sigs = [call(s, "POST", "sign/iv-ed", {"input": b64(b"v2")})["data"]["signature"]
            for s in (bao, sig)]
    assert sigs[0] == sigs[1] and sigs[0].startswith("vault:v2:")
    pubs = [call(s, "GET", "keys/iv-ed")["data"]["keys"]["2"]["public_key"] for s in (bao, sig)]
    assert pubs[0] == pubs[1]
    for s in (bao, sig):
        for key, body, text in [
            ("iv-ed", {"ciphertext": wrap(s, pkcs8(ed2)), "version": 1},
             "private key imported, key version cannot be updated"),
            ("iv-aes", {"ciphertext": wrap(s, k2), "version": 1},
             "provided type does not support importing key versions"),
            ("iv-aes", {"ciphertext": wrap(s, k2[:16])},
             "invalid key size 16 bytes for key type aes256-gcm96"),
        ]:
            status, resp = send(s, "POST", f"{M}/keys/{key}/import_version", body,
                                token=s.token)
            assert status in (400, 500), (s.name, status, resp)
            assert text in resp["errors"][0], (s.name, resp)
        assert call(s, "GET", "keys/iv-aes")["data"]["latest_version"] == 2, s.name


def test_public_key_imports_agree(srv):
    """The same public keys imported into both (`public_key`): both verify what the
    private key signed, both refuse to sign with OpenBao's words, both read the same
    public key; RSA encrypts to it on both; the private key then completes version 1
    on both, after which Ed25519 signatures are identical."""
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa

    servers, _ = srv
    keys = {
        "ed25519": ed25519.Ed25519PrivateKey.generate(),
        "ecdsa-p256": ec.generate_private_key(ec.SECP256R1()),
        "rsa-2048": rsa.generate_private_key(public_exponent=65537, key_size=2048),
    }
    msg = b"signed elsewhere"

    def signature(t, k):
        if t == "ed25519":
            raw = k.sign(msg)
        elif t == "ecdsa-p256":
            raw = k.sign(msg, ec.ECDSA(hashes.SHA256()))
        else:
            raw = k.sign(msg, padding.PSS(mgf=padding.MGF1(hashes.SHA256()),
                                          salt_length=padding.PSS.DIGEST_LENGTH),
                         hashes.SHA256())
        return "vault:v1:" + b64(raw)

    for t, k in keys.items():
        pem = k.public_key().public_bytes(serialization.Encoding.PEM,
                                          serialization.PublicFormat.SubjectPublicKeyInfo)
        pubs = []
        for s in servers.values():
            call(s, "POST", f"keys/pk-{t}/import", {"type": t, "public_key": pem.decode()},
                 want=204)
            ok = call(s, "POST", f"verify/pk-{t}",
                      {"input": b64(msg), "signature": signature(t, k)})["data"]["valid"]
            assert ok is True, (s.name, t)
            status, resp = send(s, "POST", f"{M}/sign/pk-{t}", {"input": b64(msg)},
                                token=s.token)
            assert status in (400, 500), (s.name, t, status, resp)
            assert ("requested version for signing does not contain a private part"
                    in resp["errors"][0]), (s.name, resp)
            pubs.append(call(s, "GET", f"keys/pk-{t}")["data"]["keys"]["1"]["public_key"])
            if t == "rsa-2048":
                ct = call(s, "POST", f"encrypt/pk-{t}", {"plaintext": b64(b"to you")})
                raw = base64.b64decode(ct["data"]["ciphertext"].split(":", 2)[2])
                plain = k.decrypt(raw, padding.OAEP(mgf=padding.MGF1(hashes.SHA256()),
                                                    algorithm=hashes.SHA256(), label=None))
                assert plain == b"to you", s.name
            call(s, "POST", f"keys/pk-{t}/import_version",
                 {"ciphertext": wrap(s, pkcs8(k)), "version": 1}, want=204)
            d = call(s, "GET", f"keys/pk-{t}")["data"]
            assert d["latest_version"] == 1, (s.name, d)
        assert pubs[0] == pubs[1], (t, pubs)
    sigs = [call(s, "POST", "sign/pk-ed25519", {"input": b64(msg)})["data"]["signature"]
            for s in servers.values()]
    assert sigs[0] == sigs[1] == signature("ed25519", keys["ed25519"])
