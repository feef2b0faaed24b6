//! Which new passwords are refused: shorter than [`MIN_PASSWORD_LEN`], or guessable from the list of
//! the 10,000 most common passwords (`common-passwords.txt`, provenance and licence in its header).
//!
//! An exact match alone would refuse almost nothing: only 56 of those 10,000 have 12 characters
//! or more. What guessers try first is the list decorated, so a password is also refused when it is
//! a listed one with digits or symbols around it (`Password1234!`), a listed one or a short unit
//! repeated (`monkeymonkey`, `abcabcabcabc`), or a run of consecutive characters
//! (`123456789012`, `abcdefghijkl`). The list is compiled in: no file to ship, nothing at run time.

use std::collections::HashSet;
use std::sync::LazyLock;

pub const MIN_PASSWORD_LEN: usize = 12;
pub const MAX_PASSWORD_BYTES: usize = 1024;

static COMMON: LazyLock<HashSet<&'static str>> = LazyLock::new(|| {
    include_str!("common-passwords.txt")
        .lines()
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .collect()
});

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Weakness {
    TooShort,
    TooLong,
    Common,
}

impl std::fmt::Display for Weakness {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::TooShort | Self::TooLong => write!(
                f,
                "password must be {MIN_PASSWORD_LEN} to {MAX_PASSWORD_BYTES} characters"
            ),
            Self::Common => f.write_str(
                "password is too easy to guess: it is, or is built from, one of the 10,000 most \
                 common passwords, a repeated pattern or a run of consecutive characters",
            ),
        }
    }
}

pub fn check(password: &str) -> Result<(), Weakness> {
    if password.chars().count() < MIN_PASSWORD_LEN {
        return Err(Weakness::TooShort);
    }
    if password.len() > MAX_PASSWORD_BYTES {
        return Err(Weakness::TooLong);
    }
    if guessable(&password.to_lowercase()) {
        return Err(Weakness::Common);
    }
    Ok(())
}

fn guessable(p: &str) -> bool {
    let core = p.trim_matches(|c: char| !c.is_alphabetic());
    COMMON.contains(p)
        || (core.chars().count() >= 4 && COMMON.contains(core))
        || repeated(p)
        || consecutive(p)
}

/// `p` is one unit written two or more times, and that unit is short or itself common.
fn repeated(p: &str) -> bool {
    let chars: Vec<char> = p.chars().collect();
    (1..=chars.len() / 2)
        .filter(|unit| chars.len().is_multiple_of(*unit))
        .find(|&unit| chars.chunks(unit).all(|c| c == &chars[..unit]))
        .is_some_and(|unit| {
            let u: String = chars[..unit].iter().collect();
            unit <= 4 || COMMON.contains(u.as_str())
        })
}

/// Every character is the next (or every one the previous) of the one before; digits wrap, so
/// `890123` counts.
fn consecutive(p: &str) -> bool {
    let step = |a: char, b: char, dir: i32| -> bool {
        if a.is_ascii_digit() && b.is_ascii_digit() {
            let (a, b) = (a as i32 - '0' as i32, b as i32 - '0' as i32);
            (a + dir).rem_euclid(10) == b
        } else {
            a as i32 + dir == b as i32
        }
    };
    let chars: Vec<char> = p.chars().collect();
    [1, -1]
        .into_iter()
        .any(|dir| chars.windows(2).all(|w| step(w[0], w[1], dir)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_list_is_the_ten_thousand_entries_with_the_most_common_first() {
        assert_eq!(COMMON.len(), 10_000);
        let first = include_str!("common-passwords.txt")
            .lines()
            .find(|l| !l.starts_with('#'));
        assert_eq!(first, Some("123456"));
    }

    #[test]
    fn short_passwords_are_refused_whatever_they_contain() {
        assert_eq!(
            check("x7#Qm!2pL9z"),
            Err(Weakness::TooShort),
            "11 characters"
        );
        assert_eq!(check("aaaaaaaa"), Err(Weakness::TooShort));
        assert_eq!(
            check("ção-ação-çã"),
            Err(Weakness::TooShort),
            "counted in characters"
        );
        assert_eq!(check(&"x".repeat(1025)), Err(Weakness::TooLong));
    }

    #[test]
    fn common_passwords_and_their_decorations_are_refused() {
        for weak in [
            "qwerty123456",      // listed as it is
            "1qaz2wsx3edc",      // listed as it is
            "Password1234",      // listed word, digits after, any case
            "!!Dragon2024!!",    // listed word, symbols and digits around
            "2024-12-25letmein", // listed word, digits before
            "monkeymonkey",      // a listed word twice
            "aaaaaaaaaaaa",      // one character repeated
            "abcabcabcabc",      // a short unit repeated
            "121212121212",      // a short unit repeated
            "123456789012",      // a run of digits (wrapping)
            "abcdefghijklm",     // a run of letters
            "987654321098",      // a run downwards
        ] {
            assert_eq!(check(weak), Err(Weakness::Common), "{weak}");
        }
    }

    #[test]
    fn passwords_the_project_uses_or_generates_are_accepted() {
        for ok in [
            "change-me-please",           // README
            "admin-password-1",           // chat-server tests
            "agent-password",             // chat-server tests
            "bia-password",               // api_rest test
            "e2e-browser-admin-password", // browser e2e
            "bruna-e2e-password-1",       // browser e2e
            "Xq3vT9mK2pW7rL4nB8cY5dZ1",   // what the operator generates (24 alphanumerics)
            "correct horse battery staple",
        ] {
            assert_eq!(check(ok), Ok(()), "{ok}");
        }
    }

    #[test]
    fn the_refusal_never_repeats_the_password() {
        let secret = "Password1234";
        let message = check(secret).unwrap_err().to_string();
        assert!(
            !message.to_lowercase().contains("password1234"),
            "{message}"
        );
    }
}
