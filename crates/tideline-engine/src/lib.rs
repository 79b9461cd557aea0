//! Tideline's engine: everything that records, stores and explains an EventStream, with no UI in it.
//!
//! Data flows one way: [`ingest`] reads the SSE stream, [`wire`] maps each frame to a
//! [`model::Frame`], the [`store`] writes frames in batched transactions together with the
//! stream position, and [`timeline`], [`detect`] and [`export`] read back what was stored
//! (`diff` and `digest`, pure, serve them and the store). The desktop shell
//! and the CLI are callers; the engine never knows which one is calling.

pub mod attribution;
pub mod auditlog;
pub mod capture;
pub mod detect;
pub mod diff;
pub(crate) mod digest;
pub mod export;
pub mod forward;
pub mod import;
pub mod ingest;
pub mod insights;
pub mod json;
pub mod model;
pub mod recording;
pub mod sessions;
pub mod sse;
pub mod store;
pub mod timeline;
pub mod wire;
