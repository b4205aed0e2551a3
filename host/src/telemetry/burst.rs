//! Logging a refusal once per burst: the first of a kind is logged at once, the rest within
//! the window are counted, and the next one after the window says how many were not logged.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Keys tracked at most; older windows are forgotten past this.
const MAX_KEYS: usize = 4096;

pub struct BurstLog {
    window: Duration,
    seen: Mutex<HashMap<String, Burst>>,
}

struct Burst {
    started: Instant,
    suppressed: u64,
}

impl BurstLog {
    pub fn new(window: Duration) -> Self {
        Self { window, seen: Mutex::default() }
    }

    /// Notes one occurrence of `key`. `Some(n)` when it should be logged, `n` being how many
    /// occurrences since the last logged one were not; `None` while its burst goes on.
    pub fn note(&self, key: &str) -> Option<u64> {
        let now = Instant::now();
        let mut seen = self.seen.lock().expect("burst log lock");
        if let Some(burst) = seen.get_mut(key) {
            if now.duration_since(burst.started) < self.window {
                burst.suppressed += 1;
                return None;
            }
            let suppressed = burst.suppressed;
            *burst = Burst { started: now, suppressed: 0 };
            return Some(suppressed);
        }
        if seen.len() >= MAX_KEYS {
            let window = self.window;
            seen.retain(|_, burst| now.duration_since(burst.started) < window);
        }
        seen.insert(key.to_string(), Burst { started: now, suppressed: 0 });
        Some(0)
    }
}

impl Default for BurstLog {
    fn default() -> Self {
        Self::new(Duration::from_secs(10))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_line_per_burst_then_the_count() {
        let log = BurstLog::new(Duration::from_secs(3600));
        assert_eq!(log.note("a"), Some(0));
        assert_eq!(log.note("a"), None);
        assert_eq!(log.note("a"), None);
        assert_eq!(log.note("b"), Some(0), "kinds are separate");
        let log_now = BurstLog::new(Duration::ZERO);
        assert_eq!(log_now.note("a"), Some(0));
        assert_eq!(log_now.note("a"), Some(0), "a new burst after the window");
    }
}
