//! The OpenAPI description at `GET /v1/openapi.json` (clause 5.4.2.2): reachable without a
//! signature, OpenAPI 3.1, and in step with the route declarations, the request and answer
//! types the handlers use, the protocol and the error catalogue.

use crate::helpers::{TestApp, spawn_apps};
use crate::people::{PASSWORD, customer, fresh_mobile, sign_in};
use inspay_server::auth::{Need, RouteSpec};
use inspay_server::error::ErrorCode;
use serde_json::{Value, json};
use std::collections::BTreeSet;

const PATH: &str = "/v1/openapi.json";

/// Write routes that take no body, each one a deliberate choice: a new one fails this test
/// until it is added here.
const BODILESS_WRITES: &[(&str, &str)] = &[
    ("POST", "/v1/protocol/field-nonce"),
    ("POST", "/v1/sign-out"),
    ("POST", "/v1/sign-out/all"),
    ("POST", "/v1/me/close"),
];

fn specs() -> impl Iterator<Item = &'static RouteSpec> {
    inspay_server::routes::SPECS
        .iter()
        .flat_map(|specs| specs.iter())
}

/// The document, fetched without a signature.
async fn fetch(app: &TestApp) -> Value {
    let response = app
        .client
        .unsigned()
        .get(app.url(PATH))
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), 200, "{}: reachable unsigned", app.label);
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default()
        .to_string();
    assert!(
        content_type.starts_with("application/json"),
        "{content_type}"
    );
    assert!(
        response.headers().contains_key("x-inspay-signature"),
        "{}: the answer is signed",
        app.label
    );
    response.json().await.expect("JSON")
}

/// Follows a local `$ref` (repeatedly) to the schema, parameter or response it names.
fn resolve<'a>(document: &'a Value, node: &'a Value) -> &'a Value {
    match node.get("$ref").and_then(Value::as_str) {
        Some(reference) => {
            let pointer = reference
                .strip_prefix('#')
                .unwrap_or_else(|| panic!("{reference}: a local reference"));
            let target = document
                .pointer(pointer)
                .unwrap_or_else(|| panic!("{reference} resolves"));
            resolve(document, target)
        }
        None => node,
    }
}

/// Every `$ref` in the document.
fn references<'a>(node: &'a Value, out: &mut Vec<&'a str>) {
    match node {
        Value::Object(map) => {
            if let Some(Value::String(reference)) = map.get("$ref") {
                out.push(reference);
            }
            map.values().for_each(|value| references(value, out));
        }
        Value::Array(items) => items.iter().for_each(|value| references(value, out)),
        _ => {}
    }
}

/// Every object schema with properties reachable from `schema`, through references, with
/// where it was found.
fn objects<'a>(
    document: &'a Value,
    schema: &'a Value,
    at: &str,
    seen: &mut BTreeSet<String>,
    out: &mut Vec<(String, &'a Value)>,
) {
    if let Some(reference) = schema.get("$ref").and_then(Value::as_str) {
        if seen.insert(reference.to_string()) {
            objects(document, resolve(document, schema), reference, seen, out);
        }
        return;
    }
    let Some(map) = schema.as_object() else {
        return;
    };
    if let Some(Value::Object(properties)) = map.get("properties") {
        out.push((at.to_string(), schema));
        for (name, property) in properties {
            objects(document, property, &format!("{at}.{name}"), seen, out);
        }
    }
    for keyword in ["items", "additionalProperties"] {
        if let Some(inner) = map.get(keyword) {
            objects(document, inner, &format!("{at}/{keyword}"), seen, out);
        }
    }
    for keyword in ["anyOf", "oneOf", "allOf"] {
        for inner in map
            .get(keyword)
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            objects(document, inner, &format!("{at}/{keyword}"), seen, out);
        }
    }
}

/// A light JSON Schema check, enough for the schemas this server generates: `$ref`, `type`
/// (one or several), `enum`, `properties`, `required`, `additionalProperties`, `items`,
/// `anyOf`.
fn conforms(document: &Value, schema: &Value, value: &Value, at: &str) -> Result<(), String> {
    let schema = resolve(document, schema);
    if let Some(options) = schema.get("anyOf").and_then(Value::as_array)
        && !options
            .iter()
            .any(|option| conforms(document, option, value, at).is_ok())
    {
        return Err(format!("{at}: matches none of anyOf"));
    }
    if let Some(types) = schema.get("type") {
        let types: Vec<&str> = match types {
            Value::String(one) => vec![one.as_str()],
            Value::Array(several) => several.iter().filter_map(Value::as_str).collect(),
            _ => vec![],
        };
        let fits = types.iter().any(|kind| match *kind {
            "null" => value.is_null(),
            "boolean" => value.is_boolean(),
            "integer" => value.is_i64() || value.is_u64(),
            "number" => value.is_number(),
            "string" => value.is_string(),
            "array" => value.is_array(),
            "object" => value.is_object(),
            _ => false,
        });
        if !fits {
            return Err(format!("{at}: {value} is not {types:?}"));
        }
    }
    if let Some(allowed) = schema.get("enum").and_then(Value::as_array)
        && !allowed.contains(value)
    {
        return Err(format!("{at}: {value} is not in the enum"));
    }
    if let Some(object) = value.as_object() {
        let properties = schema.get("properties").and_then(Value::as_object);
        for required in schema
            .get("required")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
        {
            if !object.contains_key(required) {
                return Err(format!("{at}: `{required}` is missing"));
            }
        }
        for (name, inner) in object {
            match properties.and_then(|properties| properties.get(name)) {
                Some(property) => conforms(document, property, inner, &format!("{at}.{name}"))?,
                None => match schema.get("additionalProperties") {
                    Some(Value::Bool(false)) => {
                        return Err(format!("{at}: `{name}` is not in the schema"));
                    }
                    Some(additional @ Value::Object(_)) => {
                        conforms(document, additional, inner, &format!("{at}.{name}"))?;
                    }
                    _ if properties.is_some() => {
                        return Err(format!("{at}: `{name}` is not in the schema"));
                    }
                    _ => {}
                },
            }
        }
    }
    if let (Some(items), Some(values)) = (schema.get("items"), value.as_array()) {
        for (index, inner) in values.iter().enumerate() {
            conforms(document, items, inner, &format!("{at}[{index}]"))?;
        }
    }
    Ok(())
}

/// The answer schema the document declares for a route and status.
fn answer_schema<'a>(document: &'a Value, method: &str, path: &str, status: u16) -> &'a Value {
    let response =
        &document["paths"][path][method.to_ascii_lowercase()]["responses"][status.to_string()];
    let response = resolve(document, response);
    let content = &response["content"];
    content
        .get("application/json")
        .or_else(|| content.get("application/problem+json"))
        .map(|media| &media["schema"])
        .unwrap_or_else(|| panic!("{method} {path} {status}: no JSON schema"))
}

/// The description is OpenAPI 3.1, reachable without a signature, covers every declared route
/// and nothing else, declares a body schema for every write route (and only those), refuses
/// unknown fields in every request object, marks sensitive fields, and lists every error code.
/// req: 5.4.2.2
#[tokio::test]
async fn openapi_document_describes_every_declared_route() {
    for app in spawn_apps().await {
        let document = fetch(&app).await;
        let label = app.label;
        assert_eq!(
            &document,
            inspay_server::routes::openapi::document(),
            "{label}: the served document is the generated one"
        );

        // Structure: the required top-level fields, and every reference resolves.
        assert_eq!(document["openapi"], "3.1.0");
        assert_eq!(document["info"]["title"], "inspay");
        assert_eq!(document["info"]["version"], env!("CARGO_PKG_VERSION"));
        assert!(document["paths"].is_object());
        assert!(document["components"]["schemas"].is_object());
        assert!(
            document["servers"]
                .as_array()
                .is_some_and(|servers| !servers.is_empty())
        );
        let mut refs = vec![];
        references(&document, &mut refs);
        assert!(!refs.is_empty());
        for reference in refs {
            resolve(&document, &json!({ "$ref": reference }));
        }
        let schemes = document["components"]["securitySchemes"]
            .as_object()
            .expect("security schemes");
        assert_eq!(schemes["inspaySignature"]["name"], "Authorization");
        assert_eq!(schemes["inspaySession"]["name"], "X-Inspay-Session");

        // Every declared route, as declared.
        let mut declared = BTreeSet::new();
        let mut operation_ids = BTreeSet::new();
        let write_methods = ["POST", "PUT", "PATCH"];
        let mut bodiless = BTreeSet::new();
        for spec in specs() {
            let method = spec.method.to_ascii_lowercase();
            declared.insert((spec.path.to_string(), method.clone()));
            let operation = &document["paths"][spec.path][&method];
            let what = format!("{label}: {} {}", spec.method, spec.path);
            assert!(operation.is_object(), "{what}: missing");
            assert_eq!(operation["summary"], spec.summary, "{what}");
            assert!(!spec.summary.is_empty(), "{what}: a summary");
            assert!(
                operation_ids.insert(operation["operationId"].as_str().expect("id").to_string()),
                "{what}: operation ids are unique"
            );
            assert!(
                operation["x-inspay-class"].is_string(),
                "{what}: operation class"
            );

            // Security, from the declaration.
            let exempt = spec.path.starts_with("/health/")
                || spec.path == "/v1/protocol/keys"
                || spec.path == PATH;
            let security = operation["security"].as_array().expect("security");
            if exempt {
                assert!(security.is_empty(), "{what}: callable unsigned");
            } else {
                assert_eq!(security.len(), 1, "{what}");
                let requirement = security[0].as_object().expect("requirement");
                for scheme in requirement.keys() {
                    assert!(schemes.contains_key(scheme), "{what}: {scheme} is defined");
                }
                assert!(
                    requirement.contains_key("inspaySignature"),
                    "{what}: signed"
                );
                assert_eq!(
                    requirement.contains_key("inspaySession"),
                    spec.need != Need::Public,
                    "{what}: session"
                );
            }
            let parameters: Vec<&Value> = operation["parameters"]
                .as_array()
                .map(|parameters| {
                    parameters
                        .iter()
                        .map(|parameter| resolve(&document, parameter))
                        .collect()
                })
                .unwrap_or_default();
            let step_up = parameters.iter().find(|parameter| {
                parameter["in"] == "header" && parameter["name"] == "X-Inspay-Step-Up"
            });
            match spec.need {
                Need::Enhanced(_) => assert_eq!(
                    step_up.map(|parameter| &parameter["required"]),
                    Some(&json!(true)),
                    "{what}: step-up proof required"
                ),
                Need::PasswordChange => assert!(step_up.is_some(), "{what}: step-up proof"),
                _ => assert!(step_up.is_none(), "{what}: no step-up"),
            }
            let mut in_path: Vec<&str> = parameters
                .iter()
                .filter(|parameter| parameter["in"] == "path")
                .map(|parameter| parameter["name"].as_str().expect("name"))
                .collect();
            in_path.sort_unstable();
            let mut template: Vec<&str> = spec
                .path
                .split('/')
                .filter_map(|segment| segment.strip_prefix('{')?.strip_suffix('}'))
                .collect();
            template.sort_unstable();
            assert_eq!(in_path, template, "{what}: path parameters");

            // Bodies.
            let body = &operation["requestBody"]["content"]["application/json"]["schema"];
            assert_eq!(
                body.is_object(),
                spec.body.is_some(),
                "{what}: request body"
            );
            if write_methods.contains(&spec.method) && spec.body.is_none() {
                bodiless.insert((spec.method, spec.path));
            }
            if spec.body.is_some() {
                let mut found = vec![];
                objects(&document, body, "body", &mut BTreeSet::new(), &mut found);
                assert!(!found.is_empty(), "{what}: the body is an object");
                for (at, object) in found {
                    assert_eq!(
                        object["additionalProperties"],
                        json!(false),
                        "{what}: {at} refuses unknown fields (deny_unknown_fields)"
                    );
                    for (name, property) in object["properties"].as_object().expect("properties") {
                        assert_eq!(
                            property["x-inspay-sensitive"] == json!(true),
                            inspay_protocol::fields::is_sensitive(name),
                            "{what}: {at}.{name} is marked sensitive exactly when it is"
                        );
                    }
                }
            }

            // Answers.
            let responses = operation["responses"].as_object().expect("responses");
            assert!(responses.contains_key("default"), "{what}: default answer");
            for status in spec.success {
                let response = &responses[&status.to_string()];
                assert!(response.is_object(), "{what}: {status}");
                assert_eq!(
                    response["content"]["application/json"]["schema"].is_object(),
                    spec.response.is_some() && *status != 204,
                    "{what}: {status} body"
                );
                assert!(
                    response["headers"]
                        .as_object()
                        .is_some_and(|headers| headers.contains_key("X-Inspay-Signature")),
                    "{what}: signed answer"
                );
            }
            for (status, response) in responses {
                if status.starts_with('4') || status.starts_with('5') || status == "default" {
                    assert_eq!(
                        resolve(&document, response)["content"]["application/problem+json"]["schema"]
                            ["$ref"],
                        "#/components/schemas/Problem",
                        "{what}: {status} is a problem"
                    );
                }
            }
            if spec.body.is_some() {
                for status in ["400", "415", "422"] {
                    assert!(responses.contains_key(status), "{what}: {status}");
                }
            }
            if !exempt {
                assert!(responses.contains_key("401"), "{what}: 401");
            }
        }
        let expected: BTreeSet<(&str, &str)> = BODILESS_WRITES.iter().copied().collect();
        assert_eq!(
            bodiless, expected,
            "{label}: write routes without a request body"
        );

        // Nothing that is not declared.
        for (path, operations) in document["paths"].as_object().expect("paths") {
            for method in operations.as_object().expect("operations").keys() {
                assert!(
                    declared.contains(&(path.clone(), method.clone())),
                    "{label}: {method} {path} is not a declared route"
                );
            }
        }

        // The error catalogue.
        let codes: BTreeSet<&str> = ErrorCode::ALL.iter().map(|code| code.code()).collect();
        let listed: BTreeSet<&str> =
            document["components"]["schemas"]["Problem"]["properties"]["code"]["enum"]
                .as_array()
                .expect("code enum")
                .iter()
                .filter_map(Value::as_str)
                .collect();
        assert_eq!(
            listed, codes,
            "{label}: the Problem schema lists every code"
        );
        let catalogue: BTreeSet<&str> = document["x-inspay-error-codes"]
            .as_array()
            .expect("catalogue")
            .iter()
            .filter_map(|entry| entry["code"].as_str())
            .collect();
        assert_eq!(catalogue, codes);
        app.stop().await;
    }
}

/// The document matches what the server does: a route declared with a JSON body refuses a
/// non-JSON one with 415 and a route declared without one does not; answers and problems
/// conform to their declared schemas.
/// req: 5.4.2.2
#[tokio::test]
async fn openapi_document_matches_the_handlers() {
    for app in spawn_apps().await {
        let document = fetch(&app).await;
        let label = app.label;
        let mobile = fresh_mobile();
        customer(&app, &mobile, false).await;
        let token = sign_in(&app, &mobile, PASSWORD).await;

        // Bodies, on every write route that a signed-in customer reaches without a step-up
        // proof (body-less routes with a session, the sign-outs, would end it: left out).
        for spec in specs() {
            if !["POST", "PUT", "PATCH"].contains(&spec.method) {
                continue;
            }
            let session = match spec.need {
                Need::Public => None,
                Need::AnySession | Need::Full => Some(token.as_str()),
                Need::Enhanced(_) | Need::PasswordChange => continue,
            };
            if session.is_some() && spec.body.is_none() {
                continue;
            }
            let path = spec
                .path
                .replace("{flow_id}", "00000000-0000-0000-0000-000000000000")
                .replace("{account_id}", "00000000-0000-0000-0000-000000000000");
            let method = reqwest::Method::from_bytes(spec.method.as_bytes()).expect("method");
            let mut request = app
                .client
                .request(method, app.url(&path))
                .header("content-type", "text/plain")
                .body("not json");
            if spec.class == inspay_server::routes::OperationClass::FundTransaction {
                request = request.header(
                    "idempotency-key",
                    format!("openapi-body-check-{}", crate::signing::nonce()),
                );
            }
            if let Some(token) = session {
                request = request.bearer_auth(token);
            }
            let response = request.send().await.expect("request");
            let status = response.status().as_u16();
            let body: Value = response.json().await.unwrap_or(Value::Null);
            if status == 403 && body["code"] == "INSPAY-AUTH-005" {
                continue; // not this customer's permission
            }
            let what = format!("{label}: {} {}", spec.method, spec.path);
            if spec.body.is_some() {
                assert_eq!(status, 415, "{what}: takes a JSON body: {body}");
                assert_eq!(body["code"], "INSPAY-REQ-005", "{what}");
            } else {
                assert_ne!(status, 415, "{what}: takes no body: {body}");
            }
        }

        // Answers conform to their schemas.
        let public = [
            "/health/live",
            "/health/ready",
            "/v1/captcha",
            "/v1/privacy-notice",
            "/v1/protocol/keys",
        ];
        for path in public {
            let response = app.client.get(app.url(path)).send().await.expect("request");
            assert_eq!(response.status(), 200, "{label}: {path}");
            let value: Value = response.json().await.expect("JSON");
            conforms(
                &document,
                answer_schema(&document, "GET", path, 200),
                &value,
                path,
            )
            .unwrap_or_else(|error| panic!("{label}: {error}"));
        }
        for path in ["/v1/session", "/v1/me", "/v1/me/devices", "/v1/me/consents"] {
            let response = app
                .client
                .get(app.url(path))
                .bearer_auth(&token)
                .send()
                .await
                .expect("request");
            assert_eq!(response.status(), 200, "{label}: {path}");
            let value: Value = response.json().await.expect("JSON");
            conforms(
                &document,
                answer_schema(&document, "GET", path, 200),
                &value,
                path,
            )
            .unwrap_or_else(|error| panic!("{label}: {error}"));
        }
        let response = app
            .client
            .post(app.url("/v1/validate"))
            .json(&json!({ "legal_name": "Wang Wei" }))
            .send()
            .await
            .expect("request");
        assert_eq!(response.status(), 200, "{label}: validate");
        let value: Value = response.json().await.expect("JSON");
        conforms(
            &document,
            answer_schema(&document, "POST", "/v1/validate", 200),
            &value,
            "validate",
        )
        .unwrap_or_else(|error| panic!("{label}: {error}"));

        // A problem, from the signature layer.
        let response = app
            .client
            .unsigned()
            .post(app.url("/v1/validate"))
            .json(&json!({ "legal_name": "Wang Wei" }))
            .send()
            .await
            .expect("request");
        assert_eq!(response.status(), 401, "{label}: unsigned");
        let value: Value = response.json().await.expect("JSON");
        conforms(
            &document,
            answer_schema(&document, "POST", "/v1/validate", 401),
            &value,
            "problem",
        )
        .unwrap_or_else(|error| panic!("{label}: {error}"));
        assert!(
            document["paths"]["/v1/validate"]["post"]["responses"]["401"]["description"]
                .as_str()
                .is_some_and(|text| text.contains(value["code"].as_str().expect("code"))),
            "{label}: the 401 answer names {}",
            value["code"]
        );
        app.stop().await;
    }
}
