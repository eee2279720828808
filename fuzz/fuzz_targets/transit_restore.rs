//! Transit restore parsing (`restore`'s `backup`: base64 of OpenBao's key JSON): any
//! bytes, as the base64 text and as the JSON inside it, parse into a checked key or
//! are refused with a 400, never a panic; what parses opens as key material and
//! backs up again into a backup that parses to the same versions.
#![no_main]

use std::collections::BTreeMap;
use std::sync::Arc;

use libfuzzer_sys::fuzz_target;
use sigil::transit::backup;
use sigil::transit::material::Material;
use sigil::transit::{Loaded, TransitError, b64};

fn round_trip(text: &str) {
    let restored = match backup::parse(text) {
        Ok(r) => r,
        Err(TransitError::Invalid(_)) => return,
        Err(e) => panic!("a malformed backup is a 400, not {e:?}"),
    };
    let materials: BTreeMap<_, _> = restored
        .versions
        .iter()
        .map(|(v, rv)| {
            let (m, _) = Material::restore(restored.policy.key_type, rv.hmac_key.clone(), &rv.key)
                .expect("parsed material opens");
            (*v, Arc::new(m))
        })
        .collect();
    let loaded = Loaded::from_parts(restored.policy.clone(), materials);
    let again = backup::encode(&loaded.policy, |v| loaded.material(v))
        .expect("a restored key backs up");
    let back = backup::parse(&again).expect("Sigil's backup restores");
    assert_eq!(
        back.versions.keys().collect::<Vec<_>>(),
        restored.versions.keys().collect::<Vec<_>>()
    );
}

fuzz_target!(|data: &[u8]| {
    round_trip(&String::from_utf8_lossy(data));
    round_trip(&b64::encode(data));
});
