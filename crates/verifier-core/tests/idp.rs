//! Issue 16, "works with your identity provider": the claim rules (nested claim paths,
//! allowed clients, the application's own rules), the AWS Cognito audience mode and
//! `token_use`, and provider-shaped tokens (Auth0, Okta, Keycloak, Entra ID v1 and v2,
//! Cognito, Google) verified against the testkit's issuer over real HTTP on 127.0.0.1,
//! each provider's ID token refused. The recipes in docs/idp/ name these tests.

mod common;

#[path = "idp/claim_paths.rs"]
mod claim_paths;
#[path = "idp/clients_and_rules.rs"]
mod clients_and_rules;
#[path = "idp/cognito.rs"]
mod cognito;
#[path = "idp/providers.rs"]
mod providers;
