//! sesame-state
