//! Source lines of the ZNO tasks, found by walking the JSON text a second time: serde
//! gives values without positions, and a rejected task should point into the file.

/// For each test, the 1-based line where each of its tasks opens. Call only on text that
/// serde has already accepted; on anything unexpected the answer is `None`, not a guess.
pub(super) fn task_lines(json: &str) -> Option<Vec<Vec<usize>>> {
    let mut cursor = Cursor {
        bytes: json.as_bytes(),
        pos: 0,
    };
    let mut tests = Vec::new();
    cursor.skip_whitespace();
    cursor.elements(|cursor| {
        let mut tasks = Vec::new();
        cursor.fields(|cursor, key| {
            if key == b"tasks" {
                cursor.elements(|cursor| {
                    tasks.push(cursor.pos);
                    cursor.skip_value()
                })
            } else {
                cursor.skip_value()
            }
        })?;
        tests.push(tasks);
        Some(())
    })?;

    let line_starts: Vec<usize> = json.match_indices('\n').map(|(at, _)| at).collect();
    let line_of = |offset: usize| line_starts.partition_point(|&newline| newline < offset) + 1;
    Some(
        tests
            .into_iter()
            .map(|tasks| tasks.into_iter().map(line_of).collect())
            .collect(),
    )
}

/// A position in JSON text known to be valid. Nesting depth is bounded by serde_json's
/// own recursion limit, which the text has already passed.
struct Cursor<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
    }

    fn skip_whitespace(&mut self) {
        while self.peek().is_some_and(|b| b.is_ascii_whitespace()) {
            self.pos += 1;
        }
    }

    fn expect(&mut self, byte: u8) -> Option<()> {
        self.skip_whitespace();
        (self.peek()? == byte).then(|| self.pos += 1)
    }

    /// Reads a string at the cursor and returns its raw contents, escapes untouched.
    fn string(&mut self) -> Option<&'a [u8]> {
        self.expect(b'"')?;
        let start = self.pos;
        loop {
            match self.peek()? {
                b'\\' => self.pos += 2,
                b'"' => break,
                _ => self.pos += 1,
            }
        }
        self.pos += 1;
        Some(&self.bytes[start..self.pos - 1])
    }

    fn skip_value(&mut self) -> Option<()> {
        self.skip_whitespace();
        match self.peek()? {
            b'"' => self.string().map(drop),
            b'[' => self.elements(Self::skip_value),
            b'{' => self.fields(|cursor, _| cursor.skip_value()),
            _ => {
                let end = |b: u8| b.is_ascii_whitespace() || matches!(b, b',' | b']' | b'}');
                while self.peek().is_some_and(|b| !end(b)) {
                    self.pos += 1;
                }
                Some(())
            }
        }
    }

    /// Walks an array, calling `each` with the cursor on the first byte of every element.
    fn elements(&mut self, mut each: impl FnMut(&mut Self) -> Option<()>) -> Option<()> {
        self.expect(b'[')?;
        self.skip_whitespace();
        if self.peek()? == b']' {
            self.pos += 1;
            return Some(());
        }
        loop {
            self.skip_whitespace();
            each(self)?;
            self.skip_whitespace();
            match self.peek()? {
                b',' => self.pos += 1,
                b']' => break,
                _ => return None,
            }
        }
        self.pos += 1;
        Some(())
    }

    /// Walks an object, calling `each` with the raw key and the cursor before its value.
    fn fields(&mut self, mut each: impl FnMut(&mut Self, &'a [u8]) -> Option<()>) -> Option<()> {
        self.expect(b'{')?;
        self.skip_whitespace();
        if self.peek()? == b'}' {
            self.pos += 1;
            return Some(());
        }
        loop {
            let key = self.string()?;
            self.expect(b':')?;
            each(self, key)?;
            self.skip_whitespace();
            match self.peek()? {
                b',' => self.pos += 1,
                b'}' => break,
                _ => return None,
            }
        }
        self.pos += 1;
        Some(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tasks_are_found_on_the_lines_where_they_open() {
        let json = r#"[
 {"test_id": 1, "x": [{"tasks": 0}],
  "tasks": [
   {"a": "}\"["},

   {}
  ]},
 {"tasks": []}
]"#;
        assert_eq!(task_lines(json), Some(vec![vec![4, 6], vec![]]));
    }

    #[test]
    fn text_that_is_not_an_array_has_no_lines() {
        assert_eq!(task_lines("{\"tasks\": []}"), None);
    }
}
