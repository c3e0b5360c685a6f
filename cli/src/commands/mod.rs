pub mod archive;
pub mod build;
pub mod container;
pub mod copy;
pub mod image;
pub mod network;
pub mod registry;
pub mod run;
#[cfg(unix)]
pub mod service;
pub mod system;
pub mod volume;
