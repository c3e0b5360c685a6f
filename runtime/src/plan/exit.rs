//! How a run ended, the same for wasm and native, with the exit codes
//! Docker users expect and the one wording of why.

use std::time::Duration;

/// How a run ended: its exit code, and why when the code alone does not
/// say.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exit {
    pub code: i32,
    pub reason: Reason,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reason {
    /// It returned or called exit.
    Exited,
    /// It was ended with this signal (or its effect: `stop`, `kill`, Ctrl-C).
    Signaled(i32),
    /// A wasm guest trapped; the message says where and why.
    Trapped(String),
    /// It was still running at the `--timeout` deadline and was stopped.
    TimedOut(Duration),
    /// The kernel killed it for going past `--memory`.
    OomKilled,
    /// wbox failed while it ran.
    Failed(String),
}

impl Exit {
    pub fn exited(code: i32) -> Exit {
        Exit { code, reason: Reason::Exited }
    }

    /// 128 + the signal, as a shell reports it.
    pub fn signaled(signal: i32) -> Exit {
        Exit { code: 128 + signal, reason: Reason::Signaled(signal) }
    }

    /// 134, as for an abort.
    pub fn trapped(message: String) -> Exit {
        Exit { code: 134, reason: Reason::Trapped(message) }
    }

    /// 124, as `timeout(1)` exits.
    pub fn timed_out(after: Duration) -> Exit {
        Exit { code: 124, reason: Reason::TimedOut(after) }
    }

    /// 137, the SIGKILL the kernel sent.
    pub fn oom_killed() -> Exit {
        Exit { code: 137, reason: Reason::OomKilled }
    }

    pub fn failed(e: &crate::Error) -> Exit {
        Exit { code: e.exit_code(), reason: Reason::Failed(e.to_string()) }
    }

    /// What to tell the user about how `program` ended, when its exit code
    /// does not say it all.
    pub fn describe(&self, program: &str) -> Option<String> {
        match &self.reason {
            Reason::Exited | Reason::Signaled(_) => None,
            Reason::Trapped(message) => Some(format!("{program} trapped: {message}")),
            Reason::TimedOut(after) => {
                Some(format!("{program} timed out after {after:?} (--timeout) and was stopped"))
            }
            Reason::OomKilled => Some("killed by the kernel for going past --memory (OOMKilled)".to_owned()),
            Reason::Failed(message) => Some(message.clone()),
        }
    }
}

/// An exit others wait for: set once, by whoever sees the run end.
#[derive(Default)]
pub struct ExitCell {
    exit: std::sync::Mutex<Option<(Exit, std::time::SystemTime)>>,
    changed: std::sync::Condvar,
}

impl ExitCell {
    /// Records the exit, and when; a second one is ignored.
    pub fn set(&self, exit: Exit) {
        let mut slot = self.exit.lock().unwrap_or_else(|e| e.into_inner());
        if slot.is_none() {
            *slot = Some((exit, std::time::SystemTime::now()));
            self.changed.notify_all();
        }
    }

    pub fn get(&self) -> Option<(Exit, std::time::SystemTime)> {
        self.exit.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    pub fn wait(&self) -> (Exit, std::time::SystemTime) {
        let mut slot = self.exit.lock().unwrap_or_else(|e| e.into_inner());
        loop {
            if let Some(ended) = &*slot {
                return ended.clone();
            }
            slot = self.changed.wait(slot).unwrap_or_else(|e| e.into_inner());
        }
    }
}
