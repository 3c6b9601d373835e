//! Just enough of Rust's lexical grammar to find where a function's body
//! ends: braces are counted outside comments, strings and character
//! literals (so `naked_asm!("call {f}")` and `'{'` do not count), and a
//! lifetime (`'a`) is not taken for a character literal.

/// The offset of the `}` matching the `{` at `open`, or `None` if the
/// source ends first.
pub fn matching_brace(src: &str, open: usize) -> Option<usize> {
    let b = src.as_bytes();
    debug_assert_eq!(b[open], b'{');
    let mut depth = 0usize;
    let mut i = open;
    while i < b.len() {
        match b[i] {
            b'{' => depth += 1,
            b'}' => {
                depth -= 1;
                if depth == 0 {
                    return Some(i);
                }
            }
            _ => {
                if let Some(end) = skip_non_code(b, i) {
                    i = end;
                    continue;
                }
            }
        }
        i += 1;
    }
    None
}

/// The first `{` (or `;`) at bracket depth 0 from `from` on, outside
/// comments and literals: where a function's signature ends.
pub fn signature_end(src: &str, from: usize) -> Option<(usize, u8)> {
    let b = src.as_bytes();
    let mut depth = 0i32;
    let mut i = from;
    while i < b.len() {
        match b[i] {
            b'(' | b'[' => depth += 1,
            b')' | b']' => depth -= 1,
            b'{' | b';' if depth == 0 => return Some((i, b[i])),
            _ => {
                if let Some(end) = skip_non_code(b, i) {
                    i = end;
                    continue;
                }
            }
        }
        i += 1;
    }
    None
}

fn is_ident(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_'
}

/// If a comment or a literal starts at `i`, the offset just past it.
fn skip_non_code(b: &[u8], i: usize) -> Option<usize> {
    let at = |k: usize| b.get(k).copied().unwrap_or(0);
    let after_ident = i > 0 && is_ident(b[i - 1]);
    match b[i] {
        b'/' if at(i + 1) == b'/' => Some(b[i..].iter().position(|&c| c == b'\n').map_or(b.len(), |p| i + p)),
        b'/' if at(i + 1) == b'*' => {
            let (mut depth, mut k) = (0usize, i);
            while k < b.len() {
                if at(k) == b'/' && at(k + 1) == b'*' {
                    depth += 1;
                    k += 2;
                } else if at(k) == b'*' && at(k + 1) == b'/' {
                    depth -= 1;
                    k += 2;
                    if depth == 0 {
                        return Some(k);
                    }
                } else {
                    k += 1;
                }
            }
            Some(b.len())
        }
        b'"' => Some(skip_string(b, i + 1)),
        b'b' if !after_ident && at(i + 1) == b'"' => Some(skip_string(b, i + 2)),
        b'b' if !after_ident && at(i + 1) == b'\'' => Some(skip_char(b, i + 1).unwrap_or(i + 2)),
        b'r' | b'b' if !after_ident => {
            let start = if b[i] == b'b' && at(i + 1) == b'r' {
                i + 2
            } else if b[i] == b'r' {
                i + 1
            } else {
                return None;
            };
            let hashes = b[start..].iter().take_while(|&&c| c == b'#').count();
            if at(start + hashes) != b'"' {
                return None;
            }
            let mut k = start + hashes + 1;
            while k < b.len() {
                if b[k] == b'"' && b[k + 1..].iter().take(hashes).filter(|&&c| c == b'#').count() == hashes {
                    return Some(k + 1 + hashes);
                }
                k += 1;
            }
            Some(b.len())
        }
        b'\'' => skip_char(b, i),
        _ => None,
    }
}

/// Past the closing quote of a string whose contents start at `k`.
fn skip_string(b: &[u8], mut k: usize) -> usize {
    while k < b.len() {
        match b[k] {
            b'\\' => k += 2,
            b'"' => return k + 1,
            _ => k += 1,
        }
    }
    b.len()
}

/// Past a character literal starting with the quote at `i`; `None` for a
/// lifetime or a label (`'a`, `'outer:`), which are code.
fn skip_char(b: &[u8], i: usize) -> Option<usize> {
    let at = |k: usize| b.get(k).copied().unwrap_or(0);
    if at(i + 1) == b'\\' {
        let close = b[i + 2..].iter().position(|&c| c == b'\'')?;
        return Some(i + 2 + close + 1);
    }
    // One character (maybe several bytes of UTF-8), then the closing quote.
    let len = match at(i + 1) {
        c if c < 0x80 => 1,
        c if c >= 0xF0 => 4,
        c if c >= 0xE0 => 3,
        _ => 2,
    };
    (at(i + 1 + len) == b'\'').then_some(i + 2 + len)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close_of(src: &str) -> usize {
        matching_brace(src, src.find('{').unwrap()).unwrap()
    }

    #[test]
    fn braces_in_strings_chars_and_comments_do_not_count() {
        let src = r##"{ let s = "}{"; let c = '}'; // }
            /* { /* } */ */ let r = r#"}"#; let b = b'{'; }"##;
        assert_eq!(close_of(src), src.len() - 1);
    }

    #[test]
    fn lifetimes_and_labels_are_code_not_char_literals() {
        let src = "{ fn f<'a>(x: &'a str) -> &'a str { 'outer: loop { break 'outer; } x } }";
        assert_eq!(close_of(src), src.len() - 1);
    }

    #[test]
    fn escaped_quotes_and_unicode_chars_are_skipped() {
        let src = r#"{ let a = "\"}"; let b = '\''; let c = 'é'; let d = '\u{7d}'; }"#;
        assert_eq!(close_of(src), src.len() - 1);
    }

    #[test]
    fn a_signature_ends_at_its_body_not_inside_brackets() {
        let src = "fn f(x: [u8; 4], g: impl Fn(u8)) -> u8 where T: Copy { 0 }";
        assert_eq!(signature_end(src, 0), Some((src.find('{').unwrap(), b'{')));
        assert_eq!(signature_end("fn f(&self);", 0).map(|(_, c)| c), Some(b';'));
    }
}
