//! The `sesame` binary's library: configuration, command line, wiring, the demo and the
//! administrative commands. Tests start the real server through [`app`].

pub mod app;
pub mod certification;
pub mod cli;
pub mod commands;
pub mod config;
pub mod demo;
pub mod hashing;
pub mod import;
pub mod invite;
