//! The role → permission matrix and the separation-of-duty rules, without a database.

use inspay_core::sensitive::FieldKind;
use inspay_identity::authorization::{
    ApprovalKind, DataScope, FieldView, Grants, PayloadDigest, Permission, Population, Role,
    SeparationError, Subject, check_maker_checker, conflict_reason, conflicting_roles,
    reauthentication_is_fresh,
};

/// Names are stable and parse back; every role and permission is listed once.
/// req: 5.3.2.1
#[test]
fn names_round_trip() {
    for permission in Permission::ALL {
        assert_eq!(Permission::parse(permission.name()), Some(*permission));
    }
    for role in Role::ALL {
        assert_eq!(Role::parse(role.name()), Some(*role));
    }
    assert_eq!(Permission::ALL.len(), 33);
    assert_eq!(Role::ALL.len(), 8);
    assert_eq!(Permission::PayoutApprove.name(), "payout.approve");
    assert_eq!(Role::ClaimsAdjuster.name(), "claims-adjuster");
    assert_eq!(Permission::parse("payout.approve-all"), None);
    assert_eq!(Role::parse("root"), None);
    assert_eq!(Role::parse("Administrator"), None, "names are exact");
}

/// Every role is fine-grained: no role holds every permission, no role holds more than a
/// third of them (the administrator and security officer are no super-users), every
/// permission belongs to some role, and the roles of the clause exist (with the risk
/// officer of clause 5.3.3.1).
/// req: 5.3.2.1, 5.3.2.2
#[test]
fn no_role_holds_everything() {
    for role in Role::ALL {
        let held = role.permissions();
        assert!(!held.is_empty(), "{role:?} holds nothing");
        assert!(
            held.len() * 3 <= Permission::ALL.len(),
            "{role:?} holds {} of {} permissions",
            held.len(),
            Permission::ALL.len()
        );
    }
    for permission in Permission::ALL {
        assert!(
            Role::ALL.iter().any(|role| role.holds(*permission)),
            "{permission:?} belongs to no role"
        );
    }
    let everything = Grants::new(Role::ALL.iter().copied());
    assert!(
        everything.permissions().is_empty(),
        "an account holding every role conflicts and is allowed nothing"
    );
}

/// Customers hold only permissions on their own data, with scope "own", and only the
/// customer role holds `-own` permissions.
/// req: 5.3.2.2, 5.6.1-d
#[test]
fn customers_only_reach_their_own_data() {
    let customer = Grants::new([Role::Customer]);
    for permission in Permission::ALL {
        if customer.allows(*permission) {
            assert!(permission.is_own(), "{permission:?}");
            assert_eq!(customer.scope_for(*permission), Some(DataScope::Own));
            assert_ne!(permission.subject(), Subject::System);
        } else {
            assert_eq!(customer.scope_for(*permission), None);
        }
    }
    assert!(!customer.allows(Permission::CustomerRead));
    assert!(!customer.allows(Permission::ClaimRead));
    for role in Role::ALL.iter().filter(|role| **role != Role::Customer) {
        assert_eq!(role.population(), Population::Staff);
        assert!(
            role.permissions()
                .iter()
                .all(|permission| !permission.is_own()),
            "{role:?}"
        );
    }
    assert_eq!(Role::Customer.population(), Population::Customer);
}

/// Least privilege for the staff roles: the administrator manages users and roles but
/// approves no money, reads no audit entry and no customer data; the auditor changes
/// nothing; the key custodian approves nothing; an adjuster reaches assigned claims only and
/// an agent assigned customers only.
/// req: 5.3.2.2, 5.6.1-d
#[test]
fn staff_roles_hold_only_what_their_job_needs() {
    let admin = Grants::new([Role::Administrator]);
    assert!(admin.allows(Permission::UsersManage));
    assert!(admin.allows(Permission::RolesGrant));
    for denied in [
        Permission::PayoutApprove,
        Permission::RefundApprove,
        Permission::AuditRead,
        Permission::CustomerRead,
        Permission::ClaimRead,
        Permission::KeysManage,
    ] {
        assert!(!admin.allows(denied), "administrator holds {denied:?}");
    }
    assert!(
        admin
            .permissions()
            .iter()
            .all(|permission| permission.subject() == Subject::System)
    );

    let auditor = Grants::new([Role::Auditor]);
    assert!(auditor.allows(Permission::AuditRead));
    assert!(auditor.allows(Permission::PermissionReview));
    assert!(
        auditor
            .permissions()
            .iter()
            .all(|permission| permission.is_read_only()),
        "the auditor changes nothing"
    );
    assert!(!auditor.allows(Permission::CustomerReadFull));

    let custodian = Grants::new([Role::SecurityOfficer]);
    assert!(custodian.allows(Permission::KeysManage));
    assert!(
        custodian
            .permissions()
            .iter()
            .all(|permission| !permission.is_approval()),
        "a key custodian is not an approver"
    );

    let adjuster = Grants::new([Role::ClaimsAdjuster]);
    assert_eq!(
        adjuster.scope_for(Permission::ClaimRead),
        Some(DataScope::AssignedClaims)
    );
    assert!(!adjuster.allows(Permission::PayoutApprove));
    assert!(!adjuster.allows(Permission::CustomerRead));
    let agent = Grants::new([Role::Agent]);
    assert_eq!(
        agent.scope_for(Permission::CustomerRead),
        Some(DataScope::AssignedCustomers)
    );
    assert!(!agent.allows(Permission::ClaimRead));
    let finance = Grants::new([Role::FinanceOfficer]);
    assert_eq!(
        finance.scope_for(Permission::ClaimRead),
        Some(DataScope::All)
    );
    assert_eq!(
        finance.scope_for(Permission::LedgerRead),
        Some(DataScope::All)
    );
}

/// Approving is held only with scope "all" and never by a role that also holds the keys or
/// manages users; every approve permission has a separate initiate permission.
/// req: 5.3.2.2
#[test]
fn approvals_are_held_apart_from_keys_and_user_management() {
    for kind in ApprovalKind::ALL {
        assert_ne!(kind.initiate(), kind.approve());
        assert!(kind.approve().is_approval());
        assert!(!kind.initiate().is_approval());
        assert_eq!(ApprovalKind::parse(kind.name()), Some(*kind));
        for role in Role::ALL.iter().filter(|role| role.holds(kind.approve())) {
            assert_eq!(role.data_scope(), DataScope::All, "{role:?}");
            assert!(!role.holds(Permission::KeysManage), "{role:?}");
            assert!(!role.holds(Permission::RolesGrant), "{role:?}");
        }
    }
    for holder in Role::ALL
        .iter()
        .filter(|role| role.holds(Permission::KeysManage))
    {
        for approver in Role::ALL.iter().filter(|role| {
            role.permissions()
                .iter()
                .any(|permission| permission.is_approval())
        }) {
            assert!(
                conflict_reason(*holder, *approver).is_some(),
                "{holder:?} and {approver:?} may be held together"
            );
        }
    }
}

/// The separation-of-duty rules are symmetric, a role never conflicts with itself, and the
/// listed pairs are found; an account holding a conflicting pair is allowed nothing.
/// req: 5.3.2.2
#[test]
fn conflicting_roles_are_detected() {
    for first in Role::ALL {
        assert_eq!(conflict_reason(*first, *first), None);
        for second in Role::ALL {
            assert_eq!(
                conflict_reason(*first, *second),
                conflict_reason(*second, *first)
            );
        }
    }
    for (first, second) in [
        (Role::FinanceOfficer, Role::Auditor),
        (Role::Administrator, Role::Auditor),
        (Role::SecurityOfficer, Role::FinanceOfficer),
        (Role::SecurityOfficer, Role::Administrator),
        (Role::ClaimsAdjuster, Role::FinanceOfficer),
        (Role::Agent, Role::ClaimsAdjuster),
        (Role::Customer, Role::Agent),
        (Role::FinanceOfficer, Role::RiskOfficer),
        (Role::ClaimsAdjuster, Role::RiskOfficer),
        (Role::Agent, Role::RiskOfficer),
    ] {
        let reason = conflict_reason(first, second).expect("a conflict");
        assert!(reason.starts_with("separation of duties"), "{reason}");
        assert_eq!(conflicting_roles(&[first, second]).len(), 1);
    }
    assert_eq!(conflict_reason(Role::Agent, Role::SecurityOfficer), None);
    assert_eq!(
        conflict_reason(Role::RiskOfficer, Role::SecurityOfficer),
        None
    );
    assert_eq!(
        conflicting_roles(&[Role::FinanceOfficer, Role::FinanceOfficer]),
        vec![]
    );
    assert_eq!(
        conflicting_roles(&[Role::Auditor, Role::FinanceOfficer, Role::Administrator]),
        vec![
            (Role::FinanceOfficer, Role::Auditor),
            (Role::FinanceOfficer, Role::Administrator),
            (Role::Auditor, Role::Administrator),
        ]
    );
    for role in Role::ALL.iter().filter(|role| **role != Role::Auditor) {
        assert!(
            conflict_reason(Role::Auditor, *role).is_some(),
            "the auditor holds no other role"
        );
    }

    let conflicted = Grants::new([Role::FinanceOfficer, Role::Auditor]);
    assert_eq!(conflicted.conflicts().len(), 1);
    assert!(
        !conflicted.allows(Permission::PayoutApprove),
        "fails closed"
    );
    assert!(!conflicted.allows(Permission::AuditRead), "fails closed");
    assert_eq!(conflicted.scope_for(Permission::LedgerRead), None);
    assert!(conflicted.permissions().is_empty());
    let compatible = Grants::new([Role::Agent, Role::SecurityOfficer]);
    assert!(compatible.conflicts().is_empty());
    assert!(compatible.allows(Permission::KeysManage));
    assert!(compatible.allows(Permission::PolicyPropose));
}

/// Maker-checker: the checker may not be the maker, must hold the approve permission, and
/// the permission must be an approval.
/// req: 5.3.2.2
#[test]
fn maker_checker_refuses_the_same_person_and_unpermitted_checkers() {
    let finance = Grants::new([Role::FinanceOfficer]);
    assert_eq!(
        check_maker_checker("acct-a", "acct-b", &finance, Permission::PayoutApprove),
        Ok(())
    );
    assert_eq!(
        check_maker_checker("acct-a", "acct-a", &finance, Permission::PayoutApprove),
        Err(SeparationError::CheckerIsMaker)
    );
    for unpermitted in [Role::Administrator, Role::Auditor, Role::ClaimsAdjuster] {
        assert_eq!(
            check_maker_checker(
                "acct-a",
                "acct-b",
                &Grants::new([unpermitted]),
                Permission::PayoutApprove
            ),
            Err(SeparationError::CheckerNotPermitted),
            "{unpermitted:?}"
        );
    }
    assert_eq!(
        check_maker_checker("acct-a", "acct-b", &finance, Permission::LedgerRead),
        Err(SeparationError::NotAnApproval)
    );
    assert_eq!(
        check_maker_checker(
            "acct-a",
            "acct-b",
            &Grants::none(),
            Permission::RefundApprove
        ),
        Err(SeparationError::CheckerNotPermitted)
    );
    let message = SeparationError::CheckerIsMaker.to_string();
    assert!(!message.contains("acct-a"), "{message}");
}

/// What is shown depends on the viewer's permission: the customer sees their own fields
/// masked and in full only after a fresh re-authentication; an agent may see a customer's
/// fields in full after re-authenticating; a finance officer or auditor sees them masked
/// only; an administrator sees nothing; payment-sensitive fields are never shown.
/// req: 5.6.4.2, 5.2.2.2-c2
#[test]
fn display_depends_on_the_viewers_permission() {
    let customer = Grants::new([Role::Customer]);
    let agent = Grants::new([Role::Agent]);
    let auditor = Grants::new([Role::Auditor]);
    let admin = Grants::new([Role::Administrator]);
    let id = FieldKind::IdNumber;
    assert_eq!(customer.field_view(id, true, false), FieldView::Masked);
    assert_eq!(customer.field_view(id, true, true), FieldView::Full);
    assert_eq!(customer.field_view(id, false, true), FieldView::Hidden);
    assert_eq!(agent.field_view(id, false, false), FieldView::Masked);
    assert_eq!(agent.field_view(id, false, true), FieldView::Full);
    assert_eq!(auditor.field_view(id, false, true), FieldView::Masked);
    assert_eq!(admin.field_view(id, false, true), FieldView::Hidden);
    for never in [
        FieldKind::Cvv,
        FieldKind::CardPin,
        FieldKind::TransactionPassword,
        FieldKind::CardExpiry,
    ] {
        assert_eq!(customer.field_view(never, true, true), FieldView::Hidden);
        assert_eq!(agent.field_view(never, false, true), FieldView::Hidden);
    }
    let now = 1_800_000_000_000;
    assert!(reauthentication_is_fresh(Some(now - 300_000), now));
    assert!(!reauthentication_is_fresh(Some(now - 300_001), now));
    assert!(!reauthentication_is_fresh(None, now));
    assert!(
        !reauthentication_is_fresh(Some(now + 1), now),
        "not from the future"
    );
}

/// An approval covers one payload by its SM3 digest; malformed digests are refused.
/// req: 5.3.2.2
#[test]
fn payload_digests_are_sm3() {
    let digest = PayloadDigest::of(b"claim:42|payout|6000000");
    assert!(digest.as_str().starts_with("sm3:"));
    assert_eq!(digest.as_str().len(), 68);
    assert_eq!(PayloadDigest::parse(digest.as_str()), Ok(digest.clone()));
    assert_ne!(PayloadDigest::of(b"claim:42|payout|6000001"), digest);
    for bad in [
        "",
        "sm3:",
        "md5:0123",
        &digest.as_str().to_uppercase(),
        &format!("{}0", digest.as_str()),
    ] {
        assert!(PayloadDigest::parse(bad).is_err(), "{bad}");
    }
}
