//! Group commit for the protocol's per-request writes (admissions: nonces, field nonces and
//! idempotency claims; completions: evidence and idempotent answers).
//!
//! Every signed request writes a nonce before it runs and its evidence after; committing each
//! on its own costs a durable commit (a WAL flush) per write. Requests hand their write to a
//! [`Batcher`] instead: one task takes what is waiting, writes it in one transaction with one
//! commit, and answers each request only after that commit. Nothing is acknowledged before it
//! is durable, and a lone request waits for nobody: a batch is simply whatever queued up while
//! the previous commit ran.

use inspay_store::StoreError;
use inspay_store::protocol_writes::{
    Admission, Admitted, Completion, WriteDone, WriteJob, WriterConnection,
};
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

/// Called when no write has arrived for [`IDLE_AFTER`].
type Idle = Arc<dyn Fn() + Send + Sync>;

/// How long the queue stays empty before the batcher calls its idle hook (which gives back the
/// connection it keeps, so a pool that closes is not kept waiting).
pub const IDLE_AFTER: std::time::Duration = std::time::Duration::from_millis(200);

/// Queues writes of one kind and runs them in batches.
pub struct Batcher<I, O> {
    sender: OnceLock<mpsc::Sender<Job<I, O>>>,
    run: Run<I, O>,
    idle: Idle,
}

impl<I: Send + 'static, O: Send + 'static> Batcher<I, O> {
    /// A batcher that runs `run` over each batch (its outputs in the same order) and calls
    /// `idle` once the queue has been empty for [`IDLE_AFTER`].
    pub fn new(run: Run<I, O>, idle: Idle) -> Self {
        Batcher {
            sender: OnceLock::new(),
            run,
            idle,
        }
    }

    fn sender(&self) -> &mpsc::Sender<Job<I, O>> {
        self.sender.get_or_init(|| {
            let (sender, mut receiver) = mpsc::channel::<Job<I, O>>(BATCH_MAX * 16);
            let run = self.run.clone();
            let idle = self.idle.clone();
            tokio::spawn(async move {
                loop {
                    let first = match tokio::time::timeout(IDLE_AFTER, receiver.recv()).await {
                        Ok(Some(job)) => job,
                        Ok(None) => break,
                        Err(_) => {
                            idle();
                            match receiver.recv().await {
                                Some(job) => job,
                                None => break,
                            }
                        }
                    };
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

/// The protocol's writes, all through one batcher: one transaction, one commit per batch.
pub struct ProtocolWrites {
    writes: Batcher<WriteJob, WriteDone>,
}

impl ProtocolWrites {
    /// A batcher over a store; `keyring` gives the keyring in force when a batch runs.
    pub fn new(
        store: &inspay_store::Store,
        keyring: Arc<dyn Fn() -> Arc<inspay_kms::Keyring> + Send + Sync>,
    ) -> Self {
        let store = store.clone();
        // The connection batches run on, kept between them while writes keep coming (see
        // `Store::writer_connection`) and given back to the pool after a failure or when idle.
        let held: Arc<tokio::sync::Mutex<Option<WriterConnection>>> = Arc::default();
        let released = held.clone();
        let run = Arc::new(move |jobs: Vec<WriteJob>| {
            let store = store.clone();
            let keyring = keyring();
            let held = held.clone();
            Box::pin(async move {
                let mut slot = held.lock().await;
                let mut connection = match slot.take() {
                    Some(connection) => connection,
                    None => store.writer_connection().await?,
                };
                let done = store
                    .protocol_writes(&mut connection, &keyring, &jobs)
                    .await?;
                *slot = Some(connection);
                Ok(done)
            }) as Pin<Box<dyn Future<Output = _> + Send>>
        });
        let idle = Arc::new(move || {
            if let Ok(mut slot) = released.try_lock() {
                slot.take();
            }
        });
        ProtocolWrites {
            writes: Batcher::new(run, idle),
        }
    }

    /// Admits a request: accepts its nonce (or finds it replayed or outside the window), then
    /// consumes its field nonce and claims its idempotency key, in one commit.
    pub async fn admit(&self, admission: Admission) -> Result<Admitted, StoreError> {
        match self
            .writes
            .submit(WriteJob::Admit(Box::new(admission)))
            .await?
        {
            WriteDone::Admitted(admitted) => Ok(admitted),
            WriteDone::Complete => Err(StoreError::Integrity(
                "an admission got another answer".into(),
            )),
        }
    }

    /// Keeps a request's evidence and idempotent answer.
    pub async fn complete(&self, completion: Completion) -> Result<(), StoreError> {
        match self
            .writes
            .submit(WriteJob::Complete(Box::new(completion)))
            .await?
        {
            WriteDone::Complete => Ok(()),
            WriteDone::Admitted(_) => Err(StoreError::Integrity(
                "a completion got another answer".into(),
            )),
        }
    }
}
