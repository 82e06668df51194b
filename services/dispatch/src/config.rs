//! What the dispatch service is configured with, below every module that uses it.

use steelcare_domain::BusinessCalendar;
use steelcare_runtime::settings::DispatchSettings;

/// Dispatch configuration: `[dispatch]` plus the business calendar technicians work by.
#[derive(Debug, Clone)]
pub struct DispatchConfig {
    /// `[dispatch]`.
    pub settings: DispatchSettings,
    /// The business calendar (`intake.calendar_file`, China 2026 by default).
    pub calendar: BusinessCalendar,
}
