//! Full display of masked personal fields.

use super::{T0, audited, customer, keyring, staff};
use crate::support::{WHO, stores};
use inspay_core::sensitive::FieldKind;
use inspay_identity::authorization::{FieldView, Role};

/// Full display of a masked field needs the permission, the data scope and a fresh
/// re-authentication, and every request is audited; payment-sensitive fields are never shown.
/// req: 5.2.2.2-c2, 5.6.4.2
#[tokio::test]
async fn full_display_needs_permission_scope_and_fresh_reauthentication() {
    for test in stores().await {
        let ring = keyring(&test).await;
        let store = &test.store;
        let me = customer(store, &ring, "13812345678").await;
        let agent = staff(store, &ring, "agent.fu", &[Role::Agent]).await;
        let stranger = staff(store, &ring, "agent.xu", &[Role::Agent]).await;
        let auditor = staff(store, &ring, "auditor.qin", &[Role::Auditor]).await;
        store
            .agent_assign_customer(&agent, &me, WHO, T0)
            .await
            .expect("assign");
        let now = T0 + 1_000_000;
        let fresh = Some(now - 60_000);
        let stale = Some(now - 600_000);
        let show = |viewer: &str, field, reauthenticated| {
            let (viewer, me) = (viewer.to_string(), me.clone());
            async move {
                store
                    .full_display(&viewer, &me, field, reauthenticated, "r", now)
                    .await
                    .expect("display")
            }
        };
        let id = FieldKind::IdNumber;
        assert_eq!(show(&me, id, None).await, FieldView::Masked);
        assert_eq!(show(&me, id, stale).await, FieldView::Masked);
        assert_eq!(show(&me, id, fresh).await, FieldView::Full);
        assert_eq!(
            show(&agent, FieldKind::MobileNumber, fresh).await,
            FieldView::Full
        );
        assert_eq!(show(&stranger, id, fresh).await, FieldView::Hidden);
        assert_eq!(show(&auditor, id, fresh).await, FieldView::Masked);
        assert_eq!(show(&me, FieldKind::Cvv, fresh).await, FieldView::Hidden);

        let entries = audited(store, "customer.full-display").await;
        let outcomes: Vec<&str> = entries.iter().map(|(o, _, _)| o.as_str()).collect();
        assert_eq!(
            outcomes,
            [
                "denied", "denied", "success", "success", "denied", "denied", "denied"
            ],
            "{}",
            test.label
        );
        assert!(entries[0].2.contains("reauthentication-not-fresh"));
        assert!(entries[4].2.contains("not-permitted"));
        assert!(
            entries
                .iter()
                .all(|(_, object, _)| *object == format!("account:{me}"))
        );
    }
}
