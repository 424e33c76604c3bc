//! Passwords: argon2id hashes in PHC strings (the parameters travel in the hash, so
//! changing them in config applies to new hashes and old ones still verify), the
//! password rule, and a dummy verification that makes a login for an unknown address
//! cost the same time as one for a known address.

use argon2::{
    password_hash::{rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString},
    Algorithm, Argon2, Params, Version,
};

use crate::error::{Error, Result};

/// Shortest password accepted, in characters.
pub const MIN_LEN: usize = 10;
/// Longest password accepted, in bytes (argon2 hashes any length; this bounds the work).
pub const MAX_BYTES: usize = 128;

/// Passwords nobody may choose (the most common ones that pass the length rule).
const COMMON: [&str; 12] = [
    "1234567890",
    "12345678910",
    "0123456789",
    "qwertyuiop",
    "password123",
    "password1234",
    "passwordpassword",
    "iloveyou123",
    "1q2w3e4r5t",
    "qwerty12345",
    "abcdefghij",
    "letmein1234",
];

/// argon2id cost parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HashParams {
    /// Memory in KiB (OWASP: 19,456 = 19 MiB).
    pub memory_kib: u32,
    /// Passes (OWASP: 2).
    pub iterations: u32,
    /// Lanes (OWASP: 1).
    pub parallelism: u32,
}

impl Default for HashParams {
    /// OWASP's argon2id suggestion: m = 19 MiB, t = 2, p = 1.
    fn default() -> Self {
        Self { memory_kib: 19_456, iterations: 2, parallelism: 1 }
    }
}

/// Hashes and verifies passwords with fixed parameters.
#[derive(Clone)]
pub struct Passwords {
    argon: Argon2<'static>,
    params: HashParams,
    dummy: String,
}

impl std::fmt::Debug for Passwords {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Passwords").field("params", &self.params).finish_non_exhaustive()
    }
}

impl Passwords {
    /// A hasher with `params` (refused when argon2 refuses them).
    pub fn new(params: HashParams) -> Result<Self> {
        let p = Params::new(params.memory_kib, params.iterations, params.parallelism, None).map_err(|e| {
            Error::Internal(format!(
                "argon2 parameters m={}, t={}, p={}: {e}",
                params.memory_kib, params.iterations, params.parallelism
            ))
        })?;
        let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, p);
        let mut this = Self { argon, params, dummy: String::new() };
        this.dummy = this.hash(&crate::secret::random_token())?;
        Ok(this)
    }

    /// The parameters new hashes get.
    pub fn params(&self) -> HashParams {
        self.params
    }

    /// The PHC string of `password` with a fresh salt.
    pub fn hash(&self, password: &str) -> Result<String> {
        let salt = SaltString::generate(&mut OsRng);
        self.argon
            .hash_password(password.as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(|e| Error::Internal(format!("hashing a password: {e}")))
    }

    /// Whether `password` matches `phc` (in constant time; a malformed hash is `false`).
    pub fn verify(&self, password: &str, phc: &str) -> bool {
        match PasswordHash::new(phc) {
            Ok(parsed) => self.argon.verify_password(password.as_bytes(), &parsed).is_ok(),
            Err(_) => false,
        }
    }

    /// Spends the time of one verification and fails: what a login for an unknown
    /// address does, so its answer time tells nothing.
    pub fn verify_nobody(&self, password: &str) -> bool {
        let _ = self.verify(password, &self.dummy);
        false
    }

    /// Whether `phc` was made with other parameters than today's (rehash on login).
    pub fn needs_rehash(&self, phc: &str) -> bool {
        let Ok(parsed) = PasswordHash::new(phc) else { return true };
        let Ok(params) = Params::try_from(&parsed) else { return true };
        parsed.algorithm.as_str() != "argon2id"
            || params.m_cost() != self.params.memory_kib
            || params.t_cost() != self.params.iterations
            || params.p_cost() != self.params.parallelism
    }
}

/// The password rule: 10 to 128 bytes' worth of at least 10 characters, not one
/// character repeated, not one of the most common passwords, and not containing the
/// name part of the account's email address. `field` names the field in errors.
pub fn check_rule(field: &'static str, password: &str, email: &str) -> Result<()> {
    let chars = password.chars().count();
    if chars < MIN_LEN {
        return Err(Error::invalid(field, format!("the password must have at least {MIN_LEN} characters")));
    }
    if password.len() > MAX_BYTES {
        return Err(Error::invalid(field, format!("the password must be at most {MAX_BYTES} bytes")));
    }
    if password.chars().any(char::is_control) {
        return Err(Error::invalid(field, "the password must not contain control characters"));
    }
    let mut distinct: Vec<char> = password.chars().collect();
    distinct.sort_unstable();
    distinct.dedup();
    if distinct.len() < 3 {
        return Err(Error::invalid(field, "the password must use at least 3 different characters"));
    }
    let lower = password.to_lowercase();
    if COMMON.contains(&lower.as_str()) {
        return Err(Error::invalid(field, "this password is among the most common ones; choose another"));
    }
    let name = email.split('@').next().unwrap_or_default().to_lowercase();
    if name.chars().count() >= 4 && lower.contains(&name) {
        return Err(Error::invalid(field, "the password must not contain your email address"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cheap() -> Passwords {
        Passwords::new(HashParams { memory_kib: 256, iterations: 1, parallelism: 1 }).unwrap()
    }

    #[test]
    fn hashes_verify_and_are_salted() {
        let p = cheap();
        let a = p.hash("correct horse battery").unwrap();
        let b = p.hash("correct horse battery").unwrap();
        assert_ne!(a, b, "every hash has its own salt");
        assert!(a.starts_with("$argon2id$v=19$m=256,t=1,p=1$"), "{a}");
        assert!(p.verify("correct horse battery", &a));
        assert!(!p.verify("correct horse batterY", &a));
        assert!(!p.verify("anything", "not a phc string"));
        assert!(!p.verify_nobody("correct horse battery"));
        assert!(!p.needs_rehash(&a));
        let stronger = Passwords::new(HashParams { memory_kib: 512, iterations: 1, parallelism: 1 }).unwrap();
        assert!(stronger.needs_rehash(&a));
        assert!(stronger.verify("correct horse battery", &a), "old parameters still verify");
    }

    #[test]
    fn the_rule_names_the_field() {
        let ok = check_rule("password", "a long enough phrase", "ann@example.com");
        assert!(ok.is_ok());
        for bad in ["short", "aaaaaaaaaaaaaa", "abababababab", "Password1234", "ann.smith-secret-2024"] {
            let email = "ann.smith@example.com";
            match check_rule("password", bad, email) {
                Err(Error::Invalid { field, .. }) => assert_eq!(field, "password"),
                other => panic!("{bad}: {other:?}"),
            }
        }
        assert!(check_rule("password", &"x1".repeat(70), "a@b.c").is_err(), "over 128 bytes");
        assert!(check_rule("password", "tab\there-long", "a@b.c").is_err());
    }

    #[test]
    fn refuses_parameters_argon2_refuses() {
        assert!(Passwords::new(HashParams { memory_kib: 1, iterations: 0, parallelism: 1 }).is_err());
    }
}
