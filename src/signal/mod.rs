//! Signals: signed Security Event Tokens pushed over the OpenID Shared Signals Framework to
//! Okta and other receivers, from a durable outbox.
//!
//! Not built yet. The daemon sends nothing anywhere today; a decoy never opens an outbound
//! connection.
