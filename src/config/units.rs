//! Human units in config values: durations (`250ms`, `10s`, `30d`), byte sizes (`16KiB`,
//! `256MiB`) and delay ranges (`200ms..600ms`). Each parser returns a message that says what
//! was expected, for the caller to place at the value's position.

use std::time::Duration;

/// A delay drawn uniformly from `min..=max` each time it is used.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DelayRange {
    /// Shortest delay.
    pub min: Duration,
    /// Longest delay.
    pub max: Duration,
}

impl DelayRange {
    /// No delay at all (tests and benchmarks).
    pub const ZERO: DelayRange = DelayRange {
        min: Duration::ZERO,
        max: Duration::ZERO,
    };

    /// Picks one delay from the range.
    pub fn sample(&self) -> Duration {
        if self.max <= self.min {
            return self.min;
        }
        let span = (self.max - self.min).as_micros() as u64;
        self.min + Duration::from_micros(rand::random_range(0..=span))
    }
}

/// Parses a duration such as `250ms`, `10s`, `5m`, `30d` or `0`.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let t = text.trim();
    if t == "0" {
        return Ok(Duration::ZERO);
    }
    humantime::parse_duration(t).map_err(|_| {
        format!(
            "invalid duration {t:?}: expected a number and a unit, like 250ms, 10s, 5m, 12h or 30d"
        )
    })
}

/// Parses a delay range `MIN..MAX` (both durations) or a single fixed duration.
pub fn parse_delay_range(text: &str) -> Result<DelayRange, String> {
    match text.split_once("..") {
        Some((a, b)) => {
            let min = parse_duration(a)?;
            let max = parse_duration(b)?;
            if max < min {
                return Err(format!(
                    "invalid delay range {:?}: the upper bound is below the lower bound",
                    text.trim()
                ));
            }
            Ok(DelayRange { min, max })
        }
        None => {
            let d = parse_duration(text)?;
            Ok(DelayRange { min: d, max: d })
        }
    }
}

/// Parses a byte size: a plain number of bytes, or a number with `B`, `KiB`, `MiB`, `GiB`
/// (powers of 1024) or `KB`, `MB`, `GB` (powers of 1000).
pub fn parse_size(text: &str) -> Result<u64, String> {
    let t = text.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let bad = || {
        format!(
            "invalid size {t:?}: expected a number of bytes, or a number with a unit, like 64KiB, 256MiB or 1GiB"
        )
    };
    let n: u64 = num.parse().map_err(|_| bad())?;
    let mult: u64 = match unit.trim() {
        "" | "B" => 1,
        "KiB" | "K" => 1 << 10,
        "MiB" | "M" => 1 << 20,
        "GiB" | "G" => 1 << 30,
        "TiB" => 1 << 40,
        "KB" | "kB" => 1_000,
        "MB" => 1_000_000,
        "GB" => 1_000_000_000,
        "TB" => 1_000_000_000_000,
        _ => return Err(bad()),
    };
    n.checked_mul(mult).ok_or_else(bad)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("250ms").unwrap(), Duration::from_millis(250));
        assert_eq!(
            parse_duration("30d").unwrap(),
            Duration::from_secs(30 * 86400)
        );
        assert_eq!(parse_duration("0").unwrap(), Duration::ZERO);
        assert!(
            parse_duration("soon")
                .unwrap_err()
                .contains("expected a number and a unit")
        );
        assert!(parse_duration("10").is_err());
    }

    #[test]
    fn sizes() {
        assert_eq!(parse_size("16KiB").unwrap(), 16 * 1024);
        assert_eq!(parse_size("1GiB").unwrap(), 1 << 30);
        assert_eq!(parse_size("4096").unwrap(), 4096);
        assert_eq!(parse_size("2MB").unwrap(), 2_000_000);
        assert!(parse_size("lots").is_err());
        assert!(parse_size("99999999999999999999GiB").is_err());
        assert!(parse_size("1.5GiB").is_err());
    }

    #[test]
    fn delay_ranges() {
        let r = parse_delay_range("200ms..600ms").unwrap();
        assert_eq!(r.min, Duration::from_millis(200));
        assert_eq!(r.max, Duration::from_millis(600));
        for _ in 0..100 {
            let s = r.sample();
            assert!(s >= r.min && s <= r.max);
        }
        assert_eq!(parse_delay_range("0").unwrap(), DelayRange::ZERO);
        assert!(
            parse_delay_range("600ms..200ms")
                .unwrap_err()
                .contains("upper bound")
        );
        assert!(parse_delay_range("1s..x").is_err());
    }
}
