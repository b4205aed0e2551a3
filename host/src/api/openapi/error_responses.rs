//! How a route's error groups become its error answers: [`ErrorCase`]s grouped by [`ErrorSet`]
//! (declared with `error_sets!`, combined as tuples), and [`Errors`], which turns them into one
//! response per status whose `error.code` is an enum of exactly that status's codes.

use std::collections::BTreeMap;
use std::marker::PhantomData;

use utoipa::openapi::response::{Response, ResponseBuilder};
use utoipa::openapi::schema::{AllOfBuilder, ObjectBuilder, Type};
use utoipa::openapi::{ContentBuilder, Ref, RefOr, Schema};

/// One way a route can fail: its status, its `error.code` and when it happens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ErrorCase {
    pub status: u16,
    pub code: &'static str,
    pub when: &'static str,
}

/// A group of failures that belong together (the API key, a JSON body, a provider call).
pub trait ErrorSet {
    fn cases(out: &mut Vec<ErrorCase>);
}

/// Declares error groups: `Name { 404 "not_found": "when"; … }`.
macro_rules! error_sets {
    ($($(#[$doc:meta])* $name:ident { $($status:literal $code:literal: $when:literal;)* })*) => {$(
        $(#[$doc])*
        pub struct $name;

        impl ErrorSet for $name {
            fn cases(out: &mut Vec<ErrorCase>) {
                out.extend([$(ErrorCase { status: $status, code: $code, when: $when }),*]);
            }
        }
    )*};
}
pub(crate) use error_sets;

macro_rules! tuple_sets {
    ($($name:ident)+) => {
        impl<$($name: ErrorSet),+> ErrorSet for ($($name,)+) {
            fn cases(out: &mut Vec<ErrorCase>) {
                $($name::cases(out);)+
            }
        }
    };
}

impl ErrorSet for () {
    fn cases(_: &mut Vec<ErrorCase>) {}
}

tuple_sets!(A);
tuple_sets!(A B);
tuple_sets!(A B C);
tuple_sets!(A B C D);
tuple_sets!(A B C D E);
tuple_sets!(A B C D E F);
tuple_sets!(A B C D E F G);
tuple_sets!(A B C D E F G H);
tuple_sets!(A B C D E F G H I);
tuple_sets!(A B C D E F G H I J);

/// A route's error answers, for `responses(...)`: the groups `T` (a tuple) and
/// [`Always`](super::errors::Always).
pub struct Errors<T>(PhantomData<T>);

impl<T: ErrorSet> Errors<T> {
    /// Every case of the route, `Always` included, without repeats.
    pub fn cases() -> Vec<ErrorCase> {
        let mut cases = Vec::new();
        T::cases(&mut cases);
        super::errors::Always::cases(&mut cases);
        let mut unique: Vec<ErrorCase> = Vec::new();
        for case in cases {
            if !unique.iter().any(|seen| seen.status == case.status && seen.code == case.code) {
                unique.push(case);
            }
        }
        unique
    }
}

impl<T: ErrorSet> utoipa::IntoResponses for Errors<T> {
    fn responses() -> BTreeMap<String, RefOr<Response>> {
        let mut by_status: BTreeMap<u16, Vec<ErrorCase>> = BTreeMap::new();
        for case in Self::cases() {
            by_status.entry(case.status).or_default().push(case);
        }
        by_status.into_iter().map(|(status, cases)| (status.to_string(), RefOr::T(response(&cases)))).collect()
    }
}

/// One status: the error object with `code` limited to these cases' codes.
fn response(cases: &[ErrorCase]) -> Response {
    let description: Vec<String> = cases.iter().map(|case| format!("`{}`: {}", case.code, case.when)).collect();
    let codes = cases.iter().map(|case| case.code);
    let code = ObjectBuilder::new().schema_type(Type::String).enum_values(Some(codes));
    let narrowed = ObjectBuilder::new()
        .schema_type(Type::Object)
        .property("error", ObjectBuilder::new().schema_type(Type::Object).property("code", code));
    let schema = AllOfBuilder::new().item(Ref::from_schema_name("Error")).item(narrowed).build();
    ResponseBuilder::new()
        .description(description.join("\n\n"))
        .content("application/json", ContentBuilder::new().schema(Some(Schema::AllOf(schema))).build())
        .build()
}

#[cfg(test)]
mod tests {
    use utoipa::IntoResponses;

    use super::*;
    use crate::api::openapi::errors::{Auth, JsonInput, StorageFault};

    #[test]
    fn each_status_lists_exactly_its_codes_once() {
        let responses = Errors::<(Auth, StorageFault, JsonInput)>::responses();
        let codes = |status: &str| {
            let RefOr::T(response) = &responses[status] else { panic!("inline") };
            let json = serde_json::to_value(response).unwrap();
            let schema = &json["content"]["application/json"]["schema"];
            assert_eq!(schema["allOf"][0]["$ref"], "#/components/schemas/Error");
            schema["allOf"][1]["properties"]["error"]["properties"]["code"]["enum"].clone()
        };
        assert_eq!(codes("503"), serde_json::json!(["storage_unavailable"]), "once, though two groups name it");
        assert_eq!(codes("401"), serde_json::json!(["missing_api_key", "invalid_api_key"]));
        assert_eq!(codes("422"), serde_json::json!(["missing_field", "invalid_field"]));
        assert_eq!(codes("413"), serde_json::json!(["too_large"]), "every route's");
        assert_eq!(codes("500"), serde_json::json!(["internal"]), "every route's");
        assert_eq!(responses.len(), 7, "{:?}", responses.keys().collect::<Vec<_>>());
    }
}
