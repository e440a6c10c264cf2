//! Static files (`static/`), compiled into the binary and served under `/static/`.

use std::io::Cursor;

use rocket::http::uri::{Segments, fmt::Path};
use rocket::http::{ContentType, Header, Status};
use rocket::request::{FromRequest, Outcome, Request};
use rocket::response::{self, Responder, Response};
use rocket::{Route, get, routes};
use rust_embed::RustEmbed;

#[derive(RustEmbed)]
#[folder = "static/"]
struct Static;

pub fn routes() -> Vec<Route> {
    routes![asset]
}

/// The `If-None-Match` header, if any.
struct IfNoneMatch<'r>(Option<&'r str>);

#[rocket::async_trait]
impl<'r> FromRequest<'r> for IfNoneMatch<'r> {
    type Error = std::convert::Infallible;

    async fn from_request(req: &'r Request<'_>) -> Outcome<Self, Self::Error> {
        Outcome::Success(IfNoneMatch(req.headers().get_one("If-None-Match")))
    }
}

/// An embedded file, or `304 Not Modified` when the client's copy is current.
struct Asset {
    content_type: ContentType,
    etag: String,
    body: Option<Vec<u8>>,
}

impl<'r> Responder<'r, 'static> for Asset {
    fn respond_to(self, _: &'r Request<'_>) -> response::Result<'static> {
        let mut response = Response::build();
        response
            .header(self.content_type)
            .header(Header::new("ETag", self.etag))
            // Not fingerprinted, so cache for a day and revalidate cheaply with the ETag after.
            .header(Header::new("Cache-Control", "public, max-age=86400"));
        match self.body {
            Some(body) => response.sized_body(body.len(), Cursor::new(body)),
            None => response.status(Status::NotModified),
        };
        Ok(response.finalize())
    }
}

#[get("/static/<path..>")]
fn asset(path: Segments<'_, Path>, if_none_match: IfNoneMatch<'_>) -> Option<Asset> {
    // The lookup is in a map of embedded names, so `..` can never reach the file system; refuse
    // such names anyway so they are a plain 404.
    if path
        .clone()
        .any(|segment| segment.is_empty() || segment.starts_with('.') || segment.contains('\\'))
    {
        return None;
    }
    let name = path.collect::<Vec<_>>().join("/");
    let file = Static::get(&name)?;
    let etag = format!("\"{}\"", hex(&file.metadata.sha256_hash()[..16]));
    let content_type = name
        .rsplit_once('.')
        .and_then(|(_, ext)| ContentType::from_extension(ext))
        .unwrap_or(ContentType::Binary);
    let fresh = if_none_match
        .0
        .is_some_and(|tags| tags.split(',').any(|tag| tag.trim() == etag));
    Some(Asset {
        content_type,
        etag,
        body: (!fresh).then(|| file.data.into_owned()),
    })
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
