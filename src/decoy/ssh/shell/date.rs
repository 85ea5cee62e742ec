//! `date` on the fake host, which keeps UTC, in the C locale: the default output, `-u`,
//! `-R`, `-I[TIMESPEC]`, `-d @SECONDS` and `+FORMAT` with GNU date's conversions (those of
//! week numbers are printed as typed). Scripts that size up a host take its clock this way.

use std::fmt::Write as _;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// A time broken down into its calendar fields (UTC).
pub(super) struct Civil {
    pub year: i64,
    /// 1 to 12.
    pub month: u32,
    /// 1 to 31.
    pub day: u32,
    pub hour: u64,
    pub minute: u64,
    pub second: u64,
    /// 0 for Sunday.
    pub weekday: usize,
    /// 1 to 366.
    pub yday: u32,
}

pub(super) const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];
pub(super) const DAYS: [&str; 7] = [
    "Sunday",
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
];

impl Civil {
    /// The calendar fields of `secs` after the epoch (Howard Hinnant's algorithm).
    pub fn of(secs: u64) -> Civil {
        let days = secs / 86_400;
        let rem = secs % 86_400;
        let z = days as i64 + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z - era * 146_097;
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
        let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
        let year = yoe + era * 400 + i64::from(month <= 2);
        let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
        const BEFORE: [u32; 12] = [0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334];
        let yday = BEFORE[month as usize - 1] + day + u32::from(leap && month > 2);
        Civil {
            year,
            month,
            day,
            hour: rem / 3600,
            minute: rem % 3600 / 60,
            second: rem % 60,
            // 1970-01-01 was a Thursday.
            weekday: ((days + 4) % 7) as usize,
            yday,
        }
    }

    fn month_abbr(&self) -> &'static str {
        &MONTHS[self.month as usize - 1][..3]
    }

    fn day_abbr(&self) -> &'static str {
        &DAYS[self.weekday][..3]
    }
}

/// Runs `date ARGS` at `now`: (stdout, stderr, status).
pub(super) fn date(args: &[&str], now: SystemTime) -> (String, String, u32) {
    let mut at = now;
    let mut format: Option<String> = None;
    let mut it = args.iter().copied();
    while let Some(a) = it.next() {
        let given = match a {
            "-u" | "--utc" | "--universal" => continue,
            "-R" | "--rfc-email" => {
                format = Some("%a, %d %b %Y %H:%M:%S %z".into());
                continue;
            }
            "-d" => it.next(),
            a if a.starts_with("--date=") => Some(&a[7..]),
            a if a.starts_with("-d") => Some(&a[2..]),
            a if a == "-I" || a.starts_with("--iso-8601") || a.starts_with("-I") => {
                let spec = a
                    .strip_prefix("--iso-8601")
                    .or_else(|| a.strip_prefix("-I"))
                    .unwrap_or_default()
                    .trim_start_matches('=');
                let f = match spec {
                    "" | "date" => "%F",
                    "hours" => "%FT%H%:z",
                    "minutes" => "%FT%H:%M%:z",
                    "seconds" => "%FT%T%:z",
                    "ns" => "%FT%T,%N%:z",
                    other => {
                        return (
                            String::new(),
                            format!(
                                "date: invalid argument '{other}' for '--iso-8601'\nValid arguments are:\n  - 'hours'\n  - 'minutes'\n  - 'date'\n  - 'seconds'\n  - 'ns'\nTry 'date --help' for more information.\n"
                            ),
                            1,
                        );
                    }
                };
                format = Some(f.into());
                continue;
            }
            a if a.starts_with('+') => {
                format = Some(a[1..].to_string());
                continue;
            }
            a if a.starts_with("--") => {
                return (
                    String::new(),
                    format!(
                        "date: unrecognized option '{a}'\nTry 'date --help' for more information.\n"
                    ),
                    1,
                );
            }
            a if a.starts_with('-') && a.len() > 1 => {
                let c = a[1..].chars().next().unwrap_or('-');
                return (
                    String::new(),
                    format!(
                        "date: invalid option -- '{c}'\nTry 'date --help' for more information.\n"
                    ),
                    1,
                );
            }
            // Setting the clock needs root, and the fake host's clock is not the intruder's.
            a => return (String::new(), format!("date: invalid date '{a}'\n"), 1),
        };
        let Some(given) = given else {
            return (
                String::new(),
                "date: option requires an argument -- 'd'\nTry 'date --help' for more information.\n".into(),
                1,
            );
        };
        match given.strip_prefix('@').and_then(|s| s.parse::<u64>().ok()) {
            Some(secs) => at = UNIX_EPOCH + Duration::from_secs(secs),
            None if given == "now" => at = now,
            None => return (String::new(), format!("date: invalid date '{given}'\n"), 1),
        }
    }
    let format = format.unwrap_or_else(|| "%a %b %e %H:%M:%S %Z %Y".into());
    (format!("{}\n", strftime(&format, at)), String::new(), 0)
}

/// GNU `date`'s conversions over `at` in UTC and the C locale.
pub(super) fn strftime(format: &str, at: SystemTime) -> String {
    let since = at.duration_since(UNIX_EPOCH).unwrap_or_default();
    let c = Civil::of(since.as_secs());
    let mut out = String::new();
    let mut chars = format.chars();
    while let Some(ch) = chars.next() {
        if ch != '%' {
            out.push(ch);
            continue;
        }
        let Some(mut spec) = chars.next() else {
            out.push('%');
            break;
        };
        let colon = spec == ':';
        if colon {
            match chars.clone().next() {
                Some('z') => {
                    chars.next();
                    spec = 'z';
                }
                _ => {
                    out.push_str("%:");
                    continue;
                }
            }
        }
        let twelve = (c.hour + 11) % 12 + 1;
        let _ = match spec {
            'a' => write!(out, "{}", c.day_abbr()),
            'A' => write!(out, "{}", DAYS[c.weekday]),
            'b' | 'h' => write!(out, "{}", c.month_abbr()),
            'B' => write!(out, "{}", MONTHS[c.month as usize - 1]),
            'c' => write!(
                out,
                "{} {} {:>2} {:02}:{:02}:{:02} {}",
                c.day_abbr(),
                c.month_abbr(),
                c.day,
                c.hour,
                c.minute,
                c.second,
                c.year
            ),
            'C' => write!(out, "{:02}", c.year / 100),
            'd' => write!(out, "{:02}", c.day),
            'D' | 'x' => write!(out, "{:02}/{:02}/{:02}", c.month, c.day, c.year % 100),
            'e' => write!(out, "{:>2}", c.day),
            'F' => write!(out, "{}-{:02}-{:02}", c.year, c.month, c.day),
            'H' => write!(out, "{:02}", c.hour),
            'I' => write!(out, "{twelve:02}"),
            'j' => write!(out, "{:03}", c.yday),
            'k' => write!(out, "{:>2}", c.hour),
            'l' => write!(out, "{twelve:>2}"),
            'm' => write!(out, "{:02}", c.month),
            'M' => write!(out, "{:02}", c.minute),
            'n' => writeln!(out),
            'N' => write!(out, "{:09}", since.subsec_nanos()),
            'p' => write!(out, "{}", if c.hour < 12 { "AM" } else { "PM" }),
            'q' => write!(out, "{}", (c.month - 1) / 3 + 1),
            'P' => write!(out, "{}", if c.hour < 12 { "am" } else { "pm" }),
            'r' => write!(
                out,
                "{twelve:02}:{:02}:{:02} {}",
                c.minute,
                c.second,
                if c.hour < 12 { "AM" } else { "PM" }
            ),
            'R' => write!(out, "{:02}:{:02}", c.hour, c.minute),
            's' => write!(out, "{}", since.as_secs()),
            'S' => write!(out, "{:02}", c.second),
            't' => write!(out, "\t"),
            'T' | 'X' => write!(out, "{:02}:{:02}:{:02}", c.hour, c.minute, c.second),
            'u' => write!(out, "{}", if c.weekday == 0 { 7 } else { c.weekday }),
            'w' => write!(out, "{}", c.weekday),
            'y' => write!(out, "{:02}", c.year % 100),
            'Y' => write!(out, "{}", c.year),
            'z' if colon => write!(out, "+00:00"),
            'z' => write!(out, "+0000"),
            'Z' => write!(out, "UTC"),
            '%' => write!(out, "%"),
            other => write!(out, "%{other}"),
        };
        if out.len() > super::MAX_LINE {
            out.truncate(super::floor_char_boundary(&out, super::MAX_LINE));
            break;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prints_as_gnu_date_prints_in_utc_and_the_c_locale() {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs();
        for t in [
            0,
            951_782_400,
            1_709_251_199,
            1_735_689_599,
            1_796_621_553,
            now,
        ] {
            for args in [
                vec![],
                vec!["-u"],
                vec!["-R"],
                vec!["-I"],
                vec!["-Iseconds"],
                vec!["--iso-8601=minutes"],
                vec!["+%s"],
                vec!["+%Y-%m-%d %H:%M:%S %Z %z %:z"],
                vec!["+%a %A %b %B %h %c|%C|%d|%D|%e|%F|%j|%k|%l|%I %p %P|%r|%R|%T|%x|%X"],
                vec!["+%u %w %y %n%t%% %q %:"],
            ] {
                let at = format!("@{t}");
                let fake = date(
                    &[&["-d", at.as_str()], args.as_slice()].concat(),
                    now_time(),
                );
                let real = std::process::Command::new("date")
                    .args(["-d", &at])
                    .args(&args)
                    .env("LC_ALL", "C")
                    .env("TZ", "UTC")
                    .output()
                    .unwrap();
                assert_eq!(
                    (fake.0.as_str(), fake.2),
                    (
                        String::from_utf8_lossy(&real.stdout).as_ref(),
                        real.status.code().unwrap() as u32
                    ),
                    "date -d {at} {args:?}"
                );
            }
        }
        let (_, err, status) = date(&["-x"], now_time());
        assert_eq!(
            (err.as_str(), status),
            (
                "date: invalid option -- 'x'\nTry 'date --help' for more information.\n",
                1
            )
        );
        let (out, _, _) = date(&["+%s"], now_time());
        let shown: u64 = out.trim().parse().unwrap();
        assert!(shown.abs_diff(now) < 5);
    }

    fn now_time() -> SystemTime {
        SystemTime::now()
    }
}
