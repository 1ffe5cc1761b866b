SELECT *
FROM (
  SELECT s.*, (1=1) AS "__after", ROW_NUMBER() OVER (PARTITION BY s."__parent"
    ORDER BY s."__k0" ASC NULLS LAST) AS "__rn"
  FROM (
    SELECT t0."id", t0."name", CAST(round(CAST((
            SELECT COALESCE(SUM(CAST(c1."amount__amount" AS REAL)), 0)
            FROM "ws_golden__opportunity" c1
            WHERE c1."companyId" = t0."id"
            AND c1."deletedAt" IS NULL
            AND ((c1."stage" NOT IN ('WON', 'LOST')))) AS REAL), 10) AS TEXT), CAST(round(CAST((
            SELECT COALESCE(SUM(CAST(c1."amount__amount" AS REAL)), 0)
            FROM "ws_golden__opportunity" c1
            WHERE c1."companyId" = t0."id"
            AND c1."deletedAt" IS NULL
            AND ((c1."stage" = 'WON'))) AS REAL), 10) AS TEXT), t0."id" AS "__k0", j."sourceId" AS "__parent", COUNT(*) OVER (PARTITION BY j."sourceId") AS "__total"
    FROM "ws_golden__company" t0
    JOIN "ws_golden__vehicle__servicedBy" j ON j."targetId" = t0."id"
    WHERE t0."deletedAt" IS NULL
    AND j."sourceId" IN (
      SELECT value
      FROM json_each(?1))) s) r
WHERE r."__rn" <= 4
ORDER BY r."__parent", r."__rn"
-- $1 = String(Some("[\"01900000-0000-7000-8000-000000000001\",\"01900000-0000-7000-8000-000000000002\"]"))
