//! Structured JSON logs (clause 5.3.5.2): one JSON object per line with the time, level,
//! source location, the request span (request id, method, route) and the event's fields.
//! Nothing that reaches the log carries request content: the edge logs the matched route
//! (never the raw path or query), and sensitive values are typed so that they cannot be
//! formatted in full.

use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::{EnvFilter, fmt};

/// Installs the global JSON subscriber writing to `writer`. Returns false if one was already
/// installed (tests install one per process).
pub fn init<W>(filter: &str, writer: W) -> bool
where
    W: for<'a> MakeWriter<'a> + Send + Sync + 'static,
{
    let filter = EnvFilter::try_new(filter).unwrap_or_else(|_| EnvFilter::new("info"));
    fmt()
        .json()
        .with_env_filter(filter)
        .with_writer(writer)
        .with_file(true)
        .with_line_number(true)
        .with_target(true)
        .with_current_span(true)
        .with_span_list(false)
        .flatten_event(true)
        .try_init()
        .is_ok()
}
