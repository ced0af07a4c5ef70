//! GIFT's character rules: backslash escapes, the `[format]` tags in front of a text, the
//! `::title::`, and finding control characters that are not escaped.

use super::problem::Problem;

/// The tags Moodle puts in front of a text to name its markup. The markup is kept as
/// written; only the tag goes.
const FORMAT_TAGS: [&str; 4] = ["[html]", "[moodle]", "[plain]", "[markdown]"];

/// The characters of `raw` that are not escaped, with their byte offsets. A backslash
/// escapes the character after it, whatever that is.
pub(super) fn unescaped(raw: &str) -> impl Iterator<Item = (usize, char)> + '_ {
    let mut escaped = false;
    raw.char_indices().filter(move |&(_, c)| {
        let plain = !escaped && c != '\\';
        escaped = !escaped && c == '\\';
        plain
    })
}

/// Byte offset of the first occurrence of `pattern` that does not start with an escaped
/// character.
pub(super) fn find_unescaped(raw: &str, pattern: &str) -> Option<usize> {
    unescaped(raw)
        .map(|(at, _)| at)
        .find(|&at| raw[at..].starts_with(pattern))
}

/// Splits at the first unescaped `pattern`, dropping it.
pub(super) fn split_unescaped<'a>(raw: &'a str, pattern: &str) -> Option<(&'a str, &'a str)> {
    find_unescaped(raw, pattern).map(|at| (&raw[..at], &raw[at + pattern.len()..]))
}

/// Resolves `\~ \= \# \{ \} \: \\` to the character and `\n` to a line break. Any other
/// backslash is kept, as Moodle keeps it.
pub(super) fn unescape(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    let mut chars = raw.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n') => out.push('\n'),
            Some(next @ ('~' | '=' | '#' | '{' | '}' | ':' | '\\')) => out.push(next),
            Some(other) => {
                out.push('\\');
                out.push(other);
            }
            None => out.push('\\'),
        }
    }
    out
}

/// Removes a leading `[html]`, `[moodle]`, `[plain]` or `[markdown]` and the whitespace
/// before it.
pub(super) fn strip_format(raw: &str) -> &str {
    let trimmed = raw.trim_start();
    FORMAT_TAGS
        .iter()
        .find_map(|tag| trimmed.strip_prefix(tag))
        .unwrap_or(trimmed)
}

/// The display text of an answer or a prompt part: format tag gone, escapes resolved,
/// surrounding whitespace trimmed.
pub(super) fn display(raw: &str) -> String {
    unescape(strip_format(raw)).trim().to_owned()
}

/// Splits `::title::rest` into the title and the rest; text without a leading `::` has no
/// title.
pub(super) fn split_title(raw: &str) -> Result<(Option<String>, &str), Problem> {
    let Some(after_open) = raw.trim_start().strip_prefix("::") else {
        return Ok((None, raw));
    };
    let (title, rest) = split_unescaped(after_open, "::").ok_or(Problem::UnclosedTitle)?;
    Ok((Some(unescape(title).trim().to_owned()), rest))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_lose_their_backslash() {
        assert_eq!(unescape(r"\~ \= \# \{ \} \:"), "~ = # { } :");
        assert_eq!(unescape(r"a\nb"), "a\nb");
        assert_eq!(unescape(r"$ 1 \\neq 0 $"), r"$ 1 \neq 0 $");
    }

    #[test]
    fn unknown_escapes_and_a_final_backslash_are_kept() {
        assert_eq!(unescape(r"\ x"), r"\ x");
        assert_eq!(unescape(r"\d"), r"\d");
        assert_eq!(unescape("end\\"), "end\\");
    }

    #[test]
    fn escaped_control_characters_are_not_found() {
        assert_eq!(find_unescaped(r"a\=b=c", "="), Some(4));
        assert_eq!(find_unescaped(r"a\\=b", "="), Some(3));
        assert_eq!(find_unescaped(r"\#\#", "#"), None);
        assert_eq!(find_unescaped(r"x \-> y -> z", "->"), Some(8));
    }

    #[test]
    fn format_tags_are_stripped_only_in_front() {
        assert_eq!(strip_format("  [html]<p>x</p>"), "<p>x</p>");
        assert_eq!(strip_format("[markdown]**x** [html]"), "**x** [html]");
        assert_eq!(strip_format("[latex]x"), "[latex]x");
    }

    #[test]
    fn titles_end_at_the_first_unescaped_double_colon() {
        let (title, rest) = split_title(r"::Title\:::text").unwrap();
        assert_eq!(title.as_deref(), Some("Title:"));
        assert_eq!(rest, "text");
        assert_eq!(split_title("no title"), Ok((None, "no title")));
        assert_eq!(split_title("::never closed"), Err(Problem::UnclosedTitle));
    }
}
