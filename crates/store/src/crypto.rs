//! Encryption at rest for `encryptedText` fields.
//!
//! Values are sealed with XChaCha20-Poly1305 (authenticated: a changed byte
//! fails to open) under a random 192-bit nonce, so the same text never seals
//! to the same bytes. The field's stable id is the associated data: a value
//! copied into another field or workspace does not open there. A sealed value
//! names the key that sealed it, so a keyring can hold old keys for reading
//! while the first key seals everything new (rotation, see docs/security.md).

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use chacha20poly1305::aead::{Aead, AeadCore, KeyInit, OsRng, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use sha2::{Digest, Sha256};

use crate::error::StoreError;

const PREFIX: &str = "rpe1";
const NONCE_LEN: usize = 24;

struct NamedKey {
    id: String,
    cipher: XChaCha20Poly1305,
}

/// The server's encryption keys; the first seals, all open.
pub struct Keyring {
    keys: Vec<NamedKey>,
}

impl std::fmt::Debug for Keyring {
    // Key ids only: key bytes never reach a log.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let ids: Vec<&str> = self.keys.iter().map(|k| k.id.as_str()).collect();
        f.debug_struct("Keyring").field("key_ids", &ids).finish()
    }
}

fn config_error(reason: impl Into<String>) -> StoreError {
    StoreError::bad("encryption key", reason)
}

impl Keyring {
    /// Keys as base64 of 32 bytes, one per line or separated by commas;
    /// blank lines and `#` comments are skipped. The first key seals.
    pub fn parse(text: &str) -> Result<Keyring, StoreError> {
        let mut keys = Vec::new();
        for (n, entry) in text
            .lines()
            .map(|l| l.split('#').next().unwrap_or_default())
            .flat_map(|l| l.split(','))
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .enumerate()
        {
            let bytes = STANDARD
                .decode(entry)
                .map_err(|_| config_error(format!("key {} is not base64", n + 1)))?;
            if bytes.len() != 32 {
                return Err(config_error(format!(
                    "key {} has {} bytes; a key is 32 random bytes (`rapport keygen`)",
                    n + 1,
                    bytes.len()
                )));
            }
            let digest = Sha256::digest([b"rapport key id:".as_slice(), &bytes].concat());
            let id: String = digest[..4].iter().map(|b| format!("{b:02x}")).collect();
            if keys.iter().any(|k: &NamedKey| k.id == id) {
                return Err(config_error(format!("key {} is listed twice", n + 1)));
            }
            let cipher = XChaCha20Poly1305::new_from_slice(&bytes)
                .map_err(|_| config_error("bad key length"))?;
            keys.push(NamedKey { id, cipher });
        }
        if keys.is_empty() {
            return Err(config_error("no key given"));
        }
        Ok(Keyring { keys })
    }

    /// From `RAPPORT_ENCRYPTION_KEY` (keys inline) or
    /// `RAPPORT_ENCRYPTION_KEY_FILE` (a file of keys); `None` when neither is set.
    pub fn from_env() -> Result<Option<Keyring>, StoreError> {
        if let Ok(keys) = std::env::var("RAPPORT_ENCRYPTION_KEY") {
            return Keyring::parse(&keys).map(Some);
        }
        if let Ok(path) = std::env::var("RAPPORT_ENCRYPTION_KEY_FILE") {
            let text = std::fs::read_to_string(&path)
                .map_err(|e| config_error(format!("cannot read {path}: {e}")))?;
            return Keyring::parse(&text).map(Some);
        }
        Ok(None)
    }

    /// A new random key, base64, for a key file or the environment.
    pub fn generate_key() -> String {
        STANDARD.encode(XChaCha20Poly1305::generate_key(&mut OsRng))
    }

    /// The id of the key that seals new values.
    pub fn primary_id(&self) -> &str {
        &self.keys[0].id
    }

    /// `rpe1.<key id>.<base64url(nonce ‖ ciphertext ‖ tag)>`.
    pub(crate) fn seal(&self, context: &str, plain: &str) -> Result<String, StoreError> {
        let key = &self.keys[0];
        let nonce = XChaCha20Poly1305::generate_nonce(&mut OsRng);
        let sealed = key
            .cipher
            .encrypt(
                &nonce,
                Payload {
                    msg: plain.as_bytes(),
                    aad: context.as_bytes(),
                },
            )
            .map_err(|_| StoreError::Internal("encryption failed".into()))?;
        let mut bytes = nonce.to_vec();
        bytes.extend_from_slice(&sealed);
        Ok(format!(
            "{PREFIX}.{}.{}",
            key.id,
            URL_SAFE_NO_PAD.encode(bytes)
        ))
    }

    /// The key id a sealed value names, if it is one.
    pub(crate) fn key_id(sealed: &str) -> Option<&str> {
        let mut parts = sealed.splitn(3, '.');
        (parts.next() == Some(PREFIX)).then_some(())?;
        parts.next()
    }

    pub(crate) fn open(&self, context: &str, sealed: &str) -> Result<String, StoreError> {
        // Reasons are logged by the caller's Internal error, never sent.
        let mut parts = sealed.splitn(3, '.');
        let (Some(PREFIX), Some(id), Some(body)) = (parts.next(), parts.next(), parts.next())
        else {
            return Err(StoreError::Internal(
                "an encryptedText column holds a value that is not sealed".into(),
            ));
        };
        let key = self.keys.iter().find(|k| k.id == id).ok_or_else(|| {
            StoreError::Internal(format!(
                "a value is sealed with key {id}, which is not in the keyring"
            ))
        })?;
        let bytes = URL_SAFE_NO_PAD
            .decode(body)
            .map_err(|_| StoreError::Internal("a sealed value is not base64".into()))?;
        if bytes.len() < NONCE_LEN {
            return Err(StoreError::Internal("a sealed value is truncated".into()));
        }
        let (nonce, ciphertext) = bytes.split_at(NONCE_LEN);
        let nonce: [u8; NONCE_LEN] = nonce
            .try_into()
            .map_err(|_| StoreError::Internal("a sealed value is truncated".into()))?;
        let plain = key
            .cipher
            .decrypt(
                &XNonce::from(nonce),
                Payload {
                    msg: ciphertext,
                    aad: context.as_bytes(),
                },
            )
            .map_err(|_| {
                StoreError::Internal(format!(
                    "a value sealed with key {id} failed authentication (tampered, or moved from another field)"
                ))
            })?;
        String::from_utf8(plain)
            .map_err(|_| StoreError::Internal("a sealed value is not UTF-8".into()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ring(keys: &[&str]) -> Keyring {
        Keyring::parse(&keys.join("\n")).unwrap()
    }

    #[test]
    fn seals_and_opens_with_context() {
        let k = Keyring::generate_key();
        let r = ring(&[&k]);
        let a = r.seal("field-1", "4111 1111 1111 1111").unwrap();
        let b = r.seal("field-1", "4111 1111 1111 1111").unwrap();
        assert_ne!(a, b, "random nonces: equal texts seal differently");
        assert!(!a.contains("4111"));
        assert_eq!(r.open("field-1", &a).unwrap(), "4111 1111 1111 1111");
        assert!(r.open("field-2", &a).is_err(), "bound to its field");
    }

    #[test]
    fn tampering_is_detected() {
        let r = ring(&[&Keyring::generate_key()]);
        let sealed = r.seal("f", "secret").unwrap();
        let mut bytes = sealed.into_bytes();
        let last = bytes.len() - 2;
        bytes[last] = if bytes[last] == b'A' { b'B' } else { b'A' };
        assert!(r.open("f", &String::from_utf8(bytes).unwrap()).is_err());
    }

    #[test]
    fn old_keys_open_and_the_first_seals() {
        let (old, new) = (Keyring::generate_key(), Keyring::generate_key());
        let before = ring(&[&old]).seal("f", "x").unwrap();
        let rotated = ring(&[&new, &old]);
        assert_eq!(rotated.open("f", &before).unwrap(), "x");
        let after = rotated.seal("f", "x").unwrap();
        assert_eq!(Keyring::key_id(&after), Some(rotated.primary_id()));
        assert!(ring(&[&new]).open("f", &before).is_err());
    }

    #[test]
    fn bad_keys_are_refused() {
        assert!(Keyring::parse("").is_err());
        assert!(Keyring::parse("not base64!").is_err());
        assert!(Keyring::parse(&STANDARD.encode([0u8; 16])).is_err());
        let k = Keyring::generate_key();
        assert!(Keyring::parse(&format!("{k}\n{k}")).is_err());
        assert!(Keyring::parse(&format!("# comment\n{k} # primary\n")).is_ok());
    }
}
