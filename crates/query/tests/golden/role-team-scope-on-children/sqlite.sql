SELECT *
FROM (
  SELECT s.*, (1=1) AS "__after", ROW_NUMBER() OVER (PARTITION BY s."__parent"
    ORDER BY s."__k0" ASC NULLS LAST) AS "__rn"
  FROM (
    SELECT t0."id", t0."name", CAST(round(CAST((CAST((CAST(t0."amount__amount" AS REAL) * CASE t0."stage" WHEN 'NEW' THEN 10 WHEN 'QUALIFIED' THEN 25 WHEN 'PROPOSAL' THEN 50 WHEN 'NEGOTIATION' THEN 75 WHEN 'WON' THEN 100 WHEN 'LOST' THEN 0 END) AS REAL) / NULLIF(100, 0)) AS REAL), 10) AS TEXT), t0."id" AS "__k0", t0."companyId" AS "__parent", COUNT(*) OVER (PARTITION BY t0."companyId") AS "__total"
    FROM "ws_golden__opportunity" t0
    WHERE t0."deletedAt" IS NULL
    AND ((t0."ownerId" IN (?1, ?2)))
    AND t0."companyId" IN (
      SELECT value
      FROM json_each(?3))) s) r
WHERE r."__rn" <= 11
ORDER BY r."__parent", r."__rn"
-- $1 = String(Some("01900000-0000-7000-8000-0000000000aa"))
-- $2 = String(Some("01900000-0000-7000-8000-000000000002"))
-- $3 = String(Some("[\"01900000-0000-7000-8000-000000000001\"]"))
