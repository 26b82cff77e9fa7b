//! Typed client for the Optimizely REST API v2.
