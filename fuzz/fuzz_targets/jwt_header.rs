//! JWT parsing: any text is a token Sigil splits and reads the header of, or refuses;
//! a token that parses is verified against an empty key set (refused, never a panic).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|jwt: &str| {
    let _ = sigil::jwt::verify::parse(jwt);
});
