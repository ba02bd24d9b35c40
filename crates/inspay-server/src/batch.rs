//! Group commit for the protocol's per-request writes (nonces, evidence, idempotent answers).
//!
//! Every signed request writes a nonce before it runs and its evidence after; committing each
//! on its own costs a durable commit (a WAL flush) per write. Requests hand their write to a
//! [`Batcher`] instead: one task takes what is waiting, writes it in one transaction with one
//! commit, and answers each request only after that commit. Nothing is acknowledged before it
//! is durable, and a lone request waits for nobody: a batch is simply whatever queued up while
//! the previous commit ran.

use inspay_store::StoreError;
use inspay_store::request_evidence::Evidence;
use inspay_store::request_nonces::NonceCheck;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, OnceLock};
use tokio::sync::{mpsc, oneshot};

/// Most writes in one transaction.
pub const BATCH_MAX: usize = 64;

/// Why a batch failed, in a form every waiting request can get a copy of.
#[derive(Debug, Clone)]
enum Failure {
    /// The database could not be reached or refused the statement: a 503 for the client.
    Database(String),
    /// Anything else.
    Other(String),
}

impl From<Failure> for StoreError {
    fn from(failure: Failure) -> Self {
        match failure {
            Failure::Database(message) => StoreError::database_relayed(message),
            Failure::Other(message) => StoreError::Integrity(message),
        }
    }
}

type Job<I, O> = (I, oneshot::Sender<Result<O, Failure>>);
type Run<I, O> = Arc<
    dyn Fn(Vec<I>) -> Pin<Box<dyn Future<Output = Result<Vec<O>, StoreError>> + Send>>
        + Send
        + Sync,
>;

/// Queues writes of one kind and runs them in batches.
pub struct Batcher<I, O> {
    sender: OnceLock<mpsc::Sender<Job<I, O>>>,
    run: Run<I, O>,
}

impl<I: Send + 'static, O: Send + 'static> Batcher<I, O> {
    /// A batcher that runs `run` over each batch (its outputs in the same order).
    pub fn new(run: Run<I, O>) -> Self {
        Batcher {
            sender: OnceLock::new(),
            run,
        }
    }

    fn sender(&self) -> &mpsc::Sender<Job<I, O>> {
        self.sender.get_or_init(|| {
            let (sender, mut receiver) = mpsc::channel::<Job<I, O>>(BATCH_MAX * 16);
            let run = self.run.clone();
            tokio::spawn(async move {
                while let Some(first) = receiver.recv().await {
                    let mut jobs = vec![first];
                    while jobs.len() < BATCH_MAX {
                        match receiver.try_recv() {
                            Ok(job) => jobs.push(job),
                            Err(_) => break,
                        }
                    }
                    let (inputs, replies): (Vec<I>, Vec<_>) = jobs.into_iter().unzip();
                    match run(inputs).await {
                        Ok(outputs) => {
                            for (reply, output) in replies.into_iter().zip(outputs) {
                                let _ = reply.send(Ok(output));
                            }
                        }
                        Err(error) => {
                            let failure = match &error {
                                StoreError::Database(_) => Failure::Database(error.to_string()),
                                _ => Failure::Other(error.to_string()),
                            };
                            for reply in replies {
                                let _ = reply.send(Err(failure.clone()));
                            }
                        }
                    }
                }
            });
            sender
        })
    }

    /// Queues one write and waits until its batch is committed.
    pub async fn submit(&self, input: I) -> Result<O, StoreError> {
        let (reply, answer) = oneshot::channel();
        self.sender()
            .send((input, reply))
            .await
            .map_err(|_| StoreError::Integrity("the write queue stopped".into()))?;
        answer
            .await
            .map_err(|_| StoreError::Integrity("the write queue dropped a write".into()))?
            .map_err(StoreError::from)
    }
}

/// A nonce to accept: application, nonce, the request's timestamp, the window in seconds and
/// the server's time in ms.
pub type NonceJob = (String, String, i64, i64, i64);

/// What a request keeps after its answer: evidence, and the idempotent answer.
pub type CompleteJob = (
    Option<Evidence>,
    Option<(String, String, inspay_store::idempotency::StoredAnswer)>,
);

/// The protocol's batched writes.
pub struct ProtocolWrites {
    /// Nonce acceptance.
    pub nonces: Batcher<NonceJob, NonceCheck>,
    /// Idempotency-key claims.
    pub claims: Batcher<inspay_store::idempotency::ClaimJob, inspay_store::idempotency::Claim>,
    /// Evidence and idempotent answers.
    pub completions: Batcher<CompleteJob, ()>,
}

impl ProtocolWrites {
    /// Batchers over a store; `keyring` gives the keyring in force when a batch runs.
    pub fn new(
        store: &inspay_store::Store,
        keyring: Arc<dyn Fn() -> Arc<inspay_kms::Keyring> + Send + Sync>,
    ) -> Self {
        let nonce_store = store.clone();
        let claim_store = store.clone();
        let completion_store = store.clone();
        let claim_keyring = keyring.clone();
        ProtocolWrites {
            claims: Batcher::new(Arc::new(
                move |jobs: Vec<inspay_store::idempotency::ClaimJob>| {
                    let store = claim_store.clone();
                    let keyring = claim_keyring();
                    Box::pin(async move { store.idempotency_begin_many(&keyring, &jobs).await })
                },
            )),
            nonces: Batcher::new(Arc::new(move |jobs: Vec<NonceJob>| {
                let store = nonce_store.clone();
                Box::pin(async move { store.request_nonces_accept(&jobs).await })
            })),
            completions: Batcher::new(Arc::new(move |jobs: Vec<CompleteJob>| {
                let store = completion_store.clone();
                let keyring = keyring();
                Box::pin(async move {
                    store.requests_complete(&keyring, &jobs).await?;
                    Ok(vec![(); jobs.len()])
                })
            })),
        }
    }
}
