//! Times for humans: "4m 12s", "expired 3h ago", "2024-06-01T12:00:00Z".

use std::time::{SystemTime, UNIX_EPOCH};

/// Seconds since the Unix epoch, now.
pub(crate) fn now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

/// A span as its two most significant units: `0s`, `42s`, `4m 12s`, `3h`, `2d 5h`, `56y 11d`.
pub(crate) fn span(secs: f64) -> String {
    let total = secs.abs().round();
    if total >= 1e12 {
        return "a very long time".to_owned();
    }
    let total = total as u64;
    let units = [
        (total / 31_536_000, "y"),
        (total % 31_536_000 / 86_400, "d"),
        (total % 86_400 / 3_600, "h"),
        (total % 3_600 / 60, "m"),
        (total % 60, "s"),
    ];
    let Some(first) = units.iter().position(|(n, _)| *n > 0) else {
        return "0s".to_owned();
    };
    let mut out = format!("{}{}", units[first].0, units[first].1);
    if let Some((n, unit)) = units.get(first + 1) {
        if *n > 0 {
            out.push_str(&format!(" {n}{unit}"));
        }
    }
    out
}

/// Which time claim is described.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum TimeClaim {
    Exp,
    Nbf,
    Iat,
}

/// The claim relative to `now`: "expires in 4m 12s", "expired 3h ago", "valid since 5s
/// ago", "not valid for another 2m", "issued 10s ago", "issued 1m in the future".
pub(crate) fn relative(claim: TimeClaim, value: f64, now: f64) -> String {
    let delta = value - now;
    let s = span(delta);
    match (claim, delta > 0.0) {
        (TimeClaim::Exp, true) => format!("expires in {s}"),
        (TimeClaim::Exp, false) => format!("expired {s} ago"),
        (TimeClaim::Nbf, true) => format!("not valid for another {s}"),
        (TimeClaim::Nbf, false) => format!("valid since {s} ago"),
        (TimeClaim::Iat, true) => format!("issued {s} in the future"),
        (TimeClaim::Iat, false) => format!("issued {s} ago"),
    }
}

/// RFC 3339 UTC date-time of a Unix timestamp (whole seconds), or `None` when out of
/// the years 0000-9999.
pub(crate) fn utc(timestamp: f64) -> Option<String> {
    if !timestamp.is_finite() || !(-62_167_219_200.0..253_402_300_800.0).contains(&timestamp) {
        return None;
    }
    let secs = timestamp.floor() as i64;
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    Some(format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    ))
}

/// Days since 1970-01-01 → (year, month, day), proleptic Gregorian (H. Hinnant's algorithm).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spans() {
        assert_eq!(span(0.0), "0s");
        assert_eq!(span(0.4), "0s");
        assert_eq!(span(42.0), "42s");
        assert_eq!(span(252.0), "4m 12s");
        assert_eq!(span(-10_800.0), "3h");
        assert_eq!(span(10_860.0), "3h 1m");
        assert_eq!(span(3.0 * 86_400.0 + 7_200.0 + 5.0), "3d 2h");
        assert_eq!(span(1e15), "a very long time");
        assert_eq!(span(2.0 * 31_536_000.0 + 86_400.0), "2y 1d");
    }

    #[test]
    fn relatives() {
        assert_eq!(
            relative(TimeClaim::Exp, 1252.0, 1000.0),
            "expires in 4m 12s"
        );
        assert_eq!(relative(TimeClaim::Exp, 0.0, 10_800.0), "expired 3h ago");
        assert_eq!(
            relative(TimeClaim::Nbf, 995.0, 1000.0),
            "valid since 5s ago"
        );
        assert_eq!(
            relative(TimeClaim::Nbf, 1120.0, 1000.0),
            "not valid for another 2m"
        );
        assert_eq!(relative(TimeClaim::Iat, 990.0, 1000.0), "issued 10s ago");
    }

    #[test]
    fn dates() {
        assert_eq!(utc(0.0).unwrap(), "1970-01-01T00:00:00Z");
        assert_eq!(utc(951_782_400.0).unwrap(), "2000-02-29T00:00:00Z");
        assert_eq!(utc(1_717_243_200.5).unwrap(), "2024-06-01T12:00:00Z");
        assert_eq!(utc(-1.0).unwrap(), "1969-12-31T23:59:59Z");
        assert_eq!(utc(4_102_444_800.0).unwrap(), "2100-01-01T00:00:00Z");
        assert!(utc(1e20).is_none());
        assert!(utc(f64::NAN).is_none());
    }
}
