SELECT t0."id", t0."name"
FROM "ws_golden__company" t0
WHERE t0."id" IN (
  SELECT value
  FROM json_each(?1))
-- $1 = String(Some("[\"01900000-0000-7000-8000-000000000001\",\"01900000-0000-7000-8000-000000000002\"]"))
