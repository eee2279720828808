//! Glob matching as Vault's auth methods use it (`bound_claims_type = "glob"`,
//! Kubernetes service-account bindings): `*` matches any run of characters, including
//! none; every other character matches itself. No other wildcards, no escapes.

/// Whether `value` matches `pattern`, where `*` matches any run of characters.
/// Linear in the input for practical patterns (greedy match with one backtrack point
/// per star, the classic wildcard algorithm), so hostile patterns cannot blow up.
pub fn matches(pattern: &str, value: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let v: Vec<char> = value.chars().collect();
    let (mut pi, mut vi) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while vi < v.len() {
        if pi < p.len() && p[pi] == '*' {
            star = Some((pi, vi));
            pi += 1;
        } else if pi < p.len() && p[pi] == v[vi] {
            pi += 1;
            vi += 1;
        } else if let Some((sp, sv)) = star {
            pi = sp + 1;
            vi = sv + 1;
            star = Some((sp, sv + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

#[cfg(test)]
mod tests {
    use super::matches;

    #[test]
    fn stars_match_any_run() {
        assert!(matches(
            "repo:acme/*:ref:refs/heads/main",
            "repo:acme/api:ref:refs/heads/main"
        ));
        assert!(matches("*", ""));
        assert!(matches("a*b*c", "a-b-b-c"));
        assert!(matches("prod-*", "prod-"));
        assert!(!matches("prod-*", "dev-1"));
        assert!(!matches("a*b", "a-b-c"));
        assert!(!matches("exact", "exactly"));
        assert!(matches("exact", "exact"));
    }

    proptest::proptest! {
        #[test]
        fn a_pattern_without_stars_is_equality(p in "[a-z:/-]{0,12}", v in "[a-z:/-]{0,12}") {
            proptest::prop_assert_eq!(matches(&p, &v), p == v);
        }

        #[test]
        fn a_star_between_parts_matches_anything_between(a in "[a-z]{0,6}", m in "[a-z*]{0,8}", b in "[a-z]{0,6}") {
            let pattern = format!("{a}*{b}");
            let value = format!("{a}{m}{b}");
            proptest::prop_assert!(matches(&pattern, &value));
        }
    }
}
