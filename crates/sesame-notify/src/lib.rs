//! sesame-notify
