//! Signed tokens and roles. A token is `base64url(claims JSON) . base64url(HMAC-SHA256)`
//! under the server's secret. Participants hold a session ticket (their session id in
//! `session`); proctors, admins and operators hold role tokens.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

/// Longest token accepted, in bytes; longer ones are refused before any decoding.
pub const TOKEN_MAX_BYTES: usize = 2048;

/// Who a token speaks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Participant,
    Proctor,
    Admin,
    Operator,
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Participant => "participant",
            Self::Proctor => "proctor",
            Self::Admin => "admin",
            Self::Operator => "operator",
        })
    }
}

/// What a token says.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    pub role: Role,
    /// Participant id, or the staff member's name.
    pub sub: String,
    /// The session a participant ticket is for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session: Option<String>,
    pub exp_ms: u64,
}

/// Why a token was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    #[error("no token was presented")]
    Missing,
    #[error("token is malformed")]
    Malformed,
    #[error("token signature is invalid")]
    BadSignature,
    #[error("token has expired")]
    Expired,
    #[error("role {role} may not do this")]
    Forbidden { role: Role },
}

/// Signs and verifies tokens with one secret.
#[derive(Clone)]
pub struct Signer {
    secret: Vec<u8>,
}

type HmacSha256 = Hmac<Sha256>;

impl Signer {
    pub fn new(secret: Vec<u8>) -> Self {
        Self { secret }
    }

    fn mac(&self) -> HmacSha256 {
        HmacSha256::new_from_slice(&self.secret).expect("HMAC takes keys of any length")
    }

    pub fn sign(&self, claims: &Claims) -> String {
        let payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(claims).expect("claims serialize"));
        let mut mac = self.mac();
        mac.update(payload.as_bytes());
        let signature = URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes());
        format!("{payload}.{signature}")
    }

    /// Verifies signature first (in constant time), then expiry against `now_ms`.
    pub fn verify(&self, token: &str, now_ms: u64) -> Result<Claims, AuthError> {
        if token.len() > TOKEN_MAX_BYTES {
            return Err(AuthError::Malformed);
        }
        let (payload, signature) = token.split_once('.').ok_or(AuthError::Malformed)?;
        let signature = URL_SAFE_NO_PAD
            .decode(signature)
            .map_err(|_| AuthError::Malformed)?;
        let mut mac = self.mac();
        mac.update(payload.as_bytes());
        mac.verify_slice(&signature)
            .map_err(|_| AuthError::BadSignature)?;
        let json = URL_SAFE_NO_PAD
            .decode(payload)
            .map_err(|_| AuthError::Malformed)?;
        let claims: Claims = serde_json::from_slice(&json).map_err(|_| AuthError::Malformed)?;
        if now_ms >= claims.exp_ms {
            return Err(AuthError::Expired);
        }
        Ok(claims)
    }

    /// Verifies a token and requires one of `roles`.
    pub fn require(&self, token: &str, now_ms: u64, roles: &[Role]) -> Result<Claims, AuthError> {
        let claims = self.verify(token, now_ms)?;
        if roles.contains(&claims.role) {
            Ok(claims)
        } else {
            Err(AuthError::Forbidden { role: claims.role })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims(exp_ms: u64) -> Claims {
        Claims {
            role: Role::Participant,
            sub: "p1".into(),
            session: Some("s1".into()),
            exp_ms,
        }
    }

    #[test]
    fn signed_token_verifies_until_it_expires() {
        let signer = Signer::new(b"secret".to_vec());
        let token = signer.sign(&claims(1000));
        assert_eq!(signer.verify(&token, 999), Ok(claims(1000)));
        assert_eq!(signer.verify(&token, 1000), Err(AuthError::Expired));
    }

    #[test]
    fn forged_or_foreign_tokens_are_refused() {
        let signer = Signer::new(b"secret".to_vec());
        let other = Signer::new(b"other".to_vec());
        let token = other.sign(&claims(1000));
        assert_eq!(signer.verify(&token, 0), Err(AuthError::BadSignature));
        let (_, signature) = signer
            .sign(&claims(1000))
            .split_once('.')
            .map(|(a, b)| (a.to_owned(), b.to_owned()))
            .unwrap();
        let mut forged = claims(u64::MAX);
        forged.role = Role::Admin;
        let payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&forged).unwrap());
        assert_eq!(
            signer.verify(&format!("{payload}.{signature}"), 0),
            Err(AuthError::BadSignature)
        );
        assert_eq!(signer.verify("garbage", 0), Err(AuthError::Malformed));
        assert_eq!(
            signer.verify(&"a".repeat(5000), 0),
            Err(AuthError::Malformed)
        );
    }

    #[test]
    fn roles_are_enforced() {
        let signer = Signer::new(b"secret".to_vec());
        let token = signer.sign(&claims(1000));
        assert_eq!(
            signer.require(&token, 0, &[Role::Admin]),
            Err(AuthError::Forbidden {
                role: Role::Participant
            })
        );
    }
}
