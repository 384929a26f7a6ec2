//! Every challenge the refused-token matrix and `AuthError::www_authenticate`
//! produce parses with the strict `challenge_parser`, with the expected params.

use verifier_core::{AuthError, ErrorCode};
use verifier_testkit::conformance::challenge_parser::{parse, Challenge};
use verifier_testkit::TestIssuer;

const REALMS: [Option<&str>; 4] = [Some("api"), None, Some(r#"we"ird\realm"#), Some("")];

fn single(value: &[u8]) -> Challenge {
    let mut all =
        parse(value).unwrap_or_else(|e| panic!("{:?}: {e}", String::from_utf8_lossy(value)));
    assert_eq!(all.len(), 1, "{:?}", String::from_utf8_lossy(value));
    all.remove(0)
}

#[test]
fn refused_token_challenges_parse() {
    let issuer = TestIssuer::start();
    let cases = issuer.refused_tokens();
    assert!(!cases.is_empty());
    for case in &cases {
        for realm in REALMS {
            let challenge = single(case.challenge(realm).as_bytes());
            assert_eq!(challenge.scheme(), "Bearer");
            assert_eq!(challenge.token68(), None);
            assert_eq!(challenge.param("realm"), realm, "{}", case.code);
            assert_eq!(challenge.param("error"), Some("invalid_token"));
            assert_eq!(challenge.param("error_description"), Some(case.description));
            let expected = if realm.is_some() { 3 } else { 2 };
            assert_eq!(challenge.params().len(), expected);
        }
    }
}

#[test]
fn every_error_code_challenge_parses() {
    let mut with_challenge = 0;
    for &code in ErrorCode::ALL {
        let errors = [
            AuthError::new(code),
            AuthError::new(code)
                .with_required_scopes(["read", "write"])
                .with_required_permissions(["doc:edit"]),
            AuthError::new(code).with_message("say \"no\" \\ twice\r\n"),
        ];
        for err in &errors {
            for realm in REALMS {
                let Some(value) = err.www_authenticate(realm) else {
                    continue;
                };
                with_challenge += 1;
                let challenge = single(value.as_bytes());
                assert_eq!(challenge.scheme(), "Bearer", "{code:?}");
                assert_eq!(challenge.param("realm"), realm, "{code:?}");
                if code == ErrorCode::MissingToken {
                    assert_eq!(challenge.param("error"), None);
                } else {
                    let error = challenge.param("error").expect("an error param");
                    assert!(
                        ["invalid_token", "insufficient_scope", "invalid_request"].contains(&error),
                        "{code:?}: {error}"
                    );
                    // The message comes back unescaped, minus the control characters.
                    let message = err.message().replace(['\r', '\n'], "");
                    assert_eq!(challenge.param("error_description"), Some(message.as_str()));
                }
                if !err.required_scopes().is_empty() {
                    assert_eq!(challenge.param("scope"), Some("read write"), "{code:?}");
                    assert_eq!(challenge.param("permissions"), Some("doc:edit"), "{code:?}");
                }
            }
        }
    }
    assert!(with_challenge > 0);
}
