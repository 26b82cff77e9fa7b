//! `POST /v3/graphql`: the segment query the Feature Experimentation SDKs send, parsed by a
//! small hand-written GraphQL reader and answered over the seeded segments
//! (docs/ODP-API.md §6, §10.7).
//!
//! The SDKs send one of two forms (§6):
//!
//! ```text
//! query($userId: String, $audiences: [String]) {customer(fs_user_id: $userId) {audiences(subset: $audiences) {edges {node {name state}}}}}
//! query {customer(vuid : "vuid_123") {audiences(subset: ["seg_a","seg_b"]) {edges {node {name state}}}}}
//! ```
//!
//! The reader takes the GraphQL grammar those need, not only the exact strings: an optional
//! `query` keyword, operation name and variable definitions (with defaults), aliases,
//! arguments of any literal kind or a `$variable`, any white space, commas and `#` comments.
//! It answers with what the schema below allows:
//!
//! ```text
//! type Query { customer(<identifier>: String): Customer }       # fs_user_id, vuid, email, …
//! type Customer { audiences(subset: [String]): AudienceConnection }
//! type AudienceConnection { edges: [AudienceEdge] }
//! type AudienceEdge { node: Audience }
//! type Audience { name: String!  state: String!  description: String }
//! ```
//!
//! Answers are always 200 (§6 "meaningful errors arrive as 200 with `errors`"):
//! - a known customer: `data.customer.audiences.edges[]`, one edge per requested segment the
//!   account has, `state` `qualified` or `not_qualified` (unknown names omitted, INFERRED §10.7;
//!   no `subset` argument, or `null`: every segment, INFERRED);
//! - an unknown customer: the `INVALID_IDENTIFIER_EXCEPTION` error of §6 with `data.customer`
//!   null; `locations` is where `customer` stands in the query;
//! - a query that does not parse: graphql-java's `InvalidSyntax` error (INFERRED §10.7), no
//!   `data`;
//! - a query that parses but asks for what the schema lacks (an unknown field or argument, an
//!   undeclared variable, a missing or forbidden sub-selection): graphql-java's
//!   `ValidationError` wording (INFERRED), no `data`.
//!
//! Not supported (answered as a `ValidationError` saying so): fragments, directives,
//! mutations, subscriptions and documents with more than one operation. Variable values are
//! not checked against their declared types (INFERRED leniency). A body that is not JSON with
//! a `query` string is a 400 envelope (INFERRED).

use super::OdpAccount;
use super::response::{OdpAnswer, Reply};
use serde_json::{Map, Number, Value, json};

/// A place in the query text, 1-based.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Pos {
    line: usize,
    column: usize,
}

impl Pos {
    fn json(self) -> Value {
        json!({"line": self.line, "column": self.column})
    }
}

#[derive(Clone, Debug, PartialEq)]
enum Tok {
    Punct(char),
    Spread,
    Name(String),
    Str(String),
    Num(String),
    End,
}

#[derive(Clone, Debug)]
struct Token {
    tok: Tok,
    /// The source text, for error messages.
    text: String,
    pos: Pos,
}

/// Why a query is answered with errors and no data.
#[derive(Debug, PartialEq)]
enum Refusal {
    /// graphql-java's `InvalidSyntax`, at the offending token.
    Syntax { text: String, pos: Pos },
    /// A `ValidationError`.
    Invalid { message: String, pos: Pos },
}

impl Refusal {
    fn error(&self) -> Value {
        match self {
            Self::Syntax { text, pos } => json!({
                "message": format!(
                    "Invalid Syntax : offending token '{text}' at line {} column {}",
                    pos.line, pos.column
                ),
                "locations": [pos.json()],
                "extensions": {"classification": "InvalidSyntax"},
            }),
            Self::Invalid { message, pos } => json!({
                "message": message,
                "locations": [pos.json()],
                "extensions": {"classification": "ValidationError"},
            }),
        }
    }
}

fn lex(src: &str) -> Result<Vec<Token>, Refusal> {
    let chars: Vec<char> = src.chars().collect();
    let mut out = Vec::new();
    let (mut i, mut line, mut column) = (0, 1, 1);
    let syntax = |text: String, line, column| Refusal::Syntax {
        text,
        pos: Pos { line, column },
    };
    while i < chars.len() {
        let c = chars[i];
        let pos = Pos { line, column };
        let start = i;
        let tok = match c {
            '\n' | '\r' => {
                i += if c == '\r' && chars.get(i + 1) == Some(&'\n') {
                    2
                } else {
                    1
                };
                line += 1;
                column = 1;
                continue;
            }
            ' ' | '\t' | ',' | '\u{feff}' => {
                i += 1;
                column += 1;
                continue;
            }
            '#' => {
                while i < chars.len() && chars[i] != '\n' && chars[i] != '\r' {
                    i += 1;
                    column += 1;
                }
                continue;
            }
            '!' | '$' | '&' | '(' | ')' | ':' | '=' | '@' | '[' | ']' | '{' | '|' | '}' => {
                i += 1;
                Tok::Punct(c)
            }
            '.' => {
                if chars.get(i + 1) == Some(&'.') && chars.get(i + 2) == Some(&'.') {
                    i += 3;
                    Tok::Spread
                } else {
                    return Err(syntax(".".to_owned(), line, column));
                }
            }
            '"' if chars.get(i + 1) == Some(&'"') && chars.get(i + 2) == Some(&'"') => {
                i += 3;
                let mut value = String::new();
                loop {
                    match chars.get(i) {
                        None => return Err(syntax("<EOF>".to_owned(), line, column)),
                        Some('"')
                            if chars.get(i + 1) == Some(&'"') && chars.get(i + 2) == Some(&'"') =>
                        {
                            i += 3;
                            break;
                        }
                        Some(&ch) => {
                            value.push(ch);
                            i += 1;
                        }
                    }
                }
                Tok::Str(value)
            }
            '"' => {
                i += 1;
                let mut value = String::new();
                loop {
                    match chars.get(i) {
                        None | Some('\n' | '\r') => {
                            let text: String = chars[start..i].iter().collect();
                            return Err(syntax(text, pos.line, pos.column));
                        }
                        Some('"') => {
                            i += 1;
                            break;
                        }
                        Some('\\') => {
                            let escaped = match chars.get(i + 1) {
                                Some('"') => '"',
                                Some('\\') => '\\',
                                Some('/') => '/',
                                Some('b') => '\u{8}',
                                Some('f') => '\u{c}',
                                Some('n') => '\n',
                                Some('r') => '\r',
                                Some('t') => '\t',
                                Some('u') => {
                                    let hex: String = chars.iter().skip(i + 2).take(4).collect();
                                    match u32::from_str_radix(&hex, 16)
                                        .ok()
                                        .and_then(char::from_u32)
                                    {
                                        Some(ch) if hex.len() == 4 => {
                                            i += 4;
                                            ch
                                        }
                                        _ => {
                                            let text: String = chars
                                                [start..(i + 2).min(chars.len())]
                                                .iter()
                                                .collect();
                                            return Err(syntax(text, pos.line, pos.column));
                                        }
                                    }
                                }
                                _ => {
                                    let text: String =
                                        chars[start..(i + 2).min(chars.len())].iter().collect();
                                    return Err(syntax(text, pos.line, pos.column));
                                }
                            };
                            value.push(escaped);
                            i += 2;
                        }
                        Some(&ch) => {
                            value.push(ch);
                            i += 1;
                        }
                    }
                }
                Tok::Str(value)
            }
            '-' | '0'..='9' => {
                i += 1;
                let digits = |i: &mut usize| {
                    let from = *i;
                    while chars.get(*i).is_some_and(char::is_ascii_digit) {
                        *i += 1;
                    }
                    *i > from
                };
                let whole = c != '-' || digits(&mut i);
                if c.is_ascii_digit() {
                    digits(&mut i);
                }
                let mut ok = whole;
                if chars.get(i) == Some(&'.') {
                    i += 1;
                    ok &= digits(&mut i);
                }
                if matches!(chars.get(i), Some('e' | 'E')) {
                    i += 1;
                    if matches!(chars.get(i), Some('+' | '-')) {
                        i += 1;
                    }
                    ok &= digits(&mut i);
                }
                let text: String = chars[start..i].iter().collect();
                if !ok
                    || chars
                        .get(i)
                        .is_some_and(|ch| ch.is_alphanumeric() || *ch == '_' || *ch == '.')
                {
                    return Err(syntax(text, pos.line, pos.column));
                }
                Tok::Num(text)
            }
            c if c == '_' || c.is_ascii_alphabetic() => {
                while chars
                    .get(i)
                    .is_some_and(|ch| *ch == '_' || ch.is_ascii_alphanumeric())
                {
                    i += 1;
                }
                Tok::Name(chars[start..i].iter().collect())
            }
            other => return Err(syntax(other.to_string(), line, column)),
        };
        let text: String = chars[start..i].iter().collect();
        // Only a block string can span lines.
        for ch in text.chars() {
            if ch == '\n' {
                line += 1;
                column = 1;
            } else {
                column += 1;
            }
        }
        out.push(Token { tok, text, pos });
    }
    out.push(Token {
        tok: Tok::End,
        text: "<EOF>".to_owned(),
        pos: Pos { line, column },
    });
    Ok(out)
}

/// A literal or variable in the query.
#[derive(Clone, Debug, PartialEq)]
enum Literal {
    Var(String),
    Str(String),
    Int(String),
    Float(String),
    Bool(bool),
    Null,
    Enum(String),
    List(Vec<Literal>),
    Object(Vec<(String, Literal)>),
}

impl Literal {
    /// The variables it uses.
    fn variables<'l>(&'l self, out: &mut Vec<&'l str>) {
        match self {
            Self::Var(name) => out.push(name),
            Self::List(items) => items.iter().for_each(|i| i.variables(out)),
            Self::Object(fields) => fields.iter().for_each(|(_, v)| v.variables(out)),
            _ => {}
        }
    }
}

#[derive(Debug, PartialEq)]
struct VarDef {
    name: String,
    default: Option<Literal>,
}

#[derive(Debug, PartialEq)]
struct Arg {
    name: String,
    value: Literal,
}

#[derive(Debug, PartialEq)]
struct Field {
    alias: Option<String>,
    name: String,
    args: Vec<Arg>,
    selections: Option<Vec<Field>>,
    pos: Pos,
}

impl Field {
    /// The key the field's value has in the answer.
    fn key(&self) -> &str {
        self.alias.as_deref().unwrap_or(&self.name)
    }

    fn arg(&self, name: &str) -> Option<&Literal> {
        self.args.iter().find(|a| a.name == name).map(|a| &a.value)
    }
}

#[derive(Debug, PartialEq)]
struct Operation {
    vars: Vec<VarDef>,
    selections: Vec<Field>,
}

struct Parser {
    toks: Vec<Token>,
    at: usize,
}

impl Parser {
    fn peek(&self) -> &Token {
        // `lex` always ends the list with `End`, and `bump` never passes it.
        &self.toks[self.at.min(self.toks.len() - 1)]
    }

    fn bump(&mut self) -> Token {
        let token = self.peek().clone();
        if token.tok != Tok::End {
            self.at += 1;
        }
        token
    }

    fn syntax(&self) -> Refusal {
        let token = self.peek();
        Refusal::Syntax {
            text: token.text.clone(),
            pos: token.pos,
        }
    }

    fn unsupported(&self, what: &str) -> Refusal {
        Refusal::Invalid {
            message: format!("fake-optimizely does not support {what} in GraphQL queries"),
            pos: self.peek().pos,
        }
    }

    fn is_punct(&self, c: char) -> bool {
        self.peek().tok == Tok::Punct(c)
    }

    fn is_name(&self, name: &str) -> bool {
        matches!(&self.peek().tok, Tok::Name(n) if n == name)
    }

    fn punct(&mut self, c: char) -> Result<(), Refusal> {
        if self.is_punct(c) {
            self.bump();
            Ok(())
        } else {
            Err(self.syntax())
        }
    }

    fn name(&mut self) -> Result<(String, Pos), Refusal> {
        match &self.peek().tok {
            Tok::Name(name) => {
                let found = (name.clone(), self.peek().pos);
                self.bump();
                Ok(found)
            }
            _ => Err(self.syntax()),
        }
    }

    fn no_directives(&self) -> Result<(), Refusal> {
        if self.is_punct('@') {
            Err(self.unsupported("directives"))
        } else {
            Ok(())
        }
    }

    fn document(&mut self) -> Result<Operation, Refusal> {
        let mut vars = Vec::new();
        if self.is_name("query") {
            self.bump();
            if matches!(self.peek().tok, Tok::Name(_)) {
                self.bump();
            }
            if self.is_punct('(') {
                vars = self.variable_definitions()?;
            }
            self.no_directives()?;
        } else if self.is_name("mutation") || self.is_name("subscription") {
            return Err(self.unsupported("mutations and subscriptions"));
        } else if self.is_name("fragment") {
            return Err(self.unsupported("fragments"));
        } else if !self.is_punct('{') {
            return Err(self.syntax());
        }
        let selections = self.selection_set()?;
        if self.peek().tok != Tok::End {
            if self.is_punct('{')
                || ["query", "mutation", "subscription", "fragment"]
                    .iter()
                    .any(|w| self.is_name(w))
            {
                return Err(self.unsupported("documents with more than one definition"));
            }
            return Err(self.syntax());
        }
        Ok(Operation { vars, selections })
    }

    fn variable_definitions(&mut self) -> Result<Vec<VarDef>, Refusal> {
        self.punct('(')?;
        let mut vars = Vec::new();
        loop {
            self.punct('$')?;
            let (name, _) = self.name()?;
            self.punct(':')?;
            self.type_ref()?;
            let default = if self.is_punct('=') {
                self.bump();
                Some(self.value()?)
            } else {
                None
            };
            self.no_directives()?;
            vars.push(VarDef { name, default });
            if self.is_punct(')') {
                self.bump();
                return Ok(vars);
            }
        }
    }

    fn type_ref(&mut self) -> Result<(), Refusal> {
        if self.is_punct('[') {
            self.bump();
            self.type_ref()?;
            self.punct(']')?;
        } else {
            self.name()?;
        }
        if self.is_punct('!') {
            self.bump();
        }
        Ok(())
    }

    fn selection_set(&mut self) -> Result<Vec<Field>, Refusal> {
        self.punct('{')?;
        let mut fields = Vec::new();
        loop {
            if self.peek().tok == Tok::Spread {
                return Err(self.unsupported("fragments"));
            }
            fields.push(self.field()?);
            if self.is_punct('}') {
                self.bump();
                return Ok(fields);
            }
        }
    }

    fn field(&mut self) -> Result<Field, Refusal> {
        let (first, pos) = self.name()?;
        let (alias, name) = if self.is_punct(':') {
            self.bump();
            (Some(first), self.name()?.0)
        } else {
            (None, first)
        };
        let mut args = Vec::new();
        if self.is_punct('(') {
            self.bump();
            loop {
                let (name, _) = self.name()?;
                self.punct(':')?;
                let value = self.value()?;
                args.push(Arg { name, value });
                if self.is_punct(')') {
                    self.bump();
                    break;
                }
            }
        }
        self.no_directives()?;
        let selections = if self.is_punct('{') {
            Some(self.selection_set()?)
        } else {
            None
        };
        Ok(Field {
            alias,
            name,
            args,
            selections,
            pos,
        })
    }

    fn value(&mut self) -> Result<Literal, Refusal> {
        let token = self.peek().clone();
        let literal = match token.tok {
            Tok::Punct('$') => {
                self.bump();
                return Ok(Literal::Var(self.name()?.0));
            }
            Tok::Str(s) => Literal::Str(s),
            Tok::Num(n) if n.contains(['.', 'e', 'E']) => Literal::Float(n),
            Tok::Num(n) => Literal::Int(n),
            Tok::Name(n) => match n.as_str() {
                "true" => Literal::Bool(true),
                "false" => Literal::Bool(false),
                "null" => Literal::Null,
                _ => Literal::Enum(n),
            },
            Tok::Punct('[') => {
                self.bump();
                let mut items = Vec::new();
                while !self.is_punct(']') {
                    items.push(self.value()?);
                }
                self.bump();
                return Ok(Literal::List(items));
            }
            Tok::Punct('{') => {
                self.bump();
                let mut fields = Vec::new();
                while !self.is_punct('}') {
                    let (name, _) = self.name()?;
                    self.punct(':')?;
                    fields.push((name, self.value()?));
                }
                self.bump();
                return Ok(Literal::Object(fields));
            }
            _ => return Err(self.syntax()),
        };
        self.bump();
        Ok(literal)
    }
}

fn parse(query: &str) -> Result<Operation, Refusal> {
    Parser {
        toks: lex(query)?,
        at: 0,
    }
    .document()
}

/// The object types of the schema.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Type {
    Query,
    Customer,
    Connection,
    Edge,
    Audience,
}

impl Type {
    fn name(self) -> &'static str {
        match self {
            Self::Query => "Query",
            Self::Customer => "Customer",
            Self::Connection => "AudienceConnection",
            Self::Edge => "AudienceEdge",
            Self::Audience => "Audience",
        }
    }
}

/// What a field of a type gives.
#[derive(Clone, Copy, Debug)]
enum Shape {
    Object(Type),
    Leaf(&'static str),
}

fn field_shape(of: Type, name: &str) -> Option<Shape> {
    if name == "__typename" {
        return Some(Shape::Leaf("String!"));
    }
    Some(match (of, name) {
        (Type::Query, "customer") => Shape::Object(Type::Customer),
        (Type::Customer, "audiences") => Shape::Object(Type::Connection),
        (Type::Connection, "edges") => Shape::Object(Type::Edge),
        (Type::Edge, "node") => Shape::Object(Type::Audience),
        (Type::Audience, "name" | "state") => Shape::Leaf("String!"),
        (Type::Audience, "description") => Shape::Leaf("String"),
        _ => return None,
    })
}

fn validate(
    account: &OdpAccount,
    op: &Operation,
    fields: &[Field],
    of: Type,
    path: &str,
    errors: &mut Vec<Value>,
) {
    for field in fields {
        let here = if path.is_empty() {
            field.name.clone()
        } else {
            format!("{path}/{}", field.name)
        };
        let mut refuse = |kind: &str, text: String| {
            errors.push(
                Refusal::Invalid {
                    message: format!("Validation error ({kind}@[{here}]) : {text}"),
                    pos: field.pos,
                }
                .error(),
            );
        };
        let Some(shape) = field_shape(of, &field.name) else {
            refuse(
                "FieldUndefined",
                format!(
                    "Field '{}' in type '{}' is undefined",
                    field.name,
                    of.name()
                ),
            );
            continue;
        };
        for arg in &field.args {
            let known = match (of, field.name.as_str()) {
                (Type::Query, "customer") => account.schema.is_identifier(&arg.name),
                (Type::Customer, "audiences") => arg.name == "subset",
                _ => false,
            };
            if !known {
                refuse(
                    "UnknownArgument",
                    format!("Unknown field argument '{}'", arg.name),
                );
            }
            let mut used = Vec::new();
            arg.value.variables(&mut used);
            for var in used {
                if !op.vars.iter().any(|v| v.name == var) {
                    refuse("UndefinedVariable", format!("Undefined variable '{var}'"));
                }
            }
        }
        match (shape, &field.selections) {
            (Shape::Leaf(ty), Some(_)) => refuse(
                "SubselectionNotAllowed",
                format!(
                    "Subselection not allowed on leaf type '{ty}' of field '{}'",
                    field.name
                ),
            ),
            (Shape::Object(ty), None) => refuse(
                "SubselectionRequired",
                format!(
                    "Subselection required for type '{}' of field '{}'",
                    ty.name(),
                    field.name
                ),
            ),
            (Shape::Object(ty), Some(inner)) => validate(account, op, inner, ty, &here, errors),
            (Shape::Leaf(_), None) => {}
        }
    }
}

/// Runs a validated query.
struct Run<'a> {
    account: &'a OdpAccount,
    op: &'a Operation,
    variables: &'a Map<String, Value>,
}

impl Run<'_> {
    fn resolve(&self, literal: &Literal) -> Value {
        match literal {
            Literal::Var(name) => self.variables.get(name).cloned().unwrap_or_else(|| {
                self.op
                    .vars
                    .iter()
                    .find(|v| v.name == *name)
                    .and_then(|v| v.default.as_ref())
                    .map_or(Value::Null, |d| self.resolve(d))
            }),
            Literal::Str(s) | Literal::Enum(s) => Value::String(s.clone()),
            Literal::Int(n) => n
                .parse::<i64>()
                .map(Value::from)
                .unwrap_or_else(|_| Value::String(n.clone())),
            Literal::Float(n) => n
                .parse::<f64>()
                .ok()
                .and_then(Number::from_f64)
                .map_or_else(|| Value::String(n.clone()), Value::Number),
            Literal::Bool(b) => Value::Bool(*b),
            Literal::Null => Value::Null,
            Literal::List(items) => Value::Array(items.iter().map(|i| self.resolve(i)).collect()),
            Literal::Object(fields) => Value::Object(
                fields
                    .iter()
                    .map(|(k, v)| (k.clone(), self.resolve(v)))
                    .collect(),
            ),
        }
    }

    fn answer(&self) -> Value {
        let mut data = Map::new();
        let mut errors = Vec::new();
        for field in &self.op.selections {
            let value = match field.name.as_str() {
                "customer" => match self.customer(field) {
                    Ok(value) => value,
                    Err(error) => {
                        errors.push(error);
                        Value::Null
                    }
                },
                _ => Value::String(Type::Query.name().to_owned()),
            };
            data.insert(field.key().to_owned(), value);
        }
        let mut body = json!({ "data": data });
        if !errors.is_empty() {
            body["errors"] = Value::Array(errors);
        }
        body
    }

    fn fetch_error(field: &Field, text: &str, code: Option<&str>) -> Value {
        let mut extensions = json!({"classification": "DataFetchingException"});
        if let Some(code) = code {
            extensions["code"] = json!(code);
        }
        json!({
            "message": format!(
                "Exception while fetching data (/{}) : java.lang.RuntimeException: {text}",
                field.key()
            ),
            "locations": [field.pos.json()],
            "path": [field.key()],
            "extensions": extensions,
        })
    }

    fn customer(&self, field: &Field) -> Result<Value, Value> {
        let Some(arg) = field.args.first() else {
            return Err(Self::fetch_error(field, "no identifier given", None));
        };
        let value = match self.resolve(&arg.value) {
            Value::String(s) => s,
            other => other.to_string(),
        };
        let Some(attributes) = self.account.profiles.find(&arg.name, &value) else {
            return Err(Self::fetch_error(
                field,
                &format!("could not resolve _{} = {value}", arg.name),
                Some("INVALID_IDENTIFIER_EXCEPTION"),
            ));
        };
        Ok(select(field, |sub| match sub.name.as_str() {
            "audiences" => self.audiences(sub, attributes),
            _ => json!(Type::Customer.name()),
        }))
    }

    fn audiences(&self, field: &Field, attributes: &Map<String, Value>) -> Value {
        let requested: Vec<String> = match field.arg("subset").map(|s| self.resolve(s)) {
            None | Some(Value::Null) => self
                .account
                .segments
                .values()
                .map(|s| s.name.clone())
                .collect(),
            Some(Value::Array(items)) => items
                .iter()
                .filter_map(|i| i.as_str().map(str::to_owned))
                .collect(),
            Some(Value::String(one)) => vec![one],
            Some(_) => Vec::new(),
        };
        let mut edges: Vec<(String, bool)> = Vec::new();
        for name in requested {
            if edges.iter().any(|(n, _)| *n == name) {
                continue;
            }
            if let Some(qualified) = self.account.qualifies(&name, attributes) {
                edges.push((name, qualified));
            }
        }
        select(field, |sub| match sub.name.as_str() {
            "edges" => Value::Array(
                edges
                    .iter()
                    .map(|(name, qualified)| edge(sub, name, *qualified))
                    .collect(),
            ),
            _ => json!(Type::Connection.name()),
        })
    }
}

fn edge(field: &Field, name: &str, qualified: bool) -> Value {
    select(field, |sub| match sub.name.as_str() {
        "node" => select(sub, |leaf| match leaf.name.as_str() {
            "name" => json!(name),
            "state" => json!(if qualified {
                "qualified"
            } else {
                "not_qualified"
            }),
            "description" => json!(""),
            _ => json!(Type::Audience.name()),
        }),
        _ => json!(Type::Edge.name()),
    })
}

/// The object `field` selects, each sub-field's value given by `value_of`.
fn select(field: &Field, mut value_of: impl FnMut(&Field) -> Value) -> Value {
    let mut map = Map::new();
    for sub in field.selections.iter().flatten() {
        map.insert(sub.key().to_owned(), value_of(sub));
    }
    Value::Object(map)
}

/// `POST /v3/graphql`.
pub(super) fn answer(account: &OdpAccount, body: &[u8]) -> Reply {
    let bad = |message: &str| OdpAnswer::detail(http::StatusCode::BAD_REQUEST, message);
    let request: Value =
        serde_json::from_slice(body).map_err(|_| bad("Unable to parse request body."))?;
    let Some(query) = request.get("query").and_then(Value::as_str) else {
        return Err(bad("the body must be a JSON object with a 'query' string"));
    };
    let empty = Map::new();
    let variables = match request.get("variables") {
        None | Some(Value::Null) => &empty,
        Some(Value::Object(map)) => map,
        Some(_) => return Err(bad("'variables' must be a JSON object")),
    };
    let op = match parse(query) {
        Ok(op) => op,
        Err(refusal) => return Ok(OdpAnswer::ok(json!({"errors": [refusal.error()]}))),
    };
    let mut errors = Vec::new();
    validate(account, &op, &op.selections, Type::Query, "", &mut errors);
    if !errors.is_empty() {
        return Ok(OdpAnswer::ok(json!({ "errors": errors })));
    }
    let run = Run {
        account,
        op: &op,
        variables,
    };
    Ok(OdpAnswer::ok(run.answer()))
}

#[cfg(test)]
mod tests {
    use super::*;

    const VARIABLES_FORM: &str = "query($userId: String, $audiences: [String]) {customer(fs_user_id: $userId) {audiences(subset: $audiences) {edges {node {name state}}}}}";
    const INLINED_FORM: &str = "query {customer(fs_user_id : \"u\\\"1\") {audiences(subset: [\"seg_a\",\"seg_b\"]) {edges {node {name state}}}}}";

    #[test]
    fn parses_both_sdk_forms() {
        let op = parse(VARIABLES_FORM).unwrap();
        assert_eq!(op.vars.len(), 2);
        let customer = &op.selections[0];
        assert_eq!(customer.name, "customer");
        assert_eq!(customer.args[0].value, Literal::Var("userId".into()));
        assert_eq!(
            customer.pos,
            Pos {
                line: 1,
                column: 47
            }
        );
        let op = parse(INLINED_FORM).unwrap();
        let customer = &op.selections[0];
        assert_eq!(customer.args[0].value, Literal::Str("u\"1".into()));
        let audiences = &customer.selections.as_ref().unwrap()[0];
        assert_eq!(
            audiences.args[0].value,
            Literal::List(vec![
                Literal::Str("seg_a".into()),
                Literal::Str("seg_b".into())
            ])
        );
    }

    #[test]
    fn the_python_sdk_form_over_several_lines_places_customer_at_line_2_column_3() {
        let op = parse("query($userId: String, $audiences: [String]) {\n  customer(fs_user_id: $userId) {\n    audiences(subset: $audiences) { edges { node { name state } } }\n  }\n}").unwrap();
        assert_eq!(op.selections[0].pos, Pos { line: 2, column: 3 });
    }

    #[test]
    fn syntax_errors_name_the_offending_token() {
        assert_eq!(
            parse("query {customer(fs_user_id: \"x\") {audiences {edges {node {name}}}}")
                .unwrap_err(),
            Refusal::Syntax {
                text: "<EOF>".into(),
                pos: Pos {
                    line: 1,
                    column: 67
                }
            }
        );
        assert_eq!(
            parse("query { customer(: 1) }").unwrap_err(),
            Refusal::Syntax {
                text: ":".into(),
                pos: Pos {
                    line: 1,
                    column: 18
                }
            }
        );
        assert!(matches!(
            parse("{ a(x: \"open) }"),
            Err(Refusal::Syntax { .. })
        ));
        assert!(matches!(parse("{ a(x: 1.) }"), Err(Refusal::Syntax { .. })));
        assert!(matches!(parse("{ ...F }"), Err(Refusal::Invalid { .. })));
        assert!(matches!(parse("{ a } { b }"), Err(Refusal::Invalid { .. })));
    }

    #[test]
    fn block_strings_keep_positions_right() {
        let op = parse("{ a(x: \"\"\"two\nlines\"\"\") { b } c }").unwrap();
        assert_eq!(
            op.selections[0].args[0].value,
            Literal::Str("two\nlines".into())
        );
        assert_eq!(
            op.selections[1].pos,
            Pos {
                line: 2,
                column: 17
            }
        );
    }

    #[test]
    fn literals_of_every_kind() {
        let op = parse("# comment\nquery Q($a: [String!]! = [\"x\"]) { f(i: -12, fl: 1.5e3, b: true, n: null, e: ENUM, o: {k: $a}) { g } }").unwrap();
        assert_eq!(
            op.vars[0].default,
            Some(Literal::List(vec![Literal::Str("x".into())]))
        );
        let args: Vec<&Literal> = op.selections[0].args.iter().map(|a| &a.value).collect();
        assert_eq!(args[0], &Literal::Int("-12".into()));
        assert_eq!(args[1], &Literal::Float("1.5e3".into()));
        assert_eq!(args[2], &Literal::Bool(true));
        assert_eq!(args[3], &Literal::Null);
        assert_eq!(args[4], &Literal::Enum("ENUM".into()));
    }
}
