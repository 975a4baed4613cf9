//! A scriptable handler that logs its calls, and a worker runner.

use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use apalis::prelude::{
    AbortError, BoxDynError, Data, ParallelizeExt, RetryAfterError, WorkerBuilder, WorkerBuilderExt, WorkerError,
};
use futures_util::future::BoxFuture;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use super::support::unique;
use crate::queue::attempt::Outcome;
use crate::queue::{ClaimedDelivery, DeliveryQueue, QueueConfig, now_ms, parse_retry_schedule};
use crate::send::{Attempt, ErrorKind, SendError, Verdict};

/// The test configuration: fast polling and reaping, retries after 50 ms and 100 ms.
pub fn fast_cfg(concurrency: usize) -> QueueConfig {
    QueueConfig {
        poll: Duration::from_millis(20),
        reap_every: Duration::from_millis(50),
        retry_schedule: parse_retry_schedule("0,50ms,100ms").unwrap(),
        ..QueueConfig::for_concurrency(concurrency)
    }
}

type Script = Arc<dyn Fn(ClaimedDelivery) -> BoxFuture<'static, Result<(), BoxDynError>> + Send + Sync>;

/// One handler call, as the handler saw it.
#[derive(Debug, Clone)]
pub struct Call {
    pub d: ClaimedDelivery,
    pub started: Instant,
    pub ended: Instant,
}

/// The worker's state: what the handler does, and a log of its calls.
#[derive(Clone)]
pub struct Behaviour {
    script: Script,
    pub log: Arc<Mutex<Vec<Call>>>,
    pub started: Arc<Mutex<Vec<(ClaimedDelivery, Instant)>>>,
}

impl Behaviour {
    pub fn new<F, Fut>(f: F) -> Self
    where
        F: Fn(ClaimedDelivery) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), BoxDynError>> + Send + 'static,
    {
        let script: Script = Arc::new(move |d| Box::pin(f(d)));
        Behaviour {
            script,
            log: Arc::default(),
            started: Arc::default(),
        }
    }

    pub fn ok() -> Self {
        Self::new(|_| async { Ok(()) })
    }

    pub fn calls(&self) -> Vec<Call> {
        self.log.lock().unwrap().clone()
    }

    pub fn calls_of(&self, id: i64) -> Vec<Call> {
        self.calls().into_iter().filter(|c| c.d.id == id).collect()
    }
}

pub async fn handle(d: ClaimedDelivery, b: Data<Behaviour>) -> Result<Outcome, BoxDynError> {
    let started = Instant::now();
    b.started.lock().unwrap().push((d.clone(), started));
    let result = (b.script)(d.clone()).await;
    b.log.lock().unwrap().push(Call {
        d,
        started,
        ended: Instant::now(),
    });
    outcome_of(result)
}

/// The scripted result as the real handler reports it: `Ok` is a 2xx, `AbortError` a blocked
/// target, `RetryAfterError` a 429 with `Retry-After`; any other error is a handler failure
/// (recorded as an internal attempt and retried on the schedule).
fn outcome_of(result: Result<(), BoxDynError>) -> Result<Outcome, BoxDynError> {
    let verdict = match result {
        Ok(()) => Verdict::Delivered,
        Err(e) if e.is::<AbortError>() => Verdict::Blocked,
        Err(e) => match e.downcast_ref::<RetryAfterError>() {
            Some(r) => Verdict::RetryAfter(r.get_duration()),
            None => return Err(e),
        },
    };
    Ok(Outcome::Sent(Box::new(attempt_with(verdict))))
}

/// An attempt that ended in `verdict`, as the sender would have recorded it.
pub fn attempt_with(verdict: Verdict) -> Attempt {
    let (status, error) = match verdict {
        Verdict::Delivered => (Some(200), None),
        Verdict::RetryAfter(_) => (Some(429), Some(ErrorKind::HttpStatus)),
        Verdict::Gone => (Some(410), Some(ErrorKind::HttpStatus)),
        Verdict::Retry => (Some(500), Some(ErrorKind::HttpStatus)),
        Verdict::Blocked => (None, Some(ErrorKind::Blocked)),
    };
    Attempt {
        started_at_ms: now_ms(),
        duration_ms: 1,
        request_headers: vec![("content-type".into(), "application/json".into())],
        status,
        response_headers: Vec::new(),
        response_body: String::new(),
        error: error.map(|kind| SendError::new(kind, "scripted")),
        verdict,
    }
}

/// A worker running in the background until [`Running::stop`].
pub struct Running {
    stop: oneshot::Sender<()>,
    handle: JoinHandle<Result<(), WorkerError>>,
}

pub fn start(queue: &DeliveryQueue, concurrency: usize, behaviour: &Behaviour) -> Running {
    let worker = WorkerBuilder::new(unique("queue-test"))
        .backend(queue.backend())
        .data(behaviour.clone())
        .concurrency(concurrency)
        .parallelize(tokio::spawn)
        .build(handle);
    let (stop, stopped) = oneshot::channel::<()>();
    let handle = tokio::spawn(worker.run_until(async move {
        let _ = stopped.await;
        Ok::<(), std::io::Error>(())
    }));
    Running { stop, handle }
}

impl Running {
    pub fn is_running(&self) -> bool {
        !self.handle.is_finished()
    }

    /// Stops gracefully: running deliveries finish and are acknowledged, buffered ones released.
    pub async fn stop(self) {
        let _ = self.stop.send(());
        tokio::time::timeout(Duration::from_secs(30), self.handle)
            .await
            .expect("the worker stops within 30 s")
            .unwrap()
            .unwrap();
    }
}
