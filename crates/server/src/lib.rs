//! The `rapport` server: HTTP edge (axum), authentication, the metadata API,
//! the live per-workspace GraphQL schema and the command line.

mod access_api;
mod admission;
mod app;
mod cache;
mod cli;
mod demo;
mod error;
mod files_api;
mod grants;
mod graphql_route;
mod http;
mod import_api;
mod live;
mod metadata_api;
mod metadata_types;
mod metrics;
mod parsed;
mod standard;
mod transfer;
mod web;

pub use app::{App, POLL_INTERVAL};
pub use cli::{main, reseal_all};
pub use demo::load as load_demo;
pub use error::ServerError;
pub use http::{router, router_with};
pub use standard::standard_documents;
pub use web::HttpOptions;
