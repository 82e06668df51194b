//! The SteelCare notification service: the people a step waits on hear of it. It consumes the
//! domain events, decides who must hear what (`decide.rs`), records one delivery per event,
//! recipient and channel before anything is sent (`deliveries.rs`), and sends them through
//! the configured channels (`channels/`) with retries, backoff and a dead-letter list
//! (`send.rs`).
//!
//! Read top-down: `grpc.rs` (the API: the console's notifications, preferences, the
//! dead-letter list), `worker.rs` (the consumer), `decide.rs` (topics and recipients),
//! `reminders.rs` (what falls due without an event), `recipients.rs` (who a recipient is:
//! addresses, language, quiet hours), `deliveries.rs`
//! (the table), `send.rs` (the senders), `channels/` (e-mail, SMS, robots).

pub mod channels;
pub mod decide;
pub mod deliveries;
pub mod engine;
pub mod grpc;
pub mod mount;
pub mod recipients;
pub mod reminders;
pub mod send;
pub mod worker;

pub use engine::Notifier;
pub use grpc::NotifyService;
pub use mount::mount;
