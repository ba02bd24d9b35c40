//! The protocol's per-request writes, group-committed: nonces before requests run, idempotency
//! claims, and evidence with idempotent answers after they are answered. A batch mixes all
//! three kinds from many requests and commits them in one transaction, so one durable commit
//! (one WAL flush) covers every request waiting at that moment, and the kinds never compete for
//! the database's write lock.

use crate::idempotency::{Claim, ClaimJob, StoredAnswer};
use crate::request_evidence::Evidence;
use crate::request_nonces::NonceCheck;
use crate::{Store, StoreError};
use inspay_kms::Keyring;

/// A nonce to accept: application, nonce, the request's timestamp, the window in seconds and
/// the server's time in ms.
pub type NonceJob = (String, String, i64, i64, i64);

/// What a request keeps once answered: its evidence, and the answer for the idempotency key it
/// holds (application, key, answer).
pub type Completion = (Option<Evidence>, Option<(String, String, StoredAnswer)>);

/// One write.
#[derive(Debug)]
pub enum WriteJob {
    /// Accept a request's nonce.
    Nonce(NonceJob),
    /// Claim an idempotency key.
    Claim(ClaimJob),
    /// Keep evidence and an idempotent answer.
    Complete(Box<Completion>),
}

/// What a write found.
#[derive(Debug)]
pub enum WriteDone {
    /// The nonce check.
    Nonce(NonceCheck),
    /// The claim.
    Claim(Claim),
    /// Kept.
    Complete,
}

impl Store {
    /// Runs a batch of writes in one transaction; answers in the jobs' order.
    pub async fn protocol_writes(
        &self,
        keyring: &Keyring,
        jobs: &[WriteJob],
    ) -> Result<Vec<WriteDone>, StoreError> {
        let mut tx = self.begin_write().await?;
        let mut done: Vec<Option<WriteDone>> = (0..jobs.len()).map(|_| None).collect();
        let nonce_jobs: Vec<(usize, NonceJob)> = jobs
            .iter()
            .enumerate()
            .filter_map(|(index, job)| match job {
                WriteJob::Nonce(nonce) => Some((index, nonce.clone())),
                _ => None,
            })
            .collect();
        if !nonce_jobs.is_empty() {
            let inputs: Vec<NonceJob> = nonce_jobs.iter().map(|(_, job)| job.clone()).collect();
            let checks = crate::request_nonces::accept_many(&mut tx, &inputs).await?;
            for ((index, _), check) in nonce_jobs.iter().zip(checks) {
                done[*index] = Some(WriteDone::Nonce(check));
            }
        }
        for (index, job) in jobs.iter().enumerate() {
            match job {
                WriteJob::Nonce(_) => {}
                WriteJob::Claim(claim) => {
                    let found = crate::idempotency::claim_on(&mut tx, keyring, claim).await?;
                    done[index] = Some(WriteDone::Claim(found));
                }
                WriteJob::Complete(completion) => {
                    let (evidence, idempotent) = completion.as_ref();
                    if let Some(evidence) = evidence {
                        crate::request_evidence::insert(&mut tx, keyring, evidence).await?;
                    }
                    if let Some((app_id, key, answer)) = idempotent {
                        crate::idempotency::finish(&mut tx, app_id, key, answer).await?;
                    }
                    done[index] = Some(WriteDone::Complete);
                }
            }
        }
        tx.commit().await?;
        done.into_iter()
            .map(|found| {
                found.ok_or(StoreError::Integrity(
                    "a batched write went unanswered".into(),
                ))
            })
            .collect()
    }
}
