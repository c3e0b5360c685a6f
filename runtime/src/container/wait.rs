//! Waiting for a container as Docker's API offers it: until it no longer
//! runs, until its next exit, or until it is removed. What ended it is read
//! from the events its supervisor records, so that a container removed as
//! it ends (`--rm`) still tells its exit code.

use std::time::Duration;

use super::{Container, Containers};
use crate::events::Events;
use crate::os::watch::Watch;
use crate::{Error, Result};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WaitCondition {
    /// Returns at once when it does not run (Docker's default).
    NotRunning,
    /// Waits for the end of its next run, even if it has not started.
    NextExit,
    /// Waits until it is removed.
    Removed,
}

impl WaitCondition {
    pub fn parse(text: &str) -> Result<WaitCondition> {
        match text {
            "" | "not-running" => Ok(WaitCondition::NotRunning),
            "next-exit" => Ok(WaitCondition::NextExit),
            "removed" => Ok(WaitCondition::Removed),
            other => Err(Error::usage(format!(
                "invalid condition: \"{other}\"; use not-running, next-exit or removed"
            ))),
        }
    }
}

/// How long a waiter waits for a change in the events or the container's
/// directory (see `os::watch`) before it looks again anyway.
const AT_MOST: Duration = Duration::from_millis(50);

impl Containers {
    /// Waits for `condition`; returns the exit code of the container's last
    /// run (0 when it never ran).
    pub fn wait_for(&self, name_or_id: &str, condition: WaitCondition) -> Result<i32> {
        // Read from before the state is looked at: nothing is missed between.
        let mut events = Events::from_now(self.root());
        let mut container = self.lookup(name_or_id)?;
        let watch = Watch::new(&[self.root(), &container.dir]);
        let id = container.id().to_owned();
        let mut code = container.state.exit_code.unwrap_or(0);
        // Seen running now: ended as soon as it no longer is (its "die" may
        // have come before the events were opened).
        let mut seen_running = container.runner_pid().is_some();
        if condition == WaitCondition::NotRunning && !seen_running {
            return Ok(code);
        }
        loop {
            for event in events.next_batch().into_iter().filter(|e| e.actor.id == id) {
                match event.action.as_str() {
                    "die" => {
                        code =
                            event.actor.attributes.get("exitCode").and_then(|c| c.parse().ok()).unwrap_or(0);
                        if condition != WaitCondition::Removed {
                            // Ended once its runner is gone too, as Docker's
                            // wait answers: a `rm` then finds it stopped.
                            while container.runner_pid().is_some() {
                                watch.wait(AT_MOST);
                            }
                            return Ok(code);
                        }
                    }
                    "destroy" => return Ok(code),
                    _ => {}
                }
            }
            // A supervisor killed outright records no "die": its lock tells.
            if condition != WaitCondition::Removed {
                let running = container.runner_pid().is_some();
                if seen_running && !running {
                    return ended(&mut container);
                }
                seen_running |= running;
            }
            watch.wait(AT_MOST);
        }
    }
}

fn ended(container: &mut Container) -> Result<i32> {
    container.reload()?;
    Ok(container.state.exit_code.unwrap_or(137))
}
