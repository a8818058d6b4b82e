//! berth-trust: containers-policy.json, signature verification and signing.
//!
//! Not built yet (see the trust issue). It will be the only place that turns an unverified
//! image into a verified one.
