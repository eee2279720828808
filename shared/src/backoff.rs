//! Jittered exponential backoff between retries of a conditional write that lost a
//! race (or was throttled): 5 ms doubling per attempt up to 160 ms, plus up to the
//! same again at random, so that racing writers spread out instead of colliding again.

use crate::crypto;

/// The pause before retry number `attempt` (0-based).
pub fn delay(attempt: u32) -> std::time::Duration {
    let base = 5u64 << attempt.min(5);
    let jitter = crypto::random_bytes(2)
        .map(|b| u64::from(u16::from_le_bytes([b[0], b[1]])) % (base + 1))
        .unwrap_or(0);
    std::time::Duration::from_millis(base + jitter)
}

/// Sleeps [`delay`]`(attempt)`.
pub async fn pause(attempt: u32) {
    tokio::time::sleep(delay(attempt)).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_grow_and_stay_bounded() {
        for attempt in 0..10 {
            let base = 5u64 << attempt.min(5);
            let d = delay(attempt).as_millis() as u64;
            assert!((base..=2 * base).contains(&d), "{attempt}: {d} ms");
        }
    }
}
