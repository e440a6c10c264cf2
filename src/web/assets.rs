//! Static files (`static/`), compiled into the binary and served under `/static/`.
//!
//! Pages link to fingerprinted names (`/static/style.<hash>.css`, see [`url`]), which never change
//! content and are cached for a year. The plain name (`/static/style.css`) is served too, cached
//! for a day and revalidated with its `ETag`.

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
    cache_control: &'static str,
    body: Option<Vec<u8>>,
}

/// A fingerprinted name changes whenever the content does, so it may be cached "forever".
const FINGERPRINTED: &str = "public, max-age=31536000, immutable";
/// A plain name may change content on the next deploy: a day, then revalidation with the ETag.
const PLAIN: &str = "public, max-age=86400";

/// The first 16 hex digits of the file's SHA-256, computed at build time by rust-embed.
fn fingerprint(file: &rust_embed::EmbeddedFile) -> String {
    hex(&file.metadata.sha256_hash()[..8])
}

/// The URL pages use for the static file `name`: fingerprinted, so it can be cached for a year.
pub fn url(name: &str) -> String {
    match (Static::get(name), name.rsplit_once('.')) {
        (Some(file), Some((stem, ext))) => format!("/static/{stem}.{}.{ext}", fingerprint(&file)),
        _ => format!("/static/{name}"),
    }
}

/// The embedded file a request names, and whether it named it by its fingerprint.
fn lookup(name: &str) -> Option<(rust_embed::EmbeddedFile, bool)> {
    if let Some(file) = Static::get(name) {
        return Some((file, false));
    }
    // `stem.<fingerprint>.ext` for the file `stem.ext`, with its current fingerprint only.
    let (rest, ext) = name.rsplit_once('.')?;
    let (stem, print) = rest.rsplit_once('.')?;
    let file = Static::get(&format!("{stem}.{ext}"))?;
    (fingerprint(&file) == print).then_some((file, true))
}

impl<'r> Responder<'r, 'static> for Asset {
    fn respond_to(self, _: &'r Request<'_>) -> response::Result<'static> {
        let mut response = Response::build();
        response
            .header(self.content_type)
            .header(Header::new("ETag", self.etag))
            .header(Header::new("Cache-Control", self.cache_control));
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
    let (file, fingerprinted) = lookup(&name)?;
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
        cache_control: if fingerprinted { FINGERPRINTED } else { PLAIN },
        body: (!fresh).then(|| file.data.into_owned()),
    })
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
