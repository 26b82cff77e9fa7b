//! A faithful fake of the Optimizely REST API v2.
