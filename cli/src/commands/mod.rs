pub mod build;
pub mod container;
pub mod image;
pub mod run;
pub mod system;
