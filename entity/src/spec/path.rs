//! Dotted paths into a JSON event (`properties.plan`, `context.page.url`, `items[0].sku`), shared by
//! filter conditions and custom payload templates so both accept exactly the same spelling.

use serde_json::Value;

/// Longest accepted path, in characters: far beyond any real event path, short enough to show.
const MAX_PATH_LEN: usize = 200;
/// Digits allowed in one `[N]` index; keeps the parse free of overflow.
const MAX_INDEX_DIGITS: usize = 6;

/// Why a path was refused, as a sentence the caller attaches to its own field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct PathError(String);

#[derive(Debug, Clone, PartialEq, Eq)]
enum Step {
    Key(String),
    Index(usize),
}

/// A validated path: dot-separated names of letters, digits, `_`, `$` and `-`, each optionally
/// followed by `[N]` array indexes.
///
/// Names are top-level keys at each level; there is no escaping, so a key containing a dot or a
/// space cannot be reached. That keeps paths unambiguous and easy to type; event fields that
/// matter (`type`, `event`, `properties.*`, `traits.*`, `context.*`) fit the syntax.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JsonPath {
    text: String,
    steps: Vec<Step>,
}

impl JsonPath {
    /// Parses `raw` as typed (no trimming: callers trim user input first).
    ///
    /// # Errors
    /// Empty, longer than 200 characters, an empty name (`a..b`, `.a`), a character outside the
    /// allowed set, or a malformed index.
    pub fn parse(raw: &str) -> Result<Self, PathError> {
        if raw.is_empty() {
            return Err(PathError(
                "The path is empty; write a name such as “properties.plan”.".into(),
            ));
        }
        if raw.chars().count() > MAX_PATH_LEN {
            return Err(PathError(format!(
                "A path can be at most {MAX_PATH_LEN} characters long."
            )));
        }
        let mut steps = Vec::new();
        for segment in raw.split('.') {
            parse_segment(raw, segment, &mut steps)?;
        }
        Ok(Self {
            text: raw.to_owned(),
            steps,
        })
    }

    /// The path as it was written.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The value at this path in `root`, or `None` when any step is missing or of the wrong kind
    /// (a name into an array, an index into an object). A JSON `null` that is present is returned
    /// as `Some(Value::Null)`; callers decide whether that counts as missing.
    #[must_use]
    pub fn lookup<'a>(&self, root: &'a Value) -> Option<&'a Value> {
        self.steps.iter().try_fold(root, |node, step| match step {
            Step::Key(key) => node.as_object()?.get(key),
            Step::Index(i) => node.as_array()?.get(*i),
        })
    }
}

impl std::fmt::Display for JsonPath {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.text)
    }
}

fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | '$' | '-')
}

/// One dot-separated segment: `name` then any number of `[digits]`.
fn parse_segment(raw: &str, segment: &str, steps: &mut Vec<Step>) -> Result<(), PathError> {
    let name_end = segment.find('[').unwrap_or(segment.len());
    let (name, mut rest) = segment.split_at(name_end);
    if name.is_empty() {
        return Err(PathError(format!(
            "The path “{raw}” has an empty name; write names separated by single dots, as in “context.page.url”."
        )));
    }
    if let Some(bad) = name.chars().find(|c| !is_name_char(*c)) {
        return Err(PathError(format!(
            "The path “{raw}” contains “{bad}”; names may use only letters, digits, “_”, “$” and “-”."
        )));
    }
    steps.push(Step::Key(name.to_owned()));
    while !rest.is_empty() {
        let index = rest
            .strip_prefix('[')
            .and_then(|r| r.split_once(']'))
            .filter(|(digits, _)| {
                !digits.is_empty() && digits.len() <= MAX_INDEX_DIGITS && digits.bytes().all(|b| b.is_ascii_digit())
            });
        let Some((digits, after)) = index else {
            return Err(PathError(format!(
                "The path “{raw}” has a malformed index; write it as a number in brackets right after a name, as in “items[0].sku”."
            )));
        };
        let i = digits
            .parse()
            .map_err(|_| PathError(format!("The index in “{raw}” is too large.")))?;
        steps.push(Step::Index(i));
        rest = after;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    fn path(raw: &str) -> JsonPath {
        JsonPath::parse(raw).expect(raw)
    }

    #[test]
    fn dotted_names_reach_nested_values() {
        let event = json!({"context": {"page": {"url": "https://x.test/"}}, "type": "track"});
        assert_eq!(path("context.page.url").lookup(&event), Some(&json!("https://x.test/")));
        assert_eq!(path("type").lookup(&event), Some(&json!("track")));
    }

    #[test]
    fn indexes_reach_into_arrays_and_can_be_chained() {
        let event = json!({"items": [{"sku": "a"}, {"sku": "b"}], "grid": [[1, 2], [3, 4]]});
        assert_eq!(path("items[1].sku").lookup(&event), Some(&json!("b")));
        assert_eq!(path("grid[1][0]").lookup(&event), Some(&json!(3)));
    }

    #[test]
    fn missing_steps_and_wrong_kinds_give_nothing() {
        let event = json!({"items": [1], "properties": {"plan": "pro"}, "n": null});
        assert_eq!(path("items[3]").lookup(&event), None);
        assert_eq!(path("properties[0]").lookup(&event), None);
        assert_eq!(path("items.sku").lookup(&event), None);
        assert_eq!(path("properties.plan.name").lookup(&event), None);
        assert_eq!(path("n").lookup(&event), Some(&Value::Null));
    }

    #[test]
    fn names_may_use_dollar_dash_and_underscore() {
        let event = json!({"$os": {"build-id": {"a_b": 1}}});
        assert_eq!(path("$os.build-id.a_b").lookup(&event), Some(&json!(1)));
    }

    #[test]
    fn malformed_paths_are_refused_with_a_reason() {
        for raw in [
            "",
            ".a",
            "a.",
            "a..b",
            "a b",
            "a[",
            "a[]",
            "a[x]",
            "a[1",
            "a]1",
            "[0]",
            "a[0]b",
            "a.*",
            "a[1234567]",
        ] {
            let err = JsonPath::parse(raw).expect_err(raw);
            assert!(err.to_string().ends_with('.'), "{raw}: {err}");
        }
    }

    #[test]
    fn an_overlong_path_is_refused() {
        let raw = "a".repeat(MAX_PATH_LEN + 1);
        assert!(JsonPath::parse(&raw).is_err());
        assert!(JsonPath::parse(&"a".repeat(MAX_PATH_LEN)).is_ok());
    }

    #[test]
    fn a_path_displays_as_written() {
        assert_eq!(path("items[0].sku").to_string(), "items[0].sku");
        assert_eq!(path("items[0].sku").as_str(), "items[0].sku");
    }

    proptest! {
        #[test]
        fn any_well_formed_path_parses_and_finds_what_it_names(
            names in proptest::collection::vec("[A-Za-z0-9_$-]{1,8}", 1..5),
            leaf in any::<i64>(),
        ) {
            let raw = names.join(".");
            let mut value = json!(leaf);
            for name in names.iter().rev() {
                value = json!({ name.clone(): value });
            }
            prop_assert_eq!(path(&raw).lookup(&value), Some(&json!(leaf)));
        }

        #[test]
        fn parsing_never_panics(raw in "\\PC{0,40}") {
            let _ = JsonPath::parse(&raw);
        }
    }
}
