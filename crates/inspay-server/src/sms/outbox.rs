//! The development outbox: messages are appended, one JSON object per line, to
//! `<data_dir>/sms-outbox.jsonl`, a file readable by its owner only. It exists so that a
//! developer can sign in without an SMS gateway; [`super::gateway`] refuses it under the
//! production profile.

use super::{SendFuture, SmsError, SmsGateway, SmsMessage, UnavailableCause};
use core::fmt;
use inspay_core::sensitive::{Exposed, PersonalField};
use serde::{Deserialize, Serialize};
use std::io::{self, Read, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use zeroize::Zeroizing;

/// The outbox file name inside the data directory.
pub const OUTBOX_FILE: &str = "sms-outbox.jsonl";
/// Largest outbox [`outbox_read`] reads (delete the file to start again).
pub const OUTBOX_READ_BYTES_MAX: u64 = 16 * 1024 * 1024;
/// Room reserved for a line besides the text, so that serialising does not reallocate (and
/// leave copies of the code behind in freed memory).
const LINE_BYTES_OVERHEAD: usize = 256;
/// Permission bits that must be clear: anything for group or others.
const NOT_OWNER_BITS: u32 = 0o077;

/// Delivers messages to a local owner-only file. For development only.
#[derive(Debug)]
pub struct DevelopmentOutbox {
    path: PathBuf,
    /// Appends are serialised so that lines never interleave.
    lock: Arc<Mutex<()>>,
}

/// One line of the outbox as written.
#[derive(Serialize)]
struct OutboxLine<'a> {
    to: &'a str,
    text: &'a str,
    purpose: &'static str,
    request_id: &'a str,
    sent_at_ms: i64,
}

/// One message read back from the outbox. It holds the full number (this is the developer's
/// own box); `Debug` still masks it and redacts the text.
#[derive(Deserialize)]
pub struct OutboxEntry {
    /// The recipient, in full.
    pub to: String,
    /// The text with the code.
    pub text: Zeroizing<String>,
    /// The purpose's stable name (`login`, `password-reset`, ...).
    pub purpose: String,
    /// The request that caused the message.
    pub request_id: String,
    /// When it was written, unix milliseconds.
    pub sent_at_ms: i64,
}

impl fmt::Debug for OutboxEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let to = inspay_core::sensitive::MobileNumber::parse(&self.to)
            .map(|number| number.masked().to_string())
            .unwrap_or_else(|_| "[REDACTED]".into());
        f.debug_struct("OutboxEntry")
            .field("to", &to)
            .field("text", &"[REDACTED]")
            .field("purpose", &self.purpose)
            .field("request_id", &self.request_id)
            .field("sent_at_ms", &self.sent_at_ms)
            .finish()
    }
}

impl DevelopmentOutbox {
    /// Opens (creating if needed, mode 600) the outbox under `data_dir`, and warns once that
    /// codes go to a local file. An existing outbox readable by others is made owner-only.
    pub fn open(data_dir: &Path) -> io::Result<DevelopmentOutbox> {
        std::fs::create_dir_all(data_dir)?;
        let path = data_dir.join(OUTBOX_FILE);
        drop(open_private_append(&path)?);
        tracing::warn!(
            path = %path.display(),
            "SMS messages, with their one-time codes, are written to a local DEVELOPMENT outbox \
             file and not sent; never use it in production"
        );
        Ok(DevelopmentOutbox {
            path,
            lock: Arc::new(Mutex::new(())),
        })
    }

    /// The outbox file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn line(message: &SmsMessage) -> Result<Zeroizing<Vec<u8>>, SmsError> {
        let mut line = Zeroizing::new(Vec::with_capacity(
            2 * message.text.len() + message.request_id.len() + LINE_BYTES_OVERHEAD,
        ));
        let entry = OutboxLine {
            to: message.to.expose(),
            text: &message.text,
            purpose: message.purpose.name(),
            request_id: &message.request_id,
            sent_at_ms: super::now_ms(),
        };
        serde_json::to_writer(&mut *line, &entry).map_err(|error| {
            SmsError::Unavailable(UnavailableCause::OutboxFailed(
                io::Error::from(error).kind(),
            ))
        })?;
        line.push(b'\n');
        Ok(line)
    }
}

impl SmsGateway for DevelopmentOutbox {
    fn send<'a>(&'a self, message: &'a SmsMessage) -> SendFuture<'a> {
        Box::pin(async move {
            let line = Self::line(message)?;
            let path = self.path.clone();
            let lock = self.lock.clone();
            let written = tokio::task::spawn_blocking(move || {
                let _guard = lock.lock().unwrap_or_else(PoisonError::into_inner);
                open_private_append(&path)?.write_all(&line)
            })
            .await
            .unwrap_or_else(|_| Err(io::Error::other("the outbox writer stopped")));
            written.map_err(|error| {
                tracing::warn!(error = %error, "cannot write the development SMS outbox");
                SmsError::Unavailable(UnavailableCause::OutboxFailed(error.kind()))
            })?;
            tracing::debug!(
                gateway = self.name(),
                purpose = message.purpose.name(),
                "SMS message written to the development outbox"
            );
            Ok(())
        })
    }

    fn name(&self) -> &'static str {
        "development-outbox"
    }
}

/// Opens `path` for appending, creating it with mode 600. Refuses a symbolic link or
/// anything but a regular file, and makes an existing file owner-only.
fn open_private_append(path: &Path) -> io::Result<std::fs::File> {
    if let Ok(metadata) = std::fs::symlink_metadata(path)
        && !metadata.file_type().is_file()
    {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "the SMS outbox is not a regular file",
        ));
    }
    let file = std::fs::OpenOptions::new()
        .append(true)
        .create(true)
        .mode(0o600)
        .open(path)?;
    let mode = file.metadata()?.permissions().mode();
    if mode & NOT_OWNER_BITS != 0 {
        file.set_permissions(std::fs::Permissions::from_mode(0o600))?;
        tracing::warn!(path = %path.display(), "the SMS outbox was readable by others; made it owner-only");
    }
    Ok(file)
}

/// Reads the development outbox under `data_dir`, oldest message first; no file means no
/// messages. For development use and tests.
pub fn outbox_read(data_dir: &Path) -> io::Result<Vec<OutboxEntry>> {
    let path = data_dir.join(OUTBOX_FILE);
    let file = match std::fs::File::open(&path) {
        Ok(file) => file,
        Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(vec![]),
        Err(error) => return Err(error),
    };
    if file.metadata()?.len() > OUTBOX_READ_BYTES_MAX {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("the SMS outbox is larger than {OUTBOX_READ_BYTES_MAX} bytes; delete it"),
        ));
    }
    let mut text = Zeroizing::new(String::new());
    file.take(OUTBOX_READ_BYTES_MAX).read_to_string(&mut text)?;
    text.lines()
        .enumerate()
        .filter(|(_, line)| !line.trim().is_empty())
        .map(|(index, line)| {
            serde_json::from_str(line).map_err(|_| {
                io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!("SMS outbox line {} is not a message", index + 1),
                )
            })
        })
        .collect()
}
