//! Wildcards within one name, as Go's `filepath.Match` reads them (Docker's
//! COPY sources and `.dockerignore`): `*` any run of characters, `?` any
//! one, `[abc]`, `[a-z]` and `[^a-z]` one of (or none of) a set, and `\`
//! making the next character plain.

/// One piece of a pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    Star,
    One,
    /// `[...]`: ranges of characters, or all but them.
    Class {
        negated: bool,
        ranges: Vec<(char, char)>,
    },
    Literal(char),
}

/// The pattern's pieces; none if it is malformed (a `[` never closed).
fn tokens(pattern: &str) -> Option<Vec<Token>> {
    let mut out = Vec::new();
    let mut chars = pattern.chars();
    while let Some(c) = chars.next() {
        out.push(match c {
            '*' => Token::Star,
            '?' => Token::One,
            '\\' => Token::Literal(chars.next()?),
            '[' => {
                let mut negated = false;
                let mut ranges = Vec::new();
                let mut first = true;
                loop {
                    let mut c = chars.next()?;
                    if first && c == '^' {
                        negated = true;
                        first = false;
                        continue;
                    }
                    if c == ']' && !first {
                        break;
                    }
                    first = false;
                    if c == '\\' {
                        c = chars.next()?;
                    }
                    let mut lookahead = chars.clone();
                    if lookahead.next() == Some('-') && lookahead.clone().next().is_some_and(|n| n != ']') {
                        chars.next();
                        let mut high = chars.next()?;
                        if high == '\\' {
                            high = chars.next()?;
                        }
                        ranges.push((c, high));
                    } else {
                        ranges.push((c, c));
                    }
                }
                Token::Class { negated, ranges }
            }
            c => Token::Literal(c),
        });
    }
    Some(out)
}

/// Whether a name has wildcards, and so names what matches rather than itself.
pub fn has_wildcards(name: &str) -> bool {
    name.contains(['*', '?', '['])
}

/// Whether `name` matches `pattern`. Only the last `*` is ever retried, so a
/// pattern of many stars (a hostile `.dockerignore`) costs at most its
/// length times the name's, never exponential time.
pub fn matches(pattern: &str, name: &str) -> bool {
    let Some(p) = tokens(pattern) else { return false };
    let n: Vec<char> = name.chars().collect();
    let one = |token: &Token, c: char| match token {
        Token::One => true,
        Token::Literal(l) => *l == c,
        Token::Class { negated, ranges } => {
            ranges.iter().any(|(lo, hi)| (*lo..=*hi).contains(&c)) != *negated
        }
        Token::Star => false,
    };
    let (mut pi, mut ni) = (0, 0);
    // Where the last `*` is, and where in the name it would next give way.
    let mut retry: Option<(usize, usize)> = None;
    while ni < n.len() {
        if p.get(pi) == Some(&Token::Star) {
            retry = Some((pi, ni));
            pi += 1;
        } else if p.get(pi).is_some_and(|t| one(t, n[ni])) {
            pi += 1;
            ni += 1;
        } else if let Some((star, from)) = retry {
            retry = Some((star, from + 1));
            pi = star + 1;
            ni = from + 1;
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|t| *t == Token::Star)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn as_go_matches_names() {
        for (pattern, name) in [
            ("a*b*c", "axxbyyc"),
            ("a*b", "ab"),
            ("*", ""),
            ("*a*a*a", "aaaa"),
            ("?.md", "x.md"),
            ("[abc].txt", "b.txt"),
            ("file[0-9]", "file7"),
            ("[^a-c]x", "dx"),
            ("arr[[]0].txt", "arr[0].txt"),
            ("a\\*b", "a*b"),
            ("[]a]", "]"),
        ] {
            assert!(matches(pattern, name), "{pattern} {name}");
        }
        for (pattern, name) in [
            ("?", ""),
            ("a*", "b"),
            ("*a*a*a", "aa"),
            ("a?c", "ac"),
            ("*.md", "md"),
            ("[abc].txt", "d.txt"),
            ("[^a-c]x", "bx"),
            ("a\\*b", "axb"),
            ("[abc", "a"),
        ] {
            assert!(!matches(pattern, name), "{pattern} {name}");
        }
    }
}
