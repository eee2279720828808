//! A local OIDC issuer for tests: an HTTPS server on loopback (its own CA, made in the
//! test) serving a discovery document and a JWKS, with signing keys generated in the
//! test, and a count of JWKS fetches. It mints GitHub-Actions-shaped and Kubernetes
//! service-account-shaped tokens.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use aws_lc_rs::encoding::AsDer;
use http_body_util::Full;
use hyper::body::Bytes;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use jsonwebtoken::jwk::{Jwk, JwkSet};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};

/// One signing key.
#[derive(Clone)]
pub struct SigningKey {
    /// Key ID.
    pub kid: String,
    /// Algorithm.
    pub alg: Algorithm,
    /// Private key.
    pub key: EncodingKey,
    /// Public key as a JWK.
    pub jwk: Jwk,
    /// Public key as an SPKI PEM.
    pub public_pem: String,
}

impl SigningKey {
    /// A fresh RSA-2048 key for RS256.
    pub fn rsa(kid: &str) -> Self {
        let kp = aws_lc_rs::rsa::KeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048)
            .expect("rsa keygen");
        let der = AsDer::<aws_lc_rs::encoding::Pkcs8V1Der>::as_der(&kp).expect("pkcs8");
        let pem_text = pem::encode(&pem::Pem::new("PRIVATE KEY", der.as_ref().to_vec()));
        let key = EncodingKey::from_rsa_pem(pem_text.as_bytes()).expect("rsa pem");
        let public = aws_lc_rs::signature::KeyPair::public_key(&kp);
        let spki = AsDer::<aws_lc_rs::encoding::PublicKeyX509Der>::as_der(public).expect("spki");
        let public_pem = pem::encode(&pem::Pem::new("PUBLIC KEY", spki.as_ref().to_vec()));
        Self::finish(kid, Algorithm::RS256, key, public_pem)
    }

    /// A fresh P-256 key for ES256.
    pub fn ec(kid: &str) -> Self {
        let kp = rcgen::KeyPair::generate().expect("ec keygen");
        let key = EncodingKey::from_ec_pem(kp.serialize_pem().as_bytes()).expect("ec pem");
        Self::finish(kid, Algorithm::ES256, key, kp.public_key_pem())
    }

    fn finish(kid: &str, alg: Algorithm, key: EncodingKey, public_pem: String) -> Self {
        let mut jwk = Jwk::from_encoding_key(&key, alg).expect("jwk");
        jwk.common.key_id = Some(kid.to_owned());
        Self {
            kid: kid.to_owned(),
            alg,
            key,
            jwk,
            public_pem,
        }
    }

    /// Signs `claims` with this key, its `kid` in the header.
    pub fn sign(&self, claims: &Value) -> String {
        let mut h = Header::new(self.alg);
        h.kid = Some(self.kid.clone());
        jsonwebtoken::encode(&h, claims, &self.key).expect("sign")
    }
}

/// The local issuer.
pub struct Issuer {
    /// Its URL (`https://127.0.0.1:PORT`), also the `iss` of its tokens.
    pub url: String,
    /// The PEM of the CA that signed its TLS certificate.
    pub ca_pem: String,
    keys: Mutex<Vec<SigningKey>>,
    jwks_fetches: AtomicUsize,
}

impl Issuer {
    /// Starts an issuer with one RSA key (`kid` "k1") on a free loopback port.
    pub async fn start() -> Arc<Self> {
        let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).expect("ca");
        ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        ca_params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "sigil test CA");
        let ca = rcgen::CertifiedIssuer::self_signed(
            ca_params,
            rcgen::KeyPair::generate().expect("ca key"),
        )
        .expect("ca cert");
        let leaf_key = rcgen::KeyPair::generate().expect("leaf key");
        let leaf = rcgen::CertificateParams::new(vec!["127.0.0.1".to_owned()])
            .expect("leaf")
            .signed_by(&leaf_key, &ca)
            .expect("leaf cert");
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let tls = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .expect("tls versions")
            .with_no_client_auth()
            .with_single_cert(
                vec![leaf.der().clone()],
                rustls::pki_types::PrivateKeyDer::Pkcs8(leaf_key.serialize_der().into()),
            )
            .expect("tls config");
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(tls));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let issuer = Arc::new(Self {
            url: format!("https://127.0.0.1:{port}"),
            ca_pem: ca.pem(),
            keys: Mutex::new(vec![SigningKey::rsa("k1")]),
            jwks_fetches: AtomicUsize::new(0),
        });
        let served = issuer.clone();
        tokio::spawn(async move {
            loop {
                let Ok((tcp, _)) = listener.accept().await else {
                    continue;
                };
                let acceptor = acceptor.clone();
                let issuer = served.clone();
                tokio::spawn(async move {
                    let Ok(tls) = acceptor.accept(tcp).await else {
                        return;
                    };
                    let svc = service_fn(move |req: Request<hyper::body::Incoming>| {
                        let issuer = issuer.clone();
                        async move { Ok::<_, std::convert::Infallible>(issuer.serve(req.uri().path())) }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(tls), svc)
                        .await;
                });
            }
        });
        issuer
    }

    fn serve(&self, path: &str) -> Response<Full<Bytes>> {
        let body = match path {
            "/.well-known/openid-configuration" => json!({
                "issuer": self.url,
                "jwks_uri": format!("{}/.well-known/jwks", self.url),
                "id_token_signing_alg_values_supported": ["RS256", "ES256"],
                "response_types_supported": ["id_token"],
                "subject_types_supported": ["public"],
            }),
            "/.well-known/jwks" => {
                self.jwks_fetches.fetch_add(1, Ordering::SeqCst);
                let keys = self
                    .keys
                    .lock()
                    .expect("keys")
                    .iter()
                    .map(|k| k.jwk.clone())
                    .collect();
                serde_json::to_value(JwkSet { keys }).expect("jwks")
            }
            _ => {
                return Response::builder()
                    .status(404)
                    .body(Full::new(Bytes::new()))
                    .expect("404");
            }
        };
        Response::builder()
            .header("content-type", "application/json")
            .body(Full::new(Bytes::from(body.to_string())))
            .expect("response")
    }

    /// The current signing key (the newest).
    pub fn key(&self) -> SigningKey {
        self.keys
            .lock()
            .expect("keys")
            .last()
            .cloned()
            .expect("a key")
    }

    /// Rotates: publishes a new key (kept beside the old ones) and signs with it from
    /// now on. Returns it.
    pub fn rotate(&self, new: SigningKey) -> SigningKey {
        self.keys.lock().expect("keys").push(new.clone());
        new
    }

    /// How many times the JWKS was fetched.
    pub fn jwks_fetches(&self) -> usize {
        self.jwks_fetches.load(Ordering::SeqCst)
    }

    /// Signs `claims` with the current key.
    pub fn mint(&self, claims: &Value) -> String {
        self.key().sign(claims)
    }

    /// The claims of a GitHub Actions job token for `repo` (`ORG/REPO`) on `branch`,
    /// issued at `now`, valid for 5 minutes, for audience `aud`.
    pub fn github_claims(&self, repo: &str, branch: &str, aud: &str, now: i64) -> Value {
        let owner = repo.split('/').next().unwrap_or(repo);
        json!({
            "iss": self.url,
            "aud": aud,
            "sub": format!("repo:{repo}:ref:refs/heads/{branch}"),
            "repository": repo,
            "repository_owner": owner,
            "ref": format!("refs/heads/{branch}"),
            "ref_type": "branch",
            "environment": "production",
            "job_workflow_ref": format!("{repo}/.github/workflows/deploy.yml@refs/heads/{branch}"),
            "sha": "2f3d2f6a4b0c7e8e9d1f3a5b7c9e1f2a3b4c5d6e",
            "run_id": "6020712345",
            "event_name": "push",
            "actor": "octocat",
            "iat": now,
            "nbf": now,
            "exp": now + 300,
        })
    }

    /// The claims of a projected service-account token for `namespace`/`name`, for
    /// audience `aud`, issued at `now`, valid for an hour.
    pub fn service_account_claims(
        &self,
        namespace: &str,
        name: &str,
        aud: &str,
        now: i64,
    ) -> Value {
        json!({
            "iss": self.url,
            "aud": [aud],
            "sub": format!("system:serviceaccount:{namespace}:{name}"),
            "kubernetes.io": {
                "namespace": namespace,
                "pod": {"name": format!("{name}-7d9f8b6c5-x2x4q"), "uid": "0b7e3a55-9d7c-4f7b-9f3e-1f3a5b7c9e1f"},
                "serviceaccount": {"name": name, "uid": "5f0e2b7a-3c1d-4e8f-a9b0-c1d2e3f4a5b6"},
            },
            "iat": now,
            "nbf": now,
            "exp": now + 3600,
        })
    }
}
