//! The conversations one socket follows, by conversation id.
//!
//! Every open socket holds this for life, and nearly every socket (a visitor's, a widget's)
//! follows one conversation. A `HashMap` allocates four buckets for its first entry (about
//! 450 bytes per socket in a heap profile of 10,000 idle sockets); this is a `Vec` sorted by id
//! that holds exactly one entry for one conversation and finds an agent's hundreds by binary
//! search.

/// Entries sorted by conversation id, each id at most once.
#[derive(Debug)]
pub struct Followed<V> {
    entries: Vec<(String, V)>,
}

impl<V> Default for Followed<V> {
    fn default() -> Self {
        Self {
            entries: Vec::new(),
        }
    }
}

impl<V> Followed<V> {
    fn find(&self, id: &str) -> Result<usize, usize> {
        self.entries.binary_search_by(|(k, _)| k.as_str().cmp(id))
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub fn contains_key(&self, id: &str) -> bool {
        self.find(id).is_ok()
    }

    pub fn get(&self, id: &str) -> Option<&V> {
        self.find(id).ok().map(|i| &self.entries[i].1)
    }

    pub fn get_mut(&mut self, id: &str) -> Option<&mut V> {
        self.find(id).ok().map(|i| &mut self.entries[i].1)
    }

    /// Sets `id`'s entry; the one it replaces, if any.
    pub fn insert(&mut self, id: String, value: V) -> Option<V> {
        match self.find(&id) {
            Ok(i) => Some(std::mem::replace(&mut self.entries[i].1, value)),
            Err(i) => {
                if self.entries.is_empty() {
                    // `Vec` would reserve four entries for its first; one socket, one conversation.
                    self.entries.reserve_exact(1);
                }
                self.entries.insert(i, (id, value));
                None
            }
        }
    }

    pub fn remove(&mut self, id: &str) -> Option<V> {
        let i = self.find(id).ok()?;
        let (_, value) = self.entries.remove(i);
        if self.entries.is_empty() {
            self.entries = Vec::new();
        }
        Some(value)
    }

    pub fn keys(&self) -> impl Iterator<Item = &String> {
        self.entries.iter().map(|(k, _)| k)
    }

    pub fn values(&self) -> impl Iterator<Item = &V> {
        self.entries.iter().map(|(_, v)| v)
    }

    pub fn iter(&self) -> impl Iterator<Item = (&String, &V)> {
        self.entries.iter().map(|(k, v)| (k, v))
    }
}

#[cfg(test)]
mod tests {
    use super::Followed;

    #[test]
    fn entries_are_found_replaced_and_removed_by_id_in_any_order() {
        let mut f = Followed::default();
        for (i, id) in ["m", "c", "x", "a", "p"].into_iter().enumerate() {
            assert_eq!(f.insert(id.to_string(), i), None);
        }
        assert_eq!(f.len(), 5);
        assert_eq!(
            f.keys().map(String::as_str).collect::<Vec<_>>(),
            ["a", "c", "m", "p", "x"],
            "kept sorted"
        );
        assert_eq!(f.get("x"), Some(&2));
        assert!(!f.contains_key("b"));
        assert_eq!(f.insert("x".into(), 20), Some(2), "one entry per id");
        assert_eq!(f.len(), 5);
        *f.get_mut("a").unwrap() += 30;
        assert_eq!(f.get("a"), Some(&33));
        assert_eq!(f.remove("c"), Some(1));
        assert_eq!(f.remove("c"), None);
        assert_eq!(f.values().copied().collect::<Vec<_>>(), [33, 0, 4, 20]);
    }

    #[test]
    fn one_conversation_holds_one_entry_and_none_frees_it() {
        let mut f = Followed::default();
        f.insert("c1".to_string(), [0u8; 80]);
        assert_eq!(
            f.entries.capacity(),
            1,
            "no room kept for entries never made"
        );
        f.remove("c1");
        assert!(f.is_empty());
        assert_eq!(f.entries.capacity(), 0);
    }
}
