//! "Did you mean ...?": the nearest valid name to a mistyped one.
//!
//! Names are compared by edit distance (Levenshtein: insertions, deletions
//! and substitutions of one character each cost 1). A name is offered only
//! when it is close enough that a typo explains the difference, so a word
//! that looks like none of the names gets no suggestion rather than a
//! misleading one.

/// The name in `names` closest to `typed`, if one is close enough to be what
/// was meant: at most two edits away, or fewer edits than a third of its
/// length, or starting with `typed` (`parallel` for `parallel-sum`).
pub fn nearest<'a>(typed: &str, names: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let typed = typed.to_ascii_lowercase();
    names
        .into_iter()
        .map(|name| (edit_distance(&typed, name), name))
        .filter(|&(distance, name)| {
            distance <= 2 || distance * 3 < name.len() || (typed.len() >= 3 && name.starts_with(&typed))
        })
        .min_by_key(|&(distance, _)| distance)
        .map(|(_, name)| name)
}

/// The Levenshtein distance between `a` and `b`, by characters.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    // previous[j]: distance between the part of `a` seen so far and b[..j].
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut current = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let substitute = previous[j] + usize::from(ca != *cb);
            current.push(substitute.min(previous[j + 1] + 1).min(current[j] + 1));
        }
        previous = current;
    }
    previous[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    const PROGRAMS: [&str; 5] = ["hello", "main-exits", "sieve", "pingpong", "parallel-sum"];

    #[test]
    fn edit_distance_counts_single_character_edits() {
        assert_eq!(edit_distance("helo", "hello"), 1);
        assert_eq!(edit_distance("hello", "hello"), 0);
        assert_eq!(edit_distance("sieev", "sieve"), 2);
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
    }

    #[test]
    fn a_typo_gets_the_nearest_name() {
        assert_eq!(nearest("helo", PROGRAMS), Some("hello"));
        assert_eq!(nearest("Hello", PROGRAMS), Some("hello"));
        assert_eq!(nearest("ping-pong", PROGRAMS), Some("pingpong"));
        assert_eq!(nearest("main-exit", PROGRAMS), Some("main-exits"));
        assert_eq!(nearest("parallel", PROGRAMS), Some("parallel-sum"));
    }

    #[test]
    fn a_word_like_no_name_gets_no_suggestion() {
        assert_eq!(nearest("nosuchprogram", PROGRAMS), None);
        assert_eq!(nearest("quicksort", PROGRAMS), None);
    }
}
