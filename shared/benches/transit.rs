#![allow(missing_docs)] // criterion's macros generate undocumented items

//! Transit operations on a warm key (its versions opened, as in a warm function), in
//! process, without storage: what a request adds beyond its two DynamoDB reads (issue
//! 18: encrypt and decrypt of 1 KB under 5 µs median, Ed25519 sign and verify under
//! 60 µs). Each measures the whole operation as a handler runs it: the request body
//! parsed, the version checked, base64, the crypto, the answer built. Run with
//! `cargo bench -p sigil --bench transit -- --warm-up-time 1 --measurement-time 3`.

use std::collections::BTreeMap;
use std::hint::black_box;
use std::sync::Arc;

use criterion::{Criterion, criterion_group, criterion_main};
use serde_json::{Map, Value, json};
use sigil::transit::key_type::KeyType;
use sigil::transit::material::Material;
use sigil::transit::ops::{Decrypt, Encrypt, Op, Sign, Verify};
use sigil::transit::policy::{CreateOptions, KeyPolicy, VersionMeta};
use sigil::transit::{Loaded, b64};

fn key(kt: KeyType) -> Loaded {
    let opts = CreateOptions::check(kt.name(), false, false, false, false, 0, 0).expect("options");
    let (m, _) = Material::generate(kt, 32).expect("material");
    let meta = VersionMeta {
        created: 0,
        public_key: m.public_key().expect("public key"),
    };
    let policy = KeyPolicy::new("bench", &opts, meta);
    Loaded::from_parts(policy, BTreeMap::from([(1, Arc::new(m))]))
}

fn body(v: Value) -> Map<String, Value> {
    v.as_object().cloned().expect("object")
}

fn run<O: Op>(key: &Loaded, b: &Map<String, Value>) -> Value {
    let op = O::parse(b).expect("parse");
    let _ = op.versions(&key.policy);
    op.run(key).finish().expect("answer").1
}

fn bench(c: &mut Criterion) {
    let plaintext = b64::encode(&[0x5a; 1024]);
    for kt in [KeyType::Aes256Gcm96, KeyType::ChaCha20Poly1305] {
        let k = key(kt);
        let enc = body(json!({ "plaintext": plaintext }));
        let ct = run::<Encrypt>(&k, &enc)["ciphertext"].clone();
        let dec = body(json!({ "ciphertext": ct }));
        c.bench_function(&format!("transit encrypt 1 KB {kt}"), |b| {
            b.iter(|| black_box(run::<Encrypt>(&k, black_box(&enc))))
        });
        c.bench_function(&format!("transit decrypt 1 KB {kt}"), |b| {
            b.iter(|| black_box(run::<Decrypt>(&k, black_box(&dec))))
        });
    }
    let input = b64::encode(b"release v1.2.3 sha256:0123456789abcdef0123456789abcdef");
    for kt in [KeyType::Ed25519, KeyType::EcdsaP256] {
        let k = key(kt);
        let sign = body(json!({ "input": input }));
        let sig = run::<Sign>(&k, &sign)["signature"].clone();
        let verify = body(json!({ "input": input, "signature": sig }));
        c.bench_function(&format!("transit sign {kt}"), |b| {
            b.iter(|| black_box(run::<Sign>(&k, black_box(&sign))))
        });
        c.bench_function(&format!("transit verify {kt}"), |b| {
            b.iter(|| black_box(run::<Verify>(&k, black_box(&verify))))
        });
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
