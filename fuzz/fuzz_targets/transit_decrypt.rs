//! Transit ciphertext parsing and decryption: any text is a ciphertext (or signature,
//! or HMAC) that parses or is refused with Vault's text, and any JSON body is a
//! decrypt, rewrap or verify request over fixed keys (AES-256-GCM, derived
//! ChaCha20-Poly1305, Ed25519; three versions each) that answers or is refused, never
//! a panic. Any bytes are also a BYOK import: KWP-unwrapped under a fixed key, and
//! taken as the material of every key type (refused with OpenBao's text or parsed).
#![no_main]

use std::collections::BTreeMap;
use std::sync::{Arc, OnceLock};

use libfuzzer_sys::fuzz_target;
use serde_json::{Value, json};
use sigil::transit::ciphertext::{self, Kind};
use sigil::transit::key_type::KeyType;
use sigil::transit::material::Material;
use sigil::transit::ops::{Decrypt, Op, Rewrap, Verify};
use sigil::transit::policy::{ConfigChange, CreateOptions, KeyPolicy, VersionMeta};
use sigil::transit::{Loaded, b64};

fn key(kt: KeyType, derived: bool) -> Loaded {
    let opts = CreateOptions::check(kt.name(), derived, false, false, false, 0, 0).expect("options");
    let meta = VersionMeta { created: 0, public_key: None };
    let mut policy = KeyPolicy::new("fuzz", &opts, meta.clone());
    policy.push_version(meta.clone());
    policy.push_version(meta);
    policy
        .configure(&ConfigChange { min_decryption_version: Some(2), ..Default::default() })
        .expect("config");
    let materials = (1..=3u8)
        .map(|v| {
            let raw = [v; 32];
            let m = Material::from_parts(kt, zeroize::Zeroizing::new(vec![v; 32]), &raw).expect("material");
            (u32::from(v), Arc::new(m))
        })
        .collect::<BTreeMap<_, _>>();
    Loaded::from_parts(policy, materials)
}

fn keys() -> &'static [Loaded] {
    static KEYS: OnceLock<Vec<Loaded>> = OnceLock::new();
    KEYS.get_or_init(|| {
        vec![
            key(KeyType::Aes256Gcm96, false),
            key(KeyType::ChaCha20Poly1305, true),
            key(KeyType::Ed25519, false),
        ]
    })
}

fn run<O: Op>(body: &serde_json::Map<String, Value>, key: &Loaded) {
    if let Ok(op) = O::parse(body) {
        let _ = op.versions(&key.policy);
        let _ = op.run(key).finish();
    }
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    for kind in [Kind::Ciphertext, Kind::Signature, Kind::Hmac] {
        let _ = ciphertext::parse(&text, kind);
    }
    let _ = b64::decode(&text);
    let _ = sigil::transit::import::kwp_unwrap(&[7u8; 32], data);
    for kt in sigil::transit::key_type::ALL {
        let _ = sigil::transit::import::material_key(kt, data);
    }
    let bodies: Vec<serde_json::Map<String, Value>> = [
        Some(json!({"ciphertext": text})),
        Some(json!({"ciphertext": text, "context": "dGVuYW50"})),
        Some(json!({"batch_input": [{"ciphertext": text}, {"ciphertext": text, "context": "eA=="}]})),
        Some(json!({"input": "aGVsbG8=", "signature": text})),
        Some(json!({"input": text, "hmac": text})),
        serde_json::from_slice::<Value>(data).ok(),
    ]
    .into_iter()
    .flatten()
    .filter_map(|v| v.as_object().cloned())
    .collect();
    for key in keys() {
        for body in &bodies {
            run::<Decrypt>(body, key);
            run::<Rewrap>(body, key);
            run::<Verify>(body, key);
        }
    }
});
