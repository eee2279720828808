//! Renewal TTLs by Vault's rule, shared by tokens and leases: the new TTL counts from
//! now and is what was asked for, capped by what remains until the max TTL.

use crate::http::params::MAX_DURATION_SECS;

/// What a renewal grants.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Renewal {
    /// Seconds from now.
    pub ttl: i64,
    /// Warnings for the response (the request was capped).
    pub warnings: Vec<String>,
}

/// `wanted` seconds from `now`, at most [`MAX_DURATION_SECS`], capped so that
/// `now + ttl <= max_expire_at` (`max_expire_at` 0: no cap), with Vault's warning when
/// capped.
pub fn capped(wanted: i64, now: i64, max_expire_at: i64) -> Renewal {
    let wanted = wanted.min(MAX_DURATION_SECS);
    if max_expire_at > 0 && now.saturating_add(wanted) > max_expire_at {
        let ttl = (max_expire_at - now).max(0);
        Renewal {
            ttl,
            warnings: vec![format!(
                "TTL of \"{wanted}s\" exceeded the effective max_ttl of \"{ttl}s\"; TTL value is capped accordingly"
            )],
        }
    } else {
        Renewal {
            ttl: wanted,
            warnings: Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn caps() {
        assert_eq!(
            capped(100, 0, 50),
            Renewal {
                ttl: 50,
                warnings: capped(100, 0, 50).warnings
            }
        );
        assert_eq!(capped(100, 0, 50).warnings.len(), 1);
        assert_eq!(
            capped(10, 0, 50),
            Renewal {
                ttl: 10,
                warnings: vec![]
            }
        );
        assert_eq!(capped(i64::MAX, 0, 0).ttl, MAX_DURATION_SECS);
        assert_eq!(capped(10, 60, 50).ttl, 0);
    }
}
