//! sesame-web
