//! A child list as the database writes it, `[[v, …], …]` (an array of
//! `json_build_array` made JSON, or SQLite's `json_group_array` of
//! `json_array`), split into each record's values as JSON text.
//!
//! Lists are on the hot path of every nested read: one pass over the text
//! finds the values' bounds, and every record's values share one vector,
//! where parsing into `Vec<Vec<&RawValue>>` allocated once per record.
//! The text comes from the database's own JSON functions; anything that
//! does not scan as such answers `None`, and the full executor answers.

/// Each record's values, in one vector: record `i` is
/// `values[ends[i - 1]..ends[i]]`.
#[derive(Debug, Default)]
pub(super) struct Records<'a> {
    values: Vec<&'a str>,
    ends: Vec<usize>,
}

impl<'a> Records<'a> {
    pub fn len(&self) -> usize {
        self.ends.len()
    }

    pub fn get(&self, i: usize) -> &[&'a str] {
        let start = if i == 0 { 0 } else { self.ends[i - 1] };
        &self.values[start..self.ends[i]]
    }
}

/// Splits `json`, an array of arrays, or `null` for a list with no records.
pub(super) fn split(json: &str) -> Option<Records<'_>> {
    let bytes = json.as_bytes();
    // Values in these lists run from a few bytes (a number) to a few
    // dozen (an id and its quotes): room for most without growing.
    let mut records = Records {
        values: Vec::with_capacity(json.len() / 16),
        ends: Vec::new(),
    };
    let mut at = skip_space(bytes, 0);
    if json[at..].starts_with("null") && skip_space(bytes, at + 4) == bytes.len() {
        return Some(records);
    }
    at = expect(bytes, at, b'[')?;
    if bytes.get(at) == Some(&b']') {
        return (skip_space(bytes, at + 1) == bytes.len()).then_some(records);
    }
    loop {
        at = expect(bytes, at, b'[')?;
        if bytes.get(at) != Some(&b']') {
            loop {
                let end = value_end(bytes, at)?;
                records.values.push(&json[at..end]);
                at = skip_space(bytes, end);
                match bytes.get(at)? {
                    b',' => at = skip_space(bytes, at + 1),
                    b']' => break,
                    _ => return None,
                }
            }
        }
        records.ends.push(records.values.len());
        at = skip_space(bytes, at + 1);
        match bytes.get(at)? {
            b',' => at = skip_space(bytes, at + 1),
            b']' => break,
            _ => return None,
        }
    }
    (skip_space(bytes, at + 1) == bytes.len()).then_some(records)
}

fn skip_space(bytes: &[u8], mut at: usize) -> usize {
    while bytes.get(at).is_some_and(u8::is_ascii_whitespace) {
        at += 1;
    }
    at
}

/// Past `byte` at `at` and the space after it.
fn expect(bytes: &[u8], at: usize, byte: u8) -> Option<usize> {
    (bytes.get(at) == Some(&byte)).then(|| skip_space(bytes, at + 1))
}

/// Where the value starting at `at` ends: a string, an array or object
/// (to its matching bracket, past strings inside), or a number or literal.
fn value_end(bytes: &[u8], at: usize) -> Option<usize> {
    match bytes.get(at)? {
        b'"' => string_end(bytes, at),
        b'[' | b'{' => {
            let mut depth = 0usize;
            let mut i = at;
            loop {
                match bytes.get(i)? {
                    b'"' => {
                        i = string_end(bytes, i)?;
                        continue;
                    }
                    b'[' | b'{' => depth += 1,
                    b']' | b'}' => {
                        depth -= 1;
                        if depth == 0 {
                            return Some(i + 1);
                        }
                    }
                    _ => {}
                }
                i += 1;
            }
        }
        b'-' | b'0'..=b'9' | b't' | b'f' | b'n' => {
            let len = bytes[at..]
                .iter()
                .position(|b| matches!(b, b',' | b']' | b'}') || b.is_ascii_whitespace())
                .unwrap_or(bytes.len() - at);
            Some(at + len)
        }
        _ => None,
    }
}

/// Past the closing quote of the string whose opening quote is at `at`.
fn string_end(bytes: &[u8], at: usize) -> Option<usize> {
    let mut i = at + 1;
    loop {
        match bytes.get(i)? {
            b'\\' => i += 2,
            b'"' => return Some(i + 1),
            _ => i += 1,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn records(json: &str) -> Option<Vec<Vec<&str>>> {
        let r = split(json)?;
        Some((0..r.len()).map(|i| r.get(i).to_vec()).collect())
    }

    #[test]
    fn splits_records_as_postgres_and_sqlite_write_them() {
        // PostgreSQL's `json_agg` separates with ", " and line breaks,
        // `array_to_json` with ",".
        let pg =
            "[[\"a\", 1.50, null, true], \n [\"b\\\"]\", -2e3, {\"k\": [1, \"]\"]}, [\"x\", [] ]]]";
        assert_eq!(
            records(pg).unwrap(),
            vec![
                vec!["\"a\"", "1.50", "null", "true"],
                vec!["\"b\\\"]\"", "-2e3", "{\"k\": [1, \"]\"]}", "[\"x\", [] ]"],
            ]
        );
        let sqlite = "[[\"a\",1],[\"b\",false]]";
        assert_eq!(
            records(sqlite).unwrap(),
            vec![vec!["\"a\"", "1"], vec!["\"b\"", "false"]]
        );
        assert_eq!(records("[[]]").unwrap(), vec![Vec::<&str>::new()]);
    }

    #[test]
    fn no_records_from_null_or_an_empty_array() {
        assert_eq!(records("null").unwrap().len(), 0);
        assert_eq!(records(" [ ] ").unwrap().len(), 0);
    }

    #[test]
    fn text_that_is_not_an_array_of_arrays_is_refused() {
        for bad in [
            "",
            "[",
            "[[1]",
            "[[1],",
            "[1]",
            "{}",
            "[[1]] x",
            "[[\"open]]",
            "[[1 2]]",
            "nullx",
            "[[1],[2]",
        ] {
            assert!(split(bad).is_none(), "{bad:?} was accepted");
        }
    }
}
