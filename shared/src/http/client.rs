//! Outbound HTTPS clients (JWKS and OIDC discovery, STS GetCallerIdentity, the CLI):
//! reqwest on rustls with aws-lc-rs, the same TLS stack and crypto library as the AWS
//! SDK, so one copy of each is linked into the Lambda binaries (DESIGN.md "Budgets").
//!
//! reqwest is built without a crypto provider of its own (its `*-no-provider` feature:
//! the default would link ring beside aws-lc-rs) and takes the process-wide default
//! provider, which [`builder`] installs on first use.

use std::sync::Once;

/// `reqwest::Client::builder()`, after making aws-lc-rs the process's default rustls
/// crypto provider. Every reqwest client must be built through this: without a default
/// provider, reqwest panics when it builds a client.
pub fn builder() -> reqwest::ClientBuilder {
    install_crypto_provider();
    reqwest::Client::builder()
}

/// Installs aws-lc-rs as rustls's process-wide default provider, once. A provider
/// installed earlier by someone else (a test's TLS server, say) is left in place.
pub fn install_crypto_provider() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    });
}

#[cfg(test)]
mod tests {
    #[test]
    fn builds_a_client_with_custom_roots() {
        let client = super::builder().tls_built_in_root_certs(false).build();
        assert!(client.is_ok());
        assert!(rustls::crypto::CryptoProvider::get_default().is_some());
    }
}
