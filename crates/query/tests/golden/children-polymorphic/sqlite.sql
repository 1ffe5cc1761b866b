SELECT *
FROM (
  SELECT s.*, (1=1) AS "__after", ROW_NUMBER() OVER (PARTITION BY s."__parent"
    ORDER BY s."__k0" ASC NULLS LAST) AS "__rn"
  FROM (
    SELECT t0."id", t0."title", t0."id" AS "__k0", t0."relatedId" AS "__parent", COUNT(*) OVER (PARTITION BY t0."relatedId") AS "__total"
    FROM "ws_golden__task" t0
    WHERE t0."deletedAt" IS NULL
    AND ((t0."status" <> ?1))
    AND t0."relatedObject" = ?2
    AND t0."relatedId" IN (
      SELECT value
      FROM json_each(?3))) s) r
WHERE r."__rn" <= 6
ORDER BY r."__parent", r."__rn"
-- $1 = String(Some("DONE"))
-- $2 = String(Some("company"))
-- $3 = String(Some("[\"01900000-0000-7000-8000-000000000001\"]"))
