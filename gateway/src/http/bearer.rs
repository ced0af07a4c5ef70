//! Reads the `Authorization: Bearer` token of a request and checks its role.

use actix_web::HttpRequest;
use engine::clock::now_ms;

use crate::auth::{AuthError, Claims, Role};
use crate::state::Gateway;

/// The request's verified claims, if its token has one of `roles`.
pub fn require(
    gateway: &Gateway,
    request: &HttpRequest,
    roles: &[Role],
) -> Result<Claims, AuthError> {
    let header = request
        .headers()
        .get("authorization")
        .ok_or(AuthError::Missing)?;
    let value = header.to_str().map_err(|_| AuthError::Malformed)?;
    let token = value.strip_prefix("Bearer ").ok_or(AuthError::Malformed)?;
    gateway.signer.require(token.trim(), now_ms(), roles)
}
