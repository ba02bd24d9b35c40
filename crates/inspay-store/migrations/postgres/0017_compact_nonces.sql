-- Request nonces as a WITHOUT ROWID table is a SQLite change; PostgreSQL tables have no rowid
-- B-tree to save, so nothing changes here. The migration exists so both backends keep one
-- numbering.
SELECT 1;
