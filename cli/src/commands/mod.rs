pub mod archive;
pub mod build;
pub mod container;
pub mod image;
pub mod registry;
pub mod run;
pub mod system;
pub mod volume;
