//! axum integration for oidc-jwt-verifier (in progress).
