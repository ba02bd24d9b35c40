//! Bulk data, concurrency, truncation and HTTP over the stream.

use std::convert::Infallible;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use inspay_tlcp::{Protocol, Suite, TlcpAcceptor};
use tokio::io::AsyncReadExt;
use tokio::net::{TcpListener, TcpStream};

use crate::support::{
    STEP_TIMEOUT, client_config, connect, echo_round_trip, pki, server_config, spawn_echo,
};

const MEBIBYTE: usize = 1024 * 1024;

fn payload(length: usize) -> Vec<u8> {
    (0..length).map(|index| (index % 251) as u8).collect()
}

/// A 1 MiB payload (64 full records and more) is echoed intact over TLCP with a CBC suite, a
/// GCM suite, and TLS 1.3 SM: large writes are split and reassembled correctly.
/// req: 5.6.2-a1
#[tokio::test]
async fn one_mebibyte_is_echoed() {
    let pki = pki();
    let data = payload(MEBIBYTE);
    for (protocol, suite) in [
        (Protocol::Tlcp, Suite::EccSm4CbcSm3),
        (Protocol::Tlcp, Suite::EcdheSm4GcmSm3),
        (Protocol::Tls13Sm, Suite::EccSm4GcmSm3),
    ] {
        let mut config = server_config(&pki, &[suite], true);
        config.tls13_sm = true;
        let (address, server) = spawn_echo(TlcpAcceptor::new(&config).expect("acceptor"), 1).await;
        let stream = connect(&client_config(&pki, protocol, true), address, "localhost")
            .await
            .expect("handshake");
        let echoed = echo_round_trip(stream, &data).await;
        assert!(echoed == data, "{protocol:?} {suite:?}: echo differs");
        let side = crate::support::server_result(server).await.expect("server");
        assert_eq!(side.echoed_bytes, MEBIBYTE);
    }
}

/// Twenty clients at once, half TLCP and half TLS 1.3 SM, all complete and get their own
/// data back: connections do not interfere and no task starves.
/// req: 5.6.2-a1
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twenty_concurrent_connections() {
    const CONNECTIONS: usize = 20;
    let pki = pki();
    let mut config = server_config(&pki, &Suite::ALL, true);
    config.tls13_sm = true;
    let (address, server) =
        spawn_echo(TlcpAcceptor::new(&config).expect("acceptor"), CONNECTIONS).await;
    let mut clients = Vec::new();
    for index in 0..CONNECTIONS {
        let protocol = if index % 2 == 0 {
            Protocol::Tlcp
        } else {
            Protocol::Tls13Sm
        };
        let config = client_config(&pki, protocol, true);
        clients.push(tokio::spawn(async move {
            let message = format!("client {index} ").repeat(1000).into_bytes();
            let stream = connect(&config, address, "localhost")
                .await
                .expect("handshake");
            assert_eq!(echo_round_trip(stream, &message).await, message);
        }));
    }
    for client in clients {
        client.await.expect("client");
    }
    let results = tokio::time::timeout(STEP_TIMEOUT, server)
        .await
        .expect("server in time")
        .expect("server");
    assert_eq!(
        results.iter().filter(|result| result.is_ok()).count(),
        CONNECTIONS
    );
}

/// A peer that closes the socket without close_notify makes the reader fail with
/// `UnexpectedEof` rather than see a clean end of stream (no silent truncation).
#[tokio::test]
async fn truncation_is_an_error() {
    let pki = pki();
    let config = server_config(&pki, &Suite::WITHOUT_CLIENT_CERTIFICATE, false);
    let acceptor = TlcpAcceptor::new(&config).expect("acceptor");
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let address = listener.local_addr().expect("address");
    let server = tokio::spawn(async move {
        let (tcp, _) = listener.accept().await.expect("accept");
        let stream = acceptor.accept(tcp).await.expect("handshake");
        drop(stream); // no close_notify
    });
    let mut stream = connect(
        &client_config(&pki, Protocol::Tlcp, false),
        address,
        "localhost",
    )
    .await
    .expect("handshake");
    server.await.expect("server");
    let mut buf = Vec::new();
    let error = stream.read_to_end(&mut buf).await.expect_err("truncated");
    assert_eq!(error.kind(), std::io::ErrorKind::UnexpectedEof);
}

/// hyper 1.x serves an HTTP/1.1 request over a TLCP stream (through `TokioIo`) and the hyper
/// client over the connector gets 200 OK and the body; ALPN agreed `http/1.1`.
/// req: 5.6.2-a1
#[tokio::test]
async fn hyper_http1_over_tlcp() {
    let pki = pki();
    let mut config = server_config(&pki, &Suite::ALL, true);
    config.alpn_protocols = vec!["http/1.1".into()];
    let acceptor = TlcpAcceptor::new(&config).expect("acceptor");
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let address = listener.local_addr().expect("address");
    let server = tokio::spawn(async move {
        let (tcp, _) = listener.accept().await.expect("accept");
        let stream = acceptor.accept(tcp).await.expect("handshake");
        let info = format!("{} {:?}", stream.protocol_version(), stream.cipher_name());
        let service = service_fn(move |request: hyper::Request<hyper::body::Incoming>| {
            let body = format!("{} {}", info, request.uri().path());
            async move { Ok::<_, Infallible>(hyper::Response::new(Full::new(Bytes::from(body)))) }
        });
        hyper::server::conn::http1::Builder::new()
            .serve_connection(TokioIo::new(stream), service)
            .await
            .expect("serve");
    });

    let mut client = client_config(&pki, Protocol::Tlcp, true);
    client.alpn_protocols = vec!["http/1.1".into()];
    let stream = connect(&client, address, "localhost")
        .await
        .expect("handshake");
    assert_eq!(stream.alpn_protocol(), Some(&b"http/1.1"[..]));
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .expect("HTTP handshake");
    let connection = tokio::spawn(connection);
    let request = hyper::Request::get("/ping")
        .header("host", "localhost")
        .body(Full::new(Bytes::new()))
        .expect("request");
    let response = sender.send_request(request).await.expect("response");
    let body = ok_body(response).await;
    assert_eq!(&body[..], b"NTLSv1.1 Some(\"ECDHE-SM2-SM4-GCM-SM3\") /ping");
    drop(sender);
    finish(connection, server).await;
}

/// Reads of 7 bytes reassemble a 40 000-byte message that arrives in several records: partial
/// reads keep the rest of a decrypted record for the next read.
/// req: 5.6.2-a1
#[tokio::test]
async fn small_reads_reassemble_records() {
    use tokio::io::AsyncWriteExt;
    let pki = pki();
    let config = server_config(&pki, &Suite::WITHOUT_CLIENT_CERTIFICATE, false);
    let (address, server) = spawn_echo(TlcpAcceptor::new(&config).expect("acceptor"), 1).await;
    let mut stream = connect(
        &client_config(&pki, Protocol::Tlcp, false),
        address,
        "localhost",
    )
    .await
    .expect("handshake");
    let message = payload(40_000);
    stream.write_all(&message).await.expect("write");
    let mut echoed = Vec::new();
    let mut small = [0u8; 7];
    while echoed.len() < message.len() {
        let count = tokio::time::timeout(STEP_TIMEOUT, stream.read(&mut small))
            .await
            .expect("in time")
            .expect("read");
        assert!(count > 0, "no early end of stream");
        echoed.extend_from_slice(&small[..count]);
    }
    assert!(echoed == message);
    stream.shutdown().await.expect("close_notify");
    crate::support::server_result(server).await.expect("server");
}

/// A client that connects and sends nothing holds the server handshake only as long as the
/// caller's `tokio::time::timeout` allows.
#[tokio::test]
async fn silent_client_handshake_times_out() {
    let pki = pki();
    let config = server_config(&pki, &Suite::WITHOUT_CLIENT_CERTIFICATE, false);
    let acceptor = TlcpAcceptor::new(&config).expect("acceptor");
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let address = listener.local_addr().expect("address");
    let _silent = TcpStream::connect(address).await.expect("connect");
    let (tcp, _) = listener.accept().await.expect("accept");
    let outcome =
        tokio::time::timeout(std::time::Duration::from_millis(200), acceptor.accept(tcp)).await;
    assert!(
        outcome.is_err(),
        "the handshake waits for the client until the timeout"
    );
}

/// HTTP/2 over TLCP: ALPN agrees `h2` and hyper's HTTP/2 server answers 200 OK, as the
/// listener's HTTP/1.1-and-HTTP/2 service will need.
/// req: 5.6.2-a1
#[tokio::test]
async fn hyper_http2_over_tlcp() {
    use hyper_util::rt::TokioExecutor;
    let pki = pki();
    let mut config = server_config(&pki, &Suite::WITHOUT_CLIENT_CERTIFICATE, false);
    config.alpn_protocols = vec!["h2".into(), "http/1.1".into()];
    let acceptor = TlcpAcceptor::new(&config).expect("acceptor");
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let address = listener.local_addr().expect("address");
    let server = tokio::spawn(async move {
        let (tcp, _) = listener.accept().await.expect("accept");
        let stream = acceptor.accept(tcp).await.expect("handshake");
        assert_eq!(stream.alpn_protocol(), Some(&b"h2"[..]));
        let service = service_fn(
            |request: hyper::Request<hyper::body::Incoming>| async move {
                let body = format!("{:?} {}", request.version(), request.uri().path());
                Ok::<_, Infallible>(hyper::Response::new(Full::new(Bytes::from(body))))
            },
        );
        hyper::server::conn::http2::Builder::new(TokioExecutor::new())
            .serve_connection(TokioIo::new(stream), service)
            .await
            .expect("serve");
    });
    let mut client = client_config(&pki, Protocol::Tlcp, false);
    client.alpn_protocols = vec!["h2".into()];
    let stream = connect(&client, address, "localhost")
        .await
        .expect("handshake");
    let (mut sender, connection) =
        hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(stream))
            .await
            .expect("HTTP/2 handshake");
    let connection = tokio::spawn(connection);
    let request = hyper::Request::get("https://localhost/h2")
        .body(Full::new(Bytes::new()))
        .expect("request");
    let response = sender.send_request(request).await.expect("response");
    let body = ok_body(response).await;
    assert_eq!(&body[..], b"HTTP/2.0 /h2");
    drop(sender);
    finish(connection, server).await;
}

/// The body of a 200 answer.
async fn ok_body(response: hyper::Response<hyper::body::Incoming>) -> Bytes {
    assert_eq!(response.status(), hyper::StatusCode::OK);
    response
        .into_body()
        .collect()
        .await
        .expect("body")
        .to_bytes()
}

/// Waits for the client's connection task (its sender dropped) and the server, in time.
async fn finish(
    connection: tokio::task::JoinHandle<Result<(), hyper::Error>>,
    server: tokio::task::JoinHandle<()>,
) {
    connection
        .await
        .expect("client task")
        .expect("client connection");
    tokio::time::timeout(STEP_TIMEOUT, server)
        .await
        .expect("server in time")
        .expect("server");
}

/// A stream split into a reader task and a writer task moves 4 MiB each way without stalling:
/// the reader never takes the writer's wake-up.
/// req: 5.6.2-a1
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn split_halves_in_separate_tasks() {
    use tokio::io::AsyncWriteExt;
    let pki = pki();
    let config = server_config(&pki, &Suite::WITHOUT_CLIENT_CERTIFICATE, false);
    let (address, server) = spawn_echo(TlcpAcceptor::new(&config).expect("acceptor"), 1).await;
    let stream = connect(
        &client_config(&pki, Protocol::Tlcp, false),
        address,
        "localhost",
    )
    .await
    .expect("handshake");
    let data = payload(4 * MEBIBYTE);
    let (mut reader, mut writer) = tokio::io::split(stream);
    let sent = data.clone();
    let writer_task = tokio::spawn(async move {
        writer.write_all(&sent).await.expect("write");
        writer.flush().await.expect("flush");
        writer
    });
    let mut echoed = vec![0u8; data.len()];
    tokio::time::timeout(STEP_TIMEOUT, reader.read_exact(&mut echoed))
        .await
        .expect("echo in time")
        .expect("read");
    assert!(echoed == data);
    let mut writer = writer_task.await.expect("writer");
    writer.shutdown().await.expect("close_notify");
    let side = crate::support::server_result(server).await.expect("server");
    assert_eq!(side.echoed_bytes, data.len());
}
