//! End-to-end tests of the queue against real databases: each test runs on a fresh SQLite file
//! and, when `TEST_DATABASE_URL` is set, on a fresh PostgreSQL database too.

mod delivery;
mod lanes;
mod plan;
mod recovery;
mod slots;
mod support;
mod worker;
