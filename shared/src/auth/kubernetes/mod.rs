//! The Kubernetes auth method (`auth/kubernetes`): a pod logs in with its projected
//! service-account token, which Sigil checks against the cluster's OIDC issuer
//! (discovery and JWKS, e.g. EKS's `https://oidc.eks.REGION.amazonaws.com/id/ID`) or
//! against configured PEM keys — not through the TokenReview API, so Sigil needs no
//! credentials for the cluster. Roles bind service-account names and namespaces
//! (globs) and an audience, as Vault's Kubernetes roles do. Mount names come from
//! `SIGIL_KUBERNETES_MOUNTS` (default `kubernetes`).

pub mod config;
pub mod login;
pub mod role;
