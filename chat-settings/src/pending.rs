//! Settings the chat contract (chat-api-v1.md, v1.1) fixes and the operator already writes, while
//! the chat-server side that reads them is being built. They are apart from [`crate::names::ALL`]
//! because that list must equal the chat-server's clap env twins (its test checks it), and the
//! chat-server cannot declare a flag it does not implement yet.
//!
//! When the chat-server reads one, its name moves into `names!` and leaves this list: the test
//! below fails while a name is in both, and the operator then switches to `names::…`.

/// Business hours as JSON `{"timezone","weekly":[{"day","from","to"}],"holidays":[…]}`; unset =
/// always open ("When no one is there").
pub const BUSINESS_HOURS: &str = "CHAT_BUSINESS_HOURS";
/// Days after which resolved, untouched conversations are erased; the bucket's expiry of files
/// uses the same number ("Retention").
pub const RETENTION_DAYS: &str = "CHAT_RETENTION_DAYS";

/// Every name above.
pub const ALL: &[&str] = &[BUSINESS_HOURS, RETENTION_DAYS];

#[cfg(test)]
mod tests {
    #[test]
    fn a_pending_name_leaves_this_list_once_the_chat_server_reads_it() {
        for name in super::ALL {
            assert!(name.starts_with("CHAT_"), "{name}");
            assert!(
                !crate::names::ALL.contains(name),
                "{name} is now in names::ALL: remove it from pending and use names:: in the operator"
            );
        }
    }
}
