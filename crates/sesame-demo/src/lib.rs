//! sesame-demo
