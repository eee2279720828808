//! Policy parsing: any text either parses into a policy or is refused with an error;
//! a policy that parses also compiles into an ACL that answers for any path.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|text: &str| {
    let Ok(policy) = sigil::policy::parse("fuzz", text) else {
        return;
    };
    let acl = sigil::policy::Acl::new(&[&policy]);
    // A few paths drawn from the text itself, so path segments the policy names get hit.
    let body = serde_json::Map::new();
    for path in text.split(['"', '\n']).take(8) {
        let _ = acl.capabilities(path);
        let _ = acl.check_parameters(path, &body);
    }
});
