//! `oidc-verify mint`: a development token signed by a throwaway key, and a local issuer
//! serving that key, for trying an API with curl. Nothing here is for production.

use std::io::Write;

use serde::Serialize;
use serde_json::{Map, Value};
use verifier_testkit::{now, Alg, TestIssuer, TestKey, DEFAULT_AUDIENCE};

use crate::cli::{Format, MintArgs};
use crate::{usage_error, Outcome};

/// Printed first, in both formats.
const WARNING: &str = "DEVELOPMENT ONLY: a throwaway key in this process; never configure a production API to trust it";

/// The `--format json` document (one line, then the issuer serves).
#[derive(Serialize)]
struct Minted<'a> {
    warning: &'a str,
    issuer: String,
    jwks_url: String,
    metadata_url: String,
    token: &'a str,
    claims: &'a Map<String, Value>,
    /// Only with `--no-serve`: the key set, since nothing serves it.
    #[serde(skip_serializing_if = "Option::is_none")]
    jwks: Option<Value>,
}

fn alg(name: &str) -> Option<Alg> {
    Alg::ALL.iter().copied().find(|a| a.as_str() == name)
}

/// `NAME=VALUE`: JSON when VALUE parses as JSON, else the string.
fn claim(arg: &str) -> Result<(String, Value), String> {
    let (name, value) = arg
        .split_once('=')
        .ok_or_else(|| format!("--claim {arg:?} must be NAME=VALUE"))?;
    if name.trim().is_empty() {
        return Err(format!("--claim {arg:?} has an empty name"));
    }
    let value = serde_json::from_str(value).unwrap_or_else(|_| Value::String(value.to_owned()));
    Ok((name.trim().to_owned(), value))
}

pub(crate) fn run(args: &MintArgs) -> Outcome {
    let Some(alg) = alg(args.alg.trim()) else {
        let names: Vec<&str> = Alg::ALL.iter().map(|a| a.as_str()).collect();
        return usage_error(format_args!(
            "--alg must be one of {} (exact case), got {:?}",
            names.join(", "),
            args.alg
        ));
    };
    if args.ttl == 0 {
        return usage_error("--ttl must be at least 1 second");
    }
    let path = args.path.trim();
    let routable = path.starts_with('/')
        && !path.starts_with("//")
        && !path.contains(['?', '#', ' '])
        && !path.chars().any(char::is_control);
    if !path.is_empty() && !routable {
        return usage_error(format_args!(
            "--path must start with / and hold no query, fragment or space, got {path:?}"
        ));
    }
    let mut extra = Vec::new();
    for arg in &args.claims {
        match claim(arg) {
            Ok(pair) => extra.push(pair),
            Err(message) => return usage_error(message),
        }
    }

    let key = TestKey::generate(alg, format!("dev-{}", alg.as_str().to_ascii_lowercase()));
    let mut builder = TestIssuer::builder().keys(std::slice::from_ref(&key));
    if !path.is_empty() {
        builder = builder.path(path);
    }
    let issuer = builder.start();
    let iat = now();
    let audiences: Vec<Value> = if args.audiences.is_empty() {
        vec![Value::from(DEFAULT_AUDIENCE)]
    } else {
        args.audiences
            .iter()
            .map(|a| Value::from(a.as_str()))
            .collect()
    };
    let mut claims = Map::new();
    claims.insert("iss".into(), Value::from(issuer.issuer()));
    claims.insert("sub".into(), Value::from(args.sub.as_str()));
    claims.insert(
        "aud".into(),
        match audiences.len() {
            1 => audiences[0].clone(),
            _ => Value::Array(audiences.clone()),
        },
    );
    claims.insert("iat".into(), Value::from(iat));
    claims.insert("nbf".into(), Value::from(iat));
    claims.insert("exp".into(), Value::from(iat + i64::from(args.ttl)));
    if !args.scopes.is_empty() {
        claims.insert("scope".into(), Value::from(args.scopes.join(" ")));
    }
    for (name, value) in extra {
        claims.insert(name, value);
    }
    let token = issuer
        .token_for(&key)
        .claims(Value::Object(claims.clone()))
        .build();

    let jwks = args.no_serve.then(|| issuer.jwks());
    let audience_list: Vec<&str> = audiences.iter().filter_map(Value::as_str).collect();
    match args.format {
        Format::Json => {
            let doc = Minted {
                warning: WARNING,
                issuer: issuer.issuer(),
                jwks_url: issuer.jwks_url(),
                metadata_url: issuer.discovery_url(),
                token: &token,
                claims: &claims,
                jwks,
            };
            println!("{}", serde_json::to_string(&doc).unwrap_or_default());
        }
        Format::Text => {
            eprintln!("{WARNING}");
            println!("issuer:   {}", issuer.issuer());
            println!("jwks_url: {}", issuer.jwks_url());
            println!("metadata: {}", issuer.discovery_url());
            println!();
            println!("TOKEN={token}");
            println!();
            println!("an API accepts it with:");
            println!(
                "  OIDC_ISSUER={} OIDC_AUDIENCE={} OIDC_ALLOWED_ALGS={}",
                issuer.issuer(),
                audience_list.join(","),
                alg.as_str()
            );
            println!(
                "  (keys discovered from the issuer; or OIDC_JWKS_URL={})",
                issuer.jwks_url()
            );
            println!("  curl -H \"Authorization: Bearer $TOKEN\" http://127.0.0.1:3000/me");
            if let Some(jwks) = &jwks {
                println!();
                println!("key set (not served: --no-serve):");
                println!("{jwks}");
            }
        }
    }
    if args.no_serve {
        return Outcome::Success;
    }
    eprintln!("serving the key set until interrupted (Ctrl-C)");
    let _ = std::io::stdout().flush();
    // The issuer serves on its own threads; this thread only keeps it alive.
    loop {
        std::thread::park();
    }
}
