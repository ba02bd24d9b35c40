//! Full display of a masked personal field (clauses 5.2.2.2-c2 and 5.6.4.2): the view a viewer
//! is given, decided and audited.

use super::access::Target;
use crate::audit::{AuditEvent, AuditValue, Outcome};
use crate::{Store, StoreError};
use inspay_core::sensitive::FieldKind;
use inspay_identity::authorization::{FieldView, Permission, reauthentication_is_fresh};

impl Store {
    /// Decides how `viewer` is shown `field` of `customer` when it asks for the full value
    /// (clauses 5.2.2.2-c2 and 5.6.4.2), and audits the request: [`FieldView::Full`] only if
    /// the viewer is the customer, or holds `customer.read-full` with the customer in its
    /// scope, and re-authenticated within the last five minutes. Payment-sensitive fields are
    /// never shown.
    pub async fn full_display(
        &self,
        viewer: &str,
        customer: &str,
        field: FieldKind,
        reauthenticated_at_ms: Option<i64>,
        request_id: &str,
        now_ms: i64,
    ) -> Result<FieldView, StoreError> {
        let own = viewer == customer;
        let target = Target::Customer(customer);
        let (read, full) = if own {
            (Permission::ProfileReadOwn, Permission::ProfileReadOwn)
        } else {
            (Permission::CustomerRead, Permission::CustomerReadFull)
        };
        let fresh = reauthentication_is_fresh(reauthenticated_at_ms, now_ms);
        let grants = self.grants(viewer).await?;
        let mut view = FieldView::Hidden;
        if self.may_access(viewer, read, &target).await? {
            view = grants.field_view(field, own, fresh);
            if view == FieldView::Full && !self.may_access(viewer, full, &target).await? {
                view = FieldView::Masked;
            }
        }
        let reason = match view {
            FieldView::Full => None,
            FieldView::Masked if !fresh => Some("reauthentication-not-fresh"),
            _ => Some("not-permitted"),
        };
        let mut details = vec![
            ("field", AuditValue::Word(field.name())),
            ("shown", AuditValue::Word(view.name())),
        ];
        let outcome = match reason {
            Some(reason) => {
                details.push(("reason", AuditValue::Word(reason)));
                Outcome::Denied
            }
            None => Outcome::Success,
        };
        let actor = format!("account:{viewer}");
        let object = format!("account:{customer}");
        self.audit(
            &AuditEvent {
                actor: &actor,
                action: "customer.full-display",
                object: &object,
                outcome,
                request_id,
                details: &details,
            },
            now_ms,
        )
        .await?;
        Ok(view)
    }
}
