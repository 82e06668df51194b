/// What can go wrong on the bus.
#[derive(Debug, thiserror::Error)]
pub enum BusError {
    /// Redis failed or is unreachable.
    #[error("redis: {0}")]
    Redis(#[from] redis::RedisError),
    /// The SQL database failed (embedded backend, outbox).
    #[error("database: {0}")]
    Db(#[from] sea_orm::DbErr),
    /// The store failed.
    #[error("store: {0}")]
    Store(#[from] steelcare_store::StoreError),
    /// The consumer group does not exist (call `ensure_group` first).
    #[error("no consumer group {group} on stream {stream}")]
    NoGroup {
        /// Stream.
        stream: String,
        /// Group.
        group: String,
    },
    /// A stored message is not in the expected shape.
    #[error("malformed message: {0}")]
    Malformed(String),
}

impl BusError {
    /// The consumer group is gone: the stream was dropped (the relay found Redis emptied and
    /// publishes every unhandled event again, or marks the first start) or never had it.
    pub fn is_missing_group(&self) -> bool {
        match self {
            BusError::NoGroup { .. } => true,
            BusError::Redis(err) => err.code() == Some("NOGROUP"),
            _ => false,
        }
    }
}
