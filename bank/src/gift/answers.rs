//! The inside of one GIFT answer block, cut into entries: each `=` or `~` with its
//! optional `%weight%` and its text. Feedback after `#` and general feedback after `####`
//! are dropped here, as nothing in Olymp shows them.

use super::problem::Problem;
use super::text::{find_unescaped, unescaped};

/// The character that opens an entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Marker {
    /// `=`: right, or a matching pair.
    Right,
    /// `~`: wrong unless its weight says otherwise.
    Wrong,
}

/// One `=` or `~` entry.
#[derive(Clone, Debug, PartialEq)]
pub(super) struct Entry<'a> {
    pub marker: Marker,
    /// The percentage written as `%50%`, if any; always within -100..=100.
    pub weight: Option<f64>,
    /// The entry's text with escapes still in, feedback removed, whitespace trimmed.
    pub raw: &'a str,
}

impl Entry<'_> {
    /// Credit in percent: the written weight, else 100 for `=` and 0 for `~`.
    pub fn percent(&self) -> f64 {
        let default = match self.marker {
            Marker::Right => 100.0,
            Marker::Wrong => 0.0,
        };
        self.weight.unwrap_or(default)
    }

    pub fn is_fully_correct(&self) -> bool {
        self.percent() >= 100.0
    }
}

/// An answer block taken apart.
#[derive(Clone, Debug, PartialEq)]
pub(super) struct Answers<'a> {
    /// The block opens with `#`: a numeric question.
    pub numeric: bool,
    /// What stands before the first marker (`TRUE`, `One`, `3:2`), feedback removed,
    /// trimmed; empty when the block starts with a marker.
    pub leading: &'a str,
    pub entries: Vec<Entry<'a>>,
}

/// Takes apart the text between `{` and `}`.
pub(super) fn parse(raw: &str) -> Result<Answers<'_>, Problem> {
    let body = find_unescaped(raw, "####").map_or(raw, |at| &raw[..at]);
    let numeric_body = body.trim_start().strip_prefix('#');
    let numeric = numeric_body.is_some();
    let body = numeric_body.unwrap_or(body);

    let markers: Vec<(usize, Marker)> = unescaped(body)
        .filter_map(|(at, c)| match c {
            '=' => Some((at, Marker::Right)),
            '~' => Some((at, Marker::Wrong)),
            _ => None,
        })
        .collect();
    let first = markers.first().map_or(body.len(), |&(at, _)| at);
    let leading = without_feedback(&body[..first]);

    let mut entries = Vec::with_capacity(markers.len());
    for (index, &(at, marker)) in markers.iter().enumerate() {
        let end = markers.get(index + 1).map_or(body.len(), |&(next, _)| next);
        entries.push(entry(marker, &body[at + 1..end])?);
    }
    Ok(Answers {
        numeric,
        leading,
        entries,
    })
}

fn entry(marker: Marker, raw: &str) -> Result<Entry<'_>, Problem> {
    let raw = raw.trim_start();
    let (weight, rest) = match raw.strip_prefix('%') {
        Some(after) => {
            let (written, rest) = after
                .split_once('%')
                .ok_or_else(|| Problem::BadWeight(format!("%{}", without_feedback(after))))?;
            (Some(percentage(written)?), rest)
        }
        None => (None, raw),
    };
    Ok(Entry {
        marker,
        weight,
        raw: without_feedback(rest),
    })
}

fn percentage(written: &str) -> Result<f64, Problem> {
    match written.trim().parse::<f64>() {
        Ok(value) if (-100.0..=100.0).contains(&value) => Ok(value),
        _ => Err(Problem::BadWeight(format!("%{written}%"))),
    }
}

fn without_feedback(raw: &str) -> &str {
    find_unescaped(raw, "#").map_or(raw, |at| &raw[..at]).trim()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry_of(marker: Marker, weight: Option<f64>, raw: &str) -> Entry<'_> {
        Entry {
            marker,
            weight,
            raw,
        }
    }

    #[test]
    fn entries_keep_their_markers_weights_and_text_without_feedback() {
        let answers = parse("~wrong #no\n ~%50%half # close\n =%-25.5% odd\n =right#yes!").unwrap();
        assert!(!answers.numeric);
        assert_eq!(answers.leading, "");
        assert_eq!(
            answers.entries,
            vec![
                entry_of(Marker::Wrong, None, "wrong"),
                entry_of(Marker::Wrong, Some(50.0), "half"),
                entry_of(Marker::Right, Some(-25.5), "odd"),
                entry_of(Marker::Right, None, "right"),
            ]
        );
    }

    #[test]
    fn default_credit_is_full_for_equals_and_none_for_tilde() {
        let answers = parse("=a ~b ~%33.3%c =%50%d").unwrap();
        let percents: Vec<f64> = answers.entries.iter().map(Entry::percent).collect();
        assert_eq!(percents, vec![100.0, 0.0, 33.3, 50.0]);
    }

    #[test]
    fn weights_outside_a_percentage_are_refused() {
        assert_eq!(parse("~%150%a =b"), Err(Problem::BadWeight("%150%".into())));
        assert_eq!(
            parse("~%half%a =b"),
            Err(Problem::BadWeight("%half%".into()))
        );
        assert_eq!(parse("~%50 a =b"), Err(Problem::BadWeight("%50 a".into())));
    }

    #[test]
    fn escaped_markers_stay_in_the_text() {
        let answers = parse(r"~ \= 2 + 2 = \= 2 + 3 # \= is fine").unwrap();
        assert_eq!(answers.entries[0].raw, r"\= 2 + 2");
        assert_eq!(answers.entries[1].raw, r"\= 2 + 3");
    }

    #[test]
    fn general_feedback_is_dropped_with_everything_after_it() {
        let answers = parse("=yes ~no\n####Global = feedback ~ here").unwrap();
        assert_eq!(answers.entries.len(), 2);
        assert_eq!(answers.entries[1].raw, "no");
    }

    #[test]
    fn numeric_blocks_and_leading_text_are_recognised() {
        let answers = parse("#3:2~#Completely wrong").unwrap();
        assert!(answers.numeric);
        assert_eq!(answers.leading, "3:2");
        assert_eq!(answers.entries, vec![entry_of(Marker::Wrong, None, "")]);

        let answers = parse("FALSE#feedback for true#feedback for false").unwrap();
        assert_eq!((answers.numeric, answers.leading), (false, "FALSE"));
        assert!(answers.entries.is_empty());
    }
}
