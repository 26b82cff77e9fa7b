//! Parsing the config's snake_case names of closed sets (fields, categories).

use crate::error::ParseNameError;

pub(crate) fn parse_enum_name<T: Copy>(
    what: &'static str,
    given: &str,
    all: &[T],
    name: fn(T) -> &'static str,
) -> Result<T, ParseNameError> {
    all.iter()
        .copied()
        .find(|t| name(*t) == given)
        .ok_or_else(|| ParseNameError {
            what,
            given: given.to_owned(),
            expected: all.iter().map(|t| name(*t)).collect::<Vec<_>>().join(", "),
        })
}
