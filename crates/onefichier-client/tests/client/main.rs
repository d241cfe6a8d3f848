//! The SDK's integration tests, one binary: calls against the real server, scripted faults,
//! the governor across processes, verified transfers.

mod common;
mod endpoints;
mod faults;
mod governor;
mod transfers;
