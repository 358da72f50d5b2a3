//! sesame-core
