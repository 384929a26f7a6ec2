//! docs/errors.md: codes, statuses, messages and the exact WWW-Authenticate bytes.

use std::error::Error as _;

use verifier_core::{bearer::ErrorResponse, quote, AuthError, ErrorCode};

#[test]
fn the_table() {
    let table = [
        ("missing_token", 401, "Missing access token"),
        ("malformed_token", 401, "Malformed token"),
        ("forbidden_header", 401, "Forbidden token header parameter"),
        ("disallowed_alg", 401, "Disallowed signing algorithm"),
        ("missing_kid", 401, "Missing kid header"),
        ("key_not_found", 401, "No matching signing key"),
        ("invalid_signature", 401, "Invalid token signature"),
        ("token_expired", 401, "Token is expired"),
        ("token_not_yet_valid", 401, "Token is not valid yet"),
        ("invalid_issuer", 401, "Invalid issuer"),
        ("invalid_audience", 401, "Invalid audience"),
        ("missing_claim", 401, "Token is missing a required claim"),
        ("invalid_token", 401, "Invalid token"),
        ("insufficient_scope", 403, "Insufficient scope"),
        ("insufficient_permissions", 403, "Insufficient permissions"),
        ("jwks_fetch_failed", 503, "JWKS fetch failed"),
        ("jwks_error", 503, "JWKS lookup failed"),
        ("invalid_request", 400, "Multiple credentials"),
        (
            "discovery_failed",
            503,
            "Authorization server metadata fetch failed",
        ),
        (
            "discovery_error",
            503,
            "Authorization server metadata is unusable",
        ),
        ("invalid_token_type", 401, "Invalid token type"),
        ("invalid_dpop_proof", 401, "Invalid DPoP proof"),
        ("dpop_proof_replayed", 401, "DPoP proof replayed"),
        (
            "use_dpop_nonce",
            401,
            "Resource server requires nonce in DPoP proof",
        ),
        ("dpop_binding_mismatch", 401, "Invalid DPoP key binding"),
        (
            "dpop_bound_token",
            401,
            "DPoP-bound token requires the DPoP scheme",
        ),
        ("dpop_replay_cache_full", 503, "DPoP replay cache full"),
    ];
    assert_eq!(ErrorCode::ALL.len(), table.len());
    for (code, (name, status, message)) in ErrorCode::ALL.iter().zip(table) {
        let err = AuthError::new(*code);
        assert_eq!(code.as_str(), name);
        assert_eq!(ErrorCode::from_name(name), Some(*code));
        assert_eq!(err.status().as_u16(), status, "{name}");
        assert_eq!(err.message(), message, "{name}");
        assert_eq!(err.to_string(), message);
    }
    assert_eq!(
        AuthError::missing_claim("exp").message(),
        r#"Token is missing the "exp" claim"#
    );
}

fn header(err: &AuthError, realm: Option<&str>) -> String {
    err.www_authenticate(realm)
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default()
}

#[test]
fn challenges_byte_for_byte() {
    let missing = AuthError::new(ErrorCode::MissingToken);
    assert_eq!(header(&missing, Some("api")), r#"Bearer realm="api""#);
    assert_eq!(header(&missing, None), "Bearer");

    let expired = AuthError::new(ErrorCode::TokenExpired);
    assert_eq!(
        header(&expired, None),
        r#"Bearer error="invalid_token", error_description="Token is expired""#
    );
    assert_eq!(
        header(&expired, Some("my-api")),
        r#"Bearer realm="my-api", error="invalid_token", error_description="Token is expired""#
    );
    // Every 401 uses error="invalid_token" with its own description.
    for code in ErrorCode::ALL
        .iter()
        .copied()
        .filter(|c| c.status().as_u16() == 401 && *c != ErrorCode::MissingToken)
    {
        assert_eq!(
            header(&AuthError::new(code), Some("api")),
            format!(
                r#"Bearer realm="api", error="invalid_token", error_description="{}""#,
                code.default_message()
            )
        );
    }
    // 403 is always insufficient_scope, even for permissions.
    let perms = AuthError::new(ErrorCode::InsufficientPermissions)
        .with_required_permissions(["write:users", "admin"]);
    assert_eq!(
        header(&perms, None),
        r#"Bearer error="insufficient_scope", error_description="Insufficient permissions", permissions="admin write:users""#
    );
    let scope = AuthError::new(ErrorCode::InsufficientScope).with_required_scopes(["admin"]);
    assert_eq!(
        header(&scope, Some("api")),
        r#"Bearer realm="api", error="insufficient_scope", error_description="Insufficient scope", scope="admin""#
    );
    let both = AuthError::new(ErrorCode::InsufficientScope)
        .with_required_scopes(["b", "a"])
        .with_required_permissions(["p"]);
    assert_eq!(
        header(&both, Some("api")),
        r#"Bearer realm="api", error="insufficient_scope", error_description="Insufficient scope", scope="a b", permissions="p""#
    );
    // A 401 carrying scopes still says invalid_token and lists the scope.
    let scoped401 = AuthError::new(ErrorCode::InvalidToken).with_required_scopes(["read:users"]);
    assert_eq!(
        header(&scoped401, None),
        r#"Bearer error="invalid_token", error_description="Invalid token", scope="read:users""#
    );
    // 400 (more than one credential): RFC 6750 §3.1 `invalid_request`.
    let multiple = AuthError::new(ErrorCode::InvalidRequest);
    assert_eq!(
        header(&multiple, Some("api")),
        r#"Bearer realm="api", error="invalid_request", error_description="Multiple credentials""#
    );
    assert_eq!(
        header(&multiple, None),
        r#"Bearer error="invalid_request", error_description="Multiple credentials""#
    );
    // No challenge on 503.
    assert!(AuthError::new(ErrorCode::JwksFetchFailed)
        .www_authenticate(Some("api"))
        .is_none());
    assert!(AuthError::new(ErrorCode::JwksError)
        .www_authenticate(None)
        .is_none());
}

#[test]
fn escaping() {
    let cases = [
        ("simple", r#""simple""#),
        ("invalid_token", r#""invalid_token""#),
        (r#"say "hi""#, r#""say \"hi\"""#),
        (r"back\slash", r#""back\\slash""#),
        ("a\nb", r#""ab""#),
        ("a\rb", r#""ab""#),
        ("a\r\nb", r#""ab""#),
        ("\"\r\n\\", r#""\"\\""#),
        ("", r#""""#),
    ];
    for (input, want) in cases {
        assert_eq!(quote(input), want, "{input:?}");
    }
    let err = AuthError::new(ErrorCode::InvalidToken)
        .with_message("Token contains \"special\" chars\r\nLine2");
    assert_eq!(
        header(&err, Some("my \"realm\"")),
        r#"Bearer realm="my \"realm\"", error="invalid_token", error_description="Token contains \"special\" charsLine2""#
    );
    // Control characters in a realm never make an invalid header.
    assert!(AuthError::new(ErrorCode::MissingToken)
        .www_authenticate(Some("a\u{0}b\u{7f}"))
        .is_some());
}

#[test]
fn sources_and_response_shape() {
    let inner = std::io::Error::other("connection refused");
    let err = AuthError::new(ErrorCode::JwksFetchFailed).with_source(inner);
    assert_eq!(err.message(), "JWKS fetch failed");
    assert_eq!(err.source().unwrap().to_string(), "connection refused");
    let resp = ErrorResponse::new(&err, Some("api"));
    assert_eq!(resp.status.as_u16(), 503);
    assert_eq!(resp.headers[0].0, "retry-after");
    assert!(resp.headers.iter().all(|(n, _)| n != "www-authenticate"));
    assert_eq!(
        resp.body,
        r#"{"code":"jwks_fetch_failed","detail":"JWKS fetch failed"}"#
    );
    let resp = ErrorResponse::new(&AuthError::new(ErrorCode::TokenExpired), Some("api"));
    let http: http::Response<String> = resp.into_response();
    assert_eq!(http.status(), 401);
    assert_eq!(http.headers()["content-type"], "application/json");
    assert_eq!(
        http.headers()["www-authenticate"],
        r#"Bearer realm="api", error="invalid_token", error_description="Token is expired""#
    );
}

/// RFC 6750 §3.1: more than one `Authorization` field is one request with two
/// credentials: `invalid_request`, 400, whatever the fields hold, and the response has
/// the challenge and the JSON body.
#[test]
fn two_authorization_fields_are_invalid_request() {
    use http::header::{HeaderMap, HeaderValue, AUTHORIZATION};
    use verifier_core::bearer::{bearer_from_headers, bearer_from_values};

    let pairs = [
        ("Bearer a.b.c", "Bearer d.e.f"),
        ("Bearer a.b.c", "Bearer a.b.c"),
        ("Bearer a.b.c", "Basic dXNlcjpwYXNz"),
        ("Basic dXNlcjpwYXNz", "Bearer a.b.c"),
        ("Basic dXNlcjpwYXNz", "Basic dXNlcjpwYXNz"),
        ("Bearer a.b.c", ""),
        ("", ""),
    ];
    for (first, second) in pairs {
        let mut headers = HeaderMap::new();
        headers.append(AUTHORIZATION, HeaderValue::from_static(first));
        headers.append(AUTHORIZATION, HeaderValue::from_static(second));
        let err = bearer_from_headers(&headers).unwrap_err();
        assert_eq!(
            err.code(),
            ErrorCode::InvalidRequest,
            "{first:?} {second:?}"
        );
        let values: Vec<&HeaderValue> = headers.get_all(AUTHORIZATION).iter().collect();
        let err = bearer_from_values(values).unwrap_err();
        assert_eq!(err.code(), ErrorCode::InvalidRequest);
    }
    let mut three = HeaderMap::new();
    for _ in 0..3 {
        three.append(AUTHORIZATION, HeaderValue::from_static("Bearer a.b.c"));
    }
    assert_eq!(
        bearer_from_headers(&three).unwrap_err().code(),
        ErrorCode::InvalidRequest
    );

    // One field is unchanged: a token, another scheme (no credentials), or one field
    // holding a comma-joined list (one credential whose token is later malformed).
    let mut one = HeaderMap::new();
    one.insert(AUTHORIZATION, HeaderValue::from_static("Bearer a.b.c"));
    assert_eq!(bearer_from_headers(&one).unwrap(), Some("a.b.c"));
    one.insert(
        AUTHORIZATION,
        HeaderValue::from_static("Basic dXNlcjpwYXNz"),
    );
    assert_eq!(bearer_from_headers(&one).unwrap(), None);
    one.insert(
        AUTHORIZATION,
        HeaderValue::from_static("Bearer a.b.c, Bearer d.e.f"),
    );
    assert_eq!(
        bearer_from_headers(&one).unwrap(),
        Some("a.b.c, Bearer d.e.f")
    );
    assert_eq!(bearer_from_headers(&HeaderMap::new()).unwrap(), None);

    let resp = ErrorResponse::new(&AuthError::new(ErrorCode::InvalidRequest), Some("api"));
    assert_eq!(resp.status.as_u16(), 400);
    assert_eq!(resp.headers[0].0, "www-authenticate");
    assert_eq!(
        resp.headers[0].1,
        r#"Bearer realm="api", error="invalid_request", error_description="Multiple credentials""#
    );
    assert_eq!(resp.headers[1].1, "application/json");
    assert_eq!(
        resp.body,
        r#"{"code":"invalid_request","detail":"Multiple credentials"}"#
    );
    let resp = ErrorResponse::new(&AuthError::new(ErrorCode::InvalidRequest), None);
    assert_eq!(
        resp.headers[0].1,
        r#"Bearer error="invalid_request", error_description="Multiple credentials""#
    );
}

/// `challenge_error` for every code (SPEC-2 §0.3): the DPoP proof codes have their own
/// `error`, the rest follow the status, and codes without a challenge have none.
#[test]
fn challenge_error_for_every_code() {
    for &code in ErrorCode::ALL {
        let expected = match code.as_str() {
            "missing_token" => None,
            "invalid_dpop_proof" | "dpop_proof_replayed" => Some("invalid_dpop_proof"),
            "use_dpop_nonce" => Some("use_dpop_nonce"),
            "invalid_request" => Some("invalid_request"),
            _ => match code.status().as_u16() {
                401 => Some("invalid_token"),
                403 => Some("insufficient_scope"),
                503 => None,
                other => panic!("{code:?} has status {other}"),
            },
        };
        assert_eq!(code.challenge_error(), expected, "{code:?}");
    }
}
