//! How an idle apalis worker looks for new tasks.
//!
//! apalis 1.0's `IntervalStrategy` loses its timer: when its delay fires it puts a new,
//! never-polled delay in its place, and if the fetch that follows comes back empty in
//! the same poll (the fetch finished while the worker was being woken) the worker parks
//! with no timer armed. Nothing then wakes it until its next heartbeat, so a job pushed
//! to an idle worker could wait a whole heartbeat (1.9 s of a 2 s beat was seen).
//! [`RearmingInterval`] always leaves a registered timer behind.

use std::{
    task::{Context, Poll},
    time::Duration,
};

use apalis::prelude::{PollSnapshot, PollStrategy};
use tokio::time::{Instant, Interval, MissedTickBehavior};

/// Wakes the worker every `period`, re-arming its timer on every poll.
#[derive(Debug)]
pub struct RearmingInterval {
    period: Duration,
    timer: Option<Interval>,
}

impl RearmingInterval {
    /// A strategy that wakes the worker every `period` (at least 1 ms).
    pub fn new(period: Duration) -> Self {
        Self { period: period.max(Duration::from_millis(1)), timer: None }
    }
}

impl Clone for RearmingInterval {
    fn clone(&self) -> Self {
        Self::new(self.period)
    }
}

impl PollStrategy for RearmingInterval {
    fn poll_drive(&mut self, cx: &mut Context<'_>, _snapshot: &PollSnapshot) -> Poll<Option<()>> {
        // created lazily: a tokio timer needs the runtime, which exists once polled
        let period = self.period;
        let timer = self.timer.get_or_insert_with(|| {
            let mut timer = tokio::time::interval_at(Instant::now() + period, period);
            timer.set_missed_tick_behavior(MissedTickBehavior::Delay);
            timer
        });
        let mut fired = false;
        // poll until Pending: that is what registers the waker for the next tick
        while timer.poll_tick(cx).is_ready() {
            fired = true;
        }
        if fired {
            Poll::Ready(Some(()))
        } else {
            Poll::Pending
        }
    }
}
