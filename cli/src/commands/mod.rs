pub mod run;
pub mod system;
