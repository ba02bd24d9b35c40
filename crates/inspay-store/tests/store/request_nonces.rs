//! Anti-replay nonces of signed requests, on every configured database.

use crate::support::stores;
use inspay_store::request_nonces::{NonceCheck, WINDOW_S_DEFAULT};
use inspay_store::{PoolSettings, Store};

const T0_MS: i64 = 1_800_000_000_000;
const T0_S: i64 = T0_MS / 1000;

/// A nonce is accepted once per application; a timestamp more than 300 s from the server's
/// time is refused either way; a purged nonce is one whose window is over.
/// req: 5.6.2-e
#[tokio::test]
async fn nonces_are_single_use_inside_the_window() {
    for test in stores().await {
        let store = &test.store;
        let check = |app: &'static str, nonce: &'static str, ts: i64, now: i64| async move {
            store
                .request_nonce_accept(app, nonce, ts, WINDOW_S_DEFAULT, now)
                .await
                .expect("check")
        };
        assert_eq!(
            check("app_01", "k3J9x0Qm2b7T5nYw", T0_S, T0_MS).await,
            NonceCheck::Accepted
        );
        assert_eq!(
            check("app_01", "k3J9x0Qm2b7T5nYw", T0_S, T0_MS + 1).await,
            NonceCheck::Replayed,
            "{}",
            test.label
        );
        assert_eq!(
            check("app_02", "k3J9x0Qm2b7T5nYw", T0_S, T0_MS).await,
            NonceCheck::Accepted,
            "another app's nonce"
        );
        assert_eq!(
            check("app_01", "fresh-nonce-00001", T0_S - 301, T0_MS).await,
            NonceCheck::OutsideWindow
        );
        assert_eq!(
            check("app_01", "fresh-nonce-00002", T0_S + 301, T0_MS).await,
            NonceCheck::OutsideWindow
        );
        assert_eq!(
            check("app_01", "fresh-nonce-00003", T0_S - 300, T0_MS).await,
            NonceCheck::Accepted
        );
        // A replay late in the window is still caught; the pair is purged only after it.
        let late = T0_MS + 299_000;
        assert_eq!(
            check("app_01", "k3J9x0Qm2b7T5nYw", T0_S, late).await,
            NonceCheck::Replayed
        );
        assert_eq!(
            store
                .request_nonces_purge(T0_MS + 599_000)
                .await
                .expect("purge"),
            0
        );
        assert_eq!(
            store
                .request_nonces_purge(T0_MS + 601_000)
                .await
                .expect("purge"),
            3,
            "{}",
            test.label
        );
    }
}

/// The same request arriving at two nodes at once is accepted by exactly one.
/// req: 5.6.2-e
#[tokio::test]
async fn two_nodes_never_both_accept_one_request() {
    for test in stores().await {
        let other = Store::connect(&test.url, &PoolSettings::default())
            .await
            .expect("node b");
        for round in 0..10 {
            let nonce = format!("race-nonce-{round:06}");
            let (a, b) = tokio::join!(
                test.store
                    .request_nonce_accept("app_01", &nonce, T0_S, WINDOW_S_DEFAULT, T0_MS),
                other.request_nonce_accept("app_01", &nonce, T0_S, WINDOW_S_DEFAULT, T0_MS),
            );
            let accepted = [a.expect("a"), b.expect("b")]
                .iter()
                .filter(|check| **check == NonceCheck::Accepted)
                .count();
            assert_eq!(accepted, 1, "{}: round {round}", test.label);
        }
    }
}
