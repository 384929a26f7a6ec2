//! Stateless DPoP nonces (RFC 9449 §9, SPEC-2 §5.7).
//!
//! `nonce = base64url(version ‖ window_be_u64 ‖ HMAC-SHA-256(secret, version ‖ window ‖ ns)[..16])`
//! with `window = unix_time / lifetime` and `ns` the SHA-256 of the first public base
//! URL. A nonce of the current or the previous window is valid; any replica holding the
//! same secret issues and accepts the same nonces, and a nonce minted for another
//! service sharing the secret (another `ns`) is refused.

use std::fmt;
use std::time::Duration;

use aws_lc_rs::{constant_time, digest, hmac, rand};
use http::HeaderValue;

use crate::error::ConfigError;

/// The nonce format version (the first byte).
const VERSION: u8 = 1;
/// Bytes of the HMAC kept in a nonce.
const TAG_LEN: usize = 16;
/// version + window + tag.
const RAW_LEN: usize = 1 + 8 + TAG_LEN;
/// The base64url length of a nonce (25 bytes → 34 characters).
const ENCODED_LEN: usize = (RAW_LEN * 4).div_ceil(3);
/// The shortest secret accepted (`dpop_nonce_secret`).
pub const MIN_SECRET_LEN: usize = 32;

/// How a proof's `nonce` compares with the nonces this server issues.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum NonceCheck {
    /// A nonce of the current window.
    Current,
    /// A valid nonce of the previous window: accepted, and a fresh nonce should go with
    /// the response.
    Previous,
    /// Missing, malformed, forged, for another service, or older than the previous window.
    Invalid,
}

/// Issues and checks nonces for one service (one `ns`).
#[derive(Clone)]
pub(crate) struct Nonces {
    key: hmac::Key,
    lifetime_secs: u64,
    ns: [u8; 32],
    /// Whether the secret was drawn at random by this process (not shared).
    random_secret: bool,
}

impl fmt::Debug for Nonces {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Nonces")
            .field("lifetime_secs", &self.lifetime_secs)
            .field("random_secret", &self.random_secret)
            .finish_non_exhaustive()
    }
}

impl Nonces {
    /// Nonces with `secret` (at least 32 bytes; `None` draws a random one for this
    /// process), a window of `lifetime` (1 to 600 s), for the service whose first public
    /// base URL is `first_base_url` (its normal form).
    pub(crate) fn new(
        secret: Option<&[u8]>,
        lifetime: Duration,
        first_base_url: &str,
    ) -> Result<Nonces, ConfigError> {
        let lifetime_secs = lifetime.as_secs();
        if lifetime.subsec_nanos() != 0 || !(1..=600).contains(&lifetime_secs) {
            return Err(ConfigError::new(
                "dpop_nonce_lifetime",
                "must be a whole number of seconds in [1, 600]",
            ));
        }
        let (key, random_secret) = match secret {
            Some(s) if s.len() < MIN_SECRET_LEN => {
                return Err(ConfigError::new(
                    "dpop_nonce_secret",
                    format!("must be at least {MIN_SECRET_LEN} bytes"),
                ))
            }
            Some(s) => (hmac::Key::new(hmac::HMAC_SHA256, s), false),
            None => {
                let key = hmac::Key::generate(hmac::HMAC_SHA256, &rand::SystemRandom::new())
                    .map_err(|_| {
                        ConfigError::new("dpop_nonce_secret", "could not draw a random secret")
                    })?;
                (key, true)
            }
        };
        let mut ns = [0u8; 32];
        ns.copy_from_slice(digest::digest(&digest::SHA256, first_base_url.as_bytes()).as_ref());
        Ok(Nonces {
            key,
            lifetime_secs,
            ns,
            random_secret,
        })
    }

    /// Whether the secret is this process's own random one (nonces are then not
    /// accepted by other replicas).
    pub(crate) fn has_random_secret(&self) -> bool {
        self.random_secret
    }

    fn window(&self, unix_time: f64) -> u64 {
        // `as` saturates: a time before the epoch is window 0.
        (unix_time.max(0.0) as u64) / self.lifetime_secs
    }

    fn tag(&self, window: u64) -> hmac::Tag {
        let mut ctx = hmac::Context::with_key(&self.key);
        ctx.update(&[VERSION]);
        ctx.update(&window.to_be_bytes());
        ctx.update(&self.ns);
        ctx.sign()
    }

    fn encode(&self, window: u64) -> String {
        let mut raw = [0u8; RAW_LEN];
        raw[0] = VERSION;
        raw[1..9].copy_from_slice(&window.to_be_bytes());
        raw[9..].copy_from_slice(&self.tag(window).as_ref()[..TAG_LEN]);
        crate::b64::encode(raw)
    }

    /// The nonce of the current window.
    pub(crate) fn current(&self, unix_time: f64) -> String {
        self.encode(self.window(unix_time))
    }

    /// The nonce of the current window as a `DPoP-Nonce` header value.
    pub(crate) fn current_header(&self, unix_time: f64) -> HeaderValue {
        HeaderValue::try_from(self.current(unix_time))
            .expect("a base64url nonce is a valid header value")
    }

    /// Checks a proof's `nonce` claim.
    pub(crate) fn check(&self, nonce: &str, unix_time: f64) -> NonceCheck {
        if nonce.len() != ENCODED_LEN {
            return NonceCheck::Invalid;
        }
        let mut buf = [0u8; RAW_LEN + 2];
        let raw = match crate::b64::decode_slice(nonce.as_bytes(), &mut buf) {
            Some(Ok(raw)) if raw.len() == RAW_LEN => raw,
            _ => return NonceCheck::Invalid,
        };
        if raw[0] != VERSION {
            return NonceCheck::Invalid;
        }
        let mut window = [0u8; 8];
        window.copy_from_slice(&raw[1..9]);
        let window = u64::from_be_bytes(window);
        let now = self.window(unix_time);
        let which = if window == now {
            NonceCheck::Current
        } else if now.checked_sub(1) == Some(window) {
            NonceCheck::Previous
        } else {
            return NonceCheck::Invalid;
        };
        let tag = self.tag(window);
        match constant_time::verify_slices_are_equal(&tag.as_ref()[..TAG_LEN], &raw[9..RAW_LEN]) {
            Ok(()) => which,
            Err(_) => NonceCheck::Invalid,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &[u8] = b"0123456789abcdef0123456789abcdef";
    const BASE: &str = "https://api.example.com";

    fn nonces(secret: &[u8], base: &str) -> Nonces {
        Nonces::new(Some(secret), Duration::from_secs(60), base).unwrap()
    }

    #[test]
    fn windows() {
        let n = nonces(SECRET, BASE);
        let t = 1_800_000_000.0;
        let nonce = n.current(t);
        assert_eq!(nonce.len(), ENCODED_LEN);
        assert_eq!(n.check(&nonce, t), NonceCheck::Current);
        assert_eq!(n.check(&nonce, t + 60.0), NonceCheck::Previous);
        assert_eq!(n.check(&nonce, t + 120.0), NonceCheck::Invalid);
        // A nonce from the future is not valid either.
        assert_eq!(n.check(&nonce, t - 60.0), NonceCheck::Invalid);
    }

    #[test]
    fn shared_secret_other_service_other_secret() {
        let t = 1_800_000_000.0;
        let a = nonces(SECRET, BASE);
        let replica = nonces(SECRET, BASE);
        assert_eq!(replica.check(&a.current(t), t), NonceCheck::Current);
        let other_service = nonces(SECRET, "https://other.example.com");
        assert_eq!(other_service.check(&a.current(t), t), NonceCheck::Invalid);
        let other_secret = nonces(b"another secret of thirty-two bytes!", BASE);
        assert_eq!(other_secret.check(&a.current(t), t), NonceCheck::Invalid);
        let random = Nonces::new(None, Duration::from_secs(60), BASE).unwrap();
        assert!(random.has_random_secret());
        assert_eq!(random.check(&a.current(t), t), NonceCheck::Invalid);
    }

    #[test]
    fn forged_and_malformed() {
        let n = nonces(SECRET, BASE);
        let t = 1_800_000_000.0;
        let good = n.current(t);
        let mut raw = crate::b64::decode(good.as_bytes()).unwrap();
        raw[RAW_LEN - 1] ^= 1;
        assert_eq!(n.check(&crate::b64::encode(&raw), t), NonceCheck::Invalid);
        let mut raw = crate::b64::decode(good.as_bytes()).unwrap();
        raw[0] = 2;
        assert_eq!(n.check(&crate::b64::encode(&raw), t), NonceCheck::Invalid);
        for bad in [
            "",
            "x",
            &good[1..],
            &format!("{good}A"),
            &format!("{}=", &good[..33]),
        ] {
            assert_eq!(n.check(bad, t), NonceCheck::Invalid, "{bad:?}");
        }
    }

    #[test]
    fn configuration_rules() {
        let short = Nonces::new(Some(&[0u8; 16]), Duration::from_secs(60), BASE).unwrap_err();
        assert_eq!(short.field(), "dpop_nonce_secret");
        for lifetime in [0, 601] {
            let err = Nonces::new(Some(SECRET), Duration::from_secs(lifetime), BASE).unwrap_err();
            assert_eq!(err.field(), "dpop_nonce_lifetime");
        }
    }
}
