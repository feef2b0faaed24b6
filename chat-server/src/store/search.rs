//! The one folding both stores index message bodies with and read queries with, so "cafe" finds
//! "Café" and "CAFÉ" finds "cafe": lowercase, then compatibility decomposition (NFKD: "é" becomes
//! "e" + a combining accent, "ﬁ" becomes "fi"), then every combining mark dropped. Words are the
//! runs of letters and digits that remain.

use unicode_normalization::UnicodeNormalization;
use unicode_normalization::char::is_combining_mark;

/// Most words a query may have: every word is one more index lookup.
pub const MAX_QUERY_WORDS: usize = 8;

/// `text`, folded.
pub fn fold(text: &str) -> String {
    // Lowercase first: lowercasing can itself produce a base letter + a mark ("İ" → "i̇").
    text.to_lowercase()
        .nfkd()
        .filter(|c| !is_combining_mark(*c))
        .collect()
}

/// The distinct folded words of `text`, in order of first appearance.
pub fn words(text: &str) -> Vec<String> {
    let folded = fold(text);
    let mut seen = std::collections::HashSet::new();
    folded
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty() && seen.insert(*w))
        .map(str::to_string)
        .collect()
}

/// The words of a search query (at most [`MAX_QUERY_WORDS`], the first ones); empty when it has
/// none, which matches nothing.
pub fn query_words(query: &str) -> Vec<String> {
    let mut words = words(query);
    words.truncate(MAX_QUERY_WORDS);
    words
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accents_and_case_fold_away_in_both_directions() {
        assert_eq!(words("Café"), vec!["cafe"]);
        assert_eq!(words("CAFÉ com pão"), vec!["cafe", "com", "pao"]);
        assert_eq!(fold("Ação É Über straße"), "acao e uber straße");
        assert_eq!(words("ﬁnal"), vec!["final"]);
    }

    #[test]
    fn words_are_runs_of_letters_and_digits_without_repeats() {
        assert_eq!(
            words("Order #4521: refund, REFUND & re-fund!"),
            vec!["order", "4521", "refund", "re", "fund"]
        );
        assert!(words(" ,.!? ").is_empty());
        assert_eq!(words("日本語 テスト"), vec!["日本語", "テスト"]);
    }

    #[test]
    fn a_query_keeps_its_first_words_only() {
        let many = (0..20)
            .map(|i| format!("w{i}"))
            .collect::<Vec<_>>()
            .join(" ");
        assert_eq!(query_words(&many).len(), MAX_QUERY_WORDS);
    }
}
