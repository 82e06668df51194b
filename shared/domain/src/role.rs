//! The roles a SteelCare user holds (DESIGN.md decision 8), carried in the JWT `roles` claim.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// A role. Customers are the only role bound to an organisation: they see only its data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Customer,
    Agent,
    Dispatcher,
    Technician,
    Engineer,
    ChiefEngineer,
    Manager,
    Auditor,
    Admin,
    /// An internal system (ERP, OA, document management) that subscribes to domain events.
    Integration,
}

/// A role name that is not one of [`Role::ALL`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown role {0:?}; expected one of customer, agent, dispatcher, technician, engineer, chief_engineer, manager, auditor, admin, integration"
)]
pub struct UnknownRole(pub String);

impl Role {
    /// Every role.
    pub const ALL: [Role; 10] = [
        Role::Customer,
        Role::Agent,
        Role::Dispatcher,
        Role::Technician,
        Role::Engineer,
        Role::ChiefEngineer,
        Role::Manager,
        Role::Auditor,
        Role::Admin,
        Role::Integration,
    ];

    /// The claim value, e.g. `chief_engineer`.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Customer => "customer",
            Role::Agent => "agent",
            Role::Dispatcher => "dispatcher",
            Role::Technician => "technician",
            Role::Engineer => "engineer",
            Role::ChiefEngineer => "chief_engineer",
            Role::Manager => "manager",
            Role::Auditor => "auditor",
            Role::Admin => "admin",
            Role::Integration => "integration",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = UnknownRole;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Role::ALL
            .into_iter()
            .find(|role| role.as_str() == s)
            .ok_or_else(|| UnknownRole(s.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn role_names_round_trip_and_unknown_names_are_refused() {
        for role in Role::ALL {
            assert_eq!(role.as_str().parse::<Role>(), Ok(role));
        }
        let err = "root".parse::<Role>().unwrap_err();
        assert!(err.to_string().contains("chief_engineer"));
    }
}
