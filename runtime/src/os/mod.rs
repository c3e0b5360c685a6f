//! What differs between the systems wbox runs on (Linux, macOS, Windows),
//! one small module per concern. Everything else in the runtime is the
//! same code on every system; a `cfg` on the platform belongs here (and on
//! `native`, which is Linux's alone), nowhere else.

pub mod dirs;
pub mod fs;
pub mod platform;
pub mod process;
pub mod stdio;
pub mod watch;
