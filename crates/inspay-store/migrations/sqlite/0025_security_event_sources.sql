-- The risk engine reads, for each sign-in and fund operation, the security events of the last
-- ten minutes from the request's address or application (clause 5.4.3.2; the `edge.*` facts):
-- one index per source keeps that read to the source's own events.
CREATE INDEX security_events_ip ON security_events (client_ip, at_ms);
CREATE INDEX security_events_app ON security_events (app_id, at_ms);
