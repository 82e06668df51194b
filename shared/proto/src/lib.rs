//! The SteelCare protobuf contracts, generated at build time from `proto/` at the repository
//! root: `steelcare_proto::intake::v1::...` and so on for every package, plus the encoded
//! [`FILE_DESCRIPTOR_SET`] that server reflection serves.

#![allow(clippy::doc_lazy_continuation, clippy::large_enum_variant)]

/// Encoded `google.protobuf.FileDescriptorSet` of every SteelCare proto file.
pub const FILE_DESCRIPTOR_SET: &[u8] =
    include_bytes!(concat!(env!("OUT_DIR"), "/steelcare_descriptor.bin"));

/// `steelcare.common.v1`: shared messages and the enums of the after-sales process.
pub mod common {
    pub mod v1 {
        tonic::include_proto!("steelcare.common.v1");
    }
}

/// `steelcare.events.v1`: domain events and their envelope.
pub mod events {
    pub mod v1 {
        tonic::include_proto!("steelcare.events.v1");
    }
}

/// `steelcare.admin.v1`: identity and audit trail.
pub mod admin {
    pub mod v1 {
        tonic::include_proto!("steelcare.admin.v1");
    }
}

/// `steelcare.identity.v1`: the people who use SteelCare, their passwords and sign-ins.
pub mod identity {
    pub mod v1 {
        tonic::include_proto!("steelcare.identity.v1");
    }
}

/// `steelcare.integration.v1`: the domain events as a stream for internal systems.
pub mod integration {
    pub mod v1 {
        tonic::include_proto!("steelcare.integration.v1");
    }
}

/// `steelcare.intake.v1`: projects, warranty, tickets, SLA, attachments.
pub mod intake {
    pub mod v1 {
        tonic::include_proto!("steelcare.intake.v1");
    }
}

/// `steelcare.dispatch.v1`: technicians, dispatch queue, offers, survey plans, arrival.
pub mod dispatch {
    pub mod v1 {
        tonic::include_proto!("steelcare.dispatch.v1");
    }
}

/// `steelcare.repair.v1`: diagnosis, plans, agreements, work logs, disputes.
pub mod repair {
    pub mod v1 {
        tonic::include_proto!("steelcare.repair.v1");
    }
}

/// `steelcare.acceptance.v1`: self-inspection, customer acceptance, archive.
pub mod acceptance {
    pub mod v1 {
        tonic::include_proto!("steelcare.acceptance.v1");
    }
}

/// `steelcare.feedback.v1`: return visits, surveys, analytics, corrective actions.
pub mod feedback {
    pub mod v1 {
        tonic::include_proto!("steelcare.feedback.v1");
    }
}

/// `steelcare.notify.v1`: notifications, recipients' preferences, deliveries.
pub mod notify {
    pub mod v1 {
        tonic::include_proto!("steelcare.notify.v1");
    }
}
