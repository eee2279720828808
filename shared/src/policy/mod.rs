//! Vault ACL policies: parsing (HCL and JSON), compilation, evaluation.
//! (Being written; see parse.rs and acl.rs.)
