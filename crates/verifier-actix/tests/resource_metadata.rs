//! SPEC-2 §4 through actix-web over real HTTP: the protected-resource metadata route
//! (§4.5) behind an `App`-wide `BearerAuth`, and the challenges of §4.6 from the
//! extractor, `RequireScopes` and `BearerAuth`.

#[macro_use]
mod common;

use actix_web::{web, App};
use reqwest::Method;
use verifier_actix::{resource_metadata, Auth, BearerAuth, RequireScopes};
use verifier_testkit::conformance::challenge_parser;
use verifier_testkit::conformance::challenges::{
    unauthenticated_authorizations, Expected, Mode, ResourceMetadataCase, REALM, REQUIRED_SCOPE,
    RESOURCE, RESOURCE_METADATA_PATH,
};
use verifier_testkit::{Fault, TestIssuer};

use common::spec::{authorization, get, me, send, Full, Setup};

const PATHS: [&str; 4] = ["/me", "/admin", "/mw/me", "/mw-admin"];
const ADMIN_PATHS: [&str; 2] = ["/admin", "/mw-admin"];

fn spec_auth(issuer: &TestIssuer, realm: Option<&str>) -> Auth {
    let auth = Auth::new(
        Setup {
            resource: true,
            ..Setup::default()
        }
        .verifier(issuer),
    );
    match realm {
        Some(realm) => auth.realm(realm),
        None => auth,
    }
}

fn assert_fields(reply: &Full, status: u16, fields: &[String], what: &str) {
    assert_eq!(reply.status, status, "{what}: {reply:?}");
    assert_eq!(reply.challenges, fields, "{what}");
}

/// The document §4.5 prescribes for the test verifier: `resource` as configured, the
/// issuer as authorization server, `bearer_methods_supported`, and the DPoP members
/// when DPoP is allowed.
fn expected_document(issuer: &TestIssuer, dpop: bool) -> String {
    let dpop = if dpop {
        r#","dpop_signing_alg_values_supported":["ES256","EdDSA"],"dpop_bound_access_tokens_required":false"#
    } else {
        ""
    };
    format!(
        r#"{{"resource":"{RESOURCE}","authorization_servers":["{}"],"bearer_methods_supported":["header"]{dpop}}}"#,
        issuer.issuer()
    )
}

fn assert_document_headers(reply: &Full, what: &str) {
    assert_eq!(
        reply.header("content-type"),
        Some("application/json"),
        "{what}"
    );
    assert_eq!(
        reply.header("cache-control"),
        Some("public, max-age=3600"),
        "{what}"
    );
    assert_eq!(
        reply.header("access-control-allow-origin"),
        Some("*"),
        "{what}"
    );
    assert!(reply.challenges.is_empty(), "{what}: {reply:?}");
}

// RM3 (actix)
#[actix_web::test]
async fn rm3_metadata_is_served_before_app_wide_authentication() {
    let issuer = TestIssuer::start();
    for dpop in [false, true] {
        let setup = Setup {
            dpop: dpop.then_some(Mode::Allowed),
            resource: true,
            ..Setup::default()
        };
        let auth = Auth::new(setup.verifier(&issuer)).realm(REALM);
        for skip_unmatched in [false, true] {
            let srv = {
                let auth = auth.clone();
                serve!(move || {
                    let layer = BearerAuth::required(auth.clone());
                    let layer = if skip_unmatched {
                        layer.skip_unmatched()
                    } else {
                        layer
                    };
                    App::new()
                        .wrap(layer)
                        .service(resource_metadata(&auth))
                        .route("/me", web::get().to(me))
                })
            };
            let what = format!("dpop {dpop}, skip_unmatched {skip_unmatched}");
            let document = expected_document(&issuer, dpop);
            let url = srv.url(RESOURCE_METADATA_PATH);
            // No credentials, a query string, or credentials that would be refused: the
            // document is public and never authenticated.
            let expired = ResourceMetadataCase::ExpiredToken.authorization(&issuer);
            for (target, headers) in [
                (url.clone(), Vec::new()),
                (format!("{url}?x=1"), Vec::new()),
                (url.clone(), authorization(expired.as_deref())),
            ] {
                let reply = get(&target, &headers).await;
                assert_eq!(reply.status, 200, "{what} {target}: {reply:?}");
                assert_eq!(reply.body, document, "{what}");
                assert_document_headers(&reply, &what);
            }
            let head = send(Method::HEAD, &url, &[]).await;
            assert_eq!(head.status, 200, "{what}: {head:?}");
            assert_eq!(head.body, "", "{what}");
            assert_document_headers(&head, &what);
            for method in [Method::POST, Method::PUT, Method::DELETE] {
                let reply = send(method.clone(), &url, &[]).await;
                assert_eq!(reply.status, 405, "{what} {method}: {reply:?}");
                assert_eq!(reply.header("allow"), Some("GET, HEAD"), "{what}");
                assert!(reply.challenges.is_empty(), "{what}");
            }
            // The trailing-slash variant is not the document: authenticated like any
            // other path, then (with `skip_unmatched`) the router's 404.
            let slash = get(&format!("{url}/"), &[]).await;
            match skip_unmatched {
                true => assert_eq!(slash.status, 404, "{what}: {slash:?}"),
                false => assert_eq!(slash.status, 401, "{what}: {slash:?}"),
            }
            // The rest of the App is still protected.
            let reply = get(&srv.url("/me"), &[]).await;
            assert_eq!(reply.status, 401, "{what}");
            assert_eq!(reply.code(), "missing_token");
            srv.stop().await;
        }
    }
    // Without any middleware the trailing-slash variant is the router's 404.
    let auth = spec_auth(&issuer, Some(REALM));
    let srv = serve!(move || App::new().service(resource_metadata(&auth)));
    let slash = get(&srv.url(&format!("{RESOURCE_METADATA_PATH}/")), &[]).await;
    assert_eq!(slash.status, 404);
    assert_eq!(
        get(&srv.url(RESOURCE_METADATA_PATH), &[]).await.body,
        expected_document(&issuer, false)
    );
    assert_eq!(issuer.fetch_count(), 0, "serving the document needs no key");
    srv.stop().await;
}

// RM5 (actix)
#[actix_web::test]
async fn rm5_refusals_carry_resource_metadata() {
    let issuer = TestIssuer::start();
    let srv = serve_routes!(spec_auth(&issuer, Some(REALM)));
    let e = Expected::spec();
    for case in issuer.refused_tokens() {
        let headers = authorization(Some(&format!("Bearer {}", case.token)));
        for path in PATHS {
            let reply = get(&srv.url(path), &headers).await;
            let what = format!("{} on {path}", case.code);
            assert_fields(&reply, 401, &[e.invalid_token(case.description)], &what);
            assert_eq!(reply.code(), case.code, "{what}");
        }
    }
    for value in unauthenticated_authorizations() {
        for path in PATHS {
            let reply = get(&srv.url(path), &authorization(value)).await;
            let what = format!("{value:?} on {path}");
            assert_fields(&reply, 401, &[e.bearer()], &what);
            assert_eq!(reply.code(), "missing_token", "{what}");
        }
    }
    srv.stop().await;
}

// RM6 (actix)
#[actix_web::test]
async fn rm6_route_requirement_403_carries_scope_and_resource_metadata() {
    let issuer = TestIssuer::start();
    let case = ResourceMetadataCase::MissingScope;
    let fields = case.fields(&Expected::spec());
    let headers = authorization(case.authorization(&issuer).as_deref());
    let srv = serve_routes!(spec_auth(&issuer, case.realm()));
    for path in ADMIN_PATHS {
        let reply = get(&srv.url(path), &headers).await;
        assert_fields(&reply, case.status(), &fields, path);
        assert_eq!(reply.code(), "insufficient_scope");
    }
    srv.stop().await;
    // The same requirement on the whole `Auth`, through the extractor.
    let srv = serve_routes!(spec_auth(&issuer, case.realm()).require_scopes([REQUIRED_SCOPE]));
    let reply = get(&srv.url("/me"), &headers).await;
    assert_fields(&reply, case.status(), &fields, "Auth::require_scopes");
    srv.stop().await;
}

// RM7 (actix)
#[actix_web::test]
async fn rm7_outage_has_retry_after_and_no_challenge() {
    let issuer = TestIssuer::start();
    issuer.set_fault(Some(Fault::Status(500)));
    let case = ResourceMetadataCase::Outage;
    let headers = authorization(case.authorization(&issuer).as_deref());
    // A fresh (cold) verifier per path: each request is the first key-set fetch.
    for path in PATHS {
        let srv = serve_routes!(spec_auth(&issuer, case.realm()));
        let reply = get(&srv.url(path), &headers).await;
        assert_fields(&reply, case.status(), &case.fields(&Expected::spec()), path);
        let after: u64 = reply
            .retry_after
            .as_deref()
            .expect("Retry-After")
            .parse()
            .expect("seconds");
        assert!(after >= 1);
        srv.stop().await;
    }
}

/// Every row of SPEC-2 §4.6, each with its own realm setting, through every kind of
/// protection.
#[actix_web::test]
async fn every_row_of_the_resource_metadata_table() {
    let issuer = TestIssuer::start();
    let e = Expected::spec();
    for case in ResourceMetadataCase::ALL {
        if case == ResourceMetadataCase::Outage {
            continue; // rm7: needs a cold verifier and a failing issuer
        }
        let srv = serve_routes!(spec_auth(&issuer, case.realm()));
        let headers = authorization(case.authorization(&issuer).as_deref());
        let paths: &[&str] = if case.requires_scope() {
            &ADMIN_PATHS
        } else {
            &PATHS
        };
        for path in paths {
            let reply = get(&srv.url(path), &headers).await;
            assert_fields(
                &reply,
                case.status(),
                &case.fields(&e),
                &format!("{case:?} {path}"),
            );
        }
        srv.stop().await;
    }
}

/// RFC 6750 §3: `error`, `error_description` and `scope` values use `%x20-21 / %x23-5B
/// / %x5D-7E`; every other value is printable ASCII.
fn assert_rfc6750_values(field: &str) {
    for challenge in challenge_parser::parse(field).expect(field) {
        let mut names: Vec<&str> = challenge.params().iter().map(|(n, _)| n.as_str()).collect();
        let count = names.len();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), count, "a parameter twice: {field}");
        for (name, value) in challenge.params() {
            let allowed = |c: char| match name.as_str() {
                "error" | "error_description" | "scope" => {
                    matches!(c, '\x20'..='\x21' | '\x23'..='\x5b' | '\x5d'..='\x7e')
                }
                _ => matches!(c, '\x20'..='\x7e'),
            };
            assert!(value.chars().all(allowed), "{name}={value:?} in {field}");
        }
    }
}

// RM8 (actix)
#[actix_web::test]
async fn rm8_every_emitted_challenge_passes_the_strict_parser() {
    let issuer = TestIssuer::start();
    let mut seen = 0;
    for realm in [Some(REALM), None, Some(r#"a "q" \b"#)] {
        let srv = serve_routes!(spec_auth(&issuer, realm));
        let mut requests: Vec<Option<String>> = issuer
            .refused_tokens()
            .into_iter()
            .map(|c| Some(format!("Bearer {}", c.token)))
            .collect();
        requests.extend(unauthenticated_authorizations().map(|a| a.map(str::to_owned)));
        requests.push(ResourceMetadataCase::MissingScope.authorization(&issuer));
        requests.push(Some("Bearer a b".to_owned()));
        for value in &requests {
            for path in PATHS {
                // `send` already ran the strict parser on every field.
                let reply = get(&srv.url(path), &authorization(value.as_deref())).await;
                if reply.status == 200 {
                    continue; // the `read` token on a route without requirements
                }
                assert!(!reply.challenges.is_empty(), "{path}: {reply:?}");
                for field in &reply.challenges {
                    assert_rfc6750_values(field);
                    assert!(field.ends_with(
                        r#"resource_metadata="https://api.example.com/.well-known/oauth-protected-resource/mcp""#
                    ));
                    seen += 1;
                }
            }
        }
        srv.stop().await;
    }
    assert_eq!(seen, 3 * (9 * 4 + 2));
}

// RM9 (actix)
#[actix_web::test]
async fn rm9_realm_with_quote_and_backslash_is_escaped_and_m_unchanged() {
    const ODD: &str = r#"a "q" \b"#;
    let issuer = TestIssuer::start();
    let srv = serve_routes!(spec_auth(&issuer, Some(ODD)));
    let e = Expected::spec().realm(Some(ODD));
    assert_eq!(
        e.bearer(),
        r#"Bearer realm="a \"q\" \\b", resource_metadata="https://api.example.com/.well-known/oauth-protected-resource/mcp""#
    );
    let expired = ResourceMetadataCase::ExpiredToken.authorization(&issuer);
    let scope = ResourceMetadataCase::MissingScope.authorization(&issuer);
    for path in PATHS {
        let reply = get(&srv.url(path), &[]).await;
        assert_fields(&reply, 401, &[e.bearer()], path);
        let reply = get(&srv.url(path), &authorization(expired.as_deref())).await;
        assert_fields(&reply, 401, &[e.invalid_token("Token is expired")], path);
    }
    for path in ADMIN_PATHS {
        let reply = get(&srv.url(path), &authorization(scope.as_deref())).await;
        let fields = [e.field(
            "Bearer",
            Some(("insufficient_scope", "Insufficient scope")),
            Some(REQUIRED_SCOPE),
        )];
        assert_fields(&reply, 403, &fields, path);
    }
    srv.stop().await;
}

// RM10 (actix)
#[actix_web::test]
async fn rm10_without_a_resource_headers_are_the_wave_1_bytes() {
    let issuer = TestIssuer::start();
    // Built through the builder with the default (empty) `ResourceConfig`.
    let auth = Auth::new(Setup::default().verifier(&issuer)).realm(REALM);
    let srv = serve_routes!(auth);
    for case in issuer.refused_tokens() {
        let headers = authorization(Some(&format!("Bearer {}", case.token)));
        for path in PATHS {
            let reply = get(&srv.url(path), &headers).await;
            assert_fields(&reply, 401, &[case.challenge(Some(REALM))], path);
        }
    }
    for value in unauthenticated_authorizations() {
        for path in PATHS {
            let reply = get(&srv.url(path), &authorization(value)).await;
            assert_fields(&reply, 401, &[r#"Bearer realm="api""#.to_owned()], path);
        }
    }
    let scope = ResourceMetadataCase::MissingScope.authorization(&issuer);
    for path in ADMIN_PATHS {
        let reply = get(&srv.url(path), &authorization(scope.as_deref())).await;
        let fields = [r#"Bearer realm="api", error="insufficient_scope", error_description="Insufficient scope", scope="admin""#.to_owned()];
        assert_fields(&reply, 403, &fields, path);
    }
    // No document to serve: the route answers 404 at the default path.
    let reply = get(&srv.url("/.well-known/oauth-protected-resource"), &[]).await;
    assert_eq!(reply.status, 404);
    srv.stop().await;
}

/// `RequireScopes` wrapping the whole `App` leaves the document public too.
#[actix_web::test]
async fn route_middleware_on_the_app_leaves_the_document_public() {
    let issuer = TestIssuer::start();
    let auth = spec_auth(&issuer, Some(REALM));
    let srv = serve!(move || App::new()
        .wrap(RequireScopes::new([REQUIRED_SCOPE]))
        .app_data(auth.clone())
        .service(resource_metadata(&auth))
        .route("/me", web::get().to(me)));
    let reply = get(&srv.url(RESOURCE_METADATA_PATH), &[]).await;
    assert_eq!(reply.status, 200, "{reply:?}");
    assert_eq!(reply.body, expected_document(&issuer, false));
    let reply = send(Method::POST, &srv.url(RESOURCE_METADATA_PATH), &[]).await;
    assert_eq!(reply.status, 405);
    assert_eq!(reply.header("allow"), Some("GET, HEAD"));
    let reply = get(&srv.url("/me"), &[]).await;
    assert_eq!(reply.challenges, [Expected::spec().bearer()]);
    srv.stop().await;
}
