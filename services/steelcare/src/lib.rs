//! The SteelCare binary's library: [`Application`] builds the server for a chosen set of
//! services on one listener (DESIGN.md decision 1), with health, reflection, gRPC-Web and
//! authentication, plus the background workers (outbox relay). Tests and `main` share it.

pub mod acceptor;
pub mod admin;
pub mod call;
pub mod cli;
pub mod console;
pub mod health;
pub mod identity;
pub mod integration;
pub mod services;
pub mod startup;

pub use services::{ServiceName, ServiceSelection};
pub use startup::{Application, Faults, StartupError};
