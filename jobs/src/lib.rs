//! Background work. For now: housekeeping of expired credentials; the delivery engine joins here.

pub mod housekeeping;
