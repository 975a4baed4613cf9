//! Background work and the rules it runs on: housekeeping of expired credentials, the webhook
//! specification (`spec`: validated configuration, matching, filters, payload templates), request
//! signing (`signing`) and encryption of webhook secrets at rest (`sealed`). The delivery engine
//! joins here.

pub mod housekeeping;
pub mod payload;
pub mod queue;
pub mod sealed;
pub mod send;
pub mod signing;
pub mod spec;
