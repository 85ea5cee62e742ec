//! Scoring: pure rules that turn the touches of a window into a verdict (identity, score
//! 0-100, level none/low/medium/high, reasons in words).
//!
//! Not built yet. Nothing in the daemon scores touches today; touches are recorded and shown
//! by `decoyd events`, and no identity level is ever computed or claimed.
