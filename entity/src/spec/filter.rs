//! Sender-side payload filters: conditions over the event that must all hold for it to be sent
//! (seed 003's `type == "interest" && contact.interest == "interested"`, checked by Herald instead
//! of by every receiver).

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;

use super::{FieldError, JsonPath, indexed, is_blank, plural, to_de_error};

/// Most conditions per filter.
pub const MAX_CONDITIONS: usize = 20;

/// A comparison between the value found at a condition's path and the condition's value.
///
/// - `eq` / `ne`: JSON equality (numbers compare by value, so `1` equals `1.0`; a number never
///   equals a string, so `5` does not equal `"5"`). A missing path is "not equal".
/// - `in`: the found value equals one element of the condition's array.
/// - `exists`: the path is present and not `null` (Segment senders often send `null` for "unknown").
/// - `contains`: a found string contains the condition's string, or a found array has an element
///   equal to the condition's value.
/// - `gt` / `lt`: both are numbers and compare so; anything else fails (numeric strings included),
///   so a filter never passes by accident on text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Op {
    /// Equal.
    Eq,
    /// Not equal (or missing).
    Ne,
    /// Equal to one element of an array.
    In,
    /// Present and not `null`.
    Exists,
    /// Substring of a string, or element of an array.
    Contains,
    /// Numerically greater.
    Gt,
    /// Numerically smaller.
    Lt,
}

impl Op {
    /// Every operator, in the order a form lists them.
    pub const ALL: [Op; 7] = [Op::Eq, Op::Ne, Op::In, Op::Exists, Op::Contains, Op::Gt, Op::Lt];

    /// The stored and API name.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Op::Eq => "eq",
            Op::Ne => "ne",
            Op::In => "in",
            Op::Exists => "exists",
            Op::Contains => "contains",
            Op::Gt => "gt",
            Op::Lt => "lt",
        }
    }

    /// Parses an operator name, case-insensitively. `index` places errors on `filter[index].op`.
    ///
    /// # Errors
    /// Not one of the seven names.
    pub fn parse(index: usize, raw: &str) -> Result<Self, FieldError> {
        let wanted = raw.trim();
        Self::ALL
            .into_iter()
            .find(|op| op.as_str().eq_ignore_ascii_case(wanted))
            .ok_or_else(|| {
                FieldError::new(
                    indexed("filter", index, "op"),
                    format!("“{wanted}” is not an operator; choose eq, ne, in, exists, contains, gt or lt."),
                )
            })
    }
}

/// One condition: `path op value`. Built through [`Filter::parse_form`] / [`Filter::parse_json`],
/// which check the path syntax and that `value` suits `op`; evaluation is total either way (a
/// malformed path finds nothing).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Condition {
    /// Where to look in the event, in [`JsonPath`] syntax (`contact.interest`).
    pub path: String,
    /// How to compare.
    pub op: Op,
    /// What to compare with; `null` for `exists`, an array for `in`, a number for `gt` / `lt`.
    pub value: Value,
}

impl Condition {
    /// Whether this condition holds for `event`.
    #[must_use]
    pub fn holds(&self, event: &Value) -> bool {
        let found = JsonPath::parse(&self.path).ok().and_then(|p| p.lookup(event));
        match self.op {
            Op::Eq => found.is_some_and(|f| json_eq(f, &self.value)),
            Op::Ne => !found.is_some_and(|f| json_eq(f, &self.value)),
            Op::In => found.is_some_and(|f| self.value.as_array().is_some_and(|a| a.iter().any(|v| json_eq(f, v)))),
            Op::Exists => found.is_some_and(|f| !f.is_null()),
            Op::Contains => found.is_some_and(|f| match (f, &self.value) {
                (Value::String(hay), Value::String(needle)) => hay.contains(needle.as_str()),
                (Value::Array(items), needle) => items.iter().any(|v| json_eq(v, needle)),
                _ => false,
            }),
            Op::Gt | Op::Lt => {
                let (Some(f), Some(v)) = (found.and_then(Value::as_f64), self.value.as_f64()) else {
                    return false;
                };
                if self.op == Op::Gt { f > v } else { f < v }
            }
        }
    }
}

/// JSON equality where numbers compare by value (`1 == 1.0`) at any depth.
fn json_eq(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => match (x.as_i64(), y.as_i64(), x.as_u64(), y.as_u64()) {
            (Some(x), Some(y), _, _) => x == y,
            (_, _, Some(x), Some(y)) => x == y,
            _ => x.as_f64() == y.as_f64(),
        },
        (Value::Array(x), Value::Array(y)) => x.len() == y.len() && x.iter().zip(y).all(|(x, y)| json_eq(x, y)),
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| json_eq(v, w)))
        }
        _ => a == b,
    }
}

/// Turns a value typed into a filter form into JSON. Input that parses as JSON is taken as JSON
/// (`42`, `true`, `null`, `["a","b"]`, `"quoted text"`); anything else is a plain string, so
/// `interested` needs no quotes. Surrounding whitespace is ignored. For `exists` the value is
/// ignored and becomes `null`. `index` places errors on `filter[index].value`.
///
/// # Errors
/// The value does not suit `op`: `in` needs an array, `gt`/`lt` a number.
pub fn parse_value(index: usize, op: Op, raw: &str) -> Result<Value, FieldError> {
    if op == Op::Exists {
        return Ok(Value::Null);
    }
    let raw = raw.trim();
    let value = serde_json::from_str(raw).unwrap_or_else(|_| Value::String(raw.to_owned()));
    check_value(index, op, value)
}

/// Checks that `value` suits `op` and normalises it (`exists` takes `null`).
fn check_value(index: usize, op: Op, value: Value) -> Result<Value, FieldError> {
    let err = |message: &str| Err(FieldError::new(indexed("filter", index, "value"), message));
    match op {
        Op::Exists => Ok(Value::Null),
        Op::In if !value.is_array() => {
            err("“in” needs a list of values, written as a JSON array such as [\"a\", \"b\"].")
        }
        Op::Gt | Op::Lt if !value.is_number() => err("“gt” and “lt” compare numbers; enter a number such as 10."),
        _ => Ok(value),
    }
}

/// All conditions an event must meet to be sent; an empty filter lets everything through. At most
/// 20 conditions. Serialized as an array of `{"path", "op", "value"}`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct Filter(Vec<Condition>);

impl Filter {
    /// Parses form rows `(path, op, value)`, all as typed; the value goes through [`parse_value`].
    /// Rows whose path and value are both blank are skipped (the op is a select, never blank).
    ///
    /// # Errors
    /// Every problem found, on `filter[N].path` / `.op` / `.value`, plus one on `filter` when there
    /// are more than 20 conditions.
    pub fn parse_form<P, O, V>(rows: impl IntoIterator<Item = (P, O, V)>) -> Result<Self, Vec<FieldError>>
    where
        P: AsRef<str>,
        O: AsRef<str>,
        V: AsRef<str>,
    {
        let rows = rows
            .into_iter()
            .enumerate()
            .filter(|(_, (p, _, v))| !is_blank(&[p.as_ref(), v.as_ref()]))
            .map(|(i, (p, o, v))| (i, (p, o, Raw::Text(v))));
        Self::build(rows)
    }

    /// Parses API rows `(path, op, value)` where the value is already JSON.
    ///
    /// # Errors
    /// As [`Filter::parse_form`]; no row is skipped.
    pub fn parse_json<P, O>(rows: impl IntoIterator<Item = (P, O, Value)>) -> Result<Self, Vec<FieldError>>
    where
        P: AsRef<str>,
        O: AsRef<str>,
    {
        Self::build::<P, O, &str>(rows.into_iter().map(|(p, o, v)| (p, o, Raw::Json(v))).enumerate())
    }

    /// Checks `(index, row)` pairs; the index is the row's position in the caller's input.
    fn build<P, O, V>(rows: impl Iterator<Item = (usize, (P, O, Raw<V>))>) -> Result<Self, Vec<FieldError>>
    where
        P: AsRef<str>,
        O: AsRef<str>,
        V: AsRef<str>,
    {
        let mut conditions = Vec::new();
        let mut errors = Vec::new();
        let mut count = 0;
        for (i, (path, op, value)) in rows {
            count += 1;
            let path = path.as_ref().trim();
            let path_ok = JsonPath::parse(path)
                .map_err(|e| errors.push(FieldError::new(indexed("filter", i, "path"), e.to_string())))
                .is_ok();
            let Ok(op) = Op::parse(i, op.as_ref()).map_err(|e| errors.push(e)) else {
                continue;
            };
            let value = match value {
                Raw::Text(raw) => parse_value(i, op, raw.as_ref()),
                Raw::Json(value) => check_value(i, op, value),
            };
            match value {
                Ok(value) if path_ok => conditions.push(Condition {
                    path: path.to_owned(),
                    op,
                    value,
                }),
                Ok(_) => {}
                Err(e) => errors.push(e),
            }
        }
        if count > MAX_CONDITIONS {
            errors.push(FieldError::new(
                "filter",
                format!(
                    "A filter can have at most {MAX_CONDITIONS} conditions; remove {}.",
                    plural(count - MAX_CONDITIONS, "condition", "conditions")
                ),
            ));
        }
        if errors.is_empty() {
            Ok(Self(conditions))
        } else {
            Err(errors)
        }
    }

    /// Whether `event` meets every condition (always, for an empty filter).
    #[must_use]
    pub fn evaluate(&self, event: &Value) -> bool {
        self.0.iter().all(|c| c.holds(event))
    }

    /// The conditions, in order.
    #[must_use]
    pub fn as_slice(&self) -> &[Condition] {
        &self.0
    }
}

/// A condition value as it arrives: form text to interpret, or JSON from the API.
enum Raw<V> {
    Text(V),
    Json(Value),
}

impl<'de> Deserialize<'de> for Filter {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let rows = Vec::<Condition>::deserialize(deserializer)?;
        Self::parse_json(rows.into_iter().map(|c| (c.path, c.op.as_str(), c.value))).map_err(|e| to_de_error(&e))
    }
}

#[cfg(test)]
#[path = "filter_tests.rs"]
mod tests;
