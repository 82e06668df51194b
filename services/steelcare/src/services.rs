//! Which services a process mounts (`--service`).

use std::fmt;
use std::str::FromStr;

/// A SteelCare service of DESIGN.md.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ServiceName {
    Intake,
    Dispatch,
    Repair,
    Acceptance,
    Feedback,
    Notify,
}

impl ServiceName {
    /// Every service, in process order.
    pub const ALL: [ServiceName; 6] = [
        ServiceName::Intake,
        ServiceName::Dispatch,
        ServiceName::Repair,
        ServiceName::Acceptance,
        ServiceName::Feedback,
        ServiceName::Notify,
    ];

    /// The name used on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            ServiceName::Intake => "intake",
            ServiceName::Dispatch => "dispatch",
            ServiceName::Repair => "repair",
            ServiceName::Acceptance => "acceptance",
            ServiceName::Feedback => "feedback",
            ServiceName::Notify => "notify",
        }
    }

    /// Whether this build carries a real implementation of the service. A service is mounted
    /// only once every RPC of it is real; until then `--service NAME` is refused.
    pub fn is_built(self) -> bool {
        matches!(
            self,
            ServiceName::Intake
                | ServiceName::Dispatch
                | ServiceName::Repair
                | ServiceName::Acceptance
                | ServiceName::Feedback
                | ServiceName::Notify
        )
    }
}

impl fmt::Display for ServiceName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The services one process runs. The admin service (identity, audit trail), health and
/// reflection are always mounted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceSelection(Vec<ServiceName>);

/// A `--service` value that cannot be honoured.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SelectionError {
    /// Not a service name.
    #[error(
        "unknown service {0:?}; expected all or a comma-separated list of intake, dispatch, repair, acceptance, feedback, notify"
    )]
    Unknown(String),
    /// A known service this build does not carry yet.
    #[error("service {0} is not available in this build yet")]
    NotBuilt(ServiceName),
    /// Nothing selected.
    #[error("no service selected; use all or a comma-separated list of names")]
    Empty,
}

impl ServiceSelection {
    /// Every service this build carries.
    pub fn all() -> Self {
        ServiceSelection(
            ServiceName::ALL
                .into_iter()
                .filter(|s| s.is_built())
                .collect(),
        )
    }

    /// The selected services.
    pub fn services(&self) -> &[ServiceName] {
        &self.0
    }

    /// Whether `name` is selected.
    pub fn contains(&self, name: ServiceName) -> bool {
        self.0.contains(&name)
    }
}

impl FromStr for ServiceSelection {
    type Err = SelectionError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let names: Vec<&str> = s
            .split(',')
            .map(str::trim)
            .filter(|n| !n.is_empty())
            .collect();
        if names.is_empty() {
            return Err(SelectionError::Empty);
        }
        if names == ["all"] {
            return Ok(ServiceSelection::all());
        }
        let mut selected = Vec::new();
        for name in names {
            let service = ServiceName::ALL
                .into_iter()
                .find(|s| s.as_str() == name)
                .ok_or_else(|| SelectionError::Unknown(name.to_owned()))?;
            if !selected.contains(&service) {
                selected.push(service);
            }
        }
        if let Some(missing) = selected.iter().find(|s| !s.is_built()) {
            return Err(SelectionError::NotBuilt(*missing));
        }
        Ok(ServiceSelection(selected))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_and_unbuilt_names_are_refused() {
        assert!(matches!(
            "intake,billing".parse::<ServiceSelection>(),
            Err(SelectionError::Unknown(name)) if name == "billing"
        ));
        assert_eq!("".parse::<ServiceSelection>(), Err(SelectionError::Empty));
        assert_eq!(
            "all".parse::<ServiceSelection>(),
            Ok(ServiceSelection::all())
        );
        for name in ServiceName::ALL {
            let parsed = name.as_str().parse::<ServiceSelection>();
            assert_eq!(parsed.is_ok(), name.is_built(), "{name}");
        }
    }
}
