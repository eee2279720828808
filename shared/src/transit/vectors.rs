//! Interoperability with OpenBao: keys exported from an OpenBao 2.7 dev server
//! (`transit/export/...`) with what OpenBao produced under them
//! (`testdata/openbao_vectors.json`; RSA and ECDSA keys converted to PKCS#8). Sigil's
//! primitives must open OpenBao's ciphertexts, reproduce its deterministic outputs
//! (convergent ciphertexts, HMACs, Ed25519 signatures) and accept its signatures.

use serde_json::Value as Json;
use zeroize::Zeroizing;

use super::aead::{self, Mode};
use super::b64;
use super::ciphertext::{self, Kind};
use super::digest::HashAlgorithm;
use super::key_type::KeyType;
use super::material::Material;
use super::oaep;
use super::sign::{self, Marshaling, Options, RsaScheme, Salt};

fn vectors() -> Json {
    serde_json::from_str(include_str!("testdata/openbao_vectors.json")).unwrap()
}

fn s<'a>(v: &'a Json, k: &str) -> &'a str {
    v[k].as_str().unwrap_or_else(|| panic!("{k}"))
}

fn body(text: &str) -> Vec<u8> {
    let p = ciphertext::parse(text, Kind::Ciphertext).unwrap();
    assert_eq!(p.version, 1);
    b64::decode(p.body).unwrap_or_else(|_| p.body.as_bytes().to_vec())
}

fn hmac_key(v: &Json) -> Zeroizing<Vec<u8>> {
    Zeroizing::new(b64::decode(s(v, "hmac_key")).unwrap())
}

fn opts(hash: HashAlgorithm) -> Options {
    Options {
        hash,
        prehashed: false,
        scheme: RsaScheme::Pss,
        salt: Salt::Auto,
        marshaling: Marshaling::Asn1,
    }
}

#[test]
fn symmetric_ciphertexts_and_hmacs_interoperate() {
    let all = vectors();
    for (name, v) in all.as_object().unwrap() {
        let Some(kt) = KeyType::parse(s(v, "type")).filter(|k| k.is_aead()) else {
            continue;
        };
        let key = b64::decode(s(v, "key")).unwrap();
        let m = Material::from_parts(kt, hmac_key(v), &key).unwrap();
        let mode = Mode {
            derived: s(v, "mode") != "plain",
            convergent: s(v, "mode") == "convergent",
        };
        let context = if mode.derived {
            b64::decode(s(v, "context")).unwrap()
        } else {
            Vec::new()
        };
        let plaintext = b64::decode(s(v, "plaintext")).unwrap();
        for c in ["ciphertext", "ciphertext2"] {
            let plain = aead::decrypt(&m, mode, &context, &[], &body(s(v, c))).unwrap();
            assert_eq!(*plain, plaintext, "{name} {c}");
        }
        if let Some(c) = v["ciphertext_aad"].as_str() {
            assert_eq!(
                *aead::decrypt(&m, mode, &context, b"aad", &body(c)).unwrap(),
                plaintext
            );
            assert!(
                aead::decrypt(&m, mode, &context, b"other", &body(c)).is_err(),
                "{name}"
            );
        }
        let ours = aead::encrypt(&m, mode, &context, &[], &plaintext).unwrap();
        if mode.convergent {
            assert_eq!(
                ciphertext::format(1, &b64::encode(&ours)),
                s(v, "ciphertext"),
                "{name}: convergent ciphertext"
            );
        }
        let mac = HashAlgorithm::Sha2_256
            .hmac(m.hmac_key(), &plaintext)
            .unwrap();
        assert_eq!(
            ciphertext::format(1, &b64::encode(&mac)),
            s(v, "hmac_sha256"),
            "{name}"
        );
    }
}

#[test]
fn hmac_keys_interoperate_over_every_hash() {
    let v = &vectors()["v-hmac"];
    let key = hmac_key(v);
    let input = b64::decode(s(v, "plaintext")).unwrap();
    for (field, h) in [
        ("hmac_sha256", HashAlgorithm::Sha2_256),
        ("hmac_sha512", HashAlgorithm::Sha2_512),
        ("hmac_sha3_256", HashAlgorithm::Sha3_256),
        ("hmac_sha3_512", HashAlgorithm::Sha3_512),
        ("hmac_sha1", HashAlgorithm::Sha1),
    ] {
        let mac = h.hmac(&key, &input).unwrap();
        assert_eq!(
            ciphertext::format(1, &b64::encode(&mac)),
            s(v, field),
            "{field}"
        );
    }
}

#[test]
fn ed25519_signatures_match_openbao_byte_for_byte() {
    let all = vectors();
    let v = &all["v-ed25519"];
    let go_private = b64::decode(s(v, "signing_key")).unwrap();
    let m = Material::from_parts(KeyType::Ed25519, hmac_key(v), &go_private[..32]).unwrap();
    assert_eq!(m.public_key().unwrap().unwrap(), s(v, "public_key"));
    let input = b64::decode(s(v, "plaintext")).unwrap();
    let sig = sign::sign(&m, false, &[], &input, &opts(HashAlgorithm::Sha2_256)).unwrap();
    assert_eq!(
        ciphertext::format(1, &b64::encode(&sig.signature)),
        s(v, "sig_default")
    );

    let v = &all["v-ed25519-derived"];
    let go_private = b64::decode(s(v, "signing_key")).unwrap();
    let m = Material::from_parts(
        KeyType::Ed25519,
        Zeroizing::new(vec![0; 32]),
        &go_private[..32],
    )
    .unwrap();
    let context = b64::decode(s(v, "context")).unwrap();
    let sig = sign::sign(&m, true, &context, &input, &opts(HashAlgorithm::Sha2_256)).unwrap();
    assert_eq!(
        ciphertext::format(1, &b64::encode(&sig.signature)),
        s(v, "sig_default")
    );
    assert_eq!(
        b64::encode(&sig.public_key.unwrap()),
        s(v, "derived_public_key")
    );
    assert_eq!(
        sign::derived_public_key(&m, &context).unwrap(),
        s(v, "derived_public_key")
    );
}

#[test]
fn ecdsa_signatures_from_openbao_verify() {
    let all = vectors();
    for t in ["ecdsa-p256", "ecdsa-p384"] {
        let v = &all[format!("v-{t}")];
        let kt = KeyType::parse(t).unwrap();
        let pkcs8 = b64::decode(s(v, "signing_key_pkcs8")).unwrap();
        let m = Material::from_parts(kt, hmac_key(v), &pkcs8).unwrap();
        assert_eq!(m.public_key().unwrap().unwrap(), s(v, "public_key"), "{t}");
        let input = b64::decode(s(v, "plaintext")).unwrap();
        for (field, hash, marshaling) in [
            ("sig_default", HashAlgorithm::Sha2_256, Marshaling::Asn1),
            ("sig_jws", HashAlgorithm::Sha2_256, Marshaling::Jws),
            ("sig_sha512", HashAlgorithm::Sha2_512, Marshaling::Asn1),
            ("sig_sha1", HashAlgorithm::Sha1, Marshaling::Asn1),
        ] {
            let o = Options {
                marshaling,
                ..opts(hash)
            };
            let p = ciphertext::parse(s(v, field), Kind::Signature).unwrap();
            let sig = sign::decode(p.body, marshaling).unwrap();
            assert!(
                sign::verify(&m, false, &[], &input, &sig, &o).unwrap(),
                "{t} {field}"
            );
            assert!(
                !sign::verify(&m, false, &[], b"other", &sig, &o).unwrap(),
                "{t} {field}"
            );
            // And Sigil's own signature with these options verifies.
            let ours = sign::sign(&m, false, &[], &input, &o).unwrap();
            assert!(
                sign::verify(&m, false, &[], &input, &ours.signature, &o).unwrap(),
                "{t} {field}"
            );
        }
    }
}

#[test]
fn rsa_signatures_and_ciphertexts_from_openbao_work() {
    let v = &vectors()["v-rsa-2048"];
    let pkcs8 = b64::decode(s(v, "signing_key_pkcs8")).unwrap();
    let m = Material::from_parts(KeyType::Rsa2048, hmac_key(v), &pkcs8).unwrap();
    assert_eq!(m.public_key().unwrap().unwrap(), s(v, "public_key"));
    let input = b64::decode(s(v, "plaintext")).unwrap();
    for (field, scheme, salt) in [
        ("sig_default", RsaScheme::Pss, Salt::Auto),
        ("sig_pss_hash", RsaScheme::Pss, Salt::Hash),
        ("sig_pss_hash", RsaScheme::Pss, Salt::Auto),
        ("sig_pkcs1v15", RsaScheme::Pkcs1v15, Salt::Auto),
    ] {
        let o = Options {
            scheme,
            salt,
            ..opts(HashAlgorithm::Sha2_256)
        };
        let p = ciphertext::parse(s(v, field), Kind::Signature).unwrap();
        let sig = sign::decode(p.body, Marshaling::Asn1).unwrap();
        assert!(
            sign::verify(&m, false, &[], &input, &sig, &o).unwrap(),
            "{field} {salt:?}"
        );
    }
    // PKCS#1 v1.5 is deterministic: Sigil's signature is OpenBao's.
    let o = Options {
        scheme: RsaScheme::Pkcs1v15,
        ..opts(HashAlgorithm::Sha2_256)
    };
    let ours = sign::sign(&m, false, &[], &input, &o).unwrap();
    assert_eq!(
        ciphertext::format(1, &b64::encode(&ours.signature)),
        s(v, "sig_pkcs1v15")
    );
    assert_eq!(
        *oaep::decrypt(&m, &body(s(v, "ciphertext"))).unwrap(),
        input
    );
}
