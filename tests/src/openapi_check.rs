//! Reading the host's OpenAPI document in tests: its operations, `$ref`s, and a check of a
//! real answer against the schema the document gives for its status. The check covers the
//! JSON Schema the document uses (`$ref`, `allOf`, `oneOf`, `type` with `null`, `enum`,
//! `properties`, `required`, `additionalProperties`, `items`); it names every mismatch.

use std::collections::BTreeSet;

use serde_json::Value;

/// The methods an OpenAPI path item can hold.
const METHODS: [&str; 8] = ["get", "put", "post", "delete", "options", "head", "patch", "trace"];

/// Every operation of the document: (upper-case method, path, operation).
pub fn operations(document: &Value) -> Vec<(String, String, &Value)> {
    let mut found = Vec::new();
    for (path, item) in document["paths"].as_object().expect("a paths object") {
        for method in METHODS {
            if let Some(operation) = item.get(method) {
                found.push((method.to_ascii_uppercase(), path.clone(), operation));
            }
        }
    }
    found
}

/// Every `$ref` in the document that points nowhere in it.
pub fn dangling_refs(document: &Value) -> Vec<String> {
    fn walk(document: &Value, value: &Value, dangling: &mut BTreeSet<String>) {
        match value {
            Value::Object(map) => {
                if let Some(Value::String(target)) = map.get("$ref") {
                    if resolve(document, target).is_none() {
                        dangling.insert(target.clone());
                    }
                }
                map.values().for_each(|v| walk(document, v, dangling));
            }
            Value::Array(items) => items.iter().for_each(|v| walk(document, v, dangling)),
            _ => {}
        }
    }
    let mut dangling = BTreeSet::new();
    walk(document, document, &mut dangling);
    dangling.into_iter().collect()
}

/// What a local reference (`#/components/schemas/Name`) points to.
pub fn resolve<'d>(document: &'d Value, target: &str) -> Option<&'d Value> {
    document.pointer(target.strip_prefix('#')?)
}

/// The schema the document gives for `status` of an operation in `media` (a media type).
pub fn answer_schema<'d>(operation: &'d Value, status: u16, media: &str) -> Option<&'d Value> {
    operation["responses"].get(status.to_string())?["content"].get(media)?.get("schema")
}

/// Every way `value` breaks `schema`, each naming where (`$.credentials.x.set`).
pub fn mismatches(document: &Value, schema: &Value, value: &Value) -> Vec<String> {
    let mut found = Vec::new();
    check(document, schema, value, "$", &mut found);
    found
}

fn check(document: &Value, schema: &Value, value: &Value, at: &str, found: &mut Vec<String>) {
    if let Some(target) = schema.get("$ref").and_then(Value::as_str) {
        match resolve(document, target) {
            Some(resolved) => check(document, resolved, value, at, found),
            None => found.push(format!("{at}: dangling $ref {target}")),
        }
    }
    for part in schema.get("allOf").and_then(Value::as_array).into_iter().flatten() {
        check(document, part, value, at, found);
    }
    if let Some(choices) = schema.get("oneOf").or_else(|| schema.get("anyOf")).and_then(Value::as_array) {
        if !choices.iter().any(|choice| mismatches(document, choice, value).is_empty()) {
            found.push(format!("{at}: fits none of the {} choices of {schema}", choices.len()));
        }
    }
    if let Some(kinds) = schema.get("type") {
        let kinds: Vec<&str> = match kinds {
            Value::Array(list) => list.iter().filter_map(Value::as_str).collect(),
            other => other.as_str().into_iter().collect(),
        };
        if !kinds.iter().any(|kind| is_of(kind, value)) {
            found.push(format!("{at}: {value} is not of type {kinds:?}"));
            return;
        }
    }
    if let Some(allowed) = schema.get("enum").and_then(Value::as_array) {
        if !allowed.contains(value) {
            found.push(format!("{at}: {value} is not one of {allowed:?}"));
        }
    }
    if let Value::Object(fields) = value {
        check_object(document, schema, fields, at, found);
    }
    if let (Some(items), Value::Array(values)) = (schema.get("items"), value) {
        for (index, item) in values.iter().enumerate() {
            check(document, items, item, &format!("{at}[{index}]"), found);
        }
    }
}

fn check_object(
    document: &Value,
    schema: &Value,
    fields: &serde_json::Map<String, Value>,
    at: &str,
    found: &mut Vec<String>,
) {
    let properties = schema.get("properties").and_then(Value::as_object);
    for name in schema.get("required").and_then(Value::as_array).into_iter().flatten().filter_map(Value::as_str) {
        if !fields.contains_key(name) {
            found.push(format!("{at}: the required field `{name}` is missing"));
        }
    }
    for (name, field) in fields {
        let place = format!("{at}.{name}");
        match (properties.and_then(|p| p.get(name)), schema.get("additionalProperties")) {
            (Some(property), _) => check(document, property, field, &place, found),
            (None, Some(Value::Bool(false))) => found.push(format!("{place}: not a documented field")),
            (None, Some(extra @ Value::Object(_))) => check(document, extra, field, &place, found),
            (None, _) => {}
        }
    }
}

fn is_of(kind: &str, value: &Value) -> bool {
    match kind {
        "null" => value.is_null(),
        "boolean" => value.is_boolean(),
        "integer" => value.is_i64() || value.is_u64(),
        "number" => value.is_number(),
        "string" => value.is_string(),
        "array" => value.is_array(),
        "object" => value.is_object(),
        _ => false,
    }
}
