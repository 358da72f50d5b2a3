//! sesame-store
