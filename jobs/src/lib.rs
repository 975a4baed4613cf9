//! The delivery engine: everything between a `deliveries` row and the receiver's answer.
//!
//! - `queue`: claims over the `deliveries` table, fair across webhooks, with their pace; inside
//!   it `queue::attempt` (settling each attempt with its outcome, and the delivery policy:
//!   retries, breaker) and `queue::ops` (the operational events a breaker transition emits),
//!   which the queue's backend runs as its settle layer;
//! - `payload`: the JSON body of an event or a batch, frozen in the delivery;
//! - `send`: the HTTP request of one attempt, SSRF-guarded and time-boxed;
//! - `signing`, `signing::v1a`: the signature headers over the exact bytes sent;
//! - `metric_names`: the metrics the engine records;
//! - `can_fail`: names deliberately dropped errors, here and in the app.
//!
//! What a webhook is configured to do comes validated from `entity::spec`; secrets arrive already
//! opened (sealing at rest is the app's, `herald::crypto::sealed`).

pub mod can_fail;
pub mod metric_names;
pub mod payload;
pub mod queue;
pub mod send;
pub mod signing;
