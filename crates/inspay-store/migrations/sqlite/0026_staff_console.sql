-- The staff console's lists (the /v1 routes a web console of staff calls) read the newest rows
-- first, a bounded page at a time: these indexes serve each list's order, so a page costs the
-- same however long the table grows.
--
-- Claim payouts and premium refunds, newest first (optionally in one state).
CREATE INDEX payouts_created ON payouts (created_at_ms);
CREATE INDEX refunds_created ON refunds (created_at_ms);
-- Security events of one kind, newest first.
CREATE INDEX security_events_kind ON security_events (kind, at_ms);
-- Staff accounts, newest first.
CREATE INDEX accounts_population_created ON accounts (population, created_at_ms);
