//! Claims in the server (issue 5 item 3; clause 5.6.2-d2): verifying the parties' signatures
//! over the claim documents of [`inspay_protocol::claims`], binding a payout account the
//! channel verified, and verifying a stored claim's signatures again later.
//!
//! - The claimant signs the claim with a live device key of their account, or through the
//!   SDK with the signing application's key (the one that signed the request).
//! - The adjuster and the second approver sign with their own registered staff keys (a
//!   certificate or a bare SM2 key, see `inspay users add-key`).
//!
//! Each signature is stored with the public key that made it and the key's name, so
//! [`verify_claim`] needs nothing but the claim row: it rebuilds the three documents and checks
//! each signature, and checks the keys are still the ones registered under those names.

use crate::error::{ApiError, ErrorCode};
use crate::protocol::SignedBy;
use crate::state::AppState;
use base64::Engine;
use inspay_channel::{AccountCheck, OrderId, PaymentChannel};
use inspay_core::calendar::date_text;
use inspay_core::funds::ClaimStatus;
use inspay_core::sensitive::CardNumber;
use inspay_crypto::sm2::{Sm2PublicKey, Sm2Signature};
use inspay_protocol::claims::{
    ClaimDocument, ClaimVerdict, approval_document, claim_document, decision_document,
};
use inspay_store::credential_keys::KeyKind;
use inspay_store::funds::{Claim, NewPayoutAccount, PartySignature, PayoutAccount};
use inspay_store::{Store, StoreError};

/// Who signed a document, as the client names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Signer {
    /// A key registered to the signer's account (a customer's device key, a staff key).
    AccountKey(String),
    /// The client application's key that signed the request.
    Application,
}

/// Decodes a base64 DER signature, bounded.
fn signature_of(base64_der: &str) -> Result<Sm2Signature, ApiError> {
    let invalid = || {
        ApiError::new(ErrorCode::InvalidField)
            .detail("signature: base64 of an SM2 signature in DER (at most 72 bytes)")
    };
    if base64_der.len() > 128 {
        return Err(invalid());
    }
    let der = base64::engine::general_purpose::STANDARD
        .decode(base64_der)
        .map_err(|_| invalid())?;
    Sm2Signature::from_der(&der).map_err(|_| invalid())
}

fn refused() -> ApiError {
    ApiError::new(ErrorCode::DocumentSignatureInvalid)
}

/// Verifies `document` signed by `account_id` with the named signer and returns what to
/// store. `kind` is the kind of account key accepted (device keys for customers, staff keys
/// for staff); [`Signer::Application`] is accepted only when `signed_by` is given.
pub async fn verify_party(
    state: &AppState,
    account_id: &str,
    signer: &Signer,
    kind: KeyKind,
    signed_by: Option<&SignedBy>,
    document: &[u8],
    signature_base64: &str,
) -> Result<PartySignature, ApiError> {
    let signature = signature_of(signature_base64)?;
    let (name, public_key) = match signer {
        Signer::AccountKey(key_id) => {
            let found = state
                .store
                .credential_key_public(account_id, key_id)
                .await?;
            let Some((key, public_key)) = found.filter(|(key, _)| key.is_live(state.now_ms()))
            else {
                return Err(refused().detail("the key is not a live key of this account"));
            };
            if key.kind != kind {
                return Err(refused().detail(match kind {
                    KeyKind::DeviceKey => "sign with one of your device keys",
                    KeyKind::Certificate => "sign with your registered staff key",
                }));
            }
            let prefix = match kind {
                KeyKind::DeviceKey => "device-key",
                KeyKind::Certificate => "staff-key",
            };
            (format!("{prefix}:{}", key.id), public_key)
        }
        Signer::Application => {
            let Some(signed_by) = signed_by else {
                return Err(refused().detail("sign with your registered key"));
            };
            let public_key = app_key(&state.store, &signed_by.app_id, signed_by.serial)
                .await?
                .ok_or_else(|| refused().detail("the application key is unknown"))?;
            (
                format!("app:{}:{}", signed_by.app_id, signed_by.serial),
                public_key,
            )
        }
    };
    public_key
        .verify(document, &signature)
        .map_err(|_| refused())?;
    Ok(PartySignature {
        signer: name,
        public_key: hex::encode(public_key.to_sec1()),
        signature: base64::engine::general_purpose::STANDARD.encode(signature.to_der()),
    })
}

async fn app_key(
    store: &Store,
    app_id: &str,
    serial: u32,
) -> Result<Option<Sm2PublicKey>, StoreError> {
    Ok(store
        .client_app_key(app_id, serial)
        .await?
        .and_then(|lookup| lookup.key)
        .map(|key| key.public_key))
}

/// The claim document of a stored claim (from its description's digest).
pub fn stored_claim_document(claim: &Claim) -> Vec<u8> {
    let incident = date_text(claim.incident_on);
    claim_document(
        &ClaimDocument {
            policy_id: claim.policy_id.as_str(),
            claimant: &claim.claimant_account_id,
            claimed_fen: claim.claimed.fen(),
            incident_on: &incident,
            description: "",
            payout_account_id: &claim.payout_account_id,
            idempotency_key: &claim.idempotency_key,
        },
        &claim.description_sm3,
    )
}

/// The adjuster's decision document of a stored claim.
pub fn stored_decision_document(claim: &Claim, claim_document: &[u8]) -> Option<Vec<u8>> {
    let decision = claim.decision.as_ref()?;
    let verdict = match (decision.approve, claim.approved) {
        (true, Some(amount)) => ClaimVerdict::Approve(amount.fen()),
        _ => ClaimVerdict::Reject,
    };
    Some(decision_document(
        claim.id.as_str(),
        claim_document,
        verdict,
        &decision.adjuster_account_id,
    ))
}

/// What a verification of a stored claim found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, schemars::JsonSchema)]
pub struct SignatureCheck {
    /// The claimant's signature over the claim verifies.
    pub claimant: bool,
    /// The adjuster's over the decision, if decided.
    pub decision: Option<bool>,
    /// The second approver's, if there is one.
    pub approval: Option<bool>,
}

impl SignatureCheck {
    /// Whether every signature present verifies.
    pub fn all_valid(&self) -> bool {
        self.claimant && self.decision != Some(false) && self.approval != Some(false)
    }
}

fn verifies(signature: &PartySignature, document: &[u8]) -> bool {
    let Ok(public) = hex::decode(&signature.public_key) else {
        return false;
    };
    let Ok(public) = Sm2PublicKey::from_sec1(&public) else {
        return false;
    };
    let Ok(der) = base64::engine::general_purpose::STANDARD.decode(&signature.signature) else {
        return false;
    };
    let Ok(signature) = Sm2Signature::from_der(&der) else {
        return false;
    };
    public.verify(document, &signature).is_ok()
}

/// Whether the public key stored with a signature is the one registered under the signer's
/// name (a device or staff key of `account_id`, or an application key), revoked since or not.
pub async fn registered(
    store: &Store,
    account_id: &str,
    signature: &PartySignature,
) -> Result<bool, StoreError> {
    let registered = if let Some(key_id) = signature
        .signer
        .strip_prefix("device-key:")
        .or_else(|| signature.signer.strip_prefix("staff-key:"))
    {
        store
            .credential_key_public(account_id, key_id)
            .await?
            .map(|(_, public_key)| public_key)
    } else if let Some((app_id, serial)) = signature
        .signer
        .strip_prefix("app:")
        .and_then(|rest| rest.rsplit_once(':'))
    {
        match serial.parse::<u32>() {
            Ok(serial) => app_key(store, app_id, serial).await?,
            Err(_) => None,
        }
    } else {
        None
    };
    Ok(registered.is_some_and(|key| hex::encode(key.to_sec1()) == signature.public_key))
}

/// Whether every stored signature's key is the one registered under its name.
pub async fn keys_registered(store: &Store, claim: &Claim) -> Result<bool, StoreError> {
    let mut all = registered(store, &claim.claimant_account_id, &claim.claimant_signature).await?;
    if let Some(decision) = &claim.decision {
        all &= registered(store, &decision.adjuster_account_id, &decision.signature).await?;
    }
    if let Some(approval) = &claim.approval {
        all &= registered(store, &approval.approver_account_id, &approval.signature).await?;
    }
    Ok(all)
}

/// Verifies a stored claim's signatures from the row alone: the claim document, the decision
/// over it and the approval over the decision.
pub fn verify_claim(claim: &Claim) -> SignatureCheck {
    let document = stored_claim_document(claim);
    let claimant = verifies(&claim.claimant_signature, &document);
    let decision_document = stored_decision_document(claim, &document);
    let decision = match (&claim.decision, &decision_document) {
        (Some(decision), Some(text)) => Some(verifies(&decision.signature, text)),
        _ => None,
    };
    let approval = match (&claim.approval, &decision_document) {
        (Some(approval), Some(text)) => Some(verifies(
            &approval.signature,
            &approval_document(
                claim.id.as_str(),
                text,
                claim.status != ClaimStatus::Rejected,
                &approval.approver_account_id,
            ),
        )),
        _ => None,
    };
    SignatureCheck {
        claimant,
        decision,
        approval,
    }
}

/// Binds a payout account: the channel checks the number against the customer's legal name,
/// ID number and mobile (all from their verified personal record), and only a verified
/// account is stored, with the bank's direct-debit token saved as a payment method, so the
/// bound account can also pay premiums (`payment_method_id` in a premium payment).
pub async fn bind_payout_account(
    state: &AppState,
    account_id: &str,
    number: CardNumber,
    request_id: &str,
) -> Result<PayoutAccount, ApiError> {
    let channel = state
        .channel_slot()
        .get()
        .ok_or_else(|| ApiError::new(ErrorCode::ChannelUnavailable))?;
    crate::containment::guard_fund_operation(state, account_id).await?;
    let keyring = state.keyring();
    let summary = state.store.account_summary(account_id).await?;
    let person_id = summary.person_id.ok_or_else(|| {
        ApiError::new(ErrorCode::AccountNotVerified)
            .detail("the account has no verified personal record to check the bank account against")
    })?;
    let person = state.store.person_get(&keyring, &person_id).await?;
    let check_id = uuid::Uuid::now_v7().to_string();
    let order = OrderId::parse(&check_id)
        .map_err(|_| ApiError::new(ErrorCode::Internal).cause("a check id is malformed"))?;
    let check = AccountCheck::new(
        order,
        number.clone(),
        person.legal_name.clone(),
        person.id_number.clone(),
        person.mobile.clone(),
    );
    drop(person);
    let verdict = channel.verify_account(check).await.map_err(|error| {
        ApiError::new(ErrorCode::ChannelUnavailable)
            .detail("the bank could not be asked to verify the account; try again shortly")
            .cause(&error)
    })?;
    if !verdict.verified {
        let reason = verdict.reason.as_deref().unwrap_or("NOT_VERIFIED");
        if reason == "CHANNEL_FAULT" {
            // The bank could not check: say nothing about the account.
            return Err(ApiError::new(ErrorCode::ChannelUnavailable)
                .detail("the bank could not verify the account just now; try again shortly"));
        }
        let reason = if reason.chars().all(|c| c.is_ascii_uppercase() || c == '_') {
            reason
        } else {
            "NOT_VERIFIED"
        };
        return Err(ApiError::new(ErrorCode::AccountNotVerified).detail(format!("bank: {reason}")));
    }
    let evidence = verdict
        .evidence
        .as_ref()
        .map(crate::payments::premium::evidence_from);
    Ok(state
        .store
        .payout_account_add(
            &keyring,
            NewPayoutAccount {
                account_id,
                number: &number,
                verification_ref: &check_id,
                evidence: evidence.as_ref(),
                debit_token: verdict.debit_token.as_deref(),
            },
            request_id,
            state.now_ms(),
        )
        .await?)
}
