//! sesame-testkit
