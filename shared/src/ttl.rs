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
                "TTL of {:?} exceeded the effective max_ttl of {:?}; TTL value is capped accordingly",
                human(wanted),
                human(ttl)
            )],
        }
    } else {
        Renewal {
            ttl: wanted,
            warnings: Vec::new(),
        }
    }
}

/// A duration as Vault's warnings print it (Go's `time.Duration` without zero
/// elements, `humanDuration` in `sdk/framework/lease.go`): `1h`, `30m`, `1h0m5s`,
/// `0s`.
pub fn human(secs: i64) -> String {
    if secs == 0 {
        return "0s".to_owned();
    }
    let (h, m, s) = (secs / 3600, secs % 3600 / 60, secs % 60);
    let mut out = String::new();
    if h != 0 {
        out.push_str(&format!("{h}h"));
    }
    if h != 0 && s != 0 || m != 0 {
        out.push_str(&format!("{m}m"));
    }
    if s != 0 {
        out.push_str(&format!("{s}s"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn human_durations_as_vault() {
        for (secs, want) in [
            (0, "0s"),
            (5, "5s"),
            (90, "1m30s"),
            (1800, "30m"),
            (3600, "1h"),
            (3605, "1h0m5s"),
            (5400, "1h30m"),
            (2_764_800, "768h"),
        ] {
            assert_eq!(human(secs), want, "{secs}");
        }
    }

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
