//! Short-lived state: flows, sessions, codes and counters. On one node it lives in
//! memory; every key expires.

mod memory;

pub use memory::MemoryState;
