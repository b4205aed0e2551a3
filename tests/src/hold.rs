//! Holds a fake gateway's requests until the test releases them, and counts the ones that
//! arrived, so a test can have requests in flight at a moment it chooses.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;

#[derive(Clone)]
pub struct Hold {
    holding: Arc<watch::Sender<bool>>,
    arrived: Arc<watch::Sender<usize>>,
}

impl Default for Hold {
    fn default() -> Self {
        Self { holding: Arc::new(watch::channel(false).0), arrived: Arc::new(watch::channel(0).0) }
    }
}

impl Hold {
    /// Requests from now on wait in [`Hold::pass`] until [`Hold::release`].
    pub fn hold(&self) {
        self.holding.send_replace(true);
    }

    /// Lets every waiting request (and every later one) through.
    pub fn release(&self) {
        self.holding.send_replace(false);
    }

    /// Called by a handler: counts the request, then waits while held.
    pub async fn pass(&self) {
        self.arrived.send_modify(|n| *n += 1);
        let mut holding = self.holding.subscribe();
        let _ = holding.wait_for(|held| !*held).await;
    }

    /// Waits (at most 20 s) until `count` requests have arrived.
    pub async fn arrived(&self, count: usize) {
        let mut arrived = self.arrived.subscribe();
        tokio::time::timeout(Duration::from_secs(20), arrived.wait_for(|n| *n >= count))
            .await
            .unwrap_or_else(|_| panic!("{count} requests never reached the fake gateway"))
            .expect("the hold lives as long as the fake");
    }
}
