//! [`ClaimPath`]: where the scopes and permissions live in a token (`scope`,
//! `realm_access.roles`, `resource_access.orders-api.roles`).

use std::fmt;
use std::str::FromStr;

use serde_json::{Map, Value};

use crate::error::ConfigError;

/// A path to a claim: member names separated by dots, read from the top-level object
/// inwards.
///
/// - `scope` is the top-level member `scope` (a name without dots means what it always
///   meant).
/// - `realm_access.roles` is the member `roles` of the object `realm_access`.
/// - A dot that belongs to a member name is written `\.`, as in Keycloak's claim
///   mappers: `https://example\.com/roles` is the single member
///   `https://example.com/roles` (Auth0's namespaced claims). Every other backslash is
///   itself.
///
/// Rules, checked when the configuration is built ([`ConfigError`] otherwise): at
/// least one and at most [`MAX_DEPTH`](Self::MAX_DEPTH) members, none of them empty
/// (`a..b`, `.a`, `a.` are refused), and a URL's host may not be split by an unescaped
/// dot (`https://example.com/roles` is refused with a hint: read as written, it would
/// name a nested claim that no token holds; `https://example\.com/roles` is meant).
///
/// Looking a path up never fails: a member that is absent, or a value on the way that is
/// not an object (`realm_access` as a string or an array), means the claim is absent.
/// Array indices are not part of the syntax.
///
/// ```
/// use serde_json::json;
/// use verifier_core::ClaimPath;
///
/// let path: ClaimPath = "resource_access.orders-api.roles".parse()?;
/// let claims = json!({"resource_access": {"orders-api": {"roles": ["reader"]}}});
/// assert_eq!(path.lookup(claims.as_object().unwrap()), Some(&json!(["reader"])));
///
/// let url: ClaimPath = r"https://example\.com/roles".parse()?;
/// assert_eq!(url.segments().collect::<Vec<_>>(), ["https://example.com/roles"]);
///
/// assert!("realm_access..roles".parse::<ClaimPath>().is_err());
/// # Ok::<(), verifier_core::ConfigError>(())
/// ```
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct ClaimPath {
    text: Box<str>,
    segments: Box<[Box<str>]>,
}

impl ClaimPath {
    /// The most members a path may have.
    pub const MAX_DEPTH: usize = 16;

    /// Parses a path; errors name the field `claim_path` (the configuration renames it
    /// to `scope_claim` or `permissions_claim`).
    pub fn parse(text: &str) -> Result<ClaimPath, ConfigError> {
        let bad = |reason: String| ConfigError::new("claim_path", reason);
        if text.is_empty() {
            return Err(bad("must be non-empty".into()));
        }
        let mut segments: Vec<Box<str>> = Vec::new();
        let mut current = String::new();
        let mut chars = text.chars().peekable();
        while let Some(c) = chars.next() {
            match c {
                '\\' if chars.peek() == Some(&'.') => {
                    chars.next();
                    current.push('.');
                }
                '.' => {
                    if current.is_empty() {
                        return Err(bad(empty_member(text)));
                    }
                    if segments.len() + 1 >= Self::MAX_DEPTH {
                        return Err(bad(too_deep()));
                    }
                    segments.push(std::mem::take(&mut current).into_boxed_str());
                }
                c => current.push(c),
            }
        }
        if current.is_empty() {
            return Err(bad(empty_member(text)));
        }
        segments.push(current.into_boxed_str());
        // A member holding `://` followed by another member, with no `/` after its
        // host: the dots of a URL's host were taken as separators.
        let split_url = segments.iter().rev().skip(1).any(|name| {
            name.split_once("://")
                .is_some_and(|(_, rest)| !rest.contains('/'))
        });
        if split_url {
            return Err(bad(format!(
                "{text:?} looks like a URL: write the dots of a member name as \\. \
                 (e.g. \"https://example\\.com/roles\")"
            )));
        }
        Ok(ClaimPath {
            text: text.into(),
            segments: segments.into_boxed_slice(),
        })
    }

    /// The path as configured (escapes included).
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The member names, outermost first, with escapes resolved.
    pub fn segments(&self) -> impl Iterator<Item = &str> {
        self.segments.iter().map(|s| &**s)
    }

    /// The value at this path, or `None` when a member is absent or a value on the way
    /// is not an object.
    #[inline]
    pub fn lookup<'a>(&self, claims: &'a Map<String, Value>) -> Option<&'a Value> {
        let (last, parents) = self.segments.split_last()?;
        let mut object = claims;
        for name in parents {
            object = object.get(&**name)?.as_object()?;
        }
        object.get(&**last)
    }
}

fn empty_member(text: &str) -> String {
    format!(
        "{text:?} has an empty member name (dots separate members; write a dot inside a name as \\.)"
    )
}

fn too_deep() -> String {
    format!("has more than {} members", ClaimPath::MAX_DEPTH)
}

impl FromStr for ClaimPath {
    type Err = ConfigError;
    fn from_str(text: &str) -> Result<Self, ConfigError> {
        ClaimPath::parse(text)
    }
}

impl fmt::Display for ClaimPath {
    /// The path as configured.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl fmt::Debug for ClaimPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&*self.text, f)
    }
}

#[cfg(test)]
mod tests {
    use super::ClaimPath;
    use serde_json::json;

    fn segments(text: &str) -> Vec<String> {
        ClaimPath::parse(text)
            .unwrap()
            .segments()
            .map(str::to_owned)
            .collect()
    }

    #[test]
    fn syntax() {
        assert_eq!(segments("scope"), ["scope"]);
        assert_eq!(segments("realm_access.roles"), ["realm_access", "roles"]);
        assert_eq!(
            segments("resource_access.orders-api.roles"),
            ["resource_access", "orders-api", "roles"]
        );
        assert_eq!(segments(r"a\.b.c"), ["a.b", "c"]);
        assert_eq!(segments(r"a.\."), ["a", "."]);
        // Other backslashes are themselves: a flat name means what it meant.
        assert_eq!(segments(r"a\b"), [r"a\b"]);
        assert_eq!(segments(r"a\\"), [r"a\\"]);
        assert_eq!(
            segments(r"https://x\.example/roles"),
            ["https://x.example/roles"]
        );
        assert_eq!(segments(" s p "), [" s p "]);
        // A URL member whose host dots are escaped may be followed by more members.
        assert_eq!(
            segments(r"https://x\.example/claims.roles"),
            ["https://x.example/claims", "roles"]
        );
        assert_eq!(segments("urn:x.https://y"), ["urn:x", "https://y"]);
    }

    #[test]
    fn refused() {
        for text in [
            "",
            ".",
            "a.",
            ".a",
            "a..b",
            "https://x.example/roles",
            "https://x.example",
            r"https://x\.example/claims.roles.https://a.b",
        ] {
            let e = ClaimPath::parse(text).expect_err(text);
            assert_eq!(e.field(), "claim_path");
        }
        let deep = vec!["a"; 1000].join(".");
        assert_eq!(
            ClaimPath::parse(&deep).unwrap_err().reason(),
            "has more than 16 members"
        );
        assert!(ClaimPath::parse(&vec!["a"; 16].join(".")).is_ok());
        assert!(ClaimPath::parse(&vec!["a"; 17].join(".")).is_err());
    }

    #[test]
    fn lookup_is_absent_on_any_other_shape() {
        let path = ClaimPath::parse("realm_access.roles").unwrap();
        for claims in [
            json!({}),
            json!({"realm_access": "roles"}),
            json!({"realm_access": ["roles"]}),
            json!({"realm_access": null}),
            json!({"realm_access": {"other": 1}}),
            json!({"realm_access.roles": ["flat"]}),
        ] {
            assert_eq!(path.lookup(claims.as_object().unwrap()), None, "{claims}");
        }
        let claims = json!({"realm_access": {"roles": [1, "a"]}});
        assert_eq!(
            path.lookup(claims.as_object().unwrap()),
            Some(&json!([1, "a"]))
        );
    }
}
