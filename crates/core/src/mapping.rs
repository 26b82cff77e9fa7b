//! Field mapping: the destination fields a sync may write ([`Field`]), which object type has
//! which, the user's mapping of fields to model columns ([`Mapping`]), the audience name
//! template ([`NameTemplate`]), and a mapping bound to a model's columns ([`BoundMapping`]),
//! which turns each [`Record`] into what the planner takes: a list member id, or a
//! [`DesiredRow`] keyed by its primary key.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::error::{MappingError, MappingErrors, ParseNameError};
use crate::object::parse_enum_name;
use crate::rules::ObjectRules;
use crate::value::{Record, Value};

/// A destination field a mapping can target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub enum Field {
    /// The member id of a list attribute.
    UserId,
    /// The key of an attribute or custom event.
    Key,
    /// The object's name.
    Name,
    /// The object's description.
    Description,
    /// An audience's condition tree.
    Conditions,
    /// A custom event's category.
    Category,
    /// Whether the object is archived.
    Archived,
    /// The value an ODP attribute sync writes in its customer field.
    Value,
}

impl Field {
    /// Every field.
    pub const ALL: [Field; 8] = [
        Field::UserId,
        Field::Key,
        Field::Name,
        Field::Description,
        Field::Conditions,
        Field::Category,
        Field::Archived,
        Field::Value,
    ];

    /// The config spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Field::UserId => "user_id",
            Field::Key => "key",
            Field::Name => "name",
            Field::Description => "description",
            Field::Conditions => "conditions",
            Field::Category => "category",
            Field::Archived => "archived",
            Field::Value => "value",
        }
    }
}

impl fmt::Display for Field {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Field {
    type Err = ParseNameError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        parse_enum_name("field", s, &Field::ALL, Field::as_str)
    }
}

fn field_list(rules: &ObjectRules) -> String {
    rules
        .fields
        .iter()
        .map(|f| f.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

/// A validated mapping of destination fields to model columns for one object type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mapping {
    rules: &'static ObjectRules,
    columns: BTreeMap<Field, String>,
}

impl Mapping {
    /// Checks the config's `mapping` table (field name → column) against the object type:
    /// every field must exist on it and its required field must be present. Reports every
    /// problem, not just the first.
    pub fn new<I, F, C>(rules: &'static ObjectRules, entries: I) -> Result<Self, MappingErrors>
    where
        I: IntoIterator<Item = (F, C)>,
        F: AsRef<str>,
        C: AsRef<str>,
    {
        let object = rules.object;
        let mut errors = Vec::new();
        let mut columns = BTreeMap::new();
        for (name, column) in entries {
            let name = name.as_ref().trim();
            let column = column.as_ref().trim();
            let Ok(field) = name.parse::<Field>() else {
                errors.push(MappingError::UnknownField {
                    name: name.to_owned(),
                    object,
                    allowed: field_list(rules),
                });
                continue;
            };
            if !rules.fields.contains(&field) {
                errors.push(MappingError::FieldNotForObject {
                    field,
                    object,
                    allowed: field_list(rules),
                });
            } else if column.is_empty() {
                errors.push(MappingError::EmptyColumn { field });
            } else {
                columns.insert(field, column.to_owned());
            }
        }
        if let Some(required) = rules.required {
            let named_but_bad = errors
                .iter()
                .any(|e| matches!(e, MappingError::EmptyColumn { field } if *field == required));
            if !columns.contains_key(&required) && !named_but_bad {
                errors.push(MappingError::MissingRequired {
                    field: required,
                    object,
                });
            }
        }
        if errors.is_empty() {
            Ok(Self { rules, columns })
        } else {
            Err(MappingErrors(errors))
        }
    }

    /// The object type the mapping is for.
    pub fn object(&self) -> &'static str {
        self.rules.object
    }

    /// The column mapped to `field`, if any.
    pub fn column(&self, field: Field) -> Option<&str> {
        self.columns.get(&field).map(String::as_str)
    }

    /// The mapped fields and their columns, in field order.
    pub fn entries(&self) -> impl Iterator<Item = (Field, &str)> {
        self.columns.iter().map(|(f, c)| (*f, c.as_str()))
    }

    /// The primary key columns used when the config names none: the required field's
    /// column (`user_id` for lists, `key` for attributes and custom events). Rows named by
    /// a template have no default column; they are then identified by the rendered name.
    pub fn default_primary_key(&self) -> Vec<String> {
        self.rules
            .required
            .and_then(|field| self.column(field))
            .map(str::to_owned)
            .into_iter()
            .collect()
    }

    /// Binds the mapping to a model's columns. `primary_key` empty means the default (see
    /// [`Mapping::default_primary_key`]); `audience_name` is required for audiences and
    /// ignored otherwise. Every column named anywhere must be one the model returns.
    pub fn bind(
        &self,
        columns: &[String],
        primary_key: &[String],
        audience_name: Option<&NameTemplate>,
    ) -> Result<BoundMapping, MappingErrors> {
        let mut errors = Vec::new();
        let available = || columns.join(", ");
        let find = |used_by: String, column: &str, errors: &mut Vec<MappingError>| {
            let found = columns.iter().position(|c| c == column);
            if found.is_none() {
                errors.push(MappingError::MissingColumn {
                    used_by,
                    column: column.to_owned(),
                    available: available(),
                });
            }
            found
        };

        let mut fields = Vec::new();
        for (field, column) in &self.columns {
            if let Some(index) = find(format!("mapping `{field}`"), column, &mut errors) {
                fields.push((*field, index));
            }
        }

        let pk_columns = if primary_key.is_empty() {
            self.default_primary_key()
        } else {
            primary_key.to_vec()
        };
        let mut pk = Vec::new();
        for column in &pk_columns {
            if let Some(index) = find("primary_key".to_owned(), column, &mut errors) {
                pk.push(index);
            }
        }

        let mut name = None;
        if self.rules.named_by_template {
            match audience_name {
                None => errors.push(MappingError::Template {
                    template: String::new(),
                    problem: "audience_name is required for audience syncs (a fixed name or a template such as \"{segment_name}\")".to_owned(),
                }),
                Some(template) => {
                    let mut parts = Vec::new();
                    for part in &template.parts {
                        match part {
                            TemplatePart::Literal(text) => parts.push(BoundPart::Literal(text.clone())),
                            TemplatePart::Column(column) => {
                                if let Some(index) =
                                    find("audience_name".to_owned(), column, &mut errors)
                                {
                                    parts.push(BoundPart::Column(index, column.clone()));
                                }
                            }
                        }
                    }
                    name = Some(BoundTemplate {
                        fixed: template.is_fixed(),
                        parts,
                    });
                }
            }
        }

        if !errors.is_empty() {
            return Err(MappingErrors(errors));
        }
        Ok(BoundMapping {
            object: self.rules.object,
            width: columns.len(),
            fields,
            primary_key: pk,
            name,
        })
    }
}

/// One piece of an audience name template.
#[derive(Debug, Clone, PartialEq, Eq)]
enum TemplatePart {
    Literal(String),
    Column(String),
}

/// A parsed `audience_name`: literal text with `{column}` placeholders (`{{` and `}}` stand
/// for literal braces). Without placeholders it is a fixed name, and the model must then
/// return exactly one row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NameTemplate {
    source: String,
    parts: Vec<TemplatePart>,
}

impl NameTemplate {
    /// Parses a template, reporting unbalanced or empty braces with their position.
    pub fn parse(template: &str) -> Result<Self, MappingError> {
        let error = |problem: String| MappingError::Template {
            template: template.to_owned(),
            problem,
        };
        let mut parts = Vec::new();
        let mut literal = String::new();
        let mut chars = template.char_indices().peekable();
        while let Some((at, c)) = chars.next() {
            match c {
                '{' if chars.peek().map(|(_, c)| *c) == Some('{') => {
                    chars.next();
                    literal.push('{');
                }
                '}' if chars.peek().map(|(_, c)| *c) == Some('}') => {
                    chars.next();
                    literal.push('}');
                }
                '{' => {
                    let mut column = String::new();
                    let mut closed = false;
                    for (_, c) in chars.by_ref() {
                        if c == '}' {
                            closed = true;
                            break;
                        }
                        if c == '{' {
                            return Err(error(format!("`{{` inside a placeholder at byte {at}")));
                        }
                        column.push(c);
                    }
                    if !closed {
                        return Err(error(format!(
                            "placeholder opened at byte {at} is not closed with `}}`"
                        )));
                    }
                    let column = column.trim();
                    if column.is_empty() {
                        return Err(error(format!(
                            "empty placeholder `{{}}` at byte {at}; name a model column"
                        )));
                    }
                    if !literal.is_empty() {
                        parts.push(TemplatePart::Literal(std::mem::take(&mut literal)));
                    }
                    parts.push(TemplatePart::Column(column.to_owned()));
                }
                '}' => {
                    return Err(error(format!(
                        "unmatched `}}` at byte {at}; write `}}}}` for a literal brace"
                    )));
                }
                c => literal.push(c),
            }
        }
        if !literal.is_empty() {
            parts.push(TemplatePart::Literal(literal));
        }
        if parts.is_empty() || template.trim().is_empty() {
            return Err(error("the audience name is empty".to_owned()));
        }
        Ok(Self {
            source: template.to_owned(),
            parts,
        })
    }

    /// Whether the template has no placeholders (a fixed name).
    pub fn is_fixed(&self) -> bool {
        self.parts
            .iter()
            .all(|p| matches!(p, TemplatePart::Literal(_)))
    }

    /// The columns the template names, in order of appearance.
    pub fn columns(&self) -> impl Iterator<Item = &str> {
        self.parts.iter().filter_map(|p| match p {
            TemplatePart::Column(c) => Some(c.as_str()),
            TemplatePart::Literal(_) => None,
        })
    }

    /// The template as written.
    pub fn as_str(&self) -> &str {
        &self.source
    }
}

#[derive(Debug, Clone)]
enum BoundPart {
    Literal(String),
    Column(usize, String),
}

#[derive(Debug, Clone)]
struct BoundTemplate {
    fixed: bool,
    parts: Vec<BoundPart>,
}

/// A problem found while mapping one record, handed to the planner to become a rejected row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowProblem {
    /// The destination field or setting concerned.
    pub field: String,
    /// What is wrong, independent of the sync.
    pub reason: String,
}

/// One model row mapped to destination fields: the planner's input for definitions.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct DesiredRow {
    /// The row's primary key as text (one column: its id text; several: a JSON array of
    /// their texts). `None` when a key column is null or empty.
    pub primary_key: Option<String>,
    /// The mapped values (unmapped fields are absent).
    pub values: BTreeMap<Field, Value>,
    /// Problems found while mapping (e.g. a null column in the audience name template, a
    /// cell the source could not convert). A mapped cell that could not be converted is not
    /// in `values`; its problem is here instead.
    pub problems: Vec<RowProblem>,
}

/// A [`Mapping`] bound to a model's column positions, so each row is mapped without looking
/// columns up by name.
#[derive(Debug, Clone)]
pub struct BoundMapping {
    object: &'static str,
    width: usize,
    fields: Vec<(Field, usize)>,
    primary_key: Vec<usize>,
    name: Option<BoundTemplate>,
}

impl BoundMapping {
    /// The object type.
    pub fn object(&self) -> &'static str {
        self.object
    }

    /// Whether the audience name is fixed, so the model must return exactly one row.
    pub fn has_fixed_name(&self) -> bool {
        self.name.as_ref().is_some_and(|n| n.fixed)
    }

    /// The position of the column mapped to `value` (ODP attributes), if one is.
    pub fn value_index(&self) -> Option<usize> {
        self.fields
            .iter()
            .find(|(f, _)| *f == Field::Value)
            .map(|(_, i)| *i)
    }

    /// The position of the column mapped to `user_id` (list and ODP attributes), if one is.
    pub fn user_id_index(&self) -> Option<usize> {
        self.fields
            .iter()
            .find(|(f, _)| *f == Field::UserId)
            .map(|(_, i)| *i)
    }

    /// Maps one record to a [`DesiredRow`]. For audiences the rendered `audience_name`
    /// becomes the `name` value (it wins over a `name` mapping) and, when no primary key
    /// column is configured, the row's primary key.
    pub fn desired_row(&self, record: &Record) -> DesiredRow {
        let mut row = DesiredRow::default();
        if record.values().len() != self.width {
            row.problems.push(RowProblem {
                field: "record".to_owned(),
                reason: format!(
                    "the row has {} values but the model has {} columns",
                    record.values().len(),
                    self.width
                ),
            });
            return row;
        }
        let column_name = |index: usize| {
            record
                .columns()
                .get(index)
                .map_or("?", String::as_str)
                .to_owned()
        };
        for (field, index) in &self.fields {
            match record.value(*index) {
                Some(Value::Invalid(reason)) => row.problems.push(RowProblem {
                    field: field.as_str().to_owned(),
                    reason: format!(
                        "column `{}` cannot be read in this row: {reason}",
                        column_name(*index)
                    ),
                }),
                Some(value) => {
                    row.values.insert(*field, value.clone());
                }
                None => {}
            }
        }
        let mut rendered = None;
        if let Some(template) = &self.name {
            let mut out = String::new();
            let mut missing = None;
            for part in &template.parts {
                match part {
                    BoundPart::Literal(text) => out.push_str(text),
                    BoundPart::Column(index, column) => {
                        let value = record.value(*index);
                        match value.and_then(Value::as_text) {
                            Some(text) => out.push_str(&text),
                            None => {
                                let why = match value.and_then(Value::invalid_reason) {
                                    Some(reason) => format!("cannot be read in this row: {reason}"),
                                    None => "is null in this row".to_owned(),
                                };
                                missing = Some((column, why));
                                break;
                            }
                        }
                    }
                }
            }
            match missing {
                Some((column, why)) => row.problems.push(RowProblem {
                    field: "name".to_owned(),
                    reason: format!("audience_name uses column `{column}`, which {why}"),
                }),
                None => {
                    row.values.insert(Field::Name, Value::Text(out.clone()));
                    rendered = Some(out);
                }
            }
        }
        row.primary_key = if self.primary_key.is_empty() {
            rendered
                .map(|n| n.trim().to_owned())
                .filter(|n| !n.is_empty())
        } else {
            primary_key_text(record, &self.primary_key)
        };
        if row.primary_key.is_none() {
            // Say why rather than "null or empty" when a key column could not be read.
            for index in &self.primary_key {
                if let Some(reason) = record.value(*index).and_then(Value::invalid_reason) {
                    row.problems.push(RowProblem {
                        field: "primary_key".to_owned(),
                        reason: format!(
                            "primary key column `{}` cannot be read in this row: {reason}",
                            column_name(*index)
                        ),
                    });
                }
            }
        }
        row
    }
}

/// The primary key text of a record: the id text of a single column, or a JSON array of
/// the id texts of several (unambiguous, unlike joining with a separator). `None` if any
/// part is null or empty.
fn primary_key_text(record: &Record, columns: &[usize]) -> Option<String> {
    if let [single] = columns {
        return record.value(*single)?.as_id_text().map(|c| c.into_owned());
    }
    let mut parts = Vec::with_capacity(columns.len());
    for index in columns {
        parts.push(serde_json::Value::String(
            record.value(*index)?.as_id_text()?.into_owned(),
        ));
    }
    Some(serde_json::Value::Array(parts).to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::samples;
    use std::sync::Arc;

    fn cols(names: &[&str]) -> Vec<String> {
        names.iter().map(|s| (*s).to_owned()).collect()
    }

    fn record(names: &[&str], values: Vec<Value>) -> Record {
        Record::new(Arc::from(cols(names)), values).unwrap()
    }

    #[test]
    fn mapping_checks_fields_against_the_object_type() {
        let err = Mapping::new(
            &samples::ATTRIBUTE.object,
            [("key", "k"), ("conditions", "c"), ("colour", "x")],
        )
        .unwrap_err();
        assert_eq!(err.0.len(), 2);
        let text = err.to_string();
        assert!(
            text.contains("attribute has no field `conditions`"),
            "{text}"
        );
        assert!(text.contains("unknown field `colour`"), "{text}");
        assert!(text.contains("key, name, description, archived"), "{text}");
    }

    #[test]
    fn required_fields_are_required() {
        let err = Mapping::new(&samples::LIST, Vec::<(String, String)>::new()).unwrap_err();
        assert!(err.to_string().contains("must set `user_id`"), "{err}");
        let err = Mapping::new(&samples::CUSTOM_EVENT.object, [("name", "n")]).unwrap_err();
        assert!(err.to_string().contains("must set `key`"));
        assert!(Mapping::new(&samples::AUDIENCE.object, [("description", "d")]).is_ok());
        let err = Mapping::new(&samples::ATTRIBUTE.object, [("key", " ")]).unwrap_err();
        assert_eq!(err.0, vec![MappingError::EmptyColumn { field: Field::Key }]);
    }

    #[test]
    fn binding_reports_missing_columns_with_the_available_ones() {
        let m = Mapping::new(
            &samples::CUSTOM_EVENT.object,
            [("key", "event_key"), ("name", "nme")],
        )
        .unwrap();
        let err = m
            .bind(&cols(&["event_key", "event_name"]), &cols(&["id"]), None)
            .unwrap_err();
        assert_eq!(err.0.len(), 2);
        let text = err.to_string();
        assert!(text.contains("mapping `name` uses column `nme`"), "{text}");
        assert!(text.contains("primary_key uses column `id`"), "{text}");
        assert!(text.contains("columns: event_key, event_name"), "{text}");
    }

    #[test]
    fn audiences_need_a_name_template_whose_columns_exist() {
        let m = Mapping::new(&samples::AUDIENCE.object, [("conditions", "c")]).unwrap();
        assert!(m.bind(&cols(&["c"]), &[], None).is_err());
        let t = NameTemplate::parse("seg {missing}").unwrap();
        let err = m.bind(&cols(&["c"]), &[], Some(&t)).unwrap_err();
        assert!(
            err.to_string()
                .contains("audience_name uses column `missing`")
        );
    }

    #[test]
    fn templates_parse_and_know_when_they_are_fixed() {
        let t = NameTemplate::parse("Segment {name} ({id}) {{x}}").unwrap();
        assert!(!t.is_fixed());
        assert_eq!(t.columns().collect::<Vec<_>>(), vec!["name", "id"]);
        assert!(NameTemplate::parse("Everyone in Paris").unwrap().is_fixed());
        for bad in ["a {b", "a }", "a {}", "{a{b}}", "  "] {
            assert!(NameTemplate::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn rows_map_to_fields_and_primary_keys() {
        let m = Mapping::new(
            &samples::AUDIENCE.object,
            [("conditions", "c"), ("name", "n")],
        )
        .unwrap();
        let t = NameTemplate::parse("Seg {n}").unwrap();
        let columns = cols(&["id", "n", "c"]);
        let b = m.bind(&columns, &cols(&["id"]), Some(&t)).unwrap();
        assert!(!b.has_fixed_name());
        let row = b.desired_row(&record(
            &["id", "n", "c"],
            vec![Value::Int(3), Value::from("A"), Value::Null],
        ));
        assert_eq!(row.primary_key.as_deref(), Some("3"));
        assert_eq!(row.values.get(&Field::Name), Some(&Value::from("Seg A")));
        assert_eq!(row.values.get(&Field::Conditions), Some(&Value::Null));
        let row = b.desired_row(&record(
            &["id", "n", "c"],
            vec![Value::Int(3), Value::Null, Value::Null],
        ));
        assert_eq!(row.problems.len(), 1);
        assert!(row.problems[0].reason.contains("`n`"));
    }

    #[test]
    fn cells_that_could_not_be_read_become_row_problems() {
        let m = Mapping::new(&samples::AUDIENCE.object, [("conditions", "c")]).unwrap();
        let t = NameTemplate::parse("Seg {n}").unwrap();
        let columns = cols(&["id", "n", "c"]);
        let b = m.bind(&columns, &cols(&["id"]), Some(&t)).unwrap();
        let bad = || Value::Invalid("the JSON value is nested 300 levels deep".to_owned());

        let row = b.desired_row(&record(
            &["id", "n", "c"],
            vec![Value::Int(1), Value::from("A"), bad()],
        ));
        assert_eq!(row.primary_key.as_deref(), Some("1"));
        assert!(!row.values.contains_key(&Field::Conditions));
        let [problem] = &row.problems[..] else {
            panic!("{row:?}");
        };
        assert_eq!(problem.field, "conditions");
        assert!(problem.reason.contains("column `c`"), "{problem:?}");
        assert!(problem.reason.contains("300 levels"), "{problem:?}");

        let row = b.desired_row(&record(
            &["id", "n", "c"],
            vec![Value::Int(1), bad(), Value::Null],
        ));
        assert!(
            row.problems[0].reason.contains("`n`, which cannot be read"),
            "{row:?}"
        );

        let row = b.desired_row(&record(
            &["id", "n", "c"],
            vec![bad(), Value::from("A"), Value::Null],
        ));
        assert_eq!(row.primary_key, None);
        let [problem] = &row.problems[..] else {
            panic!("{row:?}");
        };
        assert_eq!(problem.field, "primary_key");
        assert!(problem.reason.contains("column `id`"), "{problem:?}");
    }

    #[test]
    fn composite_primary_keys_are_json_arrays() {
        let m = Mapping::new(&samples::ATTRIBUTE.object, [("key", "k")]).unwrap();
        let b = m
            .bind(&cols(&["a", "b", "k"]), &cols(&["a", "b"]), None)
            .unwrap();
        let row = b.desired_row(&record(
            &["a", "b", "k"],
            vec![Value::Int(1), Value::from("x,y"), Value::from("k")],
        ));
        assert_eq!(row.primary_key.as_deref(), Some(r#"["1","x,y"]"#));
        let row = b.desired_row(&record(
            &["a", "b", "k"],
            vec![Value::Int(1), Value::Null, Value::from("k")],
        ));
        assert_eq!(row.primary_key, None);
    }

    #[test]
    fn default_primary_keys() {
        let m = Mapping::new(&samples::CUSTOM_EVENT.object, [("key", "event_key")]).unwrap();
        assert_eq!(m.default_primary_key(), cols(&["event_key"]));
        let m = Mapping::new(&samples::LIST, [("user_id", "uid")]).unwrap();
        let b = m.bind(&cols(&["x", "uid"]), &[], None).unwrap();
        assert_eq!(b.user_id_index(), Some(1));
        let m = Mapping::new(&samples::AUDIENCE.object, [("description", "d")]).unwrap();
        let t = NameTemplate::parse("Fixed").unwrap();
        let b = m.bind(&cols(&["d"]), &[], Some(&t)).unwrap();
        assert!(b.has_fixed_name());
        let row = b.desired_row(&record(&["d"], vec![Value::from("x")]));
        assert_eq!(row.primary_key.as_deref(), Some("Fixed"));
    }
}
