//! A strict parser for one `WWW-Authenticate` field value (RFC 9110 §11.6.1), so
//! tests can assert the structure of a challenge and not only its bytes.
//!
//! Grammar (RFC 9110 §11.3, §11.6.1, §5.6):
//!
//! ```text
//! WWW-Authenticate = 1#challenge
//! challenge        = auth-scheme [ 1*SP ( token68 / #auth-param ) ]
//! auth-param       = token BWS "=" BWS ( token / quoted-string )
//! token68          = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="
//! ```
//!
//! Stricter than a lenient recipient, as befits a checker of what a server sends:
//! empty list elements (`a, , b` or a trailing comma), leading or trailing
//! whitespace, a parameter named twice in one challenge (names compare
//! case-insensitively, RFC 9110 §11.2), control characters and unterminated
//! quoted strings are all refused, with the byte offset where parsing stopped.
//! Quoted values are returned unescaped (`\"` becomes `"`), and must be UTF-8.
//! Note that by this grammar `Bearer realm=` is a challenge with the token68
//! `realm=`, not a parameter without a value.
//!
//! ```
//! use verifier_testkit::conformance::challenge_parser::parse;
//!
//! let challenges = parse(r#"Bearer realm="api", error="invalid_token", Basic realm="x""#).unwrap();
//! assert_eq!(challenges.len(), 2);
//! assert_eq!(challenges[0].scheme(), "Bearer");
//! assert_eq!(challenges[0].param("ERROR"), Some("invalid_token"));
//! assert_eq!(challenges[1].param("realm"), Some("x"));
//!
//! let err = parse(r#"Bearer realm="a", realm="b""#).unwrap_err();
//! assert_eq!(err.offset(), 18);
//! ```

use std::fmt;

/// One challenge: an auth-scheme with either a token68 or auth-params (or neither).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Challenge {
    scheme: String,
    token68: Option<String>,
    params: Vec<(String, String)>,
}

impl Challenge {
    /// The auth-scheme, as sent (schemes compare case-insensitively).
    ///
    /// ```
    /// # use verifier_testkit::conformance::challenge_parser::parse;
    /// assert_eq!(parse("DPoP algs=\"ES256\"").unwrap()[0].scheme(), "DPoP");
    /// ```
    pub fn scheme(&self) -> &str {
        &self.scheme
    }

    /// The token68, if the challenge carries one instead of auth-params.
    ///
    /// ```
    /// # use verifier_testkit::conformance::challenge_parser::parse;
    /// assert_eq!(parse("Negotiate a87421000492aa874209af8bc028==").unwrap()[0].token68(),
    ///            Some("a87421000492aa874209af8bc028=="));
    /// ```
    pub fn token68(&self) -> Option<&str> {
        self.token68.as_deref()
    }

    /// The auth-params in order: names as sent, values unquoted and unescaped.
    ///
    /// ```
    /// # use verifier_testkit::conformance::challenge_parser::parse;
    /// let c = &parse(r#"Bearer realm="a \"b\"", scope=read"#).unwrap()[0];
    /// assert_eq!(c.params(), [("realm".to_owned(), r#"a "b""#.to_owned()),
    ///                         ("scope".to_owned(), "read".to_owned())]);
    /// ```
    pub fn params(&self) -> &[(String, String)] {
        &self.params
    }

    /// The value of the auth-param with this name (compared case-insensitively).
    ///
    /// ```
    /// # use verifier_testkit::conformance::challenge_parser::parse;
    /// let c = &parse(r#"Bearer Realm="api""#).unwrap()[0];
    /// assert_eq!(c.param("realm"), Some("api"));
    /// assert_eq!(c.param("error"), None);
    /// ```
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// Why a value is not a valid `WWW-Authenticate` field value, and where.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseError {
    offset: usize,
    reason: String,
}

impl ParseError {
    /// Byte offset in the value where parsing stopped.
    ///
    /// ```
    /// # use verifier_testkit::conformance::challenge_parser::parse;
    /// assert_eq!(parse("Bearer realm=\"open").unwrap_err().offset(), 13);
    /// ```
    pub fn offset(&self) -> usize {
        self.offset
    }

    /// What was wrong there.
    ///
    /// ```
    /// # use verifier_testkit::conformance::challenge_parser::parse;
    /// assert!(parse("").unwrap_err().reason().contains("empty"));
    /// ```
    pub fn reason(&self) -> &str {
        &self.reason
    }
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "invalid WWW-Authenticate value at byte {}: {}",
            self.offset, self.reason
        )
    }
}

impl std::error::Error for ParseError {}

/// Parses one `WWW-Authenticate` field value into its challenges (at least one).
/// Takes anything byte-like: `&str`, `&[u8]`, or an `http::HeaderValue`.
///
/// ```
/// use verifier_testkit::conformance::challenge_parser::parse;
///
/// let c = parse("Bearer").unwrap();
/// assert_eq!((c[0].scheme(), c[0].params().len()), ("Bearer", 0));
/// assert!(parse(r#"Bearer realm="api" error="x""#).is_err()); // missing comma
/// ```
///
/// # Errors
///
/// A [`ParseError`] at the first byte that breaks the grammar or a strictness
/// rule (see the [module documentation](self)).
pub fn parse(value: impl AsRef<[u8]>) -> Result<Vec<Challenge>, ParseError> {
    let input = value.as_ref();
    let mut parser = Parser { input, pos: 0 };
    if input.is_empty() {
        return Err(parser.error("empty value"));
    }
    if is_ows(input[0]) {
        return Err(parser.error("leading whitespace"));
    }
    if is_ows(input[input.len() - 1]) {
        parser.pos = input.len() - 1;
        return Err(parser.error("trailing whitespace"));
    }
    let mut challenges = Vec::new();
    loop {
        let (challenge, more) = parser.challenge()?;
        challenges.push(challenge);
        if !more {
            return Ok(challenges);
        }
    }
}

struct Parser<'a> {
    input: &'a [u8],
    pos: usize,
}

/// What follows a challenge's first element.
enum Next {
    /// Another auth-param of the same challenge.
    Param,
    /// A new challenge (or the end, if `more` is false).
    Challenge { more: bool },
}

impl Parser<'_> {
    fn error(&self, reason: impl Into<String>) -> ParseError {
        ParseError {
            offset: self.pos,
            reason: reason.into(),
        }
    }

    fn peek(&self) -> Option<u8> {
        self.input.get(self.pos).copied()
    }

    fn peek_at(&self, pos: usize) -> Option<u8> {
        self.input.get(pos).copied()
    }

    fn skip_ows(&mut self) {
        while self.peek().is_some_and(is_ows) {
            self.pos += 1;
        }
    }

    /// `token`, or `None` (position unchanged) if there is none here.
    fn token(&mut self) -> Option<String> {
        let start = self.pos;
        while self.peek().is_some_and(is_tchar) {
            self.pos += 1;
        }
        (self.pos > start).then(|| ascii(&self.input[start..self.pos]))
    }

    /// Parses one challenge; `more` if another one follows.
    fn challenge(&mut self) -> Result<(Challenge, bool), ParseError> {
        let scheme = self
            .token()
            .ok_or_else(|| self.error("expected an auth-scheme (a token)"))?;
        let mut challenge = Challenge {
            scheme,
            token68: None,
            params: Vec::new(),
        };
        match self.peek() {
            None => return Ok((challenge, false)),
            Some(b' ') => {}
            Some(b',' | b'\t') => {
                let more = self.separator()?;
                return Ok((challenge, more));
            }
            Some(_) => return Err(self.error("expected a space after the auth-scheme")),
        }
        while self.peek() == Some(b' ') {
            self.pos += 1;
        }
        if matches!(self.peek(), Some(b',' | b'\t')) {
            let more = self.separator()?;
            return Ok((challenge, more));
        }
        if !self.param_follows() {
            challenge.token68 = Some(self.token68()?);
            let more = self.separator()?;
            return Ok((challenge, more));
        }
        loop {
            self.auth_param(&mut challenge)?;
            match self.after_param()? {
                Next::Param => {}
                Next::Challenge { more } => return Ok((challenge, more)),
            }
        }
    }

    /// Whether an auth-param (`token BWS "=" BWS (token / quoted-string)`) starts here.
    fn param_follows(&self) -> bool {
        let mut pos = self.pos;
        let start = pos;
        while self.peek_at(pos).is_some_and(is_tchar) {
            pos += 1;
        }
        if pos == start {
            return false;
        }
        while self.peek_at(pos).is_some_and(is_ows) {
            pos += 1;
        }
        if self.peek_at(pos) != Some(b'=') {
            return false;
        }
        pos += 1;
        while self.peek_at(pos).is_some_and(is_ows) {
            pos += 1;
        }
        self.peek_at(pos).is_some_and(|b| b == b'"' || is_tchar(b))
    }

    /// `name BWS "=" BWS value`, appended to `challenge` (refusing a repeated name).
    fn auth_param(&mut self, challenge: &mut Challenge) -> Result<(), ParseError> {
        let name_at = self.pos;
        let name = self
            .token()
            .ok_or_else(|| self.error("expected an auth-param name (a token)"))?;
        self.skip_ows();
        if self.peek() != Some(b'=') {
            return Err(self.error(format!("expected '=' after the auth-param {name:?}")));
        }
        self.pos += 1;
        self.skip_ows();
        let value = match self.peek() {
            Some(b'"') => self.quoted_string()?,
            _ => self.token().ok_or_else(|| {
                self.error(format!(
                    "expected a value for the auth-param {name:?} (a token or a quoted-string)"
                ))
            })?,
        };
        if challenge.param(&name).is_some() {
            return Err(ParseError {
                offset: name_at,
                reason: format!("the auth-param {name:?} appears twice in one challenge"),
            });
        }
        challenge.params.push((name, value));
        Ok(())
    }

    /// After an auth-param: the end, or a comma then another auth-param of this
    /// challenge or a new challenge.
    fn after_param(&mut self) -> Result<Next, ParseError> {
        if !self.separator()? {
            return Ok(Next::Challenge { more: false });
        }
        // `token BWS "="` starts an auth-param; a new challenge starts with a
        // scheme followed by a space, a comma or the end.
        let mut pos = self.pos;
        while self.peek_at(pos).is_some_and(is_tchar) {
            pos += 1;
        }
        while self.peek_at(pos).is_some_and(is_ows) {
            pos += 1;
        }
        if pos > self.pos && self.peek_at(pos) == Some(b'=') {
            Ok(Next::Param)
        } else {
            Ok(Next::Challenge { more: true })
        }
    }

    /// `OWS [ "," OWS ]` before the next element: false at the end, true after a
    /// comma (refusing empty list elements).
    fn separator(&mut self) -> Result<bool, ParseError> {
        self.skip_ows();
        match self.peek() {
            None => Ok(false),
            Some(b',') => {
                self.pos += 1;
                self.skip_ows();
                match self.peek() {
                    None => Err(self.error("trailing comma (empty list element)")),
                    Some(b',') => Err(self.error("empty list element")),
                    Some(_) => Ok(true),
                }
            }
            Some(_) => Err(self.error("expected ',' or the end of the value")),
        }
    }

    fn token68(&mut self) -> Result<String, ParseError> {
        let start = self.pos;
        while self.peek().is_some_and(is_token68_char) {
            self.pos += 1;
        }
        if self.pos == start {
            return Err(self.error("expected a token68 or an auth-param"));
        }
        while self.peek() == Some(b'=') {
            self.pos += 1;
        }
        Ok(ascii(&self.input[start..self.pos]))
    }

    /// `DQUOTE *( qdtext / quoted-pair ) DQUOTE`, unescaped.
    fn quoted_string(&mut self) -> Result<String, ParseError> {
        let open = self.pos;
        self.pos += 1;
        let mut out = Vec::new();
        loop {
            match self.peek() {
                None => {
                    return Err(ParseError {
                        offset: open,
                        reason: "unterminated quoted-string".to_owned(),
                    })
                }
                Some(b'"') => break,
                Some(b'\\') => {
                    self.pos += 1;
                    match self.peek() {
                        Some(b) if is_qpair_char(b) => out.push(b),
                        None => continue, // reported as unterminated
                        Some(_) => {
                            return Err(
                                self.error("invalid character after '\\' in a quoted-string")
                            )
                        }
                    }
                }
                Some(b) if is_qdtext(b) => out.push(b),
                Some(_) => return Err(self.error("control character in a quoted-string")),
            }
            self.pos += 1;
        }
        self.pos += 1;
        String::from_utf8(out).map_err(|_| ParseError {
            offset: open,
            reason: "quoted-string is not UTF-8".to_owned(),
        })
    }
}

fn ascii(bytes: &[u8]) -> String {
    // Only called on tchar / token68 bytes, which are ASCII.
    bytes.iter().map(|&b| char::from(b)).collect()
}

fn is_ows(b: u8) -> bool {
    b == b' ' || b == b'\t'
}

/// RFC 9110 §5.6.2 `tchar`.
fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

fn is_token68_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"-._~+/".contains(&b)
}

/// RFC 9110 §5.6.4 `qdtext`: HTAB, SP, VCHAR except `"` and `\`, obs-text.
fn is_qdtext(b: u8) -> bool {
    b == b'\t' || b == b' ' || ((0x21..=0x7e).contains(&b) && b != b'"' && b != b'\\') || b >= 0x80
}

/// RFC 9110 §5.6.4 `quoted-pair`: `\` then HTAB, SP, VCHAR or obs-text.
fn is_qpair_char(b: u8) -> bool {
    b == b'\t' || b == b' ' || (0x21..=0x7e).contains(&b) || b >= 0x80
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(value: &str) -> Challenge {
        let mut all = parse(value).unwrap_or_else(|e| panic!("{value:?}: {e}"));
        assert_eq!(all.len(), 1, "{value:?}");
        all.remove(0)
    }

    fn fails_at(value: &str, offset: usize) -> ParseError {
        let err = parse(value).expect_err(value);
        assert_eq!(err.offset(), offset, "{value:?}: {err}");
        err
    }

    #[test]
    fn bearer_with_params() {
        let c = one(
            r#"Bearer realm="api", error="invalid_token", error_description="Token is expired""#,
        );
        assert_eq!(c.scheme(), "Bearer");
        assert_eq!(c.token68(), None);
        assert_eq!(c.param("realm"), Some("api"));
        assert_eq!(c.param("Error"), Some("invalid_token"));
        assert_eq!(c.param("error_description"), Some("Token is expired"));
        assert_eq!(c.params().len(), 3);
    }

    #[test]
    fn rfc9110_example_with_two_challenges() {
        let all = parse(
            r#"Newauth realm="apps", type=1, title="Login to \"apps\"", Basic realm="simple""#,
        )
        .unwrap();
        assert_eq!(all.len(), 2);
        assert_eq!(all[0].scheme(), "Newauth");
        assert_eq!(all[0].param("type"), Some("1"));
        assert_eq!(all[0].param("title"), Some(r#"Login to "apps""#));
        assert_eq!(all[1].scheme(), "Basic");
        assert_eq!(all[1].params(), [("realm".to_owned(), "simple".to_owned())]);
    }

    #[test]
    fn scheme_only_and_token68() {
        assert_eq!(one("Bearer").params().len(), 0);
        let all = parse("Bearer, Negotiate abc+/9==, Basic realm=x").unwrap();
        assert_eq!(all.len(), 3);
        assert_eq!(all[0].scheme(), "Bearer");
        assert_eq!(all[1].token68(), Some("abc+/9=="));
        assert_eq!(all[1].params().len(), 0);
        assert_eq!(all[2].param("realm"), Some("x"));
        assert_eq!(one("Basic dXNlcjpwYXNz").token68(), Some("dXNlcjpwYXNz"));
        assert_eq!(one("Basic abc=").token68(), Some("abc="));
    }

    #[test]
    fn whitespace_and_escapes() {
        let c = one("Bearer realm = \"a\\\\b\\\"c\\d\" ,\terror=x");
        assert_eq!(c.param("realm"), Some(r#"a\b"cd"#));
        assert_eq!(c.param("error"), Some("x"));
        assert_eq!(
            one("Bearer   realm=\"tab\there\"").param("realm"),
            Some("tab\there")
        );
        assert_eq!(
            one("Bearer realm=\"caf\u{e9}\"").param("realm"),
            Some("caf\u{e9}")
        );
    }

    #[test]
    fn the_same_param_in_two_challenges_is_fine() {
        let all = parse(r#"DPoP realm="a", algs="ES256", Bearer realm="a""#).unwrap();
        assert_eq!(all.len(), 2);
        assert_eq!(all[1].param("realm"), Some("a"));
    }

    #[test]
    fn refuses_duplicates() {
        fails_at(r#"Bearer realm="a", realm="b""#, 18);
        fails_at(r#"Bearer realm="a", REALM="a""#, 18);
        fails_at(r#"Bearer error=x, realm="a", Error="y""#, 27);
        assert!(parse(r#"Bearer realm="a", realm="b""#)
            .unwrap_err()
            .to_string()
            .contains("twice"));
    }

    #[test]
    fn refuses_malformed_lists() {
        fails_at("", 0);
        fails_at(" Bearer", 0);
        fails_at("Bearer ", 6);
        fails_at("Bearer realm=x,", 15);
        fails_at("Bearer realm=x, ,error=y", 16);
        fails_at("Bearer,, Basic", 7);
        fails_at(", Bearer", 0);
        fails_at(r#"Bearer realm="a" error="b""#, 17);
    }

    #[test]
    fn refuses_malformed_challenges() {
        fails_at("Bear@r realm=x", 4);
        fails_at("Bearer\trealm=x", 7);
        // `realm=` alone is a token68 by the grammar, not a param without a value.
        assert_eq!(one("Bearer realm=").token68(), Some("realm="));
        fails_at("Bearer realm=a b", 15);
        fails_at("Bearer realm==a", 14);
        fails_at("Bearer =x", 7);
        fails_at("Basic abc=, realm=x", 17);
        fails_at("Basic ab/=def", 10);
        fails_at("Bearer realm=\"open", 13);
        fails_at("Bearer realm=\"ends with \\", 13);
        fails_at("Bearer realm=\"bell\x07\"", 18);
        fails_at("Bearer realm=\"\\\x01\"", 15);
        fails_at("Bearer realm=\"x\"y", 16);
        assert!(parse(b"Bearer realm=\"\xff\"")
            .unwrap_err()
            .reason()
            .contains("UTF-8"));
    }
}
