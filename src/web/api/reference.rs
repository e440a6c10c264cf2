//! The API's reference page (`GET /api/docs`), rendered once at start from the same OpenAPI
//! document `GET /api/openapi.json` serves: every operation with its parameters, body,
//! responses and examples, and every schema. Plain HTML, no script.

use askama::Template;
use serde_json::Value;

use crate::web::pages::Layout;

/// The document and its reference page, made once at start.
pub struct ApiDocs {
    pub json: String,
    pub html: String,
}

/// Why the documentation could not be made (a bug: the document is generated from the code).
#[derive(Debug, thiserror::Error)]
pub enum DocsError {
    #[error("the OpenAPI document cannot be serialized")]
    Json(#[source] serde_json::Error),
    #[error("the API reference page cannot be rendered")]
    Render(#[source] askama::Error),
}

impl ApiDocs {
    pub fn new(document: &Value) -> Result<ApiDocs, DocsError> {
        let json = serde_json::to_string(document).map_err(DocsError::Json)?;
        let page = ReferencePage::from_document(document);
        let html = page.render().map_err(DocsError::Render)?;
        Ok(ApiDocs { json, html })
    }
}

#[derive(Template)]
#[template(path = "api_docs.html")]
struct ReferencePage {
    layout: Layout,
    title: String,
    version: String,
    description: String,
    sections: Vec<Section>,
    schemes: Vec<Scheme>,
    schemas: Vec<SchemaView>,
}

struct Section {
    name: String,
    description: String,
    operations: Vec<Operation>,
}

struct Operation {
    anchor: String,
    method: String,
    path: String,
    summary: String,
    description: String,
    security: String,
    parameters: Vec<Parameter>,
    body: Option<Body>,
    responses: Vec<ResponseView>,
}

struct Parameter {
    name: String,
    location: String,
    required: bool,
    schema: String,
    description: String,
}

struct Body {
    content_type: String,
    required: bool,
    schema: String,
    example: Option<String>,
}

struct ResponseView {
    status: String,
    description: String,
    headers: Vec<(String, String)>,
    schema: Option<String>,
    example: Option<String>,
}

struct Scheme {
    name: String,
    kind: String,
    description: String,
}

struct SchemaView {
    name: String,
    description: String,
    fields: Vec<Field>,
    shape: String,
    example: Option<String>,
}

struct Field {
    name: String,
    schema: String,
    required: bool,
    description: String,
}

const METHODS: [&str; 5] = ["get", "post", "put", "patch", "delete"];

/// Prose of the document as HTML: escaped, with `code` in backticks set as code (the one bit of
/// Markdown the descriptions use). The template shows it as is.
fn prose(value: &Value, key: &str) -> String {
    let mut html = String::new();
    for (index, part) in text(value, key).split('`').enumerate() {
        let escaped = askama::filters::escape(part, askama::filters::Html)
            .map(|e| e.to_string())
            .unwrap_or_default();
        if index % 2 == 1 {
            html.push_str(&format!("<code>{escaped}</code>"));
        } else {
            html.push_str(&escaped);
        }
    }
    html
}

fn text(value: &Value, key: &str) -> String {
    value
        .get(key)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned()
}

fn pretty(value: Option<&Value>) -> Option<String> {
    value.and_then(|v| serde_json::to_string_pretty(v).ok())
}

/// A component's name from a `$ref`: `#/components/schemas/Error` → `Error`.
fn ref_name(value: &Value) -> Option<&str> {
    value
        .get("$ref")
        .and_then(Value::as_str)
        .and_then(|r| r.rsplit('/').next())
}

/// A schema in a few words: `string`, `array of SessionView`, `integer (int64) or null`.
fn describe(schema: &Value) -> String {
    if let Some(name) = ref_name(schema) {
        return name.to_owned();
    }
    if let Some(options) = schema.get("oneOf").and_then(Value::as_array) {
        let words: Vec<String> = options.iter().map(describe).collect();
        return words.join(" or ");
    }
    if let Some(values) = schema.get("enum").and_then(Value::as_array) {
        let names: Vec<&str> = values.iter().filter_map(Value::as_str).collect();
        return format!("one of {}", names.join(", "));
    }
    let types: Vec<String> = match schema.get("type") {
        Some(Value::String(t)) => vec![t.clone()],
        Some(Value::Array(ts)) => ts
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_owned)
            .collect(),
        _ => return "any JSON".into(),
    };
    let words: Vec<String> = types
        .iter()
        .map(|t| match t.as_str() {
            "array" => format!(
                "array of {}",
                schema.get("items").map_or_else(|| "any".into(), describe)
            ),
            other => match schema.get("format").and_then(Value::as_str) {
                Some(format) => format!("{other} ({format})"),
                None => other.to_owned(),
            },
        })
        .collect();
    words.join(" or ")
}

impl ReferencePage {
    fn from_document(doc: &Value) -> ReferencePage {
        let info = &doc["info"];
        let components = &doc["components"];
        let mut sections: Vec<Section> = doc["tags"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|tag| Section {
                name: text(tag, "name"),
                description: prose(tag, "description"),
                operations: Vec::new(),
            })
            .collect();
        if let Some(paths) = doc["paths"].as_object() {
            for (path, item) in paths {
                for method in METHODS {
                    let Some(op) = item.get(method) else { continue };
                    let operation = operation(path, method, op, components);
                    let tag = op["tags"][0].as_str().unwrap_or("other");
                    match sections.iter_mut().find(|s| s.name == tag) {
                        Some(section) => section.operations.push(operation),
                        None => sections.push(Section {
                            name: tag.to_owned(),
                            description: String::new(),
                            operations: vec![operation],
                        }),
                    }
                }
            }
        }
        sections.retain(|s| !s.operations.is_empty());
        let schemes = components["securitySchemes"]
            .as_object()
            .into_iter()
            .flatten()
            .map(|(name, scheme)| Scheme {
                name: name.clone(),
                kind: match (text(scheme, "type").as_str(), text(scheme, "in").as_str()) {
                    ("http", _) => format!("HTTP {}", text(scheme, "scheme")),
                    ("apiKey", "cookie") => format!("cookie {}", text(scheme, "name")),
                    ("apiKey", "header") => format!("header {}", text(scheme, "name")),
                    (other, _) => other.to_owned(),
                },
                description: prose(scheme, "description"),
            })
            .collect();
        let schemas = components["schemas"]
            .as_object()
            .into_iter()
            .flatten()
            .map(|(name, schema)| schema_view(name, schema))
            .collect();
        ReferencePage {
            layout: Layout::anonymous(),
            title: text(info, "title"),
            version: text(info, "version"),
            description: prose(info, "description"),
            sections,
            schemes,
            schemas,
        }
    }
}

fn operation(path: &str, method: &str, op: &Value, components: &Value) -> Operation {
    let parameters = op["parameters"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|p| Parameter {
            name: text(p, "name"),
            location: text(p, "in"),
            required: p["required"].as_bool().unwrap_or(false),
            schema: describe(&p["schema"]),
            description: prose(p, "description"),
        })
        .collect();
    let body = op.get("requestBody").and_then(|body| {
        let (content_type, content) = body["content"].as_object()?.iter().next()?;
        let example = content
            .get("example")
            .or_else(|| ref_name(&content["schema"]).map(|n| &components["schemas"][n]["example"]))
            .filter(|e| !e.is_null());
        Some(Body {
            content_type: content_type.clone(),
            required: body["required"].as_bool().unwrap_or(false),
            schema: describe(&content["schema"]),
            example: pretty(example),
        })
    });
    let responses = op["responses"]
        .as_object()
        .into_iter()
        .flatten()
        .map(|(status, response)| {
            // A shared response is shown in full where it is used.
            let response = match ref_name(response) {
                Some(name) => &components["responses"][name],
                None => response,
            };
            let content = response["content"]
                .as_object()
                .and_then(|c| c.values().next());
            let example = content.and_then(|c| {
                c.get("example")
                    .or_else(|| {
                        ref_name(&c["schema"]).map(|n| &components["schemas"][n]["example"])
                    })
                    .filter(|e| !e.is_null())
            });
            ResponseView {
                status: status.clone(),
                description: prose(response, "description"),
                headers: response["headers"]
                    .as_object()
                    .into_iter()
                    .flatten()
                    .map(|(name, h)| (name.clone(), prose(h, "description")))
                    .collect(),
                schema: content.map(|c| describe(&c["schema"])),
                example: pretty(example),
            }
        })
        .collect();
    let security = match op["security"].as_array() {
        Some(options)
            if options
                .iter()
                .all(|o| o.as_object().is_some_and(|o| o.is_empty())) =>
        {
            "none".to_owned()
        }
        Some(options) => options
            .iter()
            .filter_map(Value::as_object)
            .map(|all| all.keys().cloned().collect::<Vec<_>>().join(" and "))
            .collect::<Vec<_>>()
            .join(", or "),
        None => "none".to_owned(),
    };
    Operation {
        anchor: format!(
            "{method}-{}",
            path.trim_matches('/').replace(['/', '{', '}', '.'], "-")
        ),
        method: method.to_uppercase(),
        path: path.to_owned(),
        summary: text(op, "summary"),
        description: prose(op, "description"),
        security,
        parameters,
        body,
        responses,
    }
}

fn schema_view(name: &str, schema: &Value) -> SchemaView {
    let required: Vec<&str> = schema["required"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    let fields = schema["properties"]
        .as_object()
        .into_iter()
        .flatten()
        .map(|(field, s)| Field {
            name: field.clone(),
            schema: describe(s),
            required: required.contains(&field.as_str()),
            description: prose(s, "description"),
        })
        .collect();
    SchemaView {
        name: name.to_owned(),
        description: prose(schema, "description"),
        fields,
        shape: describe(schema),
        example: pretty(schema.get("example").filter(|e| !e.is_null())),
    }
}
