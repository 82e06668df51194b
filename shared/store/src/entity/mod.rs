//! SeaORM entities of the shared tables, in the shape `sea-orm-cli generate entity` gives for
//! the schema the migrations create. Change the schema with a migration, then these.

pub mod acceptance_counters;
pub mod archive_documents;
pub mod archives;
pub mod assignment_offers;
pub mod assignments;
pub mod attachments;
pub mod audit_log;
pub mod bus_checkpoints;
pub mod bus_group_cursors;
pub mod bus_leases;
pub mod bus_pending;
pub mod bus_queue_jobs;
pub mod bus_stream_entries;
pub mod case_records;
pub mod cases;
pub mod customers;
pub mod dossier_items;
pub mod idempotency_keys;
pub mod outbox;
pub mod processed_events;
pub mod projects;
pub mod repair_bookings;
pub mod sla_clocks;
pub mod sla_pauses;
pub mod survey_plan_members;
pub mod survey_plans;
pub mod technician_regions;
pub mod technicians;
pub mod tickets;
pub mod trainings;
pub mod warranty_terms;
