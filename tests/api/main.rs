//! End-to-end tests over real gRPC, on every enabled backend (see `steelcare_tests`).

mod acceptance;
mod audit;
mod auth;
mod backbone;
mod bus;
mod console;
mod dispatch;
mod feedback;
mod field;
mod health;
mod identity;
mod ids;
mod intake;
mod integration;
mod language;
mod lifecycle;
mod migrations;
mod money;
mod outbox;
mod readings;
mod readme;
mod reflection;
mod repair;
mod sso;
mod transport;
mod walk;
