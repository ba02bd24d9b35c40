//! The protocol's per-request writes, group-committed. Before a signed request runs, its
//! admission: the request's nonce, the field nonce its encrypted fields are bound to, and the
//! idempotency key it claims. After it is answered, its completion: evidence and the idempotent
//! answer. A batch mixes admissions and completions of many requests and commits them in one
//! transaction, each kind written with as few statements as the batch allows, so one durable
//! commit (one WAL flush) covers every request waiting at that moment, and the kinds never
//! compete for the database's write lock.

use crate::field_nonces::FieldNonceRefusal;
use crate::idempotency::{Claim, ClaimJob, StoredAnswer};
use crate::request_evidence::Evidence;
use crate::request_nonces::NonceCheck;
use crate::{Store, StoreError};
use inspay_kms::Keyring;

/// A nonce to accept: application, nonce, the request's timestamp, the window in seconds and
/// the server's time in ms.
pub type NonceJob = (String, String, i64, i64, i64);

/// What a request records before it runs, all or nothing past its nonce: a replayed nonce stops
/// there; a refused field nonce stops the claim.
#[derive(Debug)]
pub struct Admission {
    /// The request's nonce.
    pub nonce: NonceJob,
    /// The one-time field nonce its encrypted fields carry, if it has any.
    pub field_nonce: Option<String>,
    /// The idempotency key it claims, if it carries one.
    pub claim: Option<ClaimJob>,
}

/// What an admission found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Admitted {
    /// The nonce check.
    pub nonce: NonceCheck,
    /// The field nonce, when the request had one and its nonce was accepted.
    pub field_nonce: Option<Result<(), FieldNonceRefusal>>,
    /// The claim, when the request made one and got this far.
    pub claim: Option<Claim>,
}

/// What a request keeps once answered: its evidence, and the answer for the idempotency key it
/// holds (application, key, answer).
pub type Completion = (Option<Evidence>, Option<(String, String, StoredAnswer)>);

/// One write.
#[derive(Debug)]
pub enum WriteJob {
    /// Admit a request.
    Admit(Box<Admission>),
    /// Keep evidence and an idempotent answer.
    Complete(Box<Completion>),
}

/// What a write found.
#[derive(Debug)]
pub enum WriteDone {
    /// The admission.
    Admitted(Admitted),
    /// Kept.
    Complete,
}

/// A pool connection a writer keeps between batches (see [`Store::writer_connection`]).
pub type WriterConnection = sqlx::pool::PoolConnection<sqlx::Any>;

impl Store {
    /// A connection for a writer that commits often and keeps it between batches. On SQLite a
    /// connection keeps its page cache only while no other connection writes, so the one
    /// writer of the protocol's batches finds the indexes it writes to in memory rather than
    /// reading them from the file again after every commit; on PostgreSQL it saves a pool
    /// check-out per batch.
    pub async fn writer_connection(&self) -> Result<WriterConnection, StoreError> {
        Ok(self.pool.acquire().await?)
    }

    /// Runs a batch of writes in one transaction on `connection`; answers in the jobs' order.
    pub async fn protocol_writes(
        &self,
        connection: &mut sqlx::AnyConnection,
        keyring: &Keyring,
        jobs: &[WriteJob],
    ) -> Result<Vec<WriteDone>, StoreError> {
        let mut tx = sqlx::Connection::begin_with(connection, self.backend.begin_write()).await?;
        let admissions: Vec<(usize, &Admission)> = jobs
            .iter()
            .enumerate()
            .filter_map(|(index, job)| match job {
                WriteJob::Admit(admission) => Some((index, admission.as_ref())),
                WriteJob::Complete(_) => None,
            })
            .collect();
        let mut admitted: Vec<Admitted> = vec![];
        if !admissions.is_empty() {
            let nonces: Vec<NonceJob> = admissions
                .iter()
                .map(|(_, admission)| admission.nonce.clone())
                .collect();
            let checks = crate::request_nonces::accept_many(&mut tx, &nonces).await?;
            let mut claims = vec![];
            for ((_, admission), nonce) in admissions.iter().zip(checks) {
                let mut found = Admitted {
                    nonce,
                    field_nonce: None,
                    claim: None,
                };
                if nonce == NonceCheck::Accepted {
                    if let Some(field_nonce) = &admission.field_nonce {
                        let (app_id, _, _, _, now_ms) = &admission.nonce;
                        found.field_nonce = Some(
                            crate::field_nonces::consume_on(&mut tx, app_id, field_nonce, *now_ms)
                                .await?,
                        );
                    }
                    if let (Some(claim), None | Some(Ok(()))) =
                        (&admission.claim, &found.field_nonce)
                    {
                        claims.push((admitted.len(), claim));
                    }
                }
                admitted.push(found);
            }
            let jobs: Vec<&ClaimJob> = claims.iter().map(|(_, claim)| *claim).collect();
            let results = crate::idempotency::claim_many(&mut tx, keyring, &jobs).await?;
            for ((position, _), claim) in claims.iter().zip(results) {
                admitted[*position].claim = Some(claim);
            }
        }
        let mut evidence = vec![];
        let mut answers = vec![];
        for job in jobs {
            if let WriteJob::Complete(completion) = job {
                let (kept, idempotent) = completion.as_ref();
                evidence.extend(kept.iter());
                if let Some((app_id, key, answer)) = idempotent {
                    answers.push((app_id.as_str(), key.as_str(), answer));
                }
            }
        }
        if !evidence.is_empty() {
            crate::request_evidence::insert_many(&mut tx, keyring, &evidence).await?;
        }
        if !answers.is_empty() {
            crate::idempotency::finish_many(&mut tx, &answers).await?;
        }
        tx.commit().await?;
        let mut admitted = admitted.into_iter();
        jobs.iter()
            .map(|job| match job {
                WriteJob::Admit(_) => {
                    admitted
                        .next()
                        .map(WriteDone::Admitted)
                        .ok_or(StoreError::Integrity(
                            "a batched admission went unanswered".into(),
                        ))
                }
                WriteJob::Complete(_) => Ok(WriteDone::Complete),
            })
            .collect()
    }
}
