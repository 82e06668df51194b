use sea_orm::entity::prelude::*;

/// A technician of the service team. `booked` counts confirmed assignments and never exceeds
/// `capacity` (conditional update on accept); `offered` counts open offers.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "technicians")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    #[sea_orm(column_type = "Text")]
    pub person: String,
    pub team: String,
    #[sea_orm(column_type = "Text")]
    pub regions: String,
    pub base_latitude: Option<f64>,
    pub base_longitude: Option<f64>,
    #[sea_orm(column_type = "Text")]
    pub skills: String,
    #[sea_orm(column_type = "Text")]
    pub certificates: String,
    pub calendar: String,
    pub capacity: i32,
    pub booked: i32,
    pub offered: i32,
    pub status: String,
    #[sea_orm(column_type = "Text")]
    pub leave_periods: String,
    /// The instruments the technician carries (JSON), with their calibration.
    #[sea_orm(column_type = "Text")]
    pub instruments: String,
    pub first_time_rate: Option<f64>,
    pub first_round_cases: i64,
    pub first_round_accepted: i64,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    pub version: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
