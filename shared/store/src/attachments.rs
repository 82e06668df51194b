//! Reading the attachment rows of a case (`attachments`, written by intake when it takes the
//! bytes in): the repair and acceptance services check the attachments their records name.

use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};

use crate::StoreError;
use crate::entity::attachments;

/// The case's attachments among `ids` (those of other cases, or unknown, are left out).
pub async fn of_case(
    conn: &impl ConnectionTrait,
    ticket_id: &str,
    ids: &[String],
) -> Result<Vec<attachments::Model>, StoreError> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    Ok(attachments::Entity::find()
        .filter(attachments::Column::TicketId.eq(ticket_id))
        .filter(attachments::Column::Id.is_in(ids.iter().cloned()))
        .all(conn)
        .await?)
}
