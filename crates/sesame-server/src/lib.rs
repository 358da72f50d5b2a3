//! sesame-server
