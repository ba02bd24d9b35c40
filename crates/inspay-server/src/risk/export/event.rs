//! The exported event: its JSON, with personal data replaced before it is written, and its
//! SM2 signature.
//!
//! An account id is pseudonymous but still personal data (PIPL): the event carries
//! `account_ref`, an HMAC-SM3 of it under the KMS blind-index key with its own label, so the
//! receiver can group one customer's events without learning who it is, and cannot reverse it
//! without the key. A client address is cut to its network (IPv4 /24, IPv6 /48). Reasons,
//! routes and details are fixed text from the code or a signed rule pack.

use base64::Engine;
use inspay_kms::{KeyPurpose, Keyring, KmsError};
use inspay_store::risk::NewRiskDecision;
use inspay_store::security_events::SecurityEvent;
use serde::Serialize;
use std::net::IpAddr;
use std::sync::OnceLock;

/// What every signature covers before the payload: a domain tag, so an event signature can
/// never be passed off as an API answer's (same key) or the other way round.
pub const SIGNING_DOMAIN: &[u8] = b"inspay-risk-event-v1\n";

/// The blind-index label of exported account references: distinct from every look-up index,
/// so an exported reference matches no stored column.
pub const ACCOUNT_REF_LABEL: &str = "risk-export-account";

/// The bytes a signature covers: [`SIGNING_DOMAIN`] then the payload.
pub fn signed_message(payload: &[u8]) -> Vec<u8> {
    let mut message = Vec::with_capacity(SIGNING_DOMAIN.len() + payload.len());
    message.extend_from_slice(SIGNING_DOMAIN);
    message.extend_from_slice(payload);
    message
}

/// A payload's signature: base64 of the DER SM2 signature, and the key serial that made it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventSignature {
    /// Base64 (standard alphabet) of the DER signature.
    pub signature: String,
    /// The response-signing key serial, as `/v1/protocol/keys` lists it.
    pub serial: u32,
}

/// Signs a payload with the active response-signing key.
pub fn sign(keyring: &Keyring, payload: &[u8]) -> Result<EventSignature, KmsError> {
    let signed = keyring.sign(KeyPurpose::ResponseSigning, &signed_message(payload))?;
    Ok(EventSignature {
        signature: base64::engine::general_purpose::STANDARD.encode(&signed.bytes),
        serial: signed.key_version,
    })
}

/// Whether a stored signature still verifies over the stored payload (a row changed in the
/// database does not).
pub fn verifies(keyring: &Keyring, payload: &[u8], signature: &str, serial: i64) -> bool {
    let Ok(bytes) = base64::engine::general_purpose::STANDARD.decode(signature) else {
        return false;
    };
    let Ok(key_version) = u32::try_from(serial) else {
        return false;
    };
    let sealed = inspay_kms::sealed::Sealed {
        algorithm: inspay_crypto::Algorithm::Sm2Sm3,
        key_version,
        bytes,
    };
    keyring
        .verify(
            KeyPurpose::ResponseSigning,
            &signed_message(payload),
            &sealed,
        )
        .is_ok()
}

/// The pseudonymous reference of an account.
pub fn account_ref(keyring: &Keyring, account_id: &str) -> Result<String, KmsError> {
    Ok(keyring
        .blind_index(ACCOUNT_REF_LABEL, account_id)?
        .to_text())
}

/// A client address cut to its network: `203.0.113.0/24`, `2001:db8:1::/48`. An IPv4 address
/// mapped into IPv6 is cut as IPv4. Anything unparsable gives `None`, never the input.
pub fn mask_ip(text: &str) -> Option<String> {
    let address: IpAddr = text.trim().parse().ok()?;
    let address = match address {
        IpAddr::V6(v6) => v6
            .to_ipv4_mapped()
            .map(IpAddr::V4)
            .unwrap_or(IpAddr::V6(v6)),
        v4 => v4,
    };
    Some(match address {
        IpAddr::V4(v4) => {
            let [a, b, c, _] = v4.octets();
            format!("{a}.{b}.{c}.0/24")
        }
        IpAddr::V6(v6) => {
            let [a, b, c, ..] = v6.segments();
            let network = std::net::Ipv6Addr::new(a, b, c, 0, 0, 0, 0, 0);
            format!("{network}/48")
        }
    })
}

/// This node's name in events: the host name, or `unknown`. Only letters, digits, `-`, `_`
/// and `.` are kept, at most 64.
pub fn node_name() -> &'static str {
    static NODE: OnceLock<String> = OnceLock::new();
    NODE.get_or_init(|| {
        let raw = std::fs::read_to_string("/proc/sys/kernel/hostname")
            .ok()
            .or_else(|| std::env::var("HOSTNAME").ok())
            .unwrap_or_default();
        let name: String = raw
            .trim()
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
            .take(64)
            .collect();
        if name.is_empty() {
            "unknown".to_owned()
        } else {
            name
        }
    })
}

/// The event envelope.
#[derive(Serialize)]
struct Envelope<'a> {
    id: &'a str,
    kind: &'a str,
    at_ms: i64,
    source: &'static str,
    node: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    decision: Option<DecisionBody<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    security_event: Option<SecurityBody<'a>>,
}

/// A decision as exported.
#[derive(Serialize)]
struct DecisionBody<'a> {
    id: &'a str,
    operation: &'a str,
    verdict: &'a str,
    account_ref: Option<String>,
    reference: Option<&'a str>,
    reasons: serde_json::Value,
    model_score: Option<f64>,
    alert: bool,
}

/// A security event as exported.
#[derive(Serialize)]
struct SecurityBody<'a> {
    id: &'a str,
    kind: &'a str,
    app_id: Option<&'a str>,
    account_ref: Option<String>,
    client_net: Option<String>,
    route: Option<&'a str>,
    detail: &'a str,
    alert: bool,
}

/// Why an event could not be built.
#[derive(Debug, thiserror::Error)]
pub enum EventError {
    /// No usable blind-index key for the account reference.
    #[error(transparent)]
    Kms(#[from] KmsError),
    /// The JSON could not be written.
    #[error("the risk event could not be encoded: {0}")]
    Encode(#[from] serde_json::Error),
}

/// The JSON of a decision event with id `event_id`.
pub fn decision_payload(
    keyring: &Keyring,
    event_id: &str,
    decision: &NewRiskDecision<'_>,
) -> Result<String, EventError> {
    let account_ref = decision
        .account_id
        .map(|account| account_ref(keyring, account))
        .transpose()?;
    // The store refuses reasons that are not JSON; should one slip through, the event says
    // "no reasons" rather than carry text nobody checked.
    let reasons = serde_json::from_str(decision.reasons_json)
        .unwrap_or_else(|_| serde_json::Value::Array(vec![]));
    let envelope = Envelope {
        id: event_id,
        kind: inspay_store::risk::RiskExportKind::Decision.as_str(),
        at_ms: decision.at_ms,
        source: "inspay",
        node: node_name(),
        decision: Some(DecisionBody {
            id: decision.id,
            operation: decision.operation,
            verdict: decision.verdict,
            account_ref,
            reference: decision.reference,
            reasons,
            model_score: decision.model_score.filter(|score| score.is_finite()),
            alert: decision.alert,
        }),
        security_event: None,
    };
    Ok(serde_json::to_string(&envelope)?)
}

/// The JSON of a security-event event with id `event_id`.
pub fn security_event_payload(
    keyring: &Keyring,
    event_id: &str,
    event: &SecurityEvent,
) -> Result<String, EventError> {
    let account_ref = event
        .account_id
        .as_deref()
        .map(|account| account_ref(keyring, account))
        .transpose()?;
    let envelope = Envelope {
        id: event_id,
        kind: inspay_store::risk::RiskExportKind::SecurityEvent.as_str(),
        at_ms: event.at_ms,
        source: "inspay",
        node: node_name(),
        decision: None,
        security_event: Some(SecurityBody {
            id: &event.id,
            kind: &event.kind,
            app_id: event.app_id.as_deref(),
            account_ref,
            client_net: event.client_ip.as_deref().and_then(mask_ip),
            route: event.route.as_deref(),
            detail: &event.detail,
            alert: event.alert,
        }),
    };
    Ok(serde_json::to_string(&envelope)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Addresses are cut to /24 and /48, mapped IPv4 as IPv4, and garbage gives nothing.
    /// req: 5.3.3.5
    #[test]
    fn addresses_are_cut_to_their_network() {
        assert_eq!(mask_ip("203.0.113.77").as_deref(), Some("203.0.113.0/24"));
        assert_eq!(
            mask_ip("2001:db8:abcd:12:1:2:3:4").as_deref(),
            Some("2001:db8:abcd::/48")
        );
        assert_eq!(
            mask_ip("::ffff:198.51.100.9").as_deref(),
            Some("198.51.100.0/24")
        );
        assert_eq!(mask_ip("::1").as_deref(), Some("::/48"));
        assert_eq!(mask_ip("not an address"), None);
        assert_eq!(mask_ip("203.0.113.77:443"), None);
    }

    /// The signed message is the domain tag then the payload, byte for byte.
    #[test]
    fn the_signed_message_is_tagged() {
        assert_eq!(signed_message(b"{}"), b"inspay-risk-event-v1\n{}".to_vec());
    }
}
