//! Background work and the rules it runs on: the delivery engine (`queue`: claims over the
//! `deliveries` table; `send`: the HTTP request; `attempt`: settling each attempt and the
//! delivery policy), housekeeping of expired credentials, request signing (`signing`,
//! `signing_v1a`); `can_fail` names deliberately dropped errors, here and in the app. The webhook
//! specification it delivers by is `entity::spec`; secrets arrive already opened (sealing at rest
//! is the app's, `herald::crypto::sealed`).

pub mod attempt;
pub mod can_fail;
pub mod housekeeping;
pub mod metric_names;
pub mod ops;
pub mod payload;
pub mod queue;
pub mod send;
pub mod signing;
pub mod signing_v1a;
