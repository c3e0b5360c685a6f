pub mod cli;
pub mod clocks;
pub mod http;
pub mod random;
pub mod sockets;
