//! `htu` normalisation and matching (SPEC-2 §5.4): a proof's `htu` is compared with the
//! URLs the request can have, built from the configured public base URLs and the request
//! path. Both sides go through [`normalize`]. `Host` and `X-Forwarded-*` are never read.

use std::fmt;

use url::Url;

/// Why a URL cannot be an `htu`. The variant names the rule; the URL itself is never
/// kept (it goes to `tracing` at the call site, if anywhere).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum HtuError {
    /// A control character, a space or a `\`.
    Character,
    /// Not `http://` or `https://` followed by an authority (a protocol-relative
    /// `//host/p` included).
    NotAbsolute,
    /// `user@` or `user:pass@` in the authority.
    Userinfo,
    /// The URL parser refused it (bad host, port over 65535, ...).
    Unparsable,
    /// An authority longer than [`MAX_AUTHORITY`] bytes.
    LongAuthority,
}

/// The longest authority (`host[:port]`) an `htu` may have, in bytes, checked before the
/// URL is parsed and again in the normal form: a DNS name is at most 255 octets (RFC 1035 §2.3.4), plus `:` and a
/// five-digit port. IDNA decodes `xn--` labels in time quadratic in their length, and the
/// URL parser does not bound a host, so a hostile proof with a long punycode host would
/// otherwise cost milliseconds (found by profiling the `htu` fuzz target).
pub(crate) const MAX_AUTHORITY: usize = 255 + 1 + 5;

impl fmt::Display for HtuError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            HtuError::Character => "control character, space or backslash",
            HtuError::NotAbsolute => "not an absolute http(s) URL",
            HtuError::Userinfo => "userinfo",
            HtuError::Unparsable => "not a valid URL",
            HtuError::LongAuthority => "authority too long",
        })
    }
}

impl std::error::Error for HtuError {}

/// The normal form of an `htu` (RFC 9449 §4.3, RFC 3986 §6.2.2–6.2.3):
///
/// 1. refused: control characters, spaces, `\`, anything but an absolute `http`/`https`
///    URL, userinfo, an authority over [`MAX_AUTHORITY`] bytes, a port over 65535;
/// 2. scheme and host lower-cased, IDNA to punycode, IPv6 canonical, default port
///    dropped (leading zeros read as the number), dot segments removed, empty path `/`;
/// 3. query and fragment dropped;
/// 4. in the path, percent-escapes upper-cased, escapes of unreserved characters
///    decoded, everything else kept (`%2F` stays; case and trailing slashes count).
pub(crate) fn normalize(input: &str) -> Result<String, HtuError> {
    if input
        .chars()
        .any(|c| c.is_control() || c.is_whitespace() || c == '\\')
    {
        return Err(HtuError::Character);
    }
    // An absolute URL with an authority: `scheme://`, the scheme http or https.
    let (scheme, rest) = input.split_once("://").ok_or(HtuError::NotAbsolute)?;
    if !(scheme.eq_ignore_ascii_case("http") || scheme.eq_ignore_ascii_case("https")) {
        return Err(HtuError::NotAbsolute);
    }
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    if authority_end == 0 {
        // `https:///me`: no authority (a WHATWG parser would take `me` as the host).
        return Err(HtuError::Unparsable);
    }
    if rest[..authority_end].contains('@') {
        return Err(HtuError::Userinfo);
    }
    if authority_end > MAX_AUTHORITY {
        return Err(HtuError::LongAuthority);
    }
    let url = Url::parse(input).map_err(|_| HtuError::Unparsable)?;
    if !url.username().is_empty() || url.password().is_some() {
        return Err(HtuError::Userinfo);
    }
    let host = url.host_str().ok_or(HtuError::Unparsable)?;
    let mut out = String::with_capacity(input.len());
    out.push_str(url.scheme());
    out.push_str("://");
    out.push_str(host);
    if let Some(port) = url.port() {
        out.push(':');
        out.push_str(&port.to_string());
    }
    // The normal form's authority too (IDNA can lengthen a host), so that the normal
    // form of a URL is itself accepted.
    if out.len() - url.scheme().len() - "://".len() > MAX_AUTHORITY {
        return Err(HtuError::LongAuthority);
    }
    let path = url.path();
    if path.is_empty() {
        out.push('/');
    } else {
        normalize_path(path, &mut out)?;
    }
    Ok(out)
}

/// Step 4: percent-escapes upper-cased, escapes of unreserved characters
/// (`ALPHA DIGIT - . _ ~`) decoded. A `%` that does not start an escape is not a URI
/// (RFC 3986 §2.1) and is refused: kept, it could form an escape with what decoding
/// puts after it (`%%64b` → `%db`), so the normal form would not be a normal form.
fn normalize_path(path: &str, out: &mut String) -> Result<(), HtuError> {
    let bytes = path.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if b == b'%' {
            let hi = bytes.get(i + 1).copied().and_then(hex);
            let lo = bytes.get(i + 2).copied().and_then(hex);
            if let (Some(hi), Some(lo)) = (hi, lo) {
                let decoded = hi << 4 | lo;
                if decoded.is_ascii_alphanumeric() || matches!(decoded, b'-' | b'.' | b'_' | b'~') {
                    out.push(char::from(decoded));
                } else {
                    out.push('%');
                    out.push(char::from(bytes[i + 1].to_ascii_uppercase()));
                    out.push(char::from(bytes[i + 2].to_ascii_uppercase()));
                }
                i += 3;
                continue;
            }
            return Err(HtuError::Unparsable);
        }
        // Not an escape: copy the character (the parser left the path ASCII, but copy
        // whole characters to stay correct whatever it returns).
        let c = path[i..].chars().next().unwrap_or('\u{fffd}');
        out.push(c);
        i += c.len_utf8();
    }
    Ok(())
}

fn hex(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// A configured public base URL (`public_base_url`): scheme, host, port and an optional
/// path prefix, in normal form without a trailing `/`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct BaseUrl {
    /// `scheme://host[:port]` plus the path prefix, normalised, without a trailing `/`.
    prefix: String,
}

impl BaseUrl {
    /// A base URL from configuration: an absolute http(s) URL without userinfo, query
    /// or fragment.
    pub(crate) fn parse(input: &str) -> Result<BaseUrl, String> {
        let url = Url::parse(input.trim()).map_err(|e| format!("must be a URL ({e})"))?;
        if url.query().is_some() || url.fragment().is_some() {
            return Err("must not have a query or a fragment".into());
        }
        let mut prefix = normalize(url.as_str()).map_err(|e| format!("is not usable ({e})"))?;
        while prefix.ends_with('/') {
            prefix.pop();
        }
        Ok(BaseUrl { prefix })
    }

    /// The base URL's normal form (without a trailing `/`).
    pub(crate) fn as_str(&self) -> &str {
        &self.prefix
    }

    /// The URL a request for `path` has behind this base, normalised; `None` when it
    /// does not normalise (a path with a control character, say).
    pub(crate) fn expected(&self, path: &str) -> Option<String> {
        let mut url = String::with_capacity(self.prefix.len() + path.len() + 1);
        url.push_str(&self.prefix);
        if !path.starts_with('/') {
            url.push('/');
        }
        url.push_str(path);
        normalize(&url).ok()
    }
}

/// Whether a proof's `htu` names the request for `path` behind one of `bases`.
///
/// The usual proof's `htu` is, byte for byte, the string [`BaseUrl::expected`]
/// normalises (a base's prefix + the path): both sides would then normalise the same
/// string, so they match as soon as it normalises, which a prefix in normal form
/// followed by a path of unreserved characters and `/` always does. That case is
/// answered without parsing a URL; anything else goes through [`normalize`].
pub(crate) fn matches(htu: &str, path: &str, bases: &[BaseUrl]) -> Result<bool, HtuError> {
    let plain_path = path.starts_with('/')
        && path
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b'/'));
    if plain_path
        && bases
            .iter()
            .any(|b| htu.strip_prefix(b.prefix.as_str()) == Some(path))
    {
        return Ok(true);
    }
    matches_normalized(htu, path, bases)
}

/// [`matches`] by normalising both sides (the reference).
fn matches_normalized(htu: &str, path: &str, bases: &[BaseUrl]) -> Result<bool, HtuError> {
    let htu = normalize(htu)?;
    Ok(bases
        .iter()
        .any(|b| b.expected(path).is_some_and(|e| e == htu)))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Found by the `htu` fuzz target: a stray `%` made the normal form non-idempotent
    /// (`%%64b` → `%db` → `%DB`). Such URLs are refused, on either side of a match.
    #[test]
    fn stray_percent_is_refused() {
        for input in [
            "HTTPS://)4/3afe%%64b",
            "HTTPS://4/3%/a3e6%%46ea%4fb",
            "https://api.example.com/a%",
            "https://api.example.com/a%4",
            "https://api.example.com/a%zz",
        ] {
            assert_eq!(normalize(input), Err(HtuError::Unparsable), "{input}");
        }
        assert_eq!(
            normalize("https://api.example.com/a%25%64").as_deref(),
            Ok("https://api.example.com/a%25d")
        );
        let bases = base("https://api.example.com");
        assert_eq!(
            matches("https://api.example.com/a%zz", "/a%zz", &bases),
            Err(HtuError::Unparsable)
        );
    }

    /// A long `xn--` host would make IDNA decoding cost milliseconds: the authority is
    /// bounded before the URL is parsed. The longest DNS name still normalises.
    #[test]
    fn long_authority_is_refused_before_parsing() {
        for host in [
            format!("xn--{}", "a".repeat(MAX_AUTHORITY)),
            format!("{}.example", "\u{e9}".repeat(200)),
            format!("{}.com", "a.".repeat(MAX_AUTHORITY / 2)),
        ] {
            let url = format!("https://{host}/me");
            assert_eq!(normalize(&url), Err(HtuError::LongAuthority), "{url}");
            assert_eq!(
                matches(&url, "/me", &base("https://api.example.com")),
                Err(HtuError::LongAuthority)
            );
        }
        // Short as typed, too long once IDNA has encoded it (found by the fuzz target:
        // the normal form must be accepted itself).
        let host = format!("{}com", "a\u{fc}.".repeat(60));
        assert!(host.len() < MAX_AUTHORITY);
        let url = format!("https://{host}/me");
        assert_eq!(normalize(&url), Err(HtuError::LongAuthority));
        // 63-octet labels up to a 253-octet name, with a port: still an htu.
        let label = "a".repeat(63);
        let host = format!("{label}.{label}.{label}.{}", "b".repeat(61));
        assert_eq!(host.len(), 253);
        let url = format!("https://{host}:65535/me");
        assert_eq!(normalize(&url).as_deref(), Ok(url.as_str()));
    }

    fn base(s: &str) -> Vec<BaseUrl> {
        vec![BaseUrl::parse(s).unwrap()]
    }

    fn accepted(htu: &str, path: &str, b: &str) -> bool {
        matches(htu, path, &base(b)).unwrap_or(false)
    }

    #[test]
    fn shortcut_agrees_with_normalising_both_sides() {
        let bases = [
            "https://api.example.com",
            "https://API.example.com:443/",
            "http://127.0.0.1:8080/v1/",
            "https://[::1]/a%7e/",
            "https://xn--bcher-kva.example/",
        ];
        let paths = [
            "/",
            "/me",
            "/me/",
            "//me",
            "/a/./b",
            "/a/../../b",
            "/.",
            "/..",
            "/~u_1-2.3",
            "/a%2Fb",
            "/a b",
            "/é",
            "me",
            "",
            "/a?b",
            "/a#b",
        ];
        for b in bases {
            let bases = base(b);
            let prefix = bases[0].as_str().to_owned();
            for path in paths {
                for htu in [
                    format!("{prefix}{path}"),
                    format!("{prefix}/{path}"),
                    format!("{}{path}", prefix.to_uppercase()),
                    format!("{prefix}{path}?q=1"),
                    format!("{prefix}:443{path}"),
                    format!("{prefix}{path}/"),
                    path.to_owned(),
                ] {
                    assert_eq!(
                        matches(&htu, path, &bases),
                        matches_normalized(&htu, path, &bases),
                        "{htu} {path} {b}"
                    );
                }
            }
        }
    }

    #[test]
    fn normal_forms() {
        let cases = [
            ("HTTPS://API.Example.COM/me", "https://api.example.com/me"),
            ("https://api.example.com", "https://api.example.com/"),
            (
                "https://api.example.com:443/me",
                "https://api.example.com/me",
            ),
            (
                "https://api.example.com:0443/me",
                "https://api.example.com/me",
            ),
            ("http://api.example.com:80/me", "http://api.example.com/me"),
            (
                "https://api.example.com:8443/me",
                "https://api.example.com:8443/me",
            ),
            (
                "https://api.example.com/a/./b/../me",
                "https://api.example.com/a/me",
            ),
            (
                "https://api.example.com/%7euser",
                "https://api.example.com/~user",
            ),
            (
                "https://api.example.com/a%2fb",
                "https://api.example.com/a%2Fb",
            ),
            (
                "https://api.example.com/me?x=1#f",
                "https://api.example.com/me",
            ),
            ("https://[0:0:0:0:0:0:0:1]/me", "https://[::1]/me"),
            (
                "https://bücher.example/me",
                "https://xn--bcher-kva.example/me",
            ),
        ];
        for (input, want) in cases {
            assert_eq!(normalize(input).as_deref(), Ok(want), "{input}");
            // Idempotent.
            assert_eq!(normalize(want).as_deref(), Ok(want), "{want}");
        }
    }

    #[test]
    fn refused_forms() {
        let cases = [
            ("//api.example.com/me", HtuError::NotAbsolute),
            ("/me", HtuError::NotAbsolute),
            ("ftp://api.example.com/me", HtuError::NotAbsolute),
            ("javascript://api.example.com/%0a", HtuError::NotAbsolute),
            ("https://user@api.example.com/me", HtuError::Userinfo),
            ("https://user:pw@api.example.com/me", HtuError::Userinfo),
            ("https://@api.example.com/me", HtuError::Userinfo),
            ("https://api.example.com/m e", HtuError::Character),
            (" https://api.example.com/me", HtuError::Character),
            ("https://api.example.com/me\t", HtuError::Character),
            ("https://api.example.com\\me", HtuError::Character),
            ("https://api.example.com/me\u{0085}", HtuError::Character),
            ("https://api.example.com:65536/me", HtuError::Unparsable),
            ("https:///me", HtuError::Unparsable),
        ];
        for (input, want) in cases {
            assert_eq!(normalize(input), Err(want), "{input:?}");
        }
    }

    /// DP8 (the `htu` part): every form of the same URL is accepted.
    #[test]
    fn dp8_equal_forms_are_accepted() {
        let b = "https://api.example.com";
        for htu in [
            "https://api.example.com/me",
            "https://API.EXAMPLE.COM/me",
            "HTTPS://Api.Example.Com/me",
            "https://api.example.com:443/me",
            "https://api.example.com:0443/me",
            "https://api.example.com/x/../me",
            "https://api.example.com/./me",
            "https://api.example.com/me?query=1",
            "https://api.example.com/me#fragment",
            "https://api.example.com/me?q#f",
        ] {
            assert!(accepted(htu, "/me", b), "{htu}");
        }
        assert!(accepted("https://api.example.com/%7euser", "/~user", b));
        assert!(accepted("https://api.example.com/~user", "/%7Euser", b));
        assert!(accepted("https://api.example.com/a%2fb", "/a%2Fb", b));
        assert!(accepted("https://api.example.com/a%2Fb", "/a%2fb", b));
        // IPv6, long and short forms.
        let v6 = "https://[2001:db8::1]:8443";
        assert!(accepted(
            "https://[2001:0db8:0000:0000:0000:0000:0000:0001]:8443/me",
            "/me",
            v6
        ));
        assert!(accepted("https://[2001:DB8::1]:8443/me", "/me", v6));
        // IDN and punycode, either side.
        assert!(accepted(
            "https://xn--bcher-kva.example/me",
            "/me",
            "https://bücher.example"
        ));
        assert!(accepted(
            "https://bücher.example/me",
            "/me",
            "https://xn--bcher-kva.example"
        ));
        assert!(accepted(
            "https://BÜCHER.example/me",
            "/me",
            "https://bücher.example"
        ));
    }

    /// DP9 (the `htu` part; the `Host` header is not an input of this function at all):
    /// every other URL is refused.
    #[test]
    fn dp9_other_urls_are_refused() {
        let b = "https://api.example.com";
        for htu in [
            "http://api.example.com/me",
            "https://api.example.com:8443/me",
            "https://api.example.com:444/me",
            "https://other.example.com/me",
            "https://evil.example/me",
            "https://api.example.com./me",
            "https://api.example.com.evil/me",
            "https://api.example.com.evil.com/me",
            "https://evilapi.example.com/me",
            "https://api.example.co/me",
            "https://api.example.com/ME",
            "https://api.example.com/Me",
            "https://api.example.com/me/",
            "https://api.example.com/me//",
            "https://api.example.com//me",
            "https://api.example.com%2Fme",
            "https://api.example.com/me%2F",
            "https://api.example.com/v2/me",
            "//api.example.com/me",
            "api.example.com/me",
            "/me",
            "https://user@api.example.com/me",
            "https://api.example.com@evil.example/me",
            "https://api.example.com /me",
            "https://api.example.com/ me",
            "https://api.example.com\\me",
            "https://api.example.com:65536/me",
            "https://api.example.com:99999999999/me",
            "https://api.example.com:-1/me",
            "https:/api.example.com/me",
            "https:api.example.com/me",
            "https://api.example.com\t/me",
            "https://api.example.com\u{0}/me",
            "",
            "https://",
        ] {
            assert!(!accepted(htu, "/me", b), "{htu:?}");
        }
        // `%2F` is not `/`, in either direction.
        assert!(!accepted("https://api.example.com/a/b", "/a%2Fb", b));
        assert!(!accepted("https://api.example.com/a%2Fb", "/a/b", b));
        // A path prefix that is not configured, and one that is.
        assert!(!accepted("https://api.example.com/v1/me", "/me", b));
        assert!(accepted(
            "https://api.example.com/v1/me",
            "/me",
            "https://api.example.com/v1"
        ));
        assert!(accepted(
            "https://api.example.com/v1/me",
            "/me",
            "https://api.example.com/v1/"
        ));
        assert!(!accepted(
            "https://api.example.com/me",
            "/me",
            "https://api.example.com/v1"
        ));
        // A request path that tries to climb out of the prefix climbs the expected URL
        // too: both sides are normalised the same way.
        assert!(!accepted(
            "https://api.example.com/v1/me",
            "/../me",
            "https://api.example.com/v1"
        ));
        // A request path that looks like an authority stays a path.
        assert!(!accepted("https://evil.example/x", "//evil.example/x", b));
    }

    #[test]
    fn several_base_urls() {
        let bases = vec![
            BaseUrl::parse("https://api.example.com").unwrap(),
            BaseUrl::parse("https://internal.example:8443/api").unwrap(),
        ];
        assert_eq!(
            matches("https://api.example.com/me", "/me", &bases),
            Ok(true)
        );
        assert_eq!(
            matches("https://internal.example:8443/api/me", "/me", &bases),
            Ok(true)
        );
        assert_eq!(
            matches("https://internal.example/api/me", "/me", &bases),
            Ok(false)
        );
    }

    #[test]
    fn base_urls_from_configuration() {
        assert_eq!(
            BaseUrl::parse("HTTPS://API.example.com:443/")
                .unwrap()
                .as_str(),
            "https://api.example.com"
        );
        assert_eq!(
            BaseUrl::parse("https://api.example.com/v1/")
                .unwrap()
                .as_str(),
            "https://api.example.com/v1"
        );
        assert!(BaseUrl::parse("https://api.example.com/?q").is_err());
        assert!(BaseUrl::parse("https://api.example.com/#f").is_err());
        assert!(BaseUrl::parse("https://u@api.example.com/").is_err());
        assert!(BaseUrl::parse("api.example.com").is_err());
        assert!(BaseUrl::parse("ftp://api.example.com").is_err());
    }
}
