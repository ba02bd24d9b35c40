-- Protocol, part 4: rate limits and attack detection (clause 5.4.3.2).
--
-- rate_counters: requests per (scope, subject) in fixed one-minute windows, shared by every
-- node (scope 'app', 'account', 'ip', or 'event:<kind>' for security-event counts). Old
-- windows are purged.
--
-- security_events: what the detection saw: repeated signature failures, replayed nonces,
-- unknown applications, injection-shaped input, rate-limit refusals, administration calls
-- from outside the allowed networks. Subjects are application ids, account ids and client
-- IP addresses; details are fixed text from the code, never request content.

CREATE TABLE rate_counters (
    scope TEXT NOT NULL CHECK (length(scope) BETWEEN 1 AND 64),
    subject TEXT NOT NULL CHECK (length(subject) BETWEEN 1 AND 128),
    window_start_ms BIGINT NOT NULL,
    hits INTEGER NOT NULL,
    PRIMARY KEY (scope, subject, window_start_ms)
);
CREATE INDEX rate_counters_window ON rate_counters (window_start_ms);

CREATE TABLE security_events (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL CHECK (length(kind) BETWEEN 1 AND 64),
    app_id TEXT CHECK (length(app_id) <= 64),
    account_id TEXT CHECK (length(account_id) <= 64),
    client_ip TEXT CHECK (length(client_ip) <= 64),
    route TEXT CHECK (length(route) <= 256),
    detail TEXT NOT NULL CHECK (length(detail) <= 256),
    alert INTEGER NOT NULL CHECK (alert IN (0, 1)),
    at_ms BIGINT NOT NULL
);
CREATE INDEX security_events_at ON security_events (at_ms);
